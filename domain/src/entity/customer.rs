//! `customers`.

use sea_orm::entity::prelude::*;

use crate::ids::{CustomerId, ResellerId};

/// A customer row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: CustomerId,
    /// The reseller; `None` for the co-op's direct customers.
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
    /// Tax rate (a fraction), integer part.
    pub tax_rate_units: i64,
    /// Tax rate, 10⁻⁹ part.
    pub tax_rate_nanos: i64,
    /// The recipient accounts for VAT.
    pub reverse_charge: bool,
    /// VAT or tax number.
    pub tax_id: Option<String>,
    /// Payment method reference.
    pub payment_method_ref: Option<String>,
    /// Stripe customer.
    pub stripe_customer_id: Option<String>,
    /// The id an ERP knows it by.
    pub external_ref: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
