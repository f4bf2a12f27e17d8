//! Jobs the tenancy changes cause.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::jobs::Job;

/// Makes the tenant's `Tenant` resource match its row (or removes it once
/// the tenant is terminated), and copies the resource's status back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncTenant {
    /// The tenant.
    pub tenant_id: Uuid,
}

impl Job for SyncTenant {
    const NAME: &'static str = "tenancy.sync_tenant";
    const DEDUPLICATED: bool = true;
}
