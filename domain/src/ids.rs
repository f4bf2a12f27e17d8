//! Typed identifiers. Every entity has its own id type so that a tenant id
//! can never be passed where an invoice id is expected.

/// Defines a `Uuid` newtype id with serde, `Display`, `FromStr` and sea-orm
/// value conversions.
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, sea_orm::DeriveValueType,
        )]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        impl PartialEq<uuid::Uuid> for $name {
            fn eq(&self, other: &uuid::Uuid) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for uuid::Uuid {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        // No `Default`: an id is made (`new`) or read, never defaulted.
        #[allow(clippy::new_without_default)]
        impl $name {
            /// A new, time-ordered id (UUIDv7).
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }


        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

    };
}

define_id!(
    /// A queued job.
    JobId
);
define_id!(
    /// A co-op member.
    MemberId
);
define_id!(
    /// A reseller (a member organisation selling under its brand).
    ResellerId
);
define_id!(
    /// A customer of a reseller or of the co-op.
    CustomerId
);
define_id!(
    /// A tenant: one Kubernetes namespace with its quota.
    TenantId
);
define_id!(
    /// An app in the catalog.
    AppId
);
define_id!(
    /// A published version of an app.
    AppVersionId
);
define_id!(
    /// An app installed in a tenant.
    AppInstallId
);
define_id!(
    /// A plan.
    PlanId
);
define_id!(
    /// A plan's metered charge.
    PlanChargeId
);
define_id!(
    /// A storefront order.
    OrderId
);
define_id!(
    /// A line of an order.
    OrderLineId
);
define_id!(
    /// An invoice.
    InvoiceId
);
define_id!(
    /// A line of an invoice.
    InvoiceLineId
);
define_id!(
    /// A payment.
    PaymentId
);
define_id!(
    /// A credit note.
    CreditNoteId
);
define_id!(
    /// A billing period.
    BillingPeriodId
);
define_id!(
    /// A billable metric.
    BillableMetricId
);
define_id!(
    /// An API token.
    ApiTokenId
);
define_id!(
    /// An audit event.
    AuditEventId
);
define_id!(
    /// An entry of the credit ledger.
    AccountCreditId
);
define_id!(
    /// A paying party's standing row.
    AccountStandingId
);
define_id!(
    /// A dunning action taken.
    DunningStepId
);
define_id!(
    /// A span of a tenant's plan history.
    TenantPlanId
);
