//! What dunning does to tenants: suspension and resumption by standing,
//! termination, and the manual suspension, resumption and prepaid terms.

use super::*;
use crate::tenancy::lifecycle;
use crate::usecase::Mutation;

/// Suspends the account's active tenants for its arrears (a customer's
/// tenants paid ahead excepted); how many.
pub(super) async fn suspend_overdue(
    txn: &impl ConnectionTrait,
    account: Account,
    now: DateTime<Utc>,
) -> Result<u64> {
    let ids = tenant_ids(
        txn,
        &format!(
            "SELECT id FROM tenants WHERE {} = $1 AND state = 'active'{}",
            tenants_column(account),
            prepaid_exemption(account)
        ),
        vec![account.id().into(), now.into()],
    )
    .await?;
    let note = overdue_note(account);
    for t in &ids {
        lifecycle::suspend(txn, *t, SuspensionReason::Overdue, &note, now).await?;
    }
    Ok(ids.len() as u64)
}

/// Lifts the suspensions the account's arrears made; how many tenants came
/// back.
pub(super) async fn resume_overdue(
    txn: &impl ConnectionTrait,
    account: Account,
    now: DateTime<Utc>,
) -> Result<u64> {
    // Only what this account's arrears suspended: never a manual suspension.
    let note = overdue_note(account);
    let rows = txn
        .query_all_raw(stmt(
            txn,
            &format!(
                "SELECT id, customer_id, reseller_id FROM tenants WHERE {} = $1 AND state = 'suspended' AND suspension_reason = 'overdue' AND suspension_note = $2",
                tenants_column(account)
            ),
            vec![account.id().into(), note.clone().into()],
        ))
        .await?;
    let mut resumed = 0;
    for r in rows {
        let t: TenantId = r.try_get("", "id")?;
        // The other paying party of the tenant (its reseller, or its customer)
        // may be suspended too: the suspension is then that party's.
        let other = match account {
            Account::Customer(_) => r
                .try_get::<Option<ResellerId>>("", "reseller_id")?
                .map(Account::Reseller),
            Account::Reseller(_) => Some(Account::Customer(r.try_get("", "customer_id")?)),
        };
        if let Some(o) = other
            && standing_row(o)
                .filter(account_standing::Column::Standing.eq(Standing::Suspended))
                .one(txn)
                .await?
                .is_some()
        {
            lifecycle::hand_over(txn, t, &note, &overdue_note(o), now).await?;
            continue;
        }
        if lifecycle::resume(txn, t, SuspensionReason::Overdue, Some(&note), now).await? {
            resumed += 1;
        }
    }
    Ok(resumed)
}

/// Terminates the account's tenants (a customer's tenants paid ahead
/// excepted).
pub(super) async fn terminate_all(
    txn: &impl ConnectionTrait,
    account: Account,
    now: DateTime<Utc>,
) -> Result<()> {
    let ids = tenant_ids(
        txn,
        &format!(
            "SELECT id FROM tenants WHERE {} = $1 AND state <> 'terminated'{}",
            tenants_column(account),
            prepaid_exemption(account)
        ),
        vec![account.id().into(), now.into()],
    )
    .await?;
    for t in ids {
        lifecycle::terminate(txn, t, now).await?;
    }
    Ok(())
}

/// The note on a tenant suspended for `account`'s arrears: which of its
/// paying parties the suspension belongs to.
fn overdue_note(account: Account) -> String {
    format!("{} overdue", account.kind())
}

/// The condition (on `$2`, now) that spares a customer's tenants paid
/// ahead. A reseller's arrears to the co-op spare none of its tenants (a
/// reseller sets its customers' prepaid terms itself); `$2` is still bound.
fn prepaid_exemption(account: Account) -> &'static str {
    match account {
        Account::Customer(_) => " AND (prepaid_until IS NULL OR prepaid_until <= $2)",
        Account::Reseller(_) => " AND $2 = $2",
    }
}

async fn tenant_ids(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<TenantId>> {
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(|r| Ok(r.try_get("", "id")?))
        .collect()
}

/// A tenant within the grant's reach (outside it reads as not found).
pub(super) async fn tenant_in_reach(
    txn: &impl ConnectionTrait,
    grant: &crate::auth::Grant,
    id: TenantId,
) -> Result<tenant::Model> {
    tenant::Entity::find_by_id(id)
        .one(txn)
        .await?
        .filter(|t| grant.reach.tenant(t.id, t.reseller_id))
        .ok_or_else(|| Error::not_found("tenantId", "tenant"))
}

/// Suspends a tenant by hand (`suspendTenant`): never lifted by a payment.
pub async fn suspend_tenant(
    db: &DatabaseConnection,
    actor: &crate::auth::Actor,
    tenant_id: TenantId,
    note: &str,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    let grant = actor
        .principal
        .authorize(crate::auth::Permission::WriteTenants)?;
    let note = crate::input::non_empty("reason", note, 500)?;
    let txn = Mutation::begin(db, actor, &grant, "suspendTenant", now).await?;
    let t = tenant_in_reach(&txn, &grant, tenant_id).await?;
    if t.state == TenantState::Terminated || t.state == TenantState::Pending {
        return Err(Error::Conflict {
            field: "tenantId",
            code: "NOT_ACTIVE",
            message: format!("the tenant is {}", t.state),
        });
    }
    if t.suspension_reason == Some(SuspensionReason::Overdue) {
        // Re-labelling it manual would let `resumeTenant` lift an arrears suspension.
        return Err(Error::Conflict {
            field: "tenantId",
            code: "SUSPENDED_FOR_ARREARS",
            message: "the tenant is suspended for non-payment already".into(),
        });
    }
    if !lifecycle::suspend(&txn, t.id, SuspensionReason::Manual, &note, now).await? {
        return Err(changed_meanwhile());
    }
    let model = tenant_in_reach(&txn, &grant, t.id).await?;
    txn.commit(crate::audit::Change {
        object_type: "Tenant",
        object_id: t.id.into(),
        reseller_id: t.reseller_id,
        details: serde_json::json!({ "reason": note }),
    })
    .await?;
    Ok(model)
}

/// Lifts a manual suspension (`resumeTenant`). An overdue suspension is
/// lifted by payment, not by hand.
pub async fn resume_tenant(
    db: &DatabaseConnection,
    actor: &crate::auth::Actor,
    tenant_id: TenantId,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    let grant = actor
        .principal
        .authorize(crate::auth::Permission::WriteTenants)?;
    let txn = Mutation::begin(db, actor, &grant, "resumeTenant", now).await?;
    let t = tenant_in_reach(&txn, &grant, tenant_id).await?;
    if t.state != TenantState::Suspended {
        return Err(Error::Conflict {
            field: "tenantId",
            code: "NOT_SUSPENDED",
            message: format!("the tenant is {}", t.state),
        });
    }
    if t.suspension_reason == Some(SuspensionReason::Overdue) {
        return Err(Error::Conflict {
            field: "tenantId",
            code: "ACCOUNT_OVERDUE",
            message:
                "suspended for non-payment: a payment that brings the account current resumes it"
                    .into(),
        });
    }
    if !lifecycle::resume(&txn, t.id, SuspensionReason::Manual, None, now).await? {
        return Err(changed_meanwhile());
    }
    // Its accounts decide again: one may be suspended for arrears.
    account_changed(&txn, t.customer_id, t.reseller_id, now).await?;
    let model = tenant_in_reach(&txn, &grant, t.id).await?;
    txn.commit(crate::audit::Change {
        object_type: "Tenant",
        object_id: t.id.into(),
        reseller_id: t.reseller_id,
        details: serde_json::json!({}),
    })
    .await?;
    Ok(model)
}

/// Sets a tenant's prepaid term (`setTenantPrepaidUntil`): a tenant paid
/// ahead is not suspended or terminated for its account's arrears.
pub async fn set_prepaid_until(
    db: &DatabaseConnection,
    actor: &crate::auth::Actor,
    tenant_id: TenantId,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    let grant = actor
        .principal
        .authorize(crate::auth::Permission::WriteTenants)?;
    let txn = Mutation::begin(db, actor, &grant, "setTenantPrepaidUntil", now).await?;
    let t = tenant_in_reach(&txn, &grant, tenant_id).await?;
    txn.execute_raw(stmt(
        &txn,
        "UPDATE tenants SET prepaid_until = $2, updated_at = $3 WHERE id = $1",
        vec![t.id.into(), until.into(), now.into()],
    ))
    .await?;
    let model = tenant_in_reach(&txn, &grant, t.id).await?;
    txn.commit(crate::audit::Change {
        object_type: "Tenant",
        object_id: t.id.into(),
        reseller_id: t.reseller_id,
        details: serde_json::json!({ "prepaidUntil": until }),
    })
    .await?;
    Ok(model)
}

/// A tenant started (its namespace is ready): its accounts are evaluated
/// now, so a tenant that starts while its account is in arrears is
/// suspended now rather than at the next hourly evaluation.
pub async fn tenant_started(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(t) = tenant::Entity::find_by_id(tenant_id).one(db).await? {
        account_changed(db, t.customer_id, t.reseller_id, now).await?;
    }
    Ok(())
}

/// A tenant that another change (dunning, a termination) moved between
/// this request's read and its write: nothing is changed or audited.
fn changed_meanwhile() -> Error {
    Error::Conflict {
        field: "tenantId",
        code: "TENANT_CHANGED",
        message: "the tenant changed meanwhile; read it again and retry".into(),
    }
}
