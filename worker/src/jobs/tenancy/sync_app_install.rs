//! From an install row to its `AppInstall` resource, and its readiness back.

use coplane_domain::tenancy::TenantState;
use coplane_domain::tenancy::jobs::SyncAppInstall;
use kube::api::Api;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use crate::context::WorkerContext;
use crate::kube::crd::{AppInstall, AppInstallSpec};
use crate::kube::target::{Target, delete_if_present, ensure, remove_manifests, write_manifests};
use crate::runner::Handler;

/// Install states after which the resource goes.
const GONE: &[&str] = &["uninstalled"];

#[async_trait::async_trait]
impl Handler<WorkerContext> for SyncAppInstall {
    async fn run(self, ctx: &WorkerContext) -> anyhow::Result<()> {
        let db = &ctx.db;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT i.state, i.values_json, i.tenant_id, v.version, v.recipe, a.slug AS app, t.slug AS tenant_slug, \
                 t.namespace, t.state AS tenant_state \
                 FROM app_installs i JOIN app_versions v ON v.id = i.app_version_id JOIN apps a ON a.id = i.app_id \
                 JOIN tenants t ON t.id = i.tenant_id WHERE i.id = $1",
                [self.install_id.into()],
            ))
            .await?;
        let Some(row) = row else { return Ok(()) };
        let tenant_id: uuid::Uuid = row.try_get("", "tenant_id")?;
        tracing::Span::current().record("tenant_id", tracing::field::display(tenant_id));
        let state: String = row.try_get("", "state")?;
        let tenant_state: String = row.try_get("", "tenant_state")?;
        let namespace: String = row.try_get("", "namespace")?;
        let tenant_slug: String = row.try_get("", "tenant_slug")?;
        let name = self.install_id.to_string();
        let gone =
            GONE.contains(&state.as_str()) || tenant_state == TenantState::Terminated.as_str();
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
        let ready = match &ctx.target {
            Target::Manifests(dir) => {
                if gone {
                    remove_manifests(dir, &group)?;
                    false
                } else {
                    write_manifests(dir, &group, &[serde_json::to_value(&resource)?])?;
                    false
                }
            }
            Target::Cluster(client) => {
                let api = Api::<AppInstall>::namespaced(client.clone(), &namespace);
                if gone {
                    delete_if_present(&api, &name).await?;
                    false
                } else {
                    ensure(client, &serde_json::to_value(&resource)?).await?;
                    api.get_opt(&name)
                        .await?
                        .and_then(|i| i.status)
                        .is_some_and(|s| s.ready)
                }
            }
        };
        if ready {
            db.execute_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "UPDATE app_installs SET state = 'ready', updated_at = $2 WHERE id = $1 AND state IN ('pending', 'installing')",
                [self.install_id.into(), ctx.clock.now().into()],
            ))
            .await?;
        }
        Ok(())
    }
}
