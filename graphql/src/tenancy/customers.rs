//! Customers.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use coplane_domain::Fixed;
use coplane_domain::entity::customer;
use rust_decimal::Decimal;

use super::{Reseller, load_reseller};
use crate::error::UserError;
use crate::node::global_id;

/// Someone who pays a reseller, or the co-op directly.
pub struct Customer(pub customer::Model);

#[Object]
impl Customer {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Customer", self.0.id)
    }
    /// Its standing, and the dunning steps taken; null unless the caller
    /// may read billing in the customer's world.
    async fn standing(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::dunning::AccountStanding>> {
        crate::dunning::standing(ctx, "customer", self.0.id, self.0.reseller_id).await
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
        Fixed::from_parts(self.0.tax_rate_units, self.0.tax_rate_nanos)
            .map(Fixed::to_decimal)
            .map_err(|e| crate::error::internal(&e))
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

/// `createCustomer` result.
#[derive(SimpleObject)]
pub struct CreateCustomerPayload {
    /// The customer, unless there were user errors.
    pub customer: Option<Customer>,
    /// What was wrong with the input; nothing was changed.
    pub user_errors: Vec<UserError>,
}
