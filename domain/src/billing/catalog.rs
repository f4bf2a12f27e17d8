//! Billing terms: plans' metered charges (stewards) and resellers'
//! wholesale discount and tax (stewards).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::charges::Charge;
use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::decimal::Fixed;
use crate::entity::{billable_metric, plan, plan_charge, reseller};
use crate::error::{Error, Result};
use crate::ids::{PlanId, ResellerId};
use crate::usecase::Mutation;

/// Replaces a plan's metered charges; the plan's price version goes up by
/// one, and invoices name the version they used.
pub async fn set_plan_charges(
    db: &DatabaseConnection,
    actor: &Actor,
    plan_id: PlanId,
    charges: Vec<(String, Charge)>,
    now: DateTime<Utc>,
) -> Result<Vec<plan_charge::Model>> {
    let grant = actor.principal.authorize(Permission::WriteCatalog)?;
    for (i, (_, c)) in charges.iter().enumerate() {
        c.validate().map_err(|e| {
            Error::invalid(
                "charges",
                "INVALID_CHARGE",
                format!("charge {}: {e}", i + 1),
            )
        })?;
    }
    let txn = Mutation::begin(db, actor, &grant, "setPlanCharges", now).await?;
    let plan = plan::Entity::find_by_id(plan_id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("planId", "plan"))?;
    let metrics = billable_metric::Entity::find().all(&txn).await?;
    let mut seen = Vec::new();
    let mut resolved = Vec::new();
    for (code, c) in charges {
        let m = metrics.iter().find(|m| m.code == code).ok_or_else(|| {
            Error::invalid(
                "charges",
                "UNKNOWN_METRIC",
                format!("no billable metric `{code}`"),
            )
        })?;
        if seen.contains(&code) {
            return Err(Error::invalid(
                "charges",
                "DUPLICATE_METRIC",
                format!("`{code}` is charged twice"),
            ));
        }
        seen.push(code);
        resolved.push((m.id, c));
    }
    let existing = plan_charge::Entity::find()
        .filter(plan_charge::Column::PlanId.eq(plan.id))
        .all(&txn)
        .await?;
    let version = existing.iter().map(|c| c.price_version).max().unwrap_or(1) + 1;
    plan_charge::Entity::delete_many()
        .filter(plan_charge::Column::PlanId.eq(plan.id))
        .exec(&txn)
        .await?;
    let mut out = Vec::new();
    for (metric_id, c) in resolved {
        let free = Fixed::from_decimal(c.free_units)
            .map_err(|e| Error::invalid("charges", "INVALID_CHARGE", e.to_string()))?;
        let model = plan_charge::ActiveModel {
            id: Set(Uuid::now_v7().into()),
            plan_id: Set(plan.id),
            metric_id: Set(metric_id),
            charge_model: Set(model_name(&c).into()),
            properties: Set(serde_json::to_string(&c).unwrap_or_default()),
            free_units_units: Set(free.units()),
            free_units_nanos: Set(free.nanos()),
            price_version: Set(version),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        out.push(model);
    }
    txn.commit(Change {
        object_type: "Plan",
        object_id: plan.id.into(),
        reseller_id: None,
        details: serde_json::json!({ "charges": out.len(), "priceVersion": version }),
    })
    .await?;
    Ok(out)
}

fn model_name(c: &Charge) -> &'static str {
    use super::ChargeModel::*;
    match c.model {
        Standard { .. } => "standard",
        Graduated { .. } => "graduated",
        Volume { .. } => "volume",
        Package { .. } => "package",
        Percentage { .. } => "percentage",
    }
}

/// A plan's charges with their metric codes (readers of the catalog).
pub async fn charges_of(
    db: &impl ConnectionTrait,
    plan_id: PlanId,
) -> Result<Vec<(String, plan_charge::Model)>> {
    let metrics = billable_metric::Entity::find().all(db).await?;
    Ok(plan_charge::Entity::find()
        .filter(plan_charge::Column::PlanId.eq(plan_id))
        .order_by_asc(plan_charge::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| {
            let code = metrics
                .iter()
                .find(|m| m.id == c.metric_id)
                .map(|m| m.code.clone())
                .unwrap_or_default();
            (code, c)
        })
        .collect())
}

/// A reseller's billing terms.
#[derive(Clone, Debug)]
pub struct ResellerTerms {
    /// Wholesale discount off list prices (a fraction, 0 to 1).
    pub wholesale_discount: Option<Decimal>,
    /// Tax rate on its wholesale invoices (a fraction, 0 to 1).
    pub tax_rate: Option<Decimal>,
    /// Whether it accounts for the tax itself.
    pub reverse_charge: Option<bool>,
    /// Where its invoices go.
    pub billing_email: Option<String>,
}

fn fraction(field: &'static str, d: Decimal) -> Result<Fixed> {
    if d < Decimal::ZERO || d > Decimal::ONE {
        return Err(Error::invalid(
            field,
            "INVALID_FRACTION",
            format!("{field} is a fraction from 0 to 1 (0.2 for 20 %)"),
        ));
    }
    Fixed::from_decimal(d).map_err(|e| Error::invalid(field, "INVALID_FRACTION", e.to_string()))
}

/// Sets a reseller's billing terms (stewards); unset fields stay.
pub async fn set_reseller_terms(
    db: &DatabaseConnection,
    actor: &Actor,
    reseller_id: ResellerId,
    terms: ResellerTerms,
    now: DateTime<Utc>,
) -> Result<reseller::Model> {
    let grant = actor.principal.authorize(Permission::WriteResellers)?;
    let discount = terms
        .wholesale_discount
        .map(|d| fraction("wholesaleDiscount", d))
        .transpose()?;
    let tax = terms.tax_rate.map(|d| fraction("taxRate", d)).transpose()?;
    let email = terms
        .billing_email
        .as_deref()
        .map(|e| crate::input::email("billingEmail", e))
        .transpose()?;
    let txn = Mutation::begin(db, actor, &grant, "setResellerBillingTerms", now).await?;
    let r = reseller::Entity::find_by_id(reseller_id)
        .one(&txn)
        .await?
        .filter(|r| grant.reach.reseller(Some(r.id)))
        .ok_or_else(|| Error::not_found("resellerId", "reseller"))?;
    let mut am = r.into_active_model();
    if let Some(d) = discount {
        am.wholesale_discount_units = Set(d.units());
        am.wholesale_discount_nanos = Set(d.nanos());
    }
    if let Some(t) = tax {
        am.tax_rate_units = Set(t.units());
        am.tax_rate_nanos = Set(t.nanos());
    }
    if let Some(rc) = terms.reverse_charge {
        am.reverse_charge = Set(rc);
    }
    if email.is_some() {
        am.billing_email = Set(email);
    }
    am.updated_at = Set(now);
    let r = am.update(&txn).await?;
    txn.commit(Change {
        object_type: "Reseller",
        object_id: r.id.into(),
        reseller_id: Some(r.id),
        details: serde_json::json!({
            "wholesaleDiscount": terms.wholesale_discount.map(|d| d.to_string()),
            "taxRate": terms.tax_rate.map(|d| d.to_string()),
            "reverseCharge": terms.reverse_charge,
        }),
    })
    .await?;
    Ok(r)
}
