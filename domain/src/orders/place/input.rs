//! What an order says: its lines, as the storefront sends them.

use super::*;

/// At most this many lines in one order.
pub const MAX_LINES: usize = 50;

/// An order as placed.
#[derive(Clone, Debug, Serialize)]
pub struct NewOrder {
    /// The buying customer (one of the reseller's).
    pub customer_id: CustomerId,
    /// What it buys, in order.
    pub lines: Vec<LineInput>,
}

/// Which tenant an install goes to.
#[derive(Clone, Debug, Serialize)]
pub enum TenantRef {
    /// An existing tenant of the customer.
    Existing(TenantId),
    /// The tenant a `NewTenant` line of the same order creates, by slug.
    New(String),
}

/// One line of an order.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LineInput {
    /// A new tenant on a plan; its quota is the plan's unless given.
    NewTenant {
        /// Its slug.
        slug: String,
        /// Its cluster (the default one when `None`).
        cluster: Option<String>,
        /// Its plan.
        plan_id: PlanId,
        /// Its quota, if not the plan's.
        quota: Option<QuotaInput>,
    },
    /// A tenant moves to a plan; its quota becomes the plan's unless given.
    PlanChange {
        /// The tenant.
        tenant_id: TenantId,
        /// The new plan.
        plan_id: PlanId,
        /// The new quota, if not the plan's.
        quota: Option<QuotaInput>,
    },
    /// An app installed.
    AppInstall {
        /// Where.
        tenant: TenantRef,
        /// Which version.
        app_version_id: AppVersionId,
        /// Its values (`null`: none).
        values: serde_json::Value,
    },
    /// An install moved to another version of its app.
    AppUpgrade {
        /// The install.
        install_id: AppInstallId,
        /// The version.
        app_version_id: AppVersionId,
    },
    /// An install removed.
    AppUninstall {
        /// The install.
        install_id: AppInstallId,
        /// Whether its volumes and generated secrets go too.
        delete_data: bool,
    },
}
