//! A reseller's storefront: the catalog at its prices, under its brand.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::pricing::retail_price;
use crate::audit::Change;
use crate::auth::{Actor, Grant, Permission};
use crate::db::stmt;
use crate::decimal::Fixed;
use crate::entity::{app, plan, reseller};
use crate::error::{Error, Result};
use crate::ids::{PlanId, ResellerId};
use crate::reference::Currency;
use crate::usecase::Mutation;

/// A plan as a reseller sells it.
#[derive(Clone, Debug)]
pub struct PricedPlan {
    /// The plan.
    pub plan: plan::Model,
    /// Its retail price per period, in the plan's currency.
    pub price: Decimal,
}

/// The catalog as one reseller sells it.
#[derive(Clone, Debug)]
pub struct Storefront {
    /// The reseller (brand, support contact).
    pub reseller: reseller::Model,
    /// Its markup over wholesale, if it set one.
    pub markup: Option<Decimal>,
    /// The price list's version (0: never set).
    pub price_version: i32,
    /// Plans on sale, at its prices.
    pub plans: Vec<PricedPlan>,
    /// Apps on sale.
    pub apps: Vec<app::Model>,
    /// Its brand and host names.
    pub brand: super::brand::Brand,
}

/// Which reseller a call is about: a reseller's own, or the one a steward names.
pub(super) fn target(grant: &Grant, reseller_id: Option<ResellerId>) -> Result<ResellerId> {
    match (grant.reach.all, reseller_id) {
        (true, Some(r)) => Ok(r),
        (true, None) => Err(Error::invalid(
            "resellerId",
            "RESELLER_REQUIRED",
            "name the reseller",
        )),
        (false, Some(r)) if grant.reach.reseller(Some(r)) => Ok(r),
        (false, None) if grant.reach.resellers.len() == 1 => Ok(grant.reach.resellers[0]),
        _ => Err(Error::not_found("resellerId", "reseller")),
    }
}

/// A reseller's storefront; `None` when the reseller is outside the caller's reach.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    reseller_id: Option<ResellerId>,
) -> Result<Option<Storefront>> {
    let grant = actor.principal.authorize(Permission::ReadStorefront)?;
    let id = match target(&grant, reseller_id) {
        Ok(id) => id,
        Err(Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(reseller) = reseller::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    // Retail is marked up from what the reseller pays: list less its discount.
    let discount = Fixed::from_parts(
        reseller.wholesale_discount_units,
        reseller.wholesale_discount_nanos,
    )
    .map_err(|e| Error::Db(sea_orm::DbErr::Custom(e.to_string())))?
    .to_decimal();
    let list = db
        .query_one_raw(stmt(db, "SELECT id, markup_units, markup_nanos, version FROM price_lists WHERE reseller_id = $1", vec![id.into()]))
        .await?;
    let (markup, price_version, explicit) = match list {
        None => (None, 0, Vec::new()),
        Some(row) => {
            let list_id: Uuid = row.try_get("", "id")?;
            let units: Option<i64> = row.try_get("", "markup_units")?;
            let nanos: Option<i64> = row.try_get("", "markup_nanos")?;
            let markup = match (units, nanos) {
                (Some(u), Some(n)) => Some(
                    Fixed::from_parts(u, n)
                        .map_err(|e| Error::Db(sea_orm::DbErr::Custom(e.to_string())))?
                        .to_decimal(),
                ),
                _ => None,
            };
            let items = db
                .query_all_raw(stmt(
                    db,
                    "SELECT plan_id, retail_price_units, retail_price_nanos FROM price_list_items WHERE price_list_id = $1 AND plan_id IS NOT NULL",
                    vec![list_id.into()],
                ))
                .await?;
            let explicit = items
                .iter()
                .map(|r| {
                    let price = Fixed::from_parts(
                        r.try_get("", "retail_price_units")?,
                        r.try_get("", "retail_price_nanos")?,
                    )
                    .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
                    Ok((r.try_get::<Uuid>("", "plan_id")?, price.to_decimal()))
                })
                .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
            (markup, row.try_get("", "version")?, explicit)
        }
    };
    let plans = plan::Entity::find()
        .filter(plan::Column::Active.eq(true))
        .order_by_asc(plan::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| {
            let list = Fixed::from_parts(p.base_fee_units, p.base_fee_nanos)
                .map_err(|e| Error::Db(sea_orm::DbErr::Custom(e.to_string())))?
                .to_decimal();
            let wholesale = super::pricing::wholesale_price(list, discount);
            let minor = Currency::parse(&p.currency).map_or(2, |c| c.minor_unit_digits());
            let own = explicit
                .iter()
                .find(|(id, _)| *id == p.id)
                .map(|(_, price)| *price);
            Ok(PricedPlan {
                price: retail_price(wholesale, markup, own, minor),
                plan: p,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let apps = app::Entity::find()
        .order_by_asc(app::Column::Slug)
        .all(db)
        .await?;
    Ok(Some(Storefront {
        brand: super::brand::brand(db, id).await?,
        reseller,
        markup,
        price_version,
        plans,
        apps,
    }))
}

/// Sets a reseller's prices: a markup over wholesale and/or explicit prices
/// per plan, replacing what was set before (the price list's version goes up).
pub async fn set_prices(
    db: &DatabaseConnection,
    actor: &Actor,
    reseller_id: Option<ResellerId>,
    markup: Option<Decimal>,
    prices: Vec<(PlanId, Decimal)>,
    now: DateTime<Utc>,
) -> Result<Storefront> {
    let grant = actor.principal.authorize(Permission::WriteStorefront)?;
    let id = target(&grant, reseller_id)?;
    let markup_fixed = markup
        .map(|m| {
            if m < Decimal::ZERO || m > Decimal::TEN {
                return Err(Error::invalid(
                    "markup",
                    "INVALID_MARKUP",
                    "markup is a fraction from 0 to 10 (0.25 for 25 %)",
                ));
            }
            Fixed::from_decimal(m)
                .map_err(|e| Error::invalid("markup", "INVALID_MARKUP", e.to_string()))
        })
        .transpose()?;
    let txn = Mutation::begin(db, actor, &grant, "setPriceList", now).await?;
    crate::tenancy::resellers::lock(&txn, id)
        .await?
        .ok_or_else(|| Error::not_found("resellerId", "reseller"))?;
    let mut seen = Vec::new();
    let mut items = Vec::new();
    for (plan_id, price) in &prices {
        if seen.contains(plan_id) {
            return Err(Error::invalid(
                "prices",
                "DUPLICATE_PLAN",
                "each plan is priced once",
            ));
        }
        seen.push(*plan_id);
        let p = plan::Entity::find_by_id(*plan_id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::not_found("prices", "plan"))?;
        let minor = Currency::parse(&p.currency).map_or(2, |c| c.minor_unit_digits());
        crate::decimal::check_amount("prices", *price)?;
        if *price < Decimal::ZERO || price.normalize().scale() > minor {
            return Err(Error::invalid(
                "prices",
                "INVALID_AMOUNT",
                format!(
                    "the price of {} is a non-negative amount with at most {minor} decimal places in {}",
                    p.code, p.currency
                ),
            ));
        }
        items.push((
            p.id,
            Fixed::from_decimal(*price)
                .map_err(|e| Error::invalid("prices", "INVALID_AMOUNT", e.to_string()))?,
        ));
    }
    let existing = txn
        .query_one_raw(stmt(
            &txn,
            "SELECT id, version FROM price_lists WHERE reseller_id = $1",
            vec![id.into()],
        ))
        .await?;
    let (list_id, version) = match existing {
        Some(row) => {
            let list_id: Uuid = row.try_get("", "id")?;
            let version: i32 = row.try_get::<i32>("", "version")? + 1;
            txn.execute_raw(stmt(
                &txn,
                "DELETE FROM price_list_items WHERE price_list_id = $1",
                vec![list_id.into()],
            ))
            .await?;
            txn.execute_raw(stmt(
                &txn,
                "UPDATE price_lists SET markup_units = $2, markup_nanos = $3, version = $4, updated_at = $5 WHERE id = $1",
                vec![list_id.into(), markup_fixed.map(Fixed::units).into(), markup_fixed.map(Fixed::nanos).into(), version.into(), now.into()],
            ))
            .await?;
            (list_id, version)
        }
        None => {
            let list_id = Uuid::now_v7();
            txn.execute_raw(stmt(
                &txn,
                "INSERT INTO price_lists (id, reseller_id, markup_units, markup_nanos, version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5)",
                vec![list_id.into(), id.into(), markup_fixed.map(Fixed::units).into(), markup_fixed.map(Fixed::nanos).into(), now.into()],
            ))
            .await?;
            (list_id, 1)
        }
    };
    for (plan_id, price) in &items {
        txn.execute_raw(stmt(
            &txn,
            "INSERT INTO price_list_items (id, price_list_id, reseller_id, plan_id, app_id, retail_price_units, retail_price_nanos, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $7)",
            vec![Uuid::now_v7().into(), list_id.into(), id.into(), (*plan_id).into(), price.units().into(), price.nanos().into(), now.into()],
        ))
        .await?;
    }
    let change = Change {
        object_type: "Reseller",
        object_id: id.into(),
        reseller_id: Some(id),
        details: serde_json::json!({ "version": version, "markup": markup, "prices": prices.len() }),
    };
    txn.commit(change).await?;
    get(db, actor, Some(id))
        .await?
        .ok_or_else(|| Error::not_found("resellerId", "reseller"))
}
