//! Tenants: a namespace with a quota, for a customer.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, IdenStatic, IntoActiveModel, Iterable, QueryFilter, QueryResult, Set,
    Statement,
};
use serde::Serialize;
use uuid::Uuid;

use super::jobs::SyncTenant;
use super::{Clusters, QuotaInput, TenantSlug, TenantState, parse_quota, resellers};
use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::entity::{customer, reseller, tenant};
use crate::error::{Error, Result};
use crate::ids::{CustomerId, PlanId, ResellerId, TenantId};
use crate::page::{self, Page, PageRequest};
use crate::usecase::{Mutation, SystemChange};

/// The cluster a tenant goes to when none is named.
pub const DEFAULT_CLUSTER: &str = "default";

/// A new tenant.
#[derive(Clone, Debug, Serialize)]
pub struct NewTenant {
    /// Its customer.
    pub customer_id: CustomerId,
    /// Its slug (immutable).
    pub slug: String,
    /// Its cluster; [`DEFAULT_CLUSTER`] when `None`.
    pub cluster: Option<String>,
    /// Its plan.
    pub plan_id: Option<PlanId>,
    /// Its quota.
    pub quota: QuotaInput,
}

fn taken(slug: &str) -> Error {
    Error::Conflict {
        field: "slug",
        code: "SLUG_TAKEN",
        message: format!("the slug `{slug}` is taken"),
    }
}

/// Creates a tenant, within its reseller's allotment.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewTenant,
    clusters: &Clusters,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    let grant = actor.principal.authorize(Permission::WriteTenants)?;
    let slug = TenantSlug::parse(&input.slug)
        .map_err(|e| Error::invalid("slug", "INVALID_SLUG", e.to_string()))?;
    let cluster = clusters.resolve(input.cluster.as_deref())?;
    let quota = parse_quota("quota", input.quota)?;
    let mut txn = Mutation::begin(db, actor, &grant, "createTenant", now).await?;
    if let Some(id) = txn.claim(key, &input).await? {
        let reached = |t: &tenant::Model| grant.reach.tenant(t.id, t.reseller_id);
        return txn.replay::<tenant::Entity>(id, reached, "tenant").await;
    }
    let customer = customer::Entity::find_by_id(input.customer_id)
        .one(&txn)
        .await?
        .filter(|c| grant.reach.reseller(c.reseller_id))
        .ok_or_else(|| Error::not_found("customerId", "customer"))?;
    if let Some(plan) = input.plan_id {
        let found = txn
            .query_one_raw(Statement::from_sql_and_values(
                txn.get_database_backend(),
                "SELECT id FROM plans WHERE id = $1",
                [plan.into()],
            ))
            .await?;
        if found.is_none() {
            return Err(Error::not_found("planId", "plan"));
        }
    }
    if let Some(reseller_id) = customer.reseller_id {
        let reseller = resellers::lock(&txn, reseller_id)
            .await?
            .ok_or_else(|| Error::not_found("customerId", "reseller"))?;
        resellers::check_pool(&txn, &reseller, None, &quota).await?;
    }
    let model = insert(
        &txn,
        TenantId::new(),
        &customer,
        &slug,
        &cluster,
        input.plan_id,
        &quota,
        now,
    )
    .await?;
    crate::jobs::enqueue(
        &txn,
        &SyncTenant {
            tenant_id: model.id,
        },
        now,
    )
    .await?;
    let change = Change {
        object_type: "Tenant",
        object_id: model.id.into(),
        reseller_id: model.reseller_id,
        details: serde_json::json!({ "slug": model.slug, "cluster": model.cluster, "quota": quota }),
    };
    txn.commit(change).await?;
    Ok(model)
}

/// What a later feature refuses about a change to a tenant, checked in the
/// change's transaction with the tenant's pool locked (orders: a plan
/// change in progress).
pub trait TenantGuard: Sync {
    /// Refuses the change to `tenant_id`, or lets it go on.
    fn check(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: TenantId,
    ) -> impl std::future::Future<Output = Result<()>> + Send;
}

/// Changes a tenant's quota, within its reseller's allotment, unless
/// `guard` refuses.
pub async fn update_quota(
    db: &DatabaseConnection,
    actor: &Actor,
    id: TenantId,
    quota: QuotaInput,
    guard: &impl TenantGuard,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    let grant = actor.principal.authorize(Permission::WriteTenants)?;
    let quota = parse_quota("quota", quota)?;
    let txn = Mutation::begin(db, actor, &grant, "updateTenantQuota", now).await?;
    let found = tenant::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .filter(|t| grant.reach.tenant(t.id, t.reseller_id))
        .ok_or_else(|| Error::not_found("tenantId", "tenant"))?;
    // Lock the reseller's pool first, then read the tenant again under it:
    // what a concurrent change committed before the lock was ours is seen.
    let reseller = match found.reseller_id {
        Some(r) => Some(
            resellers::lock(&txn, r)
                .await?
                .ok_or_else(|| Error::not_found("tenantId", "reseller"))?,
        ),
        None => None,
    };
    let current = tenant::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("tenantId", "tenant"))?;
    if current.state == TenantState::Terminated {
        return Err(Error::invalid(
            "tenantId",
            "TENANT_TERMINATED",
            "a terminated tenant's quota cannot change",
        ));
    }
    guard.check(&txn, id).await?;
    if let Some(reseller) = &reseller {
        resellers::check_pool(&txn, reseller, Some(id), &quota).await?;
    }
    let before = current.quota();
    let mut active = current.into_active_model();
    active.quota_cpu_millis = Set(quota.cpu_millis);
    active.quota_memory_bytes = Set(quota.memory_bytes);
    active.quota_storage_bytes = Set(quota.storage_bytes);
    active.quota_pods = Set(quota.pods);
    active.quota_app_installs = Set(quota.app_installs);
    active.updated_at = Set(now);
    let model = active.update(&txn).await?;
    crate::jobs::enqueue(&txn, &SyncTenant { tenant_id: id }, now).await?;
    let change = Change {
        object_type: "Tenant",
        object_id: id.into(),
        reseller_id: model.reseller_id,
        details: serde_json::json!({ "from": before, "to": quota }),
    };
    txn.commit(change).await?;
    Ok(model)
}

/// Filters of the tenant list.
#[derive(Clone, Debug, Default)]
pub struct TenantFilter {
    /// Only in this state.
    pub state: Option<TenantState>,
    /// Only this reseller's.
    pub reseller_id: Option<ResellerId>,
    /// Only this customer's.
    pub customer_id: Option<CustomerId>,
    /// Changed at or after.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Tenants the actor reaches.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: TenantFilter,
    page: PageRequest,
) -> Result<Page<tenant::Model>> {
    page::fetch(db, filtered(actor, filter)?, tenant::Column::Id, page).await
}

fn filtered(actor: &Actor, filter: TenantFilter) -> Result<sea_orm::Select<tenant::Entity>> {
    let grant = actor.principal.authorize(Permission::ReadTenants)?;
    let mut q = tenant::Entity::find().filter(grant.reach.condition(
        Some(tenant::Column::ResellerId),
        Some(tenant::Column::Id),
        None,
    ));
    if let Some(s) = filter.state {
        q = q.filter(tenant::Column::State.eq(s.as_str()));
    }
    if let Some(r) = filter.reseller_id {
        q = q.filter(tenant::Column::ResellerId.eq(r));
    }
    if let Some(c) = filter.customer_id {
        q = q.filter(tenant::Column::CustomerId.eq(c));
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(tenant::Column::UpdatedAt.gte(since));
    }
    Ok(q)
}

/// Which of its parties each tenant of a page comes with.
#[derive(Clone, Copy, Debug, Default)]
pub struct Parties {
    /// Its customer.
    pub customer: bool,
    /// Its reseller.
    pub reseller: bool,
}

/// A page of tenants with the parties its rows reference that the actor
/// reaches, each once; a party asked for and not here is outside the
/// actor's reach (or its permissions), or absent (a direct customer's
/// tenant has no reseller).
#[derive(Clone, Debug)]
pub struct WithParties {
    /// The tenants.
    pub page: Page<tenant::Model>,
    /// Their customers, when asked for.
    pub customers: HashMap<CustomerId, customer::Model>,
    /// Their resellers, when asked for.
    pub resellers: HashMap<ResellerId, reseller::Model>,
}

/// Tenants the actor reaches, as [`list`], with the parties asked for,
/// joined in the same statement under the same reach rules as
/// [`super::customers::load_many`] and [`super::resellers::load_many`];
/// each party is read off the first row that names it.
pub async fn list_with_parties(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: TenantFilter,
    page: PageRequest,
    parties: Parties,
) -> Result<WithParties> {
    let select = filtered(actor, filter)?;
    with_parties(db, actor, select, page, parties).await
}

/// One tenant, if reached, as [`get`], with the parties asked for, as
/// [`list_with_parties`] joins them: one statement.
pub async fn get_with_parties(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: TenantId,
    parties: Parties,
) -> Result<WithParties> {
    let select = filtered(actor, TenantFilter::default())?.filter(tenant::Column::Id.eq(id));
    let one = PageRequest::new(Some(1), None)?.counting(false);
    with_parties(db, actor, select, one, parties).await
}

async fn with_parties(
    db: &impl ConnectionTrait,
    actor: &Actor,
    select: sea_orm::Select<tenant::Entity>,
    page: PageRequest,
    parties: Parties,
) -> Result<WithParties> {
    // A party the actor may not read at all is not joined: it reads null.
    let customers = reached_if(parties.customer, super::customers::reached(actor))?;
    let resellers = reached_if(parties.reseller, super::resellers::reached(actor))?;
    let extend = |q: &mut SelectStatement| {
        if let Some(reach) = &customers {
            join_party::<customer::Entity>(
                q,
                Expr::col((customer::Entity, customer::Column::Id))
                    .equals((tenant::Entity, tenant::Column::CustomerId)),
                reach.clone(),
                CUSTOMER,
            );
        }
        if let Some(reach) = &resellers {
            join_party::<reseller::Entity>(
                q,
                Expr::col((reseller::Entity, reseller::Column::Id))
                    .equals((tenant::Entity, tenant::Column::ResellerId)),
                reach.clone(),
                RESELLER,
            );
        }
    };
    let mut seen_customers = HashMap::new();
    let mut seen_resellers = HashMap::new();
    let read = |row: &QueryResult| {
        let t = tenant::Model::from_query_result(row, "")?;
        if customers.is_some() {
            read_party(&mut seen_customers, t.customer_id, row, CUSTOMER)?;
        }
        if let (Some(_), Some(r)) = (&resellers, t.reseller_id) {
            read_party(&mut seen_resellers, r, row, RESELLER)?;
        }
        Ok(t)
    };
    let page = page::fetch_with(db, select, tenant::Column::Id, page, extend, read).await?;
    Ok(WithParties {
        page,
        customers: found(seen_customers),
        resellers: found(seen_resellers),
    })
}

/// The parties read, without those the actor does not reach.
fn found<K: Eq + Hash, M>(seen: HashMap<K, Option<M>>) -> HashMap<K, M> {
    seen.into_iter()
        .filter_map(|(id, m)| Some((id, m?)))
        .collect()
}

/// Reads the party `id` off `row` unless an earlier row had it (decoding
/// is most of a page's cost; a page names few parties).
fn read_party<K: Eq + Hash, M: FromQueryResult>(
    seen: &mut HashMap<K, Option<M>>,
    id: K,
    row: &QueryResult,
    prefix: &str,
) -> Result<()> {
    if let Entry::Vacant(v) = seen.entry(id) {
        v.insert(Option::<M>::from_query_result(row, prefix)?);
    }
    Ok(())
}

// A dot is in no column's name: the joined columns cannot shadow the
// tenant's own (`customer_id` would).
const CUSTOMER: &str = "customer.";
const RESELLER: &str = "reseller.";

/// `reach` when `wanted`; `None` when not wanted or not permitted at all.
fn reached_if(wanted: bool, reach: Result<Condition>) -> Result<Option<Condition>> {
    match reach {
        _ if !wanted => Ok(None),
        Ok(c) => Ok(Some(c)),
        Err(Error::Forbidden(_) | Error::Unauthenticated) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Left-joins the row of `P` that `on` finds, if `reach` lets the actor
/// read it, with its columns named `prefix` + column.
fn join_party<P: EntityTrait>(
    q: &mut SelectStatement,
    on: sea_orm::sea_query::Expr,
    reach: Condition,
    prefix: &str,
) {
    q.join(
        JoinType::LeftJoin,
        P::default(),
        Condition::all().add(on).add(reach),
    );
    for col in <P::Column as Iterable>::iter() {
        q.expr_as(
            col.select_as(col.into_expr()),
            format!("{prefix}{}", col.as_str()),
        );
    }
}

/// One tenant, if reached.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: TenantId,
) -> Result<Option<tenant::Model>> {
    let grant = actor.principal.authorize(Permission::ReadTenants)?;
    Ok(tenant::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|t| grant.reach.tenant(t.id, t.reseller_id)))
}

/// Marks a pending tenant active once its namespace is ready. Returns whether it changed.
pub async fn mark_active(
    db: &impl ConnectionTrait,
    id: TenantId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = tenant::Entity::update_many()
        .col_expr(
            tenant::Column::State,
            sea_orm::sea_query::Expr::value(TenantState::Active.as_str()),
        )
        .col_expr(
            tenant::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(tenant::Column::Id.eq(id))
        .filter(tenant::Column::State.eq(TenantState::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Terminates a tenant (the system's own action, after the dunning
/// ladder): its quota returns to the pool and its resources are removed;
/// the cluster keeps the namespace for the retention.
pub async fn terminate(
    db: &DatabaseConnection,
    id: TenantId,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    let txn = SystemChange::begin(db).await?;
    super::lifecycle::terminate(&txn, id, now).await?;
    let model = tenant::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("tenantId", "tenant"))?;
    txn.commit().await?;
    Ok(model)
}

/// Inserts a pending tenant for `customer`; a slug taken anywhere on the
/// platform is a conflict (the unique index says so too, under a race).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert(
    txn: &impl ConnectionTrait,
    id: TenantId,
    customer: &customer::Model,
    slug: &TenantSlug,
    cluster: &str,
    plan_id: Option<PlanId>,
    quota: &super::Quota,
    now: DateTime<Utc>,
) -> Result<tenant::Model> {
    let exists = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug.as_ref()))
        .one(txn)
        .await?;
    if exists.is_some() {
        return Err(taken(slug.as_ref()));
    }
    let inserted = tenant::ActiveModel {
        id: Set(id),
        customer_id: Set(customer.id),
        reseller_id: Set(customer.reseller_id),
        plan_id: Set(plan_id),
        slug: Set(slug.to_string()),
        cluster: Set(cluster.to_owned()),
        namespace: Set(slug.namespace()),
        quota_cpu_millis: Set(quota.cpu_millis),
        quota_memory_bytes: Set(quota.memory_bytes),
        quota_storage_bytes: Set(quota.storage_bytes),
        quota_pods: Set(quota.pods),
        quota_app_installs: Set(quota.app_installs),
        state: Set(TenantState::Pending),
        suspension_reason: Set(None),
        suspension_note: Set(None),
        suspended_at: Set(None),
        terminated_at: Set(None),
        prepaid_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await
    .map_err(Error::conflict_on_unique(
        "slug",
        "SLUG_TAKEN",
        format!("the slug `{slug}` is taken"),
    ))?;
    if let Some(plan) = plan_id {
        record_plan(txn, id, customer.reseller_id, plan, now).await?;
    }
    Ok(inserted)
}

/// Records that `tenant` holds `plan` from `at` (written wherever a
/// tenant's plan is set, in that change's transaction).
pub async fn record_plan(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    reseller_id: Option<ResellerId>,
    plan_id: PlanId,
    at: DateTime<Utc>,
) -> Result<()> {
    crate::entity::tenant_plan::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        tenant_id: Set(tenant_id),
        reseller_id: Set(reseller_id),
        plan_id: Set(plan_id),
        starts_at: Set(at),
        created_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(())
}
