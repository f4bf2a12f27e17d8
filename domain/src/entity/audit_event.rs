//! `audit_events`.

use sea_orm::entity::prelude::*;

use crate::ids::{AuditEventId, ResellerId};

/// One audited mutation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AuditEventId,
    /// When.
    pub occurred_at: DateTimeUtc,
    /// Who (the principal's subject).
    pub actor: String,
    /// The role that allowed it.
    pub actor_role: String,
    /// What (the mutation's name).
    pub action: String,
    /// The kind of object changed.
    pub object_type: Option<String>,
    /// The object changed.
    pub object_id: Option<Uuid>,
    /// Whose world it is in.
    pub reseller_id: Option<ResellerId>,
    /// The request.
    pub request_id: Option<String>,
    /// JSON details.
    pub details: Option<String>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
