//! Plans: a base fee per period and an included quota, for some apps.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::decimal::Fixed;
use crate::entity::{app, plan};
use crate::error::{Error, Result};
use crate::input::non_empty;
use crate::page::{self, Page, PageRequest};
use crate::reference::Currency;
use crate::tenancy::{QuotaInput, parse_quota};
use crate::usecase::Mutation;

/// A new plan.
#[derive(Clone, Debug, Serialize)]
pub struct NewPlan {
    /// Unique code (`small`, `pro-2026`).
    pub code: String,
    /// Name shown.
    pub name: String,
    /// ISO 4217.
    pub currency: String,
    /// Base fee per period (≥ 0, at most the currency's minor unit in precision).
    pub base_fee: Decimal,
    /// `month` or `year`.
    pub interval: String,
    /// Included quota.
    pub included: QuotaInput,
    /// Slugs of the apps it allows; empty: every app.
    pub allowed_apps: Vec<String>,
}

/// Creates a plan (stewards).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewPlan,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<plan::Model> {
    let grant = actor.principal.authorize(Permission::WriteCatalog)?;
    if crate::tenancy::parse_cluster(&input.code).is_err() {
        return Err(Error::invalid(
            "code",
            "INVALID_CODE",
            format!("`{}` is not a plan code (a DNS label)", input.code),
        ));
    }
    let name = non_empty("name", &input.name, 200)?;
    let currency = Currency::parse(&input.currency)
        .map_err(|e| Error::invalid("currency", "INVALID_CURRENCY", e.to_string()))?;
    let minor = currency.minor_unit_digits();
    crate::decimal::check_amount("baseFee", input.base_fee)?;
    if input.base_fee < Decimal::ZERO || input.base_fee.normalize().scale() > minor {
        return Err(Error::invalid(
            "baseFee",
            "INVALID_AMOUNT",
            format!(
                "baseFee is a non-negative amount with at most {minor} decimal places in {currency}"
            ),
        ));
    }
    let base_fee = Fixed::from_decimal(input.base_fee)
        .map_err(|e| Error::invalid("baseFee", "INVALID_AMOUNT", e.to_string()))?;
    if !matches!(input.interval.as_str(), "month" | "year") {
        return Err(Error::invalid(
            "interval",
            "INVALID_INTERVAL",
            "interval is month or year",
        ));
    }
    let included = parse_quota("included", input.included)?;
    let mut txn = Mutation::begin(db, actor, &grant, "createPlan", now).await?;
    if let Some(id) = txn.claim(key, &input).await? {
        return txn.replay::<plan::Entity>(id, |_| true, "plan").await;
    }
    let mut allowed = input.allowed_apps.clone();
    allowed.sort();
    allowed.dedup();
    let known = app::Entity::find()
        .filter(app::Column::Slug.is_in(allowed.clone()))
        .all(&txn)
        .await?;
    if let Some(missing) = allowed
        .iter()
        .find(|s| !known.iter().any(|a| &a.slug == *s))
    {
        return Err(Error::invalid(
            "allowedApps",
            "UNKNOWN_APP",
            format!("no app `{missing}` in the catalog"),
        ));
    }
    let model = plan::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        code: Set(input.code.clone()),
        name: Set(name),
        currency: Set(currency.code().to_owned()),
        base_fee_units: Set(base_fee.units()),
        base_fee_nanos: Set(base_fee.nanos()),
        billing_interval: Set(input.interval.clone()),
        included_cpu_millis: Set(included.cpu_millis),
        included_memory_bytes: Set(included.memory_bytes),
        included_storage_bytes: Set(included.storage_bytes),
        included_pods: Set(included.pods),
        included_app_installs: Set(included.app_installs),
        allowed_apps: Set(serde_json::to_string(&allowed).unwrap_or_else(|_| "[]".into())),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(Error::conflict_on_unique(
        "code",
        "CODE_TAKEN",
        format!("a plan `{}` exists", input.code),
    ))?;
    let change = Change {
        object_type: "Plan",
        object_id: model.id.into(),
        reseller_id: None,
        details: serde_json::json!({ "code": model.code }),
    };
    txn.commit(change).await?;
    Ok(model)
}

/// Plans on sale, for any authenticated caller.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    page: PageRequest,
) -> Result<Page<plan::Model>> {
    actor.principal.authorize(Permission::ReadCatalog)?;
    page::fetch(
        db,
        plan::Entity::find().filter(plan::Column::Active.eq(true)),
        plan::Column::Id,
        page,
    )
    .await
}
