//! An order checked line by line, whole, before anything is written: the
//! tenants it touches as they would be, and what each line will write.

use super::*;

/// A touched tenant as the order would leave it.
pub(super) struct TenantDraft {
    pub(super) id: TenantId,
    pub(super) slug: String,
    pub(super) existing: Option<tenant::Model>,
    /// For a new tenant: its slug, parsed, and cluster.
    pub(super) new: Option<(TenantSlug, String)>,
    pub(super) plan: Option<plan::Model>,
    pub(super) quota: Quota,
    pub(super) installs: Vec<LiveInstall>,
}

/// A line, checked, with what it needs to be written.
pub(super) enum Planned {
    NewTenant {
        tenant: usize,
    },
    PlanChange {
        tenant: usize,
        plan_id: PlanId,
        before: tenant::Model,
    },
    Install {
        tenant: usize,
        install_id: AppInstallId,
        app_id: AppId,
        version_id: AppVersionId,
        values: InstallValues,
        host: Option<String>,
    },
    Upgrade {
        tenant: usize,
        before: app_install::Model,
        version_id: AppVersionId,
    },
    Uninstall {
        tenant: usize,
        install: app_install::Model,
        delete_data: bool,
    },
}

pub(super) struct Draft<'c> {
    pub(super) platform: &'c Platform,
    /// Hosts claimed by earlier lines of this order, with their tenant.
    pub(super) hosts: Vec<(String, TenantId)>,
    pub(super) tenants: Vec<TenantDraft>,
    pub(super) planned: Vec<Planned>,
    pub(super) installs_touched: Vec<AppInstallId>,
}

pub(super) async fn load_plan(
    txn: &impl ConnectionTrait,
    id: PlanId,
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

pub(super) fn quota_or_plan(input: Option<QuotaInput>, plan: &plan::Model) -> Result<Quota> {
    match input {
        Some(q) => parse_quota("quota", q),
        None => Ok(plan.included()),
    }
}

pub(super) fn allows(plan: Option<&plan::Model>, app_slug: &str) -> bool {
    let Some(plan) = plan else { return true };
    let allowed: Vec<String> = serde_json::from_str(&plan.allowed_apps).unwrap_or_default();
    allowed.is_empty() || allowed.iter().any(|a| a == app_slug)
}

pub(super) fn values_error(problems: Vec<crate::catalog::RecipeError>) -> Error {
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
    pub(super) async fn existing_tenant(
        &mut self,
        txn: &impl ConnectionTrait,
        customer: &customer::Model,
        id: TenantId,
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
        if t.state == TenantState::Terminated {
            return Err(Error::invalid(
                field,
                "TENANT_TERMINATED",
                format!("tenant `{}` is terminated", t.slug),
            ));
        }
        // A tenant another unfinished order creates or re-plans is not
        // settled yet: cancelling that order would pull it from under this one.
        ensure_no_order_in_progress(txn, Target::Tenant(t.id), "this tenant", field).await?;
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

    pub(super) async fn add(
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
                    id: TenantId::new(),
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
                let install_id = AppInstallId::new();
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
                installs::ensure_same_host(&install, &host, "appVersionId")?;
                let t = &mut self.tenants[i];
                if let Some(live) = t.installs.iter_mut().find(|l| l.id == install.id) {
                    live.footprint = recipe.footprint();
                }
                self.planned.push(Planned::Upgrade {
                    tenant: i,
                    before: install,
                    version_id: version.id,
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
    pub(super) async fn claim_host(
        &mut self,
        txn: &impl ConnectionTrait,
        recipe: &crate::catalog::Recipe,
        values: &InstallValues,
        names: (&str, &str),
        tenant_id: TenantId,
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
    pub(super) async fn touch_install(
        &mut self,
        txn: &impl ConnectionTrait,
        customer: &customer::Model,
        id: AppInstallId,
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
        if !install.state.is_live() {
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
        ensure_no_order_in_progress(txn, Target::Install(id), "this install", "installId").await?;
        self.installs_touched.push(id);
        Ok((i, install))
    }

    /// Every touched tenant's installs within its quota, and the reseller's
    /// tenants within its allotment, as the order would leave them.
    pub(super) async fn check(
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
        Ok(Error::unless_within(
            "lines",
            "the reseller's allotment would be exceeded",
            &over,
        )?)
    }
}

impl Planned {
    pub(super) fn tenant_index(&self) -> usize {
        match self {
            Planned::NewTenant { tenant }
            | Planned::PlanChange { tenant, .. }
            | Planned::Install { tenant, .. }
            | Planned::Upgrade { tenant, .. }
            | Planned::Uninstall { tenant, .. } => *tenant,
        }
    }
}
