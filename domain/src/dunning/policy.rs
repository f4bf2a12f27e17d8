//! Overdue policies as data: an ordered ladder of steps, each with a
//! trigger and actions (Kill Bill's overdue states, WHMCS's automation
//! settings). The co-op has one for resellers (and its direct customers);
//! each reseller has one for its customers; a customer can carry overrides.

use crate::usecase::Mutation;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::Account;
use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::billing::jobs::AccountChanged;
use crate::db::stmt;
use crate::error::{Error, Result};
use crate::ids::{CustomerId, ResellerId};

/// When a step applies: every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Trigger {
    /// Days since the oldest unpaid invoice fell due (after grace).
    #[serde(default)]
    pub days_past_due: i64,
    /// Outstanding at least this much.
    #[serde(default)]
    pub min_balance: Option<Decimal>,
    /// At least this many invoices past due.
    #[serde(default)]
    pub min_unpaid_invoices: Option<u32>,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Action {
    /// Mails a payment reminder to the account.
    Reminder,
    /// Adds a late fee: a finalized one-line invoice.
    LateFee {
        /// The fee, in the overdue invoice's currency.
        amount: Decimal,
    },
    /// Mails the reseller that its customer is overdue.
    NotifyReseller,
    /// Suspends the account's tenants (a reseller's: all its customers'),
    /// with a notice mail.
    Suspend,
    /// Mails a warning that termination is coming.
    WarnTermination,
    /// Terminates the account's tenants; their invoices are kept.
    Terminate,
}

impl Action {
    /// Its stored name.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Reminder => "reminder",
            Action::LateFee { .. } => "late_fee",
            Action::NotifyReseller => "notify_reseller",
            Action::Suspend => "suspend",
            Action::WarnTermination => "warn_termination",
            Action::Terminate => "terminate",
        }
    }
}

/// One rung of the ladder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    /// Its name (`first-reminder`).
    pub name: String,
    pub trigger: Trigger,
    pub actions: Vec<Action>,
}

/// Checks a ladder: named steps, days ascending, at least one action each,
/// fees positive, nothing after a termination.
pub fn validate(steps: &[Step]) -> Result<()> {
    let bad = |m: String| Err(Error::invalid("steps", "INVALID_POLICY", m));
    let mut last_days = 0;
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        if s.name.trim().is_empty() || s.name.len() > 80 {
            return bad(format!("step {n} needs a name of 1 to 80 characters"));
        }
        if s.actions.is_empty() {
            return bad(format!("step {n} has no action"));
        }
        if s.trigger.days_past_due < 0 || s.trigger.days_past_due > 3650 {
            return bad(format!("step {n}: daysPastDue is 0 to 3650"));
        }
        if s.trigger.days_past_due < last_days {
            return bad(format!("step {n}: steps are ordered by daysPastDue"));
        }
        last_days = s.trigger.days_past_due;
        let max = crate::decimal::MAX_AMOUNT;
        if s.trigger
            .min_balance
            .is_some_and(|b| b < Decimal::ZERO || b > max)
        {
            return bad(format!("step {n}: minBalance is 0 to {max}"));
        }
        for a in &s.actions {
            if let Action::LateFee { amount } = a
                && (*amount <= Decimal::ZERO || *amount > max || amount.normalize().scale() > 2)
            {
                return bad(format!(
                    "step {n}: a late fee is positive, to the cent, at most {max}"
                ));
            }
        }
        if i + 1 < steps.len() && s.actions.contains(&Action::Terminate) {
            return bad(format!("step {n} terminates: it must be the last"));
        }
    }
    Ok(())
}

/// A stored policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `None`: the co-op's.
    pub reseller_id: Option<ResellerId>,
    pub steps: Vec<Step>,
    /// Raised on every change.
    pub version: i32,
}

/// The policy of `reseller` (`None`: the co-op's), if set.
pub async fn get(
    db: &impl ConnectionTrait,
    reseller: Option<ResellerId>,
) -> Result<Option<Policy>> {
    let row = match reseller {
        Some(r) => {
            db.query_one_raw(stmt(
                db,
                "SELECT steps, version FROM overdue_policies WHERE reseller_id = $1",
                vec![r.into()],
            ))
            .await?
        }
        None => {
            db.query_one_raw(stmt(
                db,
                "SELECT steps, version FROM overdue_policies WHERE reseller_id IS NULL",
                vec![],
            ))
            .await?
        }
    };
    let Some(row) = row else {
        return Ok(None);
    };
    let steps: String = row.try_get("", "steps")?;
    Ok(Some(Policy {
        reseller_id: reseller,
        steps: serde_json::from_str(&steps)
            .map_err(|e| Error::Db(sea_orm::DbErr::Custom(format!("stored policy: {e}"))))?,
        version: row.try_get("", "version")?,
    }))
}

/// Reads a policy for the caller: stewards any; a reseller its own.
pub async fn read(
    db: &impl ConnectionTrait,
    actor: &Actor,
    reseller: Option<ResellerId>,
) -> Result<Option<Policy>> {
    let grant = actor.principal.authorize(Permission::ReadBilling)?;
    if !grant.reach.all && !grant.reach.reseller(reseller) {
        return Ok(None);
    }
    get(db, reseller).await
}

/// Sets a ladder (`setOverduePolicy`): the co-op's by stewards, a
/// reseller's by the steward or that reseller.
pub async fn set(
    db: &DatabaseConnection,
    actor: &Actor,
    reseller: Option<ResellerId>,
    steps: Vec<Step>,
    now: DateTime<Utc>,
) -> Result<Policy> {
    let grant = actor.principal.authorize(Permission::WriteBilling)?;
    if !grant.reach.all && !grant.reach.reseller(reseller) {
        return match reseller {
            None => Err(Error::Forbidden(
                "the co-op's overdue policy is set by its stewards".into(),
            )),
            Some(_) => Err(Error::not_found("resellerId", "reseller")),
        };
    }
    validate(&steps)?;
    let json = serde_json::to_string(&steps).unwrap_or_default();
    let txn = Mutation::begin(db, actor, &grant, "setOverduePolicy", now).await?;
    if let Some(r) = reseller {
        let exists = txn
            .query_one_raw(stmt(
                &txn,
                "SELECT id FROM resellers WHERE id = $1",
                vec![r.into()],
            ))
            .await?
            .is_some();
        if !exists {
            return Err(Error::not_found("resellerId", "reseller"));
        }
    }
    let current = get(&txn, reseller).await?;
    let version = current.as_ref().map_or(1, |p| p.version + 1);
    let id = Uuid::now_v7();
    match (&current, reseller) {
        (Some(_), Some(r)) => {
            txn.execute_raw(stmt(
                &txn,
                "UPDATE overdue_policies SET steps = $2, version = $3, updated_at = $4 WHERE reseller_id = $1",
                vec![r.into(), json.into(), version.into(), now.into()],
            ))
            .await?;
        }
        (Some(_), None) => {
            txn.execute_raw(stmt(
                &txn,
                "UPDATE overdue_policies SET steps = $1, version = $2, updated_at = $3 WHERE reseller_id IS NULL",
                vec![json.into(), version.into(), now.into()],
            ))
            .await?;
        }
        (None, r) => {
            txn.execute_raw(stmt(
                &txn,
                "INSERT INTO overdue_policies (id, reseller_id, steps, version, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $4)",
                vec![id.into(), r.into(), json.into(), now.into()],
            ))
            .await?;
        }
    }
    txn.commit(Change {
        object_type: "OverduePolicy",
        object_id: reseller.map_or(Uuid::nil(), Uuid::from),
        reseller_id: reseller,
        details: serde_json::json!({ "version": version, "steps": steps.len() }),
    })
    .await?;
    Ok(Policy {
        reseller_id: reseller,
        steps,
        version,
    })
}

/// A customer's exceptions to its reseller's ladder.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overrides {
    /// Never suspend or terminate automatically.
    #[serde(default)]
    pub never_suspend: bool,
    /// Days added to every step's trigger.
    #[serde(default)]
    pub extra_grace_days: i64,
}

/// Sets a customer's overrides (the steward, or the customer's reseller).
pub async fn set_overrides(
    db: &DatabaseConnection,
    actor: &Actor,
    customer: CustomerId,
    overrides: Overrides,
    now: DateTime<Utc>,
) -> Result<Overrides> {
    let grant = actor.principal.authorize(Permission::WriteCustomers)?;
    if !(0..=365).contains(&overrides.extra_grace_days) {
        return Err(Error::invalid(
            "extraGraceDays",
            "INVALID_GRACE",
            "extraGraceDays is 0 to 365",
        ));
    }
    let txn = Mutation::begin(db, actor, &grant, "setCustomerDunningOverrides", now).await?;
    let row = txn
        .query_one_raw(stmt(
            &txn,
            "SELECT reseller_id FROM customers WHERE id = $1",
            vec![customer.into()],
        ))
        .await?
        .ok_or_else(|| Error::not_found("customerId", "customer"))?;
    let reseller: Option<ResellerId> = row.try_get("", "reseller_id")?;
    if !grant.reach.reseller(reseller) {
        return Err(Error::not_found("customerId", "customer"));
    }
    let json = serde_json::to_string(&overrides).unwrap_or_default();
    txn.execute_raw(stmt(
        &txn,
        "INSERT INTO account_standings (id, account_kind, account_id, reseller_id, standing, last_step, next_step_at, overrides, created_at, updated_at) \
         VALUES ($1, 'customer', $2, $3, 'current', NULL, NULL, $4, $5, $5) \
         ON CONFLICT (account_kind, account_id) DO UPDATE SET overrides = EXCLUDED.overrides, updated_at = EXCLUDED.updated_at",
        vec![Uuid::now_v7().into(), customer.into(), reseller.into(), json.into(), now.into()],
    ))
    .await?;
    let changed = AccountChanged::from(Account::Customer(customer));
    crate::jobs::enqueue(&txn, &changed, now).await?;
    txn.commit(Change {
        object_type: "Customer",
        object_id: customer.into(),
        reseller_id: reseller,
        details: serde_json::to_value(&overrides).unwrap_or_default(),
    })
    .await?;
    Ok(overrides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladders_parse_and_are_checked() {
        let steps: Vec<Step> = serde_json::from_value(serde_json::json!([
            { "name": "remind", "trigger": { "daysPastDue": 1 }, "actions": [{ "kind": "reminder" }] },
            { "name": "fee", "trigger": { "daysPastDue": 7, "minBalance": "10" }, "actions": [{ "kind": "late_fee", "amount": "5.00" }] },
            { "name": "suspend", "trigger": { "daysPastDue": 14 }, "actions": [{ "kind": "suspend" }] },
            { "name": "end", "trigger": { "daysPastDue": 30 }, "actions": [{ "kind": "terminate" }] },
        ]))
        .unwrap();
        assert!(validate(&steps).is_ok());
        let mut unordered = steps.clone();
        unordered.swap(0, 2);
        assert!(validate(&unordered).is_err());
        let mut after_end = steps.clone();
        after_end.swap(2, 3);
        after_end[3].trigger.days_past_due = 40;
        assert!(validate(&after_end).is_err());
        let mut huge_fee = steps.clone();
        huge_fee[1].actions = vec![Action::LateFee {
            amount: "9000000000000000000".parse().unwrap(),
        }];
        assert!(validate(&huge_fee).is_err());
        assert!(serde_json::from_value::<Step>(serde_json::json!({ "name": "x", "trigger": {}, "actions": [{ "kind": "explode" }] })).is_err());
    }
}
