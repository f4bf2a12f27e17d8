//! An order's lines, as `placeOrder` takes them.

use async_graphql::{ID, InputObject, OneofObject};
use coplane_domain::orders;

use crate::common::{QuotaInput, input_id};
use crate::scalars::JsonValue;

/// A new tenant on a plan.
#[derive(InputObject)]
pub struct NewTenantLineInput {
    /// Its slug.
    pub slug: String,
    /// Its cluster (the default one when omitted).
    pub cluster: Option<String>,
    /// Its plan.
    pub plan_id: ID,
    /// Its quota, when not the plan's included quota.
    pub quota: Option<QuotaInput>,
}

/// A tenant moved to another plan.
#[derive(InputObject)]
pub struct PlanChangeLineInput {
    /// The tenant.
    pub tenant_id: ID,
    /// The new plan.
    pub plan_id: ID,
    /// The new quota, when not the plan's included quota.
    pub quota: Option<QuotaInput>,
}

/// An app installed in a tenant: an existing one, or one a `newTenant`
/// line earlier in the same order creates.
#[derive(InputObject)]
pub struct AppInstallLineInput {
    /// An existing tenant of the customer.
    pub tenant_id: Option<ID>,
    /// The slug of a `newTenant` line earlier in this order.
    pub new_tenant_slug: Option<String>,
    /// The version.
    pub app_version_id: ID,
    /// Its values (`{ "host": "shop.example.org", "env": { "TITLE": "Shop" } }`).
    pub values: Option<JsonValue>,
}

/// An install moved to another version of its app.
#[derive(InputObject)]
pub struct AppUpgradeLineInput {
    /// The install.
    pub install_id: ID,
    /// The version.
    pub app_version_id: ID,
}

/// An install removed.
#[derive(InputObject)]
pub struct AppUninstallLineInput {
    /// The install.
    pub install_id: ID,
    /// Delete its volumes and generated secrets too (default: keep them).
    #[graphql(default)]
    pub delete_data: bool,
}

/// One line: exactly one of its fields.
#[derive(OneofObject)]
pub enum OrderLineInput {
    /// A new tenant.
    NewTenant(NewTenantLineInput),
    /// A plan change.
    PlanChange(PlanChangeLineInput),
    /// An app install.
    AppInstall(AppInstallLineInput),
    /// An app upgrade.
    AppUpgrade(AppUpgradeLineInput),
    /// An app uninstall.
    AppUninstall(AppUninstallLineInput),
}

/// `placeOrder` input.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// The buying customer.
    pub customer_id: ID,
    /// Required: repeating an order with the same key returns the first.
    pub idempotency_key: String,
    /// What it buys.
    pub lines: Vec<OrderLineInput>,
}

pub(super) fn line(input: OrderLineInput) -> coplane_domain::Result<orders::LineInput> {
    Ok(match input {
        OrderLineInput::NewTenant(l) => orders::LineInput::NewTenant {
            slug: l.slug,
            cluster: l.cluster,
            plan_id: input_id(&l.plan_id, "Plan", "planId")?,
            quota: l.quota.map(QuotaInput::values),
        },
        OrderLineInput::PlanChange(l) => orders::LineInput::PlanChange {
            tenant_id: input_id(&l.tenant_id, "Tenant", "tenantId")?,
            plan_id: input_id(&l.plan_id, "Plan", "planId")?,
            quota: l.quota.map(QuotaInput::values),
        },
        OrderLineInput::AppInstall(l) => orders::LineInput::AppInstall {
            tenant: match (l.tenant_id, l.new_tenant_slug) {
                (Some(id), None) => {
                    orders::TenantRef::Existing(input_id(&id, "Tenant", "tenantId")?)
                }
                (None, Some(slug)) => orders::TenantRef::New(slug),
                _ => {
                    return Err(coplane_domain::Error::invalid(
                        "tenantId",
                        "INVALID_LINE",
                        "an install names tenantId or newTenantSlug, not both",
                    ));
                }
            },
            app_version_id: input_id(&l.app_version_id, "AppVersion", "appVersionId")?,
            values: l.values.map_or(serde_json::Value::Null, |v| v.0),
        },
        OrderLineInput::AppUpgrade(l) => orders::LineInput::AppUpgrade {
            install_id: input_id(&l.install_id, "AppInstall", "installId")?,
            app_version_id: input_id(&l.app_version_id, "AppVersion", "appVersionId")?,
        },
        OrderLineInput::AppUninstall(l) => orders::LineInput::AppUninstall {
            install_id: input_id(&l.install_id, "AppInstall", "installId")?,
            delete_data: l.delete_data,
        },
    })
}
