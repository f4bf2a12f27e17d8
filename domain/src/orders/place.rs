//! `placeOrder`: the whole order checked, then written, in one transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    IntoActiveModel, Set,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::installs::{self, LiveInstall};
use super::jobs::FulfilOrder;
use super::{LineKind, OrderError, OrderState, at, ensure_no_order_in_progress};
use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::catalog::InstallValues;
use crate::entity::{app_install, customer, order, order_line, plan, reseller, tenant};
use crate::error::{Error, Result};
use crate::tenancy::{
    DIMENSIONS, Platform, Quota, QuotaInput, TenantSlug, TenantState, begin_create, finish_create,
    parse_quota, resellers, tenants,
};

/// At most this many lines in one order.
pub const MAX_LINES: usize = 50;

/// An order as placed.
#[derive(Clone, Debug, Serialize)]
pub struct NewOrder {
    /// The buying customer (one of the reseller's).
    pub customer_id: Uuid,
    /// What it buys, in order.
    pub lines: Vec<LineInput>,
}

/// Which tenant an install goes to.
#[derive(Clone, Debug, Serialize)]
pub enum TenantRef {
    /// An existing tenant of the customer.
    Existing(Uuid),
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
        plan_id: Uuid,
        /// Its quota, if not the plan's.
        quota: Option<QuotaInput>,
    },
    /// A tenant moves to a plan; its quota becomes the plan's unless given.
    PlanChange {
        /// The tenant.
        tenant_id: Uuid,
        /// The new plan.
        plan_id: Uuid,
        /// The new quota, if not the plan's.
        quota: Option<QuotaInput>,
    },
    /// An app installed.
    AppInstall {
        /// Where.
        tenant: TenantRef,
        /// Which version.
        app_version_id: Uuid,
        /// Its values (`null`: none).
        values: serde_json::Value,
    },
    /// An install moved to another version of its app.
    AppUpgrade {
        /// The install.
        install_id: Uuid,
        /// The version.
        app_version_id: Uuid,
    },
    /// An install removed.
    AppUninstall {
        /// The install.
        install_id: Uuid,
        /// Whether its volumes and generated secrets go too.
        delete_data: bool,
    },
}

/// A touched tenant as the order would leave it.
struct TenantDraft {
    id: Uuid,
    slug: String,
    existing: Option<tenant::Model>,
    /// For a new tenant: its slug, parsed, and cluster.
    new: Option<(TenantSlug, String)>,
    plan: Option<plan::Model>,
    quota: Quota,
    installs: Vec<LiveInstall>,
}

/// A line, checked, with what it needs to be written.
enum Planned {
    NewTenant {
        tenant: usize,
    },
    PlanChange {
        tenant: usize,
        plan_id: Uuid,
        before: tenant::Model,
    },
    Install {
        tenant: usize,
        install_id: Uuid,
        app_id: Uuid,
        version_id: Uuid,
        values: InstallValues,
        host: Option<String>,
    },
    Upgrade {
        tenant: usize,
        before: app_install::Model,
        version_id: Uuid,
        host: Option<String>,
    },
    Uninstall {
        tenant: usize,
        install: app_install::Model,
        delete_data: bool,
    },
}

struct Draft<'c> {
    platform: &'c Platform,
    /// Hosts claimed by earlier lines of this order, with their tenant.
    hosts: Vec<(String, Uuid)>,
    tenants: Vec<TenantDraft>,
    planned: Vec<Planned>,
    installs_touched: Vec<Uuid>,
}

async fn load_plan(
    txn: &impl ConnectionTrait,
    id: Uuid,
    customer: &customer::Model,
) -> Result<plan::Model> {
    let plan = plan::Entity::find_by_id(id)
        .one(txn)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| Error::not_found("planId", "plan"))?;
    if plan.currency != customer.currency {
        return Err(Error::invalid(
            "planId",
            "CURRENCY_MISMATCH",
            format!(
                "plan `{}` is sold in {}, the customer pays in {}",
                plan.code, plan.currency, customer.currency
            ),
        ));
    }
    Ok(plan)
}

fn quota_or_plan(input: Option<QuotaInput>, plan: &plan::Model) -> Result<Quota> {
    match input {
        Some(q) => parse_quota("quota", q),
        None => Ok(plan.included()),
    }
}

fn allows(plan: Option<&plan::Model>, app_slug: &str) -> bool {
    let Some(plan) = plan else { return true };
    let allowed: Vec<String> = serde_json::from_str(&plan.allowed_apps).unwrap_or_default();
    allowed.is_empty() || allowed.iter().any(|a| a == app_slug)
}

fn values_error(problems: Vec<crate::catalog::RecipeError>) -> Error {
    let first = &problems[0];
    Error::Invalid {
        field: "values",
        code: first.code,
        message: problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

impl Draft<'_> {
    /// The index of an existing tenant of `customer`, loading it once.
    async fn existing_tenant(
        &mut self,
        txn: &impl ConnectionTrait,
        customer: &customer::Model,
        id: Uuid,
        field: &'static str,
    ) -> Result<usize> {
        if let Some(i) = self.tenants.iter().position(|t| t.id == id) {
            return Ok(i);
        }
        let t = tenant::Entity::find_by_id(id)
            .one(txn)
            .await?
            .filter(|t| t.customer_id == customer.id)
            .ok_or_else(|| Error::not_found(field, "tenant"))?;
        if t.state == TenantState::Terminated.as_str() {
            return Err(Error::invalid(
                field,
                "TENANT_TERMINATED",
                format!("tenant `{}` is terminated", t.slug),
            ));
        }
        // A tenant another unfinished order creates or re-plans is not
        // settled yet: cancelling that order would pull it from under this one.
        ensure_no_order_in_progress(
            txn,
            order_line::Column::TenantId,
            t.id,
            "this tenant",
            field,
        )
        .await?;
        let plan = match t.plan_id {
            Some(p) => plan::Entity::find_by_id(p).one(txn).await?,
            None => None,
        };
        self.tenants.push(TenantDraft {
            id: t.id,
            slug: t.slug.clone(),
            quota: t.quota(),
            installs: installs::live(txn, t.id).await?,
            new: None,
            plan,
            existing: Some(t),
        });
        Ok(self.tenants.len() - 1)
    }

    async fn add(
        &mut self,
        txn: &impl ConnectionTrait,
        customer: &customer::Model,
        line: &LineInput,
    ) -> Result<()> {
        match line {
            LineInput::NewTenant {
                slug,
                cluster,
                plan_id,
                quota,
            } => {
                let slug = TenantSlug::parse(slug)
                    .map_err(|e| Error::invalid("slug", "INVALID_SLUG", e.to_string()))?;
                let cluster = self.platform.clusters.resolve(cluster.as_deref())?;
                let plan = load_plan(txn, *plan_id, customer).await?;
                let quota = quota_or_plan(*quota, &plan)?;
                let twice = self.tenants.iter().any(|t| {
                    t.new
                        .as_ref()
                        .is_some_and(|(s, _)| s.as_ref() == slug.as_ref())
                });
                if twice {
                    return Err(Error::invalid(
                        "slug",
                        "DUPLICATE_LINE",
                        format!("two lines create a tenant `{slug}`"),
                    ));
                }
                self.tenants.push(TenantDraft {
                    id: Uuid::now_v7(),
                    slug: slug.to_string(),
                    existing: None,
                    new: Some((slug, cluster)),
                    plan: Some(plan),
                    quota,
                    installs: Vec::new(),
                });
                self.planned.push(Planned::NewTenant {
                    tenant: self.tenants.len() - 1,
                });
            }
            LineInput::PlanChange {
                tenant_id,
                plan_id,
                quota,
            } => {
                let i = self
                    .existing_tenant(txn, customer, *tenant_id, "tenantId")
                    .await?;
                if self
                    .planned
                    .iter()
                    .any(|p| matches!(p, Planned::PlanChange { tenant, .. } if *tenant == i))
                {
                    return Err(Error::invalid(
                        "tenantId",
                        "DUPLICATE_LINE",
                        "two lines change this tenant's plan",
                    ));
                }
                let plan = load_plan(txn, *plan_id, customer).await?;
                let quota = quota_or_plan(*quota, &plan)?;
                let t = &mut self.tenants[i];
                let before = t.existing.clone().expect("an existing tenant");
                if before.plan_id == Some(plan.id) && before.quota() == quota {
                    return Err(Error::invalid(
                        "planId",
                        "NO_CHANGE",
                        "the tenant is on this plan with this quota already",
                    ));
                }
                t.quota = quota;
                t.plan = Some(plan);
                self.planned.push(Planned::PlanChange {
                    tenant: i,
                    plan_id: *plan_id,
                    before,
                });
            }
            LineInput::AppInstall {
                tenant,
                app_version_id,
                values,
            } => {
                let i = match tenant {
                    TenantRef::Existing(id) => {
                        self.existing_tenant(txn, customer, *id, "tenantId").await?
                    }
                    TenantRef::New(slug) => self
                        .tenants
                        .iter()
                        .position(|t| t.new.is_some() && t.slug == *slug)
                        .ok_or_else(|| {
                            Error::invalid(
                                "newTenantSlug",
                                "UNKNOWN_TENANT",
                                format!("no earlier line of this order creates a tenant `{slug}`"),
                            )
                        })?,
                };
                let (version, app, recipe) = installs::load_version(txn, *app_version_id)
                    .await?
                    .ok_or_else(|| Error::not_found("appVersionId", "app version"))?;
                let t = &mut self.tenants[i];
                if !allows(t.plan.as_ref(), &app.slug) {
                    return Err(Error::invalid(
                        "appVersionId",
                        "APP_NOT_IN_PLAN",
                        format!(
                            "plan `{}` does not include app `{}`",
                            t.plan.as_ref().map_or("", |p| p.code.as_str()),
                            app.slug
                        ),
                    ));
                }
                let values = InstallValues::check(values, &recipe).map_err(values_error)?;
                let (tenant_slug, tenant_id) = (t.slug.clone(), t.id);
                let host = self
                    .claim_host(txn, &recipe, &values, (&app.slug, &tenant_slug), tenant_id)
                    .await?;
                let t = &mut self.tenants[i];
                let install_id = Uuid::now_v7();
                t.installs.push(LiveInstall {
                    id: install_id,
                    app_slug: app.slug.clone(),
                    footprint: recipe.footprint(),
                });
                self.planned.push(Planned::Install {
                    tenant: i,
                    install_id,
                    app_id: app.id,
                    version_id: version.id,
                    values,
                    host,
                });
            }
            LineInput::AppUpgrade {
                install_id,
                app_version_id,
            } => {
                let (i, install) = self.touch_install(txn, customer, *install_id).await?;
                let (version, app, recipe) = installs::load_version(txn, *app_version_id)
                    .await?
                    .filter(|(v, _, _)| v.app_id == install.app_id)
                    .ok_or_else(|| Error::not_found("appVersionId", "version of this app"))?;
                if version.id == install.app_version_id {
                    return Err(Error::invalid(
                        "appVersionId",
                        "NO_CHANGE",
                        format!("version {} is installed already", version.version),
                    ));
                }
                if !allows(self.tenants[i].plan.as_ref(), &app.slug) {
                    return Err(Error::invalid(
                        "appVersionId",
                        "APP_NOT_IN_PLAN",
                        format!("the tenant's plan does not include app `{}`", app.slug),
                    ));
                }
                let values = serde_json::from_str(&install.values_json).unwrap_or_default();
                let checked = InstallValues::check(&values, &recipe).map_err(|p| {
                    let e = values_error(p);
                    Error::invalid(
                        "appVersionId",
                        "VALUES_DO_NOT_FIT",
                        format!(
                            "the install's values do not fit version {}: {e}",
                            version.version
                        ),
                    )
                })?;
                let (tenant_slug, tenant_id) = (self.tenants[i].slug.clone(), self.tenants[i].id);
                let host = self
                    .claim_host(txn, &recipe, &checked, (&app.slug, &tenant_slug), tenant_id)
                    .await?;
                let t = &mut self.tenants[i];
                if let Some(live) = t.installs.iter_mut().find(|l| l.id == install.id) {
                    live.footprint = recipe.footprint();
                }
                self.planned.push(Planned::Upgrade {
                    tenant: i,
                    before: install,
                    version_id: version.id,
                    host,
                });
            }
            LineInput::AppUninstall {
                install_id,
                delete_data,
            } => {
                let (i, install) = self.touch_install(txn, customer, *install_id).await?;
                self.tenants[i].installs.retain(|l| l.id != install.id);
                self.planned.push(Planned::Uninstall {
                    tenant: i,
                    install,
                    delete_data: *delete_data,
                });
            }
        }
        Ok(())
    }

    /// The host an install line would take: free of other tenants' live
    /// installs and of this order's earlier lines for other tenants.
    async fn claim_host(
        &mut self,
        txn: &impl ConnectionTrait,
        recipe: &crate::catalog::Recipe,
        values: &InstallValues,
        names: (&str, &str),
        tenant_id: Uuid,
    ) -> Result<Option<String>> {
        let host =
            installs::claim_host(txn, self.platform, recipe, values, names, tenant_id).await?;
        if let Some(h) = &host {
            if self.hosts.iter().any(|(o, t)| o == h && *t != tenant_id) {
                return Err(installs::host_taken(h));
            }
            self.hosts.push((h.clone(), tenant_id));
        }
        Ok(host)
    }

    /// A live install of one of `customer`'s tenants, which no other line
    /// and no unfinished order is changing.
    async fn touch_install(
        &mut self,
        txn: &impl ConnectionTrait,
        customer: &customer::Model,
        id: Uuid,
    ) -> Result<(usize, app_install::Model)> {
        // Another customer's install reads exactly as one that does not
        // exist: same field, same message.
        let install = app_install::Entity::find_by_id(id)
            .one(txn)
            .await?
            .ok_or_else(|| Error::not_found("installId", "app install"))?;
        let owned = tenant::Entity::find_by_id(install.tenant_id)
            .one(txn)
            .await?
            .is_some_and(|t| t.customer_id == customer.id);
        if !owned {
            return Err(Error::not_found("installId", "app install"));
        }
        let i = self
            .existing_tenant(txn, customer, install.tenant_id, "installId")
            .await?;
        if !installs::is_live(&install.state) {
            return Err(Error::invalid(
                "installId",
                "NOT_INSTALLED",
                format!("the install is {}", install.state),
            ));
        }
        if self.installs_touched.contains(&id) {
            return Err(Error::invalid(
                "installId",
                "DUPLICATE_LINE",
                "two lines change this install",
            ));
        }
        ensure_no_order_in_progress(
            txn,
            order_line::Column::AppInstallId,
            id,
            "this install",
            "installId",
        )
        .await?;
        self.installs_touched.push(id);
        Ok((i, install))
    }

    /// Every touched tenant's installs within its quota, and the reseller's
    /// tenants within its allotment, as the order would leave them.
    async fn check(
        &self,
        txn: &impl ConnectionTrait,
        reseller: &reseller::Model,
    ) -> Result<(), OrderError> {
        for (ti, t) in self.tenants.iter().enumerate() {
            if let Err(error) = installs::check_fits(&t.slug, &t.quota, &t.installs) {
                return Err(OrderError {
                    line: self.planned.iter().rposition(|p| p.tenant_index() == ti),
                    error,
                });
            }
        }
        let pool_changes = self
            .planned
            .iter()
            .any(|p| matches!(p, Planned::NewTenant { .. } | Planned::PlanChange { .. }));
        if !pool_changes {
            return Ok(());
        }
        let live = resellers::usage(txn, reseller.id).await?;
        let mut in_use: [i128; 5] = live.values().map(i128::from);
        let mut requested = [0i128; 5];
        for t in &self.tenants {
            if let Some(e) = &t.existing {
                for (u, q) in in_use.iter_mut().zip(e.quota().values()) {
                    *u -= i128::from(q);
                }
            }
            for (r, q) in requested.iter_mut().zip(t.quota.values()) {
                *r += i128::from(q);
            }
        }
        let over: Vec<String> = DIMENSIONS
            .iter()
            .zip(
                in_use
                    .iter()
                    .zip(requested)
                    .zip(reseller.allotment().values()),
            )
            .filter(|(_, ((u, r), a))| *u + *r > i128::from(*a))
            .map(|(name, ((u, r), a))| format!("{name}: {u} in use + {r} requested > {a} allotted"))
            .collect();
        if over.is_empty() {
            Ok(())
        } else {
            Err(Error::QuotaExceeded {
                field: "lines",
                message: format!(
                    "the reseller's allotment would be exceeded ({})",
                    over.join("; ")
                ),
            }
            .into())
        }
    }
}

impl Planned {
    fn tenant_index(&self) -> usize {
        match self {
            Planned::NewTenant { tenant }
            | Planned::PlanChange { tenant, .. }
            | Planned::Install { tenant, .. }
            | Planned::Upgrade { tenant, .. }
            | Planned::Uninstall { tenant, .. } => *tenant,
        }
    }
}

/// Places an order: every line checked, then all written, or nothing.
/// Replays the first order when `key` is repeated with the same order.
pub async fn place(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewOrder,
    platform: &Platform,
    key: &str,
    now: DateTime<Utc>,
) -> Result<order::Model, OrderError> {
    let grant = actor.principal.authorize(Permission::PlaceOrders)?;
    let key = crate::tenancy::non_empty("idempotencyKey", key, 200)?;
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        return Err(Error::invalid(
            "lines",
            "INVALID_ORDER",
            format!("an order has 1 to {MAX_LINES} lines"),
        )
        .into());
    }
    let (txn, replay) = begin_create(db, actor, "placeOrder", Some(&key), &input, now).await?;
    if let Some(id) = replay {
        let found = order::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .filter(|o| grant.reach.reseller(Some(o.reseller_id)));
        txn.commit().await?;
        return Ok(found.ok_or_else(|| Error::not_found("idempotencyKey", "order"))?);
    }
    let customer = customer::Entity::find_by_id(input.customer_id)
        .one(&txn)
        .await?
        .filter(|c| grant.reach.reseller(c.reseller_id))
        .ok_or_else(|| Error::not_found("customerId", "customer"))?;
    let Some(reseller_id) = customer.reseller_id else {
        return Err(Error::invalid(
            "customerId",
            "DIRECT_CUSTOMER",
            "storefront orders are for a reseller's customers",
        )
        .into());
    };
    // Every order of a reseller is checked under its pool lock: two orders
    // never both take the last of a quota.
    let reseller = resellers::lock(&txn, reseller_id)
        .await?
        .ok_or_else(|| Error::not_found("customerId", "reseller"))?;
    let mut draft = Draft {
        platform,
        hosts: Vec::new(),
        tenants: Vec::new(),
        planned: Vec::new(),
        installs_touched: Vec::new(),
    };
    for (i, line) in input.lines.iter().enumerate() {
        draft.add(&txn, &customer, line).await.map_err(at(i))?;
    }
    draft.check(&txn, &reseller).await?;
    let hash = format!(
        "{:x}",
        Sha256::digest(serde_json::to_vec(&input).unwrap_or_default())
    );
    let order = order::ActiveModel {
        id: Set(Uuid::now_v7()),
        reseller_id: Set(reseller_id),
        customer_id: Set(customer.id),
        state: Set(OrderState::Pending.as_str().to_owned()),
        idempotency_key: Set(Some(key.clone())),
        request_hash: Set(hash),
        placed_by: Set(actor.principal.subject.clone()),
        failure_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(Error::conflict_on_unique(
        "idempotencyKey",
        "IDEMPOTENCY_KEY_REUSED",
        "another credential of this reseller placed an order with this key".to_owned(),
    ))?;
    for (i, (planned, line)) in draft.planned.iter().zip(&input.lines).enumerate() {
        write_line(&txn, &draft, &customer, &order, i, planned, line, now)
            .await
            .map_err(at(i))?;
    }
    crate::jobs::enqueue(&txn, &FulfilOrder { order_id: order.id }, now)
        .await
        .map_err(Error::from)?;
    let change = Change {
        action: "placeOrder",
        object_type: "Order",
        object_id: order.id,
        reseller_id: Some(reseller_id),
        details: json!({
            "customerId": customer.id,
            "lines": draft.planned.iter().map(|p| p.kind().as_str()).collect::<Vec<_>>(),
        }),
    };
    finish_create(txn, actor, &grant, Some(&key), change, now).await?;
    Ok(order)
}

impl Planned {
    fn kind(&self) -> LineKind {
        match self {
            Planned::NewTenant { .. } => LineKind::NewTenant,
            Planned::PlanChange { .. } => LineKind::PlanChange,
            Planned::Install { .. } => LineKind::AppInstall,
            Planned::Upgrade { .. } => LineKind::AppUpgrade,
            Planned::Uninstall { .. } => LineKind::AppUninstall,
        }
    }
}

/// Writes one line's change (the desired state) and the line itself, with
/// what the change replaced.
#[allow(clippy::too_many_arguments)]
async fn write_line(
    txn: &DatabaseTransaction,
    draft: &Draft<'_>,
    customer: &customer::Model,
    order: &order::Model,
    position: usize,
    planned: &Planned,
    line: &LineInput,
    now: DateTime<Utc>,
) -> Result<()> {
    let t = &draft.tenants[planned.tenant_index()];
    let mut row = order_line::ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(order.id),
        reseller_id: Set(order.reseller_id),
        position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
        kind: Set(planned.kind().as_str().to_owned()),
        tenant_id: Set(Some(t.id)),
        plan_id: Set(None),
        app_version_id: Set(None),
        app_install_id: Set(None),
        request: Set(String::new()),
        state: Set(OrderState::Pending.as_str().to_owned()),
        reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let before = match planned {
        Planned::NewTenant { .. } => {
            let (slug, cluster) = t.new.as_ref().expect("a new tenant");
            let plan = t.plan.as_ref().map(|p| p.id);
            tenants::insert(txn, t.id, customer, slug, cluster, plan, &t.quota, now).await?;
            row.plan_id = Set(plan);
            json!(null)
        }
        Planned::PlanChange {
            plan_id, before, ..
        } => {
            let mut active = before.clone().into_active_model();
            active.plan_id = Set(Some(*plan_id));
            active.quota_cpu_millis = Set(t.quota.cpu_millis);
            active.quota_memory_bytes = Set(t.quota.memory_bytes);
            active.quota_storage_bytes = Set(t.quota.storage_bytes);
            active.quota_pods = Set(t.quota.pods);
            active.quota_app_installs = Set(t.quota.app_installs);
            active.updated_at = Set(now);
            active.update(txn).await?;
            crate::billing::close::record_plan(txn, before.id, before.reseller_id, *plan_id, now)
                .await?;
            row.plan_id = Set(Some(*plan_id));
            json!({ "planId": before.plan_id, "quota": before.quota() })
        }
        Planned::Install {
            install_id,
            app_id,
            version_id,
            values,
            host,
            ..
        } => {
            app_install::ActiveModel {
                id: Set(*install_id),
                tenant_id: Set(t.id),
                reseller_id: Set(Some(order.reseller_id)),
                app_id: Set(*app_id),
                app_version_id: Set(*version_id),
                previous_version_id: Set(None),
                values_json: Set(serde_json::to_string(values).unwrap_or_else(|_| "{}".into())),
                state: Set(installs::PENDING.to_owned()),
                status_message: Set(None),
                delete_data: Set(false),
                ingress_host: Set(host.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(txn)
            .await?;
            row.app_install_id = Set(Some(*install_id));
            row.app_version_id = Set(Some(*version_id));
            json!(null)
        }
        Planned::Upgrade {
            before,
            version_id,
            host,
            ..
        } => {
            let mut active = before.clone().into_active_model();
            active.previous_version_id = Set(Some(before.app_version_id));
            active.app_version_id = Set(*version_id);
            active.ingress_host = Set(host.clone());
            active.state = Set(installs::PENDING.to_owned());
            active.updated_at = Set(now);
            active.update(txn).await?;
            row.app_install_id = Set(Some(before.id));
            row.app_version_id = Set(Some(*version_id));
            json!({
                "appVersionId": before.app_version_id,
                "previousVersionId": before.previous_version_id,
                "ingressHost": before.ingress_host,
                "state": before.state,
            })
        }
        Planned::Uninstall {
            install,
            delete_data,
            ..
        } => {
            // Nothing changes before the worker starts: a cancelled
            // uninstall must not have removed anything.
            row.app_install_id = Set(Some(install.id));
            json!({ "deleteData": delete_data })
        }
    };
    row.request = Set(json!({ "line": line, "before": before }).to_string());
    row.insert(txn).await?;
    Ok(())
}
