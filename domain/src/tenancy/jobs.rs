//! Jobs the tenancy changes cause.

use serde::{Deserialize, Serialize};

use crate::ids::{AppInstallId, TenantId};
use crate::jobs::Job;

/// Makes the tenant's `Tenant` resource match its row (or removes it once
/// the tenant is terminated), and copies the resource's status back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncTenant {
    /// The tenant.
    pub tenant_id: TenantId,
}

impl Job for SyncTenant {
    const NAME: &'static str = "tenancy.sync_tenant";
    const DEDUPLICATED: bool = true;
}

/// Makes an install's `AppInstall` resource match its row (or removes it
/// once uninstalled or its tenant is terminated), and copies readiness back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncAppInstall {
    /// The install.
    pub install_id: AppInstallId,
}

impl Job for SyncAppInstall {
    const NAME: &'static str = "tenancy.sync_app_install";
    const DEDUPLICATED: bool = true;
}
