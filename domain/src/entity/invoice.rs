//! `invoices`.

use sea_orm::entity::prelude::*;

use crate::ids::{BillingPeriodId, CustomerId, InvoiceId, ResellerId};

/// An invoice: issuer → recipient for a period.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: InvoiceId,
    /// The period closed into it.
    pub billing_period_id: Option<BillingPeriodId>,
    /// Whose world it is in.
    pub reseller_id: Option<ResellerId>,
    /// Issuer; `None`: the co-op.
    pub issuer_reseller_id: Option<ResellerId>,
    /// Recipient, when a reseller.
    pub recipient_reseller_id: Option<ResellerId>,
    /// Recipient, when a customer.
    pub recipient_customer_id: Option<CustomerId>,
    /// Who bills whom.
    pub layer: InvoiceLayer,
    /// Gapless per issuer and year, once finalized.
    pub number: Option<String>,
    pub period_start: DateTimeUtc,
    pub period_end: DateTimeUtc,
    /// ISO 4217.
    pub currency: String,
    /// Sum of the lines, integer part.
    pub subtotal_units: i64,
    /// Sum of the lines, 10⁻⁹ part.
    pub subtotal_nanos: i64,
    /// Tax, integer part.
    pub tax_units: i64,
    /// Tax, 10⁻⁹ part.
    pub tax_nanos: i64,
    /// Total, integer part.
    pub total_units: i64,
    /// Total, 10⁻⁹ part.
    pub total_nanos: i64,
    /// Total in minor units.
    pub total_cents: i64,
    /// Paid so far, integer part.
    pub amount_paid_units: i64,
    /// Paid so far, 10⁻⁹ part.
    pub amount_paid_nanos: i64,
    /// Where it is in its life.
    pub status: InvoiceStatus,
    pub finalized_at: Option<DateTimeUtc>,
    pub due_at: Option<DateTimeUtc>,
    /// Paid in full.
    pub paid_at: Option<DateTimeUtc>,
    pub voided_at: Option<DateTimeUtc>,
    /// The PaymentIntent collecting it.
    pub stripe_payment_intent_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Its place in a period's close.
    pub close_key: Option<String>,
    /// Credited by credit notes, integer part.
    pub amount_credited_units: i64,
    /// Credited by credit notes, 10⁻⁹ part.
    pub amount_credited_nanos: i64,
    /// Tax rate applied, integer part.
    pub tax_rate_units: i64,
    /// Tax rate applied, 10⁻⁹ part.
    pub tax_rate_nanos: i64,
    /// Reverse charge: the recipient accounts for the tax.
    pub reverse_charge: bool,
    /// Issuer's name at issue.
    pub issuer_name: Option<String>,
    /// Recipient's name at issue.
    pub recipient_name: Option<String>,
    /// Where it is sent.
    pub recipient_email: Option<String>,
    /// The PaymentIntent's client secret, for the payer.
    pub payment_client_secret: Option<String>,
    /// Why the last payment attempt failed.
    pub payment_error: Option<String>,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

super::stored_enum!(
    /// Who bills whom.
    InvoiceLayer {
        /// The co-op bills a reseller.
        Wholesale = "wholesale",
        /// A reseller bills its customer.
        Retail = "retail",
        /// The co-op bills a customer of its own.
        Direct = "direct",
    }
);

super::stored_enum!(
    /// An invoice's status.
    InvoiceStatus {
        /// Made, not numbered; may still be changed by a rerun of the close.
        Draft = "draft",
        /// Finalized and owed.
        Open = "open",
        /// Paid (or credited) in full.
        Paid = "paid",
        /// Credited in full before any payment.
        Void = "void",
        /// Written off outside coplane (the schema allows it; coplane never
        /// writes it): takes no payments or credit notes.
        Uncollectible = "uncollectible",
    }
);
