//! `api_tokens`.

use sea_orm::entity::prelude::*;

use crate::ids::{ApiTokenId, MemberId, ResellerId};

/// An API token row. The secret itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ApiTokenId,
    /// Label.
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub token_hash: String,
    /// JSON array of role names.
    pub roles: String,
    /// JSON array of scopes.
    pub scopes: String,
    /// The reseller it acts for.
    pub reseller_id: Option<ResellerId>,
    /// Whether it reaches every reseller's world (asked for explicitly).
    pub coop_wide: bool,
    /// The member it acts for.
    pub member_id: Option<MemberId>,
    /// Who created it.
    pub created_by: String,
    /// Expiry.
    pub expires_at: Option<DateTimeUtc>,
    /// Revocation.
    pub revoked_at: Option<DateTimeUtc>,
    /// Last use (updated at most once a minute).
    pub last_used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
