//! Billable metrics, plans' metered charges and resellers' billing terms.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use coplane_domain::billing;
use coplane_domain::entity::{billable_metric, plan_charge};
use rust_decimal::Decimal;

use crate::catalog::PlanBillingFields;
use crate::common::{decimal, global_id};
use crate::context::db;
use crate::error::{UserError, to_gql};
use crate::scalars::{Json, JsonValue};

/// A billable metric.
pub struct BillableMetric(pub billable_metric::Model);

#[Object]
impl BillableMetric {
    /// Global id.
    async fn id(&self) -> ID {
        global_id("BillableMetric", self.0.id)
    }
    /// The code usage events carry.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Name shown.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `count`, `sum`, `max`, `latest`, `unique_count` or `weighted_sum`.
    async fn aggregation(&self) -> &str {
        &self.0.aggregation
    }
    /// The property `unique_count` counts.
    async fn field_name(&self) -> Option<&str> {
        self.0.field_name.as_deref()
    }
    /// Unit shown.
    async fn unit(&self) -> &str {
        &self.0.unit
    }
}

/// A plan's metered charge.
pub struct PlanCharge(pub String, pub plan_charge::Model);

#[Object]
impl PlanCharge {
    /// The metric's code.
    async fn metric(&self) -> &str {
        &self.0
    }
    /// `standard`, `graduated`, `volume`, `package` or `percentage`.
    async fn model(&self) -> &str {
        &self.1.charge_model
    }
    /// Units included for free each period.
    async fn free_units(&self) -> Decimal {
        decimal(self.1.free_units_units, self.1.free_units_nanos)
    }
    /// The whole charge (prices as decimal strings), as `setPlanCharges` takes it.
    async fn definition(&self) -> JsonValue {
        Json(serde_json::from_str(&self.1.properties).unwrap_or_default())
    }
    /// The plan's price version that set it.
    async fn price_version(&self) -> i32 {
        self.1.price_version
    }
}

#[Object]
impl PlanBillingFields {
    /// Metered charges on top of the base fee.
    async fn charges(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PlanCharge>> {
        plan_charges(ctx, self.id).await
    }
}

/// A plan's charges.
pub(super) async fn plan_charges(
    ctx: &Context<'_>,
    plan_id: uuid::Uuid,
) -> async_graphql::Result<Vec<PlanCharge>> {
    Ok(billing::catalog::charges_of(db(ctx)?, plan_id.into())
        .await
        .map_err(to_gql)?
        .into_iter()
        .map(|(code, c)| PlanCharge(code, c))
        .collect())
}

/// A new billable metric.
#[derive(InputObject)]
pub struct CreateBillableMetricInput {
    /// Code events carry.
    pub(super) code: String,
    /// Name shown.
    pub(super) name: String,
    /// `count`, `sum`, `max`, `latest`, `unique_count` or `weighted_sum`.
    pub(super) aggregation: String,
    /// The property `unique_count` counts.
    pub(super) field_name: Option<String>,
    /// Unit shown.
    pub(super) unit: String,
    /// Replays the first result.
    pub(super) idempotency_key: Option<String>,
}

crate::common::payload! {
    /// `createBillableMetric`'s result.
    BillableMetricPayload {
        /// The metric.
        billable_metric: BillableMetric,
        /// What was wrong.
        user_errors,
    }
}

/// One charge.
#[derive(InputObject)]
pub struct PlanChargeInput {
    /// The metric's code.
    pub(super) metric: String,
    /// The charge: `{"model": "standard", "unitPrice": "0.02", "freeUnits": "100"}`,
    /// `{"model": "graduated", "tiers": [{"upTo": "100", "unitPrice": "0.1"}, {"unitPrice": "0.05"}]}`,
    /// `volume` (tiers), `package` (`size`, `price`), `percentage` (`rate`).
    pub(super) charge: JsonValue,
}

/// A plan's new charges.
#[derive(InputObject)]
pub struct SetPlanChargesInput {
    /// The plan.
    pub(super) plan_id: ID,
    /// All its charges (replacing the ones it has).
    pub(super) charges: Vec<PlanChargeInput>,
}

crate::common::payload! {
    /// `setPlanCharges`' result.
    PlanChargesPayload {
        /// The plan's charges now.
        charges: Vec<PlanCharge>,
        /// What was wrong.
        user_errors,
    }
}

/// A reseller's billing terms; unset fields stay.
#[derive(InputObject)]
pub struct SetResellerBillingTermsInput {
    /// The reseller.
    pub(super) reseller_id: ID,
    /// Discount off list prices (0.2 for 20 %).
    pub(super) wholesale_discount: Option<Decimal>,
    /// Tax rate on its wholesale invoices.
    pub(super) tax_rate: Option<Decimal>,
    /// It accounts for the tax itself.
    pub(super) reverse_charge: Option<bool>,
    /// Where its invoices go.
    pub(super) billing_email: Option<String>,
}

/// `setResellerBillingTerms`' result.
#[derive(SimpleObject)]
pub struct ResellerTermsPayload {
    /// The reseller's id.
    pub(super) reseller_id: Option<ID>,
    /// Its discount now.
    pub(super) wholesale_discount: Option<Decimal>,
    /// What was wrong.
    pub(super) user_errors: Vec<UserError>,
}
