//! Customers of resellers, and the co-op's direct customers.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::decimal::Fixed;
use crate::entity::{customer, reseller};
use crate::error::{Error, Result};
use crate::ids::{CustomerId, ResellerId};
use crate::input::{email, non_empty};
use crate::page::{self, Page, PageRequest};
use crate::reference::{Country, Currency};
use crate::usecase::Mutation;

/// A new customer.
#[derive(Clone, Debug, Serialize)]
pub struct NewCustomer {
    /// Its reseller. A reseller's own customers are always its own; a
    /// steward leaves it empty for a direct customer of the co-op.
    pub reseller_id: Option<ResellerId>,
    /// Legal name.
    pub name: String,
    /// Where invoices go.
    pub billing_email: String,
    /// Address.
    pub address_line1: Option<String>,
    /// Address.
    pub address_line2: Option<String>,
    /// Address.
    pub postal_code: Option<String>,
    /// Address.
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// ISO 4217.
    pub currency: String,
    /// A fraction: 0.19 for 19 %.
    pub tax_rate: Decimal,
    /// The customer accounts for VAT.
    pub reverse_charge: bool,
    /// VAT or tax number.
    pub tax_id: Option<String>,
    /// The id an ERP knows it by.
    pub external_ref: Option<String>,
}

fn optional(field: &'static str, v: Option<&str>) -> Result<Option<String>> {
    v.filter(|s| !s.trim().is_empty())
        .map(|s| non_empty(field, s, 200))
        .transpose()
}

/// Creates a customer.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewCustomer,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<customer::Model> {
    let grant = actor.principal.authorize(Permission::WriteCustomers)?;
    let name = non_empty("name", &input.name, 200)?;
    let billing_email = email("billingEmail", &input.billing_email)?;
    let country = Country::parse(&input.country)
        .map_err(|e| Error::invalid("country", "INVALID_COUNTRY", e.to_string()))?;
    let currency = Currency::parse(&input.currency)
        .map_err(|e| Error::invalid("currency", "INVALID_CURRENCY", e.to_string()))?;
    if input.tax_rate < Decimal::ZERO || input.tax_rate > Decimal::ONE {
        return Err(Error::invalid(
            "taxRate",
            "INVALID_TAX_RATE",
            "taxRate is a fraction from 0 to 1 (0.19 for 19 %)",
        ));
    }
    let tax_rate = Fixed::from_decimal(input.tax_rate)
        .map_err(|e| Error::invalid("taxRate", "INVALID_TAX_RATE", e.to_string()))?;
    let reseller_id = match (grant.reach.all, input.reseller_id) {
        (true, r) => r,
        (false, None) if grant.reach.resellers.len() == 1 => grant.reach.resellers.first().copied(),
        (false, Some(r)) if grant.reach.reseller(Some(r)) => Some(r),
        _ => return Err(Error::not_found("resellerId", "reseller")),
    };
    let mut txn = Mutation::begin(db, actor, &grant, "createCustomer", now).await?;
    if let Some(id) = txn.claim(key, &input).await? {
        let reached = |c: &customer::Model| grant.reach.reseller(c.reseller_id);
        return txn
            .replay::<customer::Entity>(id, reached, "customer")
            .await;
    }
    if let Some(r) = reseller_id
        && reseller::Entity::find_by_id(r).one(&txn).await?.is_none()
    {
        return Err(Error::not_found("resellerId", "reseller"));
    }
    let model = customer::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        reseller_id: Set(reseller_id),
        name: Set(name),
        billing_email: Set(billing_email),
        address_line1: Set(optional("addressLine1", input.address_line1.as_deref())?),
        address_line2: Set(optional("addressLine2", input.address_line2.as_deref())?),
        postal_code: Set(optional("postalCode", input.postal_code.as_deref())?),
        city: Set(optional("city", input.city.as_deref())?),
        country: Set(country.code().to_owned()),
        currency: Set(currency.code().to_owned()),
        tax_rate_units: Set(tax_rate.units()),
        tax_rate_nanos: Set(tax_rate.nanos()),
        reverse_charge: Set(input.reverse_charge),
        tax_id: Set(optional("taxId", input.tax_id.as_deref())?),
        payment_method_ref: Set(None),
        stripe_customer_id: Set(None),
        external_ref: Set(optional("externalRef", input.external_ref.as_deref())?),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let change = Change {
        object_type: "Customer",
        object_id: model.id.into(),
        reseller_id,
        details: serde_json::json!({ "country": model.country, "currency": model.currency }),
    };
    txn.commit(change).await?;
    Ok(model)
}

/// Filters of the customer list.
#[derive(Clone, Debug, Default)]
pub struct CustomerFilter {
    /// Only this reseller's.
    pub reseller_id: Option<ResellerId>,
    /// Changed at or after.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Customers the actor reaches.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: CustomerFilter,
    page: PageRequest,
) -> Result<Page<customer::Model>> {
    let grant = actor.principal.authorize(Permission::ReadCustomers)?;
    let mut q = customer::Entity::find().filter(grant.reach.condition(
        Some(customer::Column::ResellerId),
        None,
        None,
    ));
    if let Some(r) = filter.reseller_id {
        q = q.filter(customer::Column::ResellerId.eq(r));
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(customer::Column::UpdatedAt.gte(since));
    }
    page::fetch(db, q, customer::Column::Id, page).await
}

/// One customer, if reached.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: CustomerId,
) -> Result<Option<customer::Model>> {
    Ok(load_many(db, actor, &[id]).await?.pop())
}

/// The customers among `ids` that the actor reaches (for batch loading).
pub async fn load_many(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[CustomerId],
) -> Result<Vec<customer::Model>> {
    Ok(customer::Entity::find()
        .filter(customer::Column::Id.is_in(ids.to_vec()))
        .filter(reached(actor)?)
        .all(db)
        .await?)
}

/// The customers `actor` may read, as a condition on their rows.
pub(crate) fn reached(actor: &Actor) -> Result<Condition> {
    let grant = actor.principal.authorize(Permission::ReadCustomers)?;
    Ok(grant
        .reach
        .condition(Some(customer::Column::ResellerId), None, None))
}
