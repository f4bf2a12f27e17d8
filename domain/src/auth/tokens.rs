//! API tokens: bearer credentials for integrations, beside JWTs.
//!
//! A token is `cpl_` followed by 48 hex digits of randomness. Only its
//! SHA-256 is stored; the secret is shown once, at creation. A token acts as
//! an `integration` with its scopes, for its reseller (or co-op wide when a
//! steward asked for that explicitly, `coopWide: true`).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Actor, Permission, Principal, Role, SCOPES};
use crate::audit::Change;
use crate::entity::api_token;
use crate::error::{Error, Result};
use crate::ids::{ApiTokenId, ResellerId};
use crate::page::{self, Page, PageRequest};
use crate::usecase::Mutation;

/// What every API token starts with.
pub const PREFIX: &str = "cpl_";

/// Whether a bearer credential is an API token rather than a JWT.
pub fn is_api_token(credential: &str) -> bool {
    credential.starts_with(PREFIX)
}

fn hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// Why a presented API token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No such token.
    #[error("the API token is not known")]
    Unknown,
    /// Revoked.
    #[error("the API token was revoked")]
    Revoked,
    /// Past its expiry.
    #[error("the API token has expired")]
    Expired,
    /// The database failed.
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
}

/// A new token's settings.
#[derive(Clone, Debug, Serialize)]
pub struct NewApiToken {
    /// Label.
    pub name: String,
    /// Scopes ([`SCOPES`]).
    pub scopes: Vec<String>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// The reseller it acts for (stewards only; a reseller's tokens are its own).
    pub reseller_id: Option<ResellerId>,
    /// Co-op-wide reach, asked for explicitly (stewards only, without a
    /// reseller).
    pub coop_wide: bool,
}

/// Creates a token; returns it and its secret, which is never shown again.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewApiToken,
    now: DateTime<Utc>,
) -> Result<(api_token::Model, String)> {
    let grant = actor.principal.authorize(Permission::ManageTokens)?;
    let name = input.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(Error::invalid(
            "name",
            "INVALID_NAME",
            "a token name has 1 to 200 characters",
        ));
    }
    if input.scopes.is_empty() {
        return Err(Error::invalid(
            "scopes",
            "INVALID_SCOPE",
            "a token needs at least one scope",
        ));
    }
    if let Some(bad) = input
        .scopes
        .iter()
        .find(|s| !SCOPES.iter().any(|(n, _)| n == s))
    {
        let known: Vec<&str> = SCOPES.iter().map(|(n, _)| *n).collect();
        return Err(Error::invalid(
            "scopes",
            "INVALID_SCOPE",
            format!("unknown scope `{bad}` (known: {})", known.join(", ")),
        ));
    }
    if input.expires_at.is_some_and(|e| e <= now) {
        return Err(Error::invalid(
            "expiresAt",
            "INVALID_EXPIRY",
            "expiresAt must be in the future",
        ));
    }
    // A reseller's token acts for that reseller; only stewards choose.
    let reseller_id = match (grant.reach.all, input.reseller_id) {
        (true, Some(_)) if input.coop_wide => {
            return Err(Error::invalid(
                "coopWide",
                "RESELLER_OR_COOP_WIDE",
                "a token acts for one reseller or co-op wide, not both",
            ));
        }
        (true, None) if !input.coop_wide => {
            return Err(Error::invalid(
                "resellerId",
                "RESELLER_OR_COOP_WIDE",
                "name the reseller the token acts for, or ask for coopWide: true",
            ));
        }
        (true, r) => r,
        (false, _) if input.coop_wide => {
            return Err(Error::Forbidden(
                "only stewards make co-op-wide tokens".into(),
            ));
        }
        // Not co-op wide: the token acts for exactly the caller's one reseller.
        (false, _) if grant.reach.resellers.len() != 1 => {
            return Err(Error::Forbidden(
                "API tokens are made by stewards or by one reseller for itself".into(),
            ));
        }
        (false, None) => grant.reach.resellers.first().copied(),
        (false, Some(r)) if grant.reach.reseller(Some(r)) => Some(r),
        (false, Some(_)) => return Err(Error::not_found("resellerId", "reseller")),
    };
    let txn = Mutation::begin(db, actor, &grant, "createApiToken", now).await?;
    if let Some(r) = reseller_id
        && crate::entity::reseller::Entity::find_by_id(r)
            .one(&txn)
            .await?
            .is_none()
    {
        return Err(Error::not_found("resellerId", "reseller"));
    }
    let bytes: [u8; 24] = rand::random();
    let secret = format!(
        "{PREFIX}{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let mut scopes = input.scopes.clone();
    scopes.sort();
    scopes.dedup();
    let model = api_token::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        name: Set(name.to_owned()),
        token_hash: Set(hash(&secret)),
        roles: Set(serde_json::json!([Role::Integration.as_str()]).to_string()),
        scopes: Set(serde_json::to_string(&scopes).unwrap_or_else(|_| "[]".into())),
        reseller_id: Set(reseller_id),
        coop_wide: Set(input.coop_wide),
        member_id: Set(None),
        created_by: Set(actor.principal.subject.clone()),
        expires_at: Set(input.expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let change = Change {
        object_type: "ApiToken",
        object_id: model.id.into(),
        reseller_id,
        details: serde_json::json!({ "name": name, "scopes": scopes }),
    };
    txn.commit(change).await?;
    Ok((model, secret))
}

/// Revokes a token the actor reaches.
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Actor,
    id: ApiTokenId,
    now: DateTime<Utc>,
) -> Result<api_token::Model> {
    let grant = actor.principal.authorize(Permission::ManageTokens)?;
    let txn = Mutation::begin(db, actor, &grant, "revokeApiToken", now).await?;
    let token = api_token::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .filter(|t| grant.reach.reseller(t.reseller_id))
        .ok_or_else(|| Error::not_found("id", "API token"))?;
    if token.revoked_at.is_some() {
        txn.unchanged().await?;
        return Ok(token);
    }
    let mut active = token.into_active_model();
    active.revoked_at = Set(Some(now));
    active.updated_at = Set(now);
    let token = active.update(&txn).await?;
    let change = Change {
        object_type: "ApiToken",
        object_id: token.id.into(),
        reseller_id: token.reseller_id,
        details: serde_json::json!({}),
    };
    txn.commit(change).await?;
    Ok(token)
}

/// Tokens the actor reaches.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    page: PageRequest,
) -> Result<Page<api_token::Model>> {
    let grant = actor.principal.authorize(Permission::ManageTokens)?;
    let q = api_token::Entity::find().filter(grant.reach.condition(
        Some(api_token::Column::ResellerId),
        None,
        None,
    ));
    page::fetch(db, q, api_token::Column::Id, page).await
}

/// The principal a presented token stands for. Records its use (at most
/// once a minute, to spare the database a write per request).
pub async fn authenticate(
    db: &impl ConnectionTrait,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Principal, TokenError> {
    let token = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash(secret)))
        .one(db)
        .await?
        .ok_or(TokenError::Unknown)?;
    usable(&token, now)?;
    if token
        .last_used_at
        .is_none_or(|t| now - t >= Duration::minutes(1))
    {
        api_token::Entity::update_many()
            .col_expr(
                api_token::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(api_token::Column::Id.eq(token.id))
            .exec(db)
            .await?;
    }
    let roles: Vec<String> = serde_json::from_str(&token.roles).unwrap_or_default();
    Ok(Principal {
        subject: format!("api-token:{}", token.id),
        roles: roles.iter().filter_map(|r| r.parse().ok()).collect(),
        reseller_id: token.reseller_id,
        scopes: serde_json::from_str(&token.scopes).unwrap_or_default(),
        coop_wide: token.coop_wide,
        expires_at: token.expires_at,
        api_token_id: Some(token.id),
        ..Principal::default()
    })
}
/// Whether `principal`'s credential still holds at `now`: not past its
/// expiry and, for an API token, not revoked or expired since it was
/// presented. Long-lived streams ask this at every event.
pub async fn still_valid(
    db: &impl ConnectionTrait,
    principal: &Principal,
    now: DateTime<Utc>,
) -> std::result::Result<(), TokenError> {
    if principal.expires_at.is_some_and(|e| e <= now) {
        return Err(TokenError::Expired);
    }
    if let Some(id) = principal.api_token_id {
        let token = api_token::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or(TokenError::Unknown)?;
        usable(&token, now)?;
    }
    Ok(())
}

/// Whether a stored token may be used at `now`: not revoked, not expired.
fn usable(token: &api_token::Model, now: DateTime<Utc>) -> std::result::Result<(), TokenError> {
    if token.revoked_at.is_some() {
        return Err(TokenError::Revoked);
    }
    if token.expires_at.is_some_and(|e| e <= now) {
        return Err(TokenError::Expired);
    }
    Ok(())
}
