//! `tenants`.

use sea_orm::entity::prelude::*;

use crate::ids::{CustomerId, PlanId, ResellerId, TenantId};

use crate::quota::Quota;

/// A tenant row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TenantId,
    /// Owner.
    pub customer_id: CustomerId,
    /// The customer's reseller (denormalized for scoping).
    pub reseller_id: Option<ResellerId>,
    /// Plan.
    pub plan_id: Option<PlanId>,
    /// Immutable slug.
    pub slug: String,
    /// Cluster it runs in.
    pub cluster: String,
    /// Namespace (from the slug).
    pub namespace: String,
    /// Quota: CPU millicores.
    pub quota_cpu_millis: i64,
    /// Quota: memory bytes.
    pub quota_memory_bytes: i64,
    /// Quota: storage bytes.
    pub quota_storage_bytes: i64,
    /// Quota: pods.
    pub quota_pods: i64,
    /// Quota: app installs.
    pub quota_app_installs: i64,
    pub state: TenantState,
    /// When suspended.
    pub suspension_reason: Option<SuspensionReason>,
    /// Why, in words.
    pub suspension_note: Option<String>,
    /// When suspended.
    pub suspended_at: Option<DateTimeUtc>,
    /// When terminated.
    pub terminated_at: Option<DateTimeUtc>,
    /// Paid up to (prepaid terms are exempt from dunning).
    pub prepaid_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// The quota.
    pub fn quota(&self) -> Quota {
        Quota {
            cpu_millis: self.quota_cpu_millis,
            memory_bytes: self.quota_memory_bytes,
            storage_bytes: self.quota_storage_bytes,
            pods: self.quota_pods,
            app_installs: self.quota_app_installs,
        }
    }
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

super::stored_enum!(
    /// A tenant's lifecycle: `pending → active → suspended → terminated`.
    TenantState {
        /// Created; its namespace is not ready yet.
        Pending = "pending",
        /// Running.
        Active = "active",
        /// Workloads scaled to zero.
        Suspended = "suspended",
        /// Gone; kept for the ledger.
        Terminated = "terminated",
    }
);

super::stored_enum!(
    /// Why a tenant is suspended.
    SuspensionReason {
        /// Non-payment: lifted when the account is current again.
        Overdue = "overdue",
        /// By a steward or reseller: never lifted by a payment.
        Manual = "manual",
    }
);

impl TenantState {
    /// Whether its quota counts against the reseller's allotment.
    pub fn is_live(self) -> bool {
        self != TenantState::Terminated
    }
}
