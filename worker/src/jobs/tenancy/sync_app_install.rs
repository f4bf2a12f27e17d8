//! From an install row to its `AppInstall` resource, and what the cluster
//! reports back: ready (for the spec as it is now), broken, or removed.

use coplane_domain::jobs;
use coplane_domain::orders;
use coplane_domain::orders::installs::{self, InstallState, Observed};
use coplane_domain::tenancy::TenantState;
use coplane_domain::tenancy::jobs::SyncAppInstall;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::api::{Api, ListParams};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use crate::context::WorkerContext;
use crate::kube::crd::{AppInstall, AppInstallSpec};
use crate::kube::target::{Target, delete_if_present, ensure, remove_manifests, write_manifests};
use crate::runner::Handler;

/// What the cluster says about an applied install.
fn observed(resource: Option<&AppInstall>) -> Observed {
    let Some(r) = resource else {
        return Observed::Progressing("the install is not in the cluster yet".into());
    };
    let Some(status) = &r.status else {
        return Observed::Progressing("the operator has not seen the install yet".into());
    };
    let current = status.observed_generation == r.metadata.generation;
    let condition = status.conditions.iter().find(|c| c.type_ == "Ready");
    match condition {
        Some(c) if current && c.reason == "InvalidRecipe" => Observed::Broken(c.message.clone()),
        _ if current && status.ready => Observed::Ready,
        Some(c) if current => Observed::Progressing(c.message.clone()),
        _ => Observed::Progressing("the operator has not rolled out this change yet".into()),
    }
}

#[async_trait::async_trait]
impl Handler<WorkerContext> for SyncAppInstall {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        let db = &ctx.db;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT i.state, i.values_json, i.app_version_id, i.delete_data, i.updated_at, i.tenant_id, v.version, v.recipe, a.slug AS app, \
                 t.slug AS tenant_slug, t.cluster, t.namespace, t.state AS tenant_state \
                 FROM app_installs i JOIN app_versions v ON v.id = i.app_version_id JOIN apps a ON a.id = i.app_id \
                 JOIN tenants t ON t.id = i.tenant_id WHERE i.id = $1",
                [self.install_id.into()],
            ))
            .await?;
        let Some(row) = row else { return Ok(()) };
        let tenant_id: uuid::Uuid = row.try_get("", "tenant_id")?;
        tracing::Span::current().record("tenant_id", tracing::field::display(tenant_id));
        let state: String = row.try_get("", "state")?;
        let state = InstallState::parse(&state);
        if state == Some(InstallState::Pending) {
            // Its order has not started: nothing to apply yet.
            return Ok(());
        }
        let tenant_state: String = row.try_get("", "tenant_state")?;
        let namespace: String = row.try_get("", "namespace")?;
        let tenant_slug: String = row.try_get("", "tenant_slug")?;
        let delete_data: bool = row.try_get("", "delete_data")?;
        let applied = installs::Applied {
            version_id: row.try_get("", "app_version_id")?,
            values_json: row.try_get("", "values_json")?,
        };
        let name = self.install_id.to_string();
        let gone = matches!(
            state,
            Some(InstallState::Uninstalling | InstallState::Uninstalled)
        ) || tenant_state == TenantState::Terminated.as_str();
        let mut resource = AppInstall::new(
            &name,
            AppInstallSpec {
                app: row.try_get("", "app")?,
                version: row.try_get("", "version")?,
                recipe: serde_json::from_str(&row.try_get::<String>("", "recipe")?)?,
                values: serde_json::from_str(&row.try_get::<String>("", "values_json")?)
                    .unwrap_or(Value::Null),
                suspended: tenant_state == TenantState::Suspended.as_str(),
            },
        );
        resource.metadata.namespace = Some(namespace.clone());
        let group = format!("{tenant_slug}/apps/{name}");
        let now = ctx.clock.now();
        let cluster: String = row.try_get("", "cluster")?;
        let seen = match ctx.targets.get(&cluster)? {
            Target::Manifests(dir) => {
                // What would be applied is on disk: as far as it goes.
                if gone {
                    remove_manifests(dir, &group)?;
                    Observed::Removed
                } else {
                    write_manifests(dir, &group, &[serde_json::to_value(&resource)?])?;
                    Observed::Ready
                }
            }
            Target::Cluster(client) => {
                let api = Api::<AppInstall>::namespaced(client.clone(), &namespace);
                if gone {
                    // The workload goes with the AppInstall (its owner); the
                    // data (volumes, generated secrets) has no owner and goes
                    // only when asked, in a later pass than the AppInstall, so
                    // that a reconcile still under way cannot bring it back
                    // unseen: the install is removed once a pass finds
                    // nothing left to delete.
                    let selector = format!("app.kubernetes.io/instance={name}");
                    if api.get_opt(&name).await?.is_some() {
                        delete_if_present(&api, &name).await?;
                        Observed::Progressing("being removed".into())
                    } else if delete_data
                        && delete_labelled::<PersistentVolumeClaim>(client, &namespace, &selector)
                            .await?
                            + delete_labelled::<Secret>(client, &namespace, &selector).await?
                            > 0
                    {
                        Observed::Progressing("deleting its data".into())
                    } else {
                        Observed::Removed
                    }
                } else {
                    ensure(client, &serde_json::to_value(&resource)?).await?;
                    observed(api.get_opt(&name).await?.as_ref())
                }
            }
        };
        let progressing = matches!(seen, Observed::Progressing(_));
        installs::observe(db, self.install_id, &applied, seen, now).await?;
        // While a change rolls out, look again shortly rather than at the
        // next full pass; an order's deadline ends the wait.
        let updated_at: chrono::DateTime<chrono::Utc> = row.try_get("", "updated_at")?;
        if progressing && now - updated_at < orders::LINE_DEADLINE {
            jobs::enqueue_at(db, &self, now + chrono::Duration::seconds(10), now).await?;
        }
        Ok(())
    }
}

/// Deletes the objects of kind `K` in `namespace` that match `selector`;
/// returns how many there were.
async fn delete_labelled<K>(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
) -> Result<usize, kube::Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api = Api::<K>::namespaced(client.clone(), namespace);
    let found = api.list(&ListParams::default().labels(selector)).await?;
    for object in &found {
        if let Some(name) = object.meta().name.as_deref() {
            delete_if_present(&api, name).await?;
        }
    }
    Ok(found.items.len())
}
