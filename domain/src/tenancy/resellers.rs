//! Resellers and their allotments.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Set, Statement,
};
use serde::Serialize;
use uuid::Uuid;

use super::{DIMENSIONS, MemberClass, MemberKind, Quota, QuotaInput, parse_quota};
use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::entity::{member, reseller};
use crate::error::{Error, Result};
use crate::ids::{MemberId, ResellerId, TenantId};
use crate::input::{email, non_empty};
use crate::page::{self, Page, PageRequest};
use crate::usecase::Mutation;

/// A new reseller.
#[derive(Clone, Debug, Serialize)]
pub struct NewReseller {
    /// The member organisation it is.
    pub member_id: MemberId,
    /// Brand it sells under.
    pub brand_name: String,
    /// Support contact.
    pub support_email: Option<String>,
    /// The pool its tenants share.
    pub allotment: QuotaInput,
}

/// Creates a reseller (stewards). Its member must be an organisation of the reseller class.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewReseller,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<reseller::Model> {
    let grant = actor.principal.authorize(Permission::WriteResellers)?;
    let brand_name = non_empty("brandName", &input.brand_name, 200)?;
    let support_email = input
        .support_email
        .as_deref()
        .map(|e| email("supportEmail", e))
        .transpose()?;
    let allotment = parse_quota("allotment", input.allotment)?;
    let mut txn = Mutation::begin(db, actor, &grant, "createReseller", now).await?;
    if let Some(id) = txn.claim(key, &input).await? {
        return txn
            .replay::<reseller::Entity>(id, |_| true, "reseller")
            .await;
    }
    let member = member::Entity::find_by_id(input.member_id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("memberId", "member"))?;
    if member.kind != MemberKind::Organisation || member.class != MemberClass::Reseller {
        return Err(Error::invalid(
            "memberId",
            "NOT_A_RESELLER_MEMBER",
            "a reseller is a member organisation of the reseller class",
        ));
    }
    if reseller::Entity::find()
        .filter(reseller::Column::MemberId.eq(member.id))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(Error::Conflict {
            field: "memberId",
            code: "ALREADY_A_RESELLER",
            message: "this member is already a reseller".into(),
        });
    }
    let model = reseller::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        member_id: Set(member.id),
        brand_name: Set(brand_name),
        support_email: Set(support_email),
        wholesale_discount_units: Set(0),
        wholesale_discount_nanos: Set(0),
        allotment_cpu_millis: Set(allotment.cpu_millis),
        allotment_memory_bytes: Set(allotment.memory_bytes),
        allotment_storage_bytes: Set(allotment.storage_bytes),
        allotment_pods: Set(allotment.pods),
        allotment_app_installs: Set(allotment.app_installs),
        tax_rate_units: Set(0),
        tax_rate_nanos: Set(0),
        reverse_charge: Set(false),
        billing_email: Set(None),
        stripe_customer_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(Error::conflict_on_unique(
        "memberId",
        "ALREADY_A_RESELLER",
        "this member is already a reseller".into(),
    ))?;
    let change = Change {
        object_type: "Reseller",
        object_id: model.id.into(),
        reseller_id: Some(model.id),
        details: serde_json::json!({ "allotment": allotment }),
    };
    txn.commit(change).await?;
    Ok(model)
}

/// Sets a reseller's allotment (stewards). Refused, with the figures, below what its live tenants use.
pub async fn set_allotment(
    db: &DatabaseConnection,
    actor: &Actor,
    id: ResellerId,
    allotment: QuotaInput,
    now: DateTime<Utc>,
) -> Result<reseller::Model> {
    let grant = actor.principal.authorize(Permission::WriteResellers)?;
    let allotment = parse_quota("allotment", allotment)?;
    let txn = Mutation::begin(db, actor, &grant, "setResellerAllotment", now).await?;
    let current = lock(&txn, id)
        .await?
        .ok_or_else(|| Error::not_found("resellerId", "reseller"))?;
    let used = live_usage(&txn, id, None).await?;
    let short: Vec<String> = used
        .excess_over(&allotment)
        .into_iter()
        .map(|(name, in_use, new)| format!("{name}: {in_use} in use > {new} requested"))
        .collect();
    Error::unless_within(
        "allotment",
        "the allotment cannot go below what the reseller's tenants use",
        &short,
    )?;
    let before = current.allotment();
    let mut active = current.into_active_model();
    active.allotment_cpu_millis = Set(allotment.cpu_millis);
    active.allotment_memory_bytes = Set(allotment.memory_bytes);
    active.allotment_storage_bytes = Set(allotment.storage_bytes);
    active.allotment_pods = Set(allotment.pods);
    active.allotment_app_installs = Set(allotment.app_installs);
    active.updated_at = Set(now);
    let model = active.update(&txn).await?;
    let change = Change {
        object_type: "Reseller",
        object_id: id.into(),
        reseller_id: Some(id),
        details: serde_json::json!({ "from": before, "to": allotment }),
    };
    txn.commit(change).await?;
    Ok(model)
}

/// Loads a reseller for update: on PostgreSQL the row is locked, which
/// serializes every change to its pool; SQLite serializes writers anyway.
pub(crate) async fn lock(
    txn: &impl ConnectionTrait,
    id: ResellerId,
) -> Result<Option<reseller::Model>> {
    let mut q = reseller::Entity::find_by_id(id);
    if crate::db::is_postgres(txn) {
        q = q.lock_exclusive();
    }
    Ok(q.one(txn).await?)
}

/// What a reseller's live (not terminated) tenants hold, except `excluding`.
pub(crate) async fn live_usage(
    db: &impl ConnectionTrait,
    reseller: ResellerId,
    excluding: Option<TenantId>,
) -> Result<Quota> {
    let sum = |c: &str| format!("CAST(COALESCE(SUM(quota_{c}), 0) AS BIGINT) AS {c}");
    let cols = [
        "cpu_millis",
        "memory_bytes",
        "storage_bytes",
        "pods",
        "app_installs",
    ];
    let sql = format!(
        "SELECT {} FROM tenants WHERE reseller_id = $1 AND state <> 'terminated' AND ($2 IS NULL OR id <> $2)",
        cols.map(sum).join(", ")
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [reseller.into(), excluding.into()],
        ))
        .await?
        .ok_or_else(|| Error::Db(sea_orm::DbErr::RecordNotFound("usage".into())))?;
    let v = |c: &str| row.try_get::<i64>("", c);
    Ok(Quota {
        cpu_millis: v("cpu_millis")?,
        memory_bytes: v("memory_bytes")?,
        storage_bytes: v("storage_bytes")?,
        pods: v("pods")?,
        app_installs: v("app_installs")?,
    })
}

/// Refuses, with the figures, a quota that would take the reseller's live
/// tenants past its allotment. Call with the reseller row locked.
pub(crate) async fn check_pool(
    txn: &impl ConnectionTrait,
    reseller: &reseller::Model,
    excluding: Option<TenantId>,
    requested: &Quota,
) -> Result<()> {
    let used = live_usage(txn, reseller.id, excluding).await?;
    let allotment = reseller.allotment();
    let over: Vec<String> = DIMENSIONS
        .iter()
        .zip(
            used.values()
                .into_iter()
                .zip(requested.values())
                .zip(allotment.values()),
        )
        .filter(|(_, ((u, r), a))| u.checked_add(*r).is_none_or(|total| total > *a))
        .map(|(name, ((u, r), a))| format!("{name}: {u} in use + {r} requested > {a} allotted"))
        .collect();
    Error::unless_within("quota", "the reseller's allotment would be exceeded", &over)
}

/// Filters of the reseller list.
#[derive(Clone, Debug, Default)]
pub struct ResellerFilter {
    /// Changed at or after.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Resellers the actor reaches.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: ResellerFilter,
    page: PageRequest,
) -> Result<Page<reseller::Model>> {
    let grant = actor.principal.authorize(Permission::ReadResellers)?;
    let mut q = reseller::Entity::find().filter(grant.reach.condition(
        Some(reseller::Column::Id),
        None,
        None,
    ));
    if let Some(since) = filter.updated_since {
        q = q.filter(reseller::Column::UpdatedAt.gte(since));
    }
    page::fetch(db, q, reseller::Column::Id, page).await
}

/// One reseller, if reached.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: ResellerId,
) -> Result<Option<reseller::Model>> {
    Ok(load_many(db, actor, &[id]).await?.pop())
}

/// The resellers among `ids` that the actor reaches (for batch loading).
pub async fn load_many(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[ResellerId],
) -> Result<Vec<reseller::Model>> {
    Ok(reseller::Entity::find()
        .filter(reseller::Column::Id.is_in(ids.to_vec()))
        .filter(reached(actor)?)
        .all(db)
        .await?)
}

/// The resellers `actor` may read, as a condition on their rows.
pub(crate) fn reached(actor: &Actor) -> Result<Condition> {
    let grant = actor.principal.authorize(Permission::ReadResellers)?;
    Ok(grant
        .reach
        .condition(Some(reseller::Column::Id), None, None))
}

/// What a reseller's live tenants hold now.
pub async fn usage(db: &impl ConnectionTrait, reseller: ResellerId) -> Result<Quota> {
    live_usage(db, reseller, None).await
}
