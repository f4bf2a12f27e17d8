//! Dunning: overdue policies, account standing and its history, manual
//! suspension, prepaid terms. The last area: it may use every other one.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use coplane_domain::account::Account;
use coplane_domain::dunning::{self, policy};

use crate::common::{Payload, decode_as, global_id, input_id, not_found, optional_id};
use crate::context::{actor, db, now};
use crate::error::{UserError, payload, to_gql};
use crate::scalars::{Json, JsonValue};
use crate::tenancy::{CustomerDunningFields, ResellerDunningFields, Tenant, TenantPayload};

/// A paying party's standing.
#[derive(SimpleObject)]
pub struct AccountStanding {
    /// `current`, `overdue`, `suspended` or `terminated`.
    standing: String,
    /// The last step of the ladder taken in this run of being overdue.
    last_step: Option<i32>,
    /// The next step's name.
    next_step: Option<String>,
    /// When it falls due.
    next_step_at: Option<DateTime<Utc>>,
    /// Every step taken, oldest first.
    history: Vec<DunningStep>,
}

/// A dunning step taken.
#[derive(SimpleObject)]
pub struct DunningStep {
    /// Its place in the ladder (-1: a payment's receipt).
    step_index: i32,
    /// `reminder`, `late_fee`, `notify_reseller`, `suspend`, `warn_termination`, `terminate`, `payment_received`.
    action: String,
    /// When taken.
    taken_at: DateTime<Utc>,
    /// When its mail was sent.
    sent_at: Option<DateTime<Utc>>,
    /// The invoice it was about.
    invoice_id: Option<ID>,
}

#[Object]
impl CustomerDunningFields {
    /// Its standing, and the dunning steps taken; null unless the caller
    /// may read billing in the customer's world.
    async fn standing(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountStanding>> {
        standing(ctx, Account::Customer(self.id.into()), self.reseller_id).await
    }
}

#[Object]
impl ResellerDunningFields {
    /// Its standing as the co-op's debtor, and the dunning steps taken;
    /// null unless the caller may read billing in the reseller's world.
    async fn standing(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<AccountStanding>> {
        standing(ctx, Account::Reseller(self.id.into()), Some(self.id)).await
    }
}

/// The standing of an account the caller has read, in `world` (the
/// reseller whose world it is); the domain decides whether it is shown.
async fn standing(
    ctx: &Context<'_>,
    account: Account,
    world: Option<uuid::Uuid>,
) -> async_graphql::Result<Option<AccountStanding>> {
    let read = dunning::read_standing(db(ctx)?, actor(ctx)?, account, world.map(Into::into))
        .await
        .map_err(to_gql)?;
    Ok(read.map(|(s, history)| AccountStanding {
        standing: s.standing.as_str().into(),
        last_step: s.last_step,
        next_step: s.next_step,
        next_step_at: s.next_step_at,
        history: history
            .into_iter()
            .map(|h| DunningStep {
                step_index: h.step_index,
                action: h.action,
                taken_at: h.taken_at,
                sent_at: h.sent_at,
                invoice_id: h.invoice_id.map(|i| global_id("Invoice", i)),
            })
            .collect(),
    }))
}

/// An overdue policy.
#[derive(SimpleObject)]
pub struct OverduePolicy {
    /// Its reseller; null: the co-op's.
    reseller_id: Option<ID>,
    /// The ladder: `[{ name, trigger: { daysPastDue, minBalance, minUnpaidInvoices }, actions: [{ kind, … }] }]`.
    steps: JsonValue,
    /// Raised on every change.
    version: i32,
}

fn policy_out(p: policy::Policy) -> OverduePolicy {
    OverduePolicy {
        reseller_id: p.reseller_id.map(|r| global_id("Reseller", r)),
        steps: Json(serde_json::to_value(&p.steps).unwrap_or_default()),
        version: p.version,
    }
}

#[derive(Default)]
pub struct DunningQuery;

#[Object]
impl DunningQuery {
    /// A reseller's overdue policy for its customers, or (without
    /// `resellerId`) the co-op's for resellers and direct customers.
    async fn overdue_policy(
        &self,
        ctx: &Context<'_>,
        reseller_id: Option<ID>,
    ) -> async_graphql::Result<Option<OverduePolicy>> {
        let reseller = match reseller_id {
            Some(id) => match decode_as(&id, "Reseller") {
                Some(u) => Some(u),
                None => return Ok(None),
            },
            None => None,
        };
        Ok(
            policy::read(db(ctx)?, actor(ctx)?, reseller.map(Into::into))
                .await
                .map_err(to_gql)?
                .map(policy_out),
        )
    }
}

/// A ladder to set.
#[derive(InputObject)]
pub struct SetOverduePolicyInput {
    /// The reseller whose customers it governs; null: the co-op's.
    reseller_id: Option<ID>,
    /// The steps, in order.
    steps: JsonValue,
}

crate::common::payload! {
    /// `setOverduePolicy`'s result.
    OverduePolicyPayload {
        /// The policy.
        policy: OverduePolicy,
        /// What was wrong.
        user_errors,
    }
}

/// A customer's exceptions.
#[derive(InputObject)]
pub struct SetCustomerDunningOverridesInput {
    /// The customer.
    customer_id: ID,
    /// Never suspend or terminate automatically.
    never_suspend: bool,
    /// Days added to every step's trigger.
    #[graphql(default)]
    extra_grace_days: i64,
}

/// `setCustomerDunningOverrides`' result.
#[derive(SimpleObject)]
pub struct OverridesPayload {
    /// Never suspend automatically.
    never_suspend: Option<bool>,
    /// Extra grace days.
    extra_grace_days: Option<i64>,
    /// What was wrong.
    user_errors: Vec<UserError>,
}

/// A tenant to suspend by hand.
#[derive(InputObject)]
pub struct SuspendTenantInput {
    /// The tenant.
    tenant_id: ID,
    /// Why (kept with the suspension).
    reason: String,
}

/// A tenant to act on.
#[derive(InputObject)]
pub struct TenantIdInput {
    /// The tenant.
    tenant_id: ID,
}

/// A tenant's prepaid term.
#[derive(InputObject)]
pub struct SetTenantPrepaidUntilInput {
    /// The tenant.
    tenant_id: ID,
    /// Paid up to; null ends the term.
    prepaid_until: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct DunningMutation;

#[Object]
impl DunningMutation {
    /// Sets an overdue ladder: the co-op's (stewards) or a reseller's for
    /// its customers (that reseller or a steward).
    async fn set_overdue_policy(
        &self,
        ctx: &Context<'_>,
        input: SetOverduePolicyInput,
    ) -> async_graphql::Result<OverduePolicyPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let reseller = optional_id(input.reseller_id.as_ref(), "Reseller", "resellerId")?;
            let steps: Vec<policy::Step> = serde_json::from_value(input.steps.0).map_err(|e| {
                coplane_domain::Error::invalid("steps", "INVALID_POLICY", e.to_string())
            })?;
            policy::set(db, actor, reseller, steps, now).await
        };
        OverduePolicyPayload::from_result(result.await.map(policy_out))
    }

    /// Sets a customer's exceptions to its reseller's ladder.
    async fn set_customer_dunning_overrides(
        &self,
        ctx: &Context<'_>,
        input: SetCustomerDunningOverridesInput,
    ) -> async_graphql::Result<OverridesPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(id) = decode_as(&input.customer_id, "Customer") else {
            return Ok(OverridesPayload {
                never_suspend: None,
                extra_grace_days: None,
                user_errors: not_found("customerId", "customer"),
            });
        };
        let o = policy::Overrides {
            never_suspend: input.never_suspend,
            extra_grace_days: input.extra_grace_days,
        };
        let (o, user_errors) = payload(policy::set_overrides(db, actor, id.into(), o, now).await)?;
        Ok(OverridesPayload {
            never_suspend: o.as_ref().map(|o| o.never_suspend),
            extra_grace_days: o.map(|o| o.extra_grace_days),
            user_errors,
        })
    }

    /// Suspends a tenant by hand, with a reason: a payment never lifts it.
    async fn suspend_tenant(
        &self,
        ctx: &Context<'_>,
        input: SuspendTenantInput,
    ) -> async_graphql::Result<TenantPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let id = input_id(&input.tenant_id, "Tenant", "tenantId")?;
            dunning::suspend_tenant(db, actor, id, &input.reason, now).await
        };
        TenantPayload::from_result(result.await.map(Tenant))
    }

    /// Lifts a manual suspension.
    async fn resume_tenant(
        &self,
        ctx: &Context<'_>,
        input: TenantIdInput,
    ) -> async_graphql::Result<TenantPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let id = input_id(&input.tenant_id, "Tenant", "tenantId")?;
            dunning::resume_tenant(db, actor, id, now).await
        };
        TenantPayload::from_result(result.await.map(Tenant))
    }

    /// Sets a tenant's prepaid term: a tenant paid ahead is not suspended
    /// for its account's arrears.
    async fn set_tenant_prepaid_until(
        &self,
        ctx: &Context<'_>,
        input: SetTenantPrepaidUntilInput,
    ) -> async_graphql::Result<TenantPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let id = input_id(&input.tenant_id, "Tenant", "tenantId")?;
            dunning::set_prepaid_until(db, actor, id, input.prepaid_until, now).await
        };
        TenantPayload::from_result(result.await.map(Tenant))
    }
}
