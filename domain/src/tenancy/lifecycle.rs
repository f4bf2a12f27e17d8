//! A tenant's lifecycle changes, made here and nowhere else: suspension,
//! resumption and termination. Each is conditional on the state it leaves
//! (a concurrent change wins or loses as a whole), returns whether it
//! changed the tenant, and, when it did, enqueues the tenant's sync in the
//! caller's transaction.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::jobs::SyncTenant;
use super::{SuspensionReason, TenantState};
use crate::db::stmt;
use crate::error::Result;
use crate::ids::TenantId;

async fn changed(
    db: &impl ConnectionTrait,
    id: TenantId,
    sql: &str,
    mut values: Vec<sea_orm::Value>,
    now: DateTime<Utc>,
) -> Result<bool> {
    values.insert(0, id.into());
    let n = db.execute_raw(stmt(db, sql, values)).await?.rows_affected();
    if n == 1 {
        crate::jobs::enqueue(db, &SyncTenant { tenant_id: id }, now).await?;
    }
    Ok(n == 1)
}

/// Suspends the tenant for `reason`, noting `note`. An arrears suspension
/// takes only an active tenant; a manual one may also restate the note of
/// a tenant it suspended before.
pub async fn suspend(
    db: &impl ConnectionTrait,
    id: TenantId,
    reason: SuspensionReason,
    note: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let from = match reason {
        SuspensionReason::Overdue => "state = 'active'",
        SuspensionReason::Manual => {
            "(state = 'active' OR (state = 'suspended' AND COALESCE(suspension_reason, 'manual') = 'manual'))"
        }
    };
    changed(
        db,
        id,
        &format!(
            "UPDATE tenants SET state = $2, suspension_reason = $3, suspension_note = $4, suspended_at = $5, updated_at = $5 WHERE id = $1 AND {from}"
        ),
        vec![
            TenantState::Suspended.as_str().into(),
            reason.as_str().into(),
            note.into(),
            now.into(),
        ],
        now,
    )
    .await
}

/// Lifts a suspension made for `reason` (and, when given, under `note`: an
/// arrears suspension belongs to the paying party its note names). A
/// suspension without a recorded reason counts as manual.
pub async fn resume(
    db: &impl ConnectionTrait,
    id: TenantId,
    reason: SuspensionReason,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool> {
    changed(
        db,
        id,
        "UPDATE tenants SET state = 'active', suspension_reason = NULL, suspension_note = NULL, suspended_at = NULL, updated_at = $2 \
         WHERE id = $1 AND state = 'suspended' AND COALESCE(suspension_reason, 'manual') = $3 AND ($4 IS NULL OR suspension_note = $4)",
        vec![now.into(), reason.as_str().into(), note.map(str::to_owned).into()],
        now,
    )
    .await
}

/// Hands an arrears suspension from the party noted `from` to the party
/// noted `to` (the tenant stays suspended: its other payer is in arrears
/// too). Nothing to sync.
pub async fn hand_over(
    db: &impl ConnectionTrait,
    id: TenantId,
    from: &str,
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let n = db
        .execute_raw(stmt(
            db,
            "UPDATE tenants SET suspension_note = $3, updated_at = $4 WHERE id = $1 AND state = 'suspended' AND suspension_reason = 'overdue' AND suspension_note = $2",
            vec![id.into(), from.into(), to.into(), now.into()],
        ))
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Terminates the tenant: its quota returns to the pool and its resources
/// are removed; the cluster keeps the namespace for the retention.
pub async fn terminate(
    db: &impl ConnectionTrait,
    id: TenantId,
    now: DateTime<Utc>,
) -> Result<bool> {
    changed(
        db,
        id,
        "UPDATE tenants SET state = 'terminated', terminated_at = $2, updated_at = $2 WHERE id = $1 AND state <> 'terminated'",
        vec![now.into()],
        now,
    )
    .await
}
