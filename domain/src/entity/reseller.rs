//! `resellers`.

use sea_orm::entity::prelude::*;

use crate::ids::{MemberId, ResellerId};

use crate::quota::Quota;

/// A reseller row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "resellers")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ResellerId,
    /// The member organisation.
    pub member_id: MemberId,
    /// Brand it sells under.
    pub brand_name: String,
    /// Support contact shown to its customers.
    pub support_email: Option<String>,
    /// Wholesale discount (a fraction), integer part.
    pub wholesale_discount_units: i64,
    /// Wholesale discount, 10⁻⁹ part.
    pub wholesale_discount_nanos: i64,
    /// Allotment: CPU millicores.
    pub allotment_cpu_millis: i64,
    /// Allotment: memory bytes.
    pub allotment_memory_bytes: i64,
    /// Allotment: storage bytes.
    pub allotment_storage_bytes: i64,
    /// Allotment: pods.
    pub allotment_pods: i64,
    /// Allotment: app installs.
    pub allotment_app_installs: i64,
    /// Tax rate on its wholesale invoices (a fraction), integer part.
    pub tax_rate_units: i64,
    /// Tax rate, 10⁻⁹ part.
    pub tax_rate_nanos: i64,
    /// The reseller accounts for VAT on its wholesale invoices.
    pub reverse_charge: bool,
    /// Where the co-op's invoices go (else its member's email).
    pub billing_email: Option<String>,
    /// Stripe customer.
    pub stripe_customer_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// The allotment as a quota.
    pub fn allotment(&self) -> Quota {
        Quota {
            cpu_millis: self.allotment_cpu_millis,
            memory_bytes: self.allotment_memory_bytes,
            storage_bytes: self.allotment_storage_bytes,
            pods: self.allotment_pods,
            app_installs: self.allotment_app_installs,
        }
    }
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
