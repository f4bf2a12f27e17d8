//! The audit trail: one event per mutation, written in its transaction.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::{Actor, Grant, Permission};
use crate::entity::audit_event;
use crate::error::Result;
use crate::page::{self, Page, PageRequest};

/// What a mutation changed.
#[derive(Clone, Debug)]
pub struct Change {
    /// The kind of object (`Tenant`).
    pub object_type: &'static str,
    /// The object.
    pub object_id: Uuid,
    /// Whose world it is in.
    pub reseller_id: Option<crate::ids::ResellerId>,
    /// Anything worth keeping (never secrets).
    pub details: serde_json::Value,
}

/// Records `change` by `actor` in the mutation `action`, allowed by `grant`
/// (called by [`crate::usecase::Mutation::commit`]).
pub(crate) async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    grant: &Grant,
    action: &str,
    change: Change,
    now: DateTime<Utc>,
) -> Result<()> {
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        occurred_at: Set(now),
        actor: Set(actor.principal.subject.clone()),
        actor_role: Set(grant.role_names()),
        action: Set(action.to_owned()),
        object_type: Set(Some(change.object_type.to_owned())),
        object_id: Set(Some(change.object_id)),
        reseller_id: Set(change.reseller_id),
        request_id: Set((!actor.request_id.is_empty()).then(|| actor.request_id.clone())),
        details: Set(Some(change.details.to_string())),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Filters of the audit trail.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this mutation.
    pub action: Option<String>,
    /// Only this object.
    pub object_id: Option<Uuid>,
}

/// The audit trail, oldest first. Stewards only.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: AuditFilter,
    page: PageRequest,
) -> Result<Page<audit_event::Model>> {
    actor.principal.authorize(Permission::ReadAudit)?;
    let mut q = audit_event::Entity::find();
    if let Some(a) = filter.action {
        q = q.filter(audit_event::Column::Action.eq(a));
    }
    if let Some(o) = filter.object_id {
        q = q.filter(audit_event::Column::ObjectId.eq(o));
    }
    page::fetch(db, q, audit_event::Column::Id, page).await
}
