//! Customers.

use async_graphql::{Context, ID, InputObject, Object, Value};
use chrono::{DateTime, Utc};
use coplane_domain::entity::customer;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{Reseller, load_reseller};
use crate::common::plain::{At, Plain, scalar, text, text_opt};
use crate::common::{exact_decimal, global_id};

/// Someone who pays a reseller, or the co-op directly.
pub struct Customer(pub customer::Model);

#[Object]
impl Customer {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Customer", self.0.id)
    }
    #[graphql(flatten)]
    async fn dunning_fields(&self) -> CustomerDunningFields {
        CustomerDunningFields {
            id: self.0.id.into(),
            reseller_id: self.0.reseller_id.map(Into::into),
        }
    }
    /// Its reseller; null for the co-op's direct customers.
    async fn reseller(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Reseller>> {
        load_reseller(ctx, self.0.reseller_id).await
    }
    /// Legal name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Where invoices go.
    async fn billing_email(&self) -> &str {
        &self.0.billing_email
    }
    /// Address.
    async fn address_line1(&self) -> Option<&str> {
        self.0.address_line1.as_deref()
    }
    /// Address.
    async fn address_line2(&self) -> Option<&str> {
        self.0.address_line2.as_deref()
    }
    /// Address.
    async fn postal_code(&self) -> Option<&str> {
        self.0.postal_code.as_deref()
    }
    /// Address.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    /// ISO 3166-1 alpha-2.
    async fn country(&self) -> &str {
        &self.0.country
    }
    /// ISO 4217.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Tax rate as a fraction (`"0.19"`).
    async fn tax_rate(&self) -> async_graphql::Result<Decimal> {
        exact_decimal(self.0.tax_rate_units, self.0.tax_rate_nanos)
    }
    /// The customer accounts for VAT.
    async fn reverse_charge(&self) -> bool {
        self.0.reverse_charge
    }
    /// Tax number.
    async fn tax_id(&self) -> Option<&str> {
        self.0.tax_id.as_deref()
    }
    /// The id an ERP knows it by.
    async fn external_ref(&self) -> Option<&str> {
        self.0.external_ref.as_deref()
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

impl Plain for Customer {
    fn field(&self, name: &str, _: &At<'_, '_>) -> Option<Value> {
        let c = &self.0;
        Some(match name {
            "id" => scalar(&global_id("Customer", c.id)),
            "name" => text(&c.name),
            "billingEmail" => text(&c.billing_email),
            "addressLine1" => text_opt(c.address_line1.as_deref()),
            "addressLine2" => text_opt(c.address_line2.as_deref()),
            "postalCode" => text_opt(c.postal_code.as_deref()),
            "city" => text_opt(c.city.as_deref()),
            "country" => text(&c.country),
            "currency" => text(&c.currency),
            "taxRate" => scalar(&exact_decimal(c.tax_rate_units, c.tax_rate_nanos).ok()?),
            "reverseCharge" => Value::Boolean(c.reverse_charge),
            "taxId" => text_opt(c.tax_id.as_deref()),
            "externalRef" => text_opt(c.external_ref.as_deref()),
            "createdAt" => scalar(&c.created_at),
            "updatedAt" => scalar(&c.updated_at),
            _ => return None,
        })
    }
}

/// `Customer`'s fields that dunning resolves (`standing`), in their place
/// among its own: dunning implements the object, so tenancy does not use
/// dunning.
pub struct CustomerDunningFields {
    pub id: Uuid,
    /// Its reseller, whose world it is in.
    pub reseller_id: Option<Uuid>,
}

/// `createCustomer` input.
#[derive(InputObject)]
pub struct CreateCustomerInput {
    /// The reseller (stewards; empty for a direct customer). A reseller's customers are its own.
    pub reseller_id: Option<ID>,
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
    /// A fraction: `"0.19"` for 19 %.
    pub tax_rate: Decimal,
    /// The customer accounts for VAT.
    #[graphql(default)]
    pub reverse_charge: bool,
    /// Tax number.
    pub tax_id: Option<String>,
    /// The id an ERP knows it by.
    pub external_ref: Option<String>,
    /// Replays the first result when repeated with the same input.
    pub idempotency_key: Option<String>,
}

crate::common::payload! {
    /// `createCustomer` result.
    CreateCustomerPayload {
        /// The customer, unless there were user errors.
        customer: Customer,
        /// What was wrong with the input; nothing was changed.
        user_errors,
    }
}
