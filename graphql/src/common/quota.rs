//! Quotas: five resource dimensions.

use async_graphql::{InputObject, SimpleObject};
use coplane_domain::tenancy::{self, Quota as DomainQuota};
use rust_decimal::Decimal;

/// Five resource dimensions, as exact whole numbers.
#[derive(SimpleObject, Clone, Copy)]
pub struct Quota {
    /// CPU in millicores.
    pub cpu_millis: Decimal,
    /// Memory in bytes.
    pub memory_bytes: Decimal,
    /// Persistent storage in bytes.
    pub storage_bytes: Decimal,
    /// Pods.
    pub pods: Decimal,
    /// App installs.
    pub app_installs: Decimal,
}

impl super::plain::Plain for Quota {
    fn field(&self, name: &str, _: &super::plain::At<'_, '_>) -> Option<async_graphql::Value> {
        let value = match name {
            "cpuMillis" => &self.cpu_millis,
            "memoryBytes" => &self.memory_bytes,
            "storageBytes" => &self.storage_bytes,
            "pods" => &self.pods,
            "appInstalls" => &self.app_installs,
            _ => return None,
        };
        Some(super::plain::scalar(value))
    }
}

impl From<DomainQuota> for Quota {
    fn from(q: DomainQuota) -> Self {
        Self {
            cpu_millis: q.cpu_millis.into(),
            memory_bytes: q.memory_bytes.into(),
            storage_bytes: q.storage_bytes.into(),
            pods: q.pods.into(),
            app_installs: q.app_installs.into(),
        }
    }
}

/// A quota to set: whole numbers from 0 to 2⁶³−1, as decimal strings.
#[derive(InputObject, Clone, Copy, Debug)]
pub struct QuotaInput {
    /// CPU in millicores.
    pub cpu_millis: Decimal,
    /// Memory in bytes.
    pub memory_bytes: Decimal,
    /// Persistent storage in bytes.
    pub storage_bytes: Decimal,
    /// Pods.
    pub pods: Decimal,
    /// App installs.
    pub app_installs: Decimal,
}

impl QuotaInput {
    /// The dimensions in the domain's order; the domain parses them.
    pub fn values(self) -> tenancy::QuotaInput {
        [
            self.cpu_millis,
            self.memory_bytes,
            self.storage_bytes,
            self.pods,
            self.app_installs,
        ]
    }
}
