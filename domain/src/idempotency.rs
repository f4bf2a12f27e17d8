//! Idempotent creation: the same key with the same input returns the first
//! result; the same key with another input is refused.
//!
//! The key is claimed in the creating transaction
//! ([`crate::usecase::Mutation::claim`]), before anything is
//! created. A concurrent duplicate's claim waits on the key's unique index
//! until the first transaction ends: if it committed, the duplicate replays
//! its result; if it rolled back (bad input), the duplicate goes ahead.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Actor;
use crate::db::stmt;
use crate::error::{Error, Result};

/// What a claim found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: create, then [`complete`].
    Fresh,
    /// The key was used with this input: return this object.
    Replay(Uuid),
}

/// The longest idempotency key, in bytes: one rule for every operation.
pub const MAX_KEY_LEN: usize = 255;

/// Refuses a key that is empty or longer than [`MAX_KEY_LEN`].
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(Error::invalid(
            "idempotencyKey",
            "INVALID_IDEMPOTENCY_KEY",
            format!("an idempotency key has 1 to {MAX_KEY_LEN} bytes"),
        ));
    }
    Ok(())
}

/// Claims `key` for `operation` by `actor`, in the creating transaction.
pub async fn claim(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    operation: &str,
    key: &str,
    input: &impl Serialize,
    now: DateTime<Utc>,
) -> Result<Claim> {
    check_key(key)?;
    let json = serde_json::to_string(input)
        .map_err(|e| Error::invalid("input", "INVALID_INPUT", e.to_string()))?;
    let hash = format!("{:x}", Sha256::digest(json.as_bytes()));
    let principal = actor.principal.party();
    let principal = principal.as_str();
    let inserted = txn
        .execute_raw(stmt(
            txn,
            "INSERT INTO idempotency_keys (principal, operation, key, request_hash, object_id, created_at) \
             VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT DO NOTHING",
            vec![principal.into(), operation.into(), key.into(), hash.clone().into(), now.into()],
        ))
        .await?
        .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let row = txn
        .query_one_raw(stmt(
            txn,
            "SELECT request_hash, object_id FROM idempotency_keys WHERE principal = $1 AND operation = $2 AND key = $3",
            vec![principal.into(), operation.into(), key.into()],
        ))
        .await?
        .ok_or_else(|| Error::Db(sea_orm::DbErr::RecordNotFound("idempotency key vanished".into())))?;
    let stored: String = row.try_get("", "request_hash")?;
    let object: Option<Uuid> = row.try_get("", "object_id")?;
    match object {
        Some(id) if stored == hash => Ok(Claim::Replay(id)),
        _ => Err(Error::Conflict {
            field: "idempotencyKey",
            code: "IDEMPOTENCY_KEY_REUSED",
            message: format!("the idempotency key `{key}` was already used with a different input"),
        }),
    }
}

/// Records the object a fresh claim created.
pub async fn complete(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    operation: &str,
    key: &str,
    object: Uuid,
) -> Result<()> {
    txn.execute_raw(stmt(
        txn,
        "UPDATE idempotency_keys SET object_id = $4 WHERE principal = $1 AND operation = $2 AND key = $3",
        vec![actor.principal.party().into(), operation.into(), key.into(), object.into()],
    ))
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_rule_for_every_operation() {
        assert!(check_key(&"k".repeat(MAX_KEY_LEN)).is_ok());
        assert!(check_key(&"k".repeat(MAX_KEY_LEN + 1)).is_err());
        assert!(check_key("").is_err());
    }
}
