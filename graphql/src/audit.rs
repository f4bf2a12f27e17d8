//! The audit trail, for stewards. Uses no other area.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use coplane_domain::audit::{self, AuditFilter};
use coplane_domain::entity::audit_event;

use crate::common::{Conn, connection, decode, global_id, page_cost, page_request};
use crate::context::{actor, db};
use crate::error::to_gql;
use crate::scalars::{Json, JsonValue};

/// One mutation, as recorded.
pub struct AuditEvent(pub audit_event::Model);

#[Object]
impl AuditEvent {
    /// Global id.
    async fn id(&self) -> ID {
        global_id("AuditEvent", self.0.id)
    }
    /// When.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// Who: the credential's subject.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// The role(s) that allowed it.
    async fn actor_role(&self) -> &str {
        &self.0.actor_role
    }
    /// The mutation.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The kind of object changed.
    async fn object_type(&self) -> Option<&str> {
        self.0.object_type.as_deref()
    }
    /// The global id of the object changed.
    async fn object_id(&self) -> Option<ID> {
        Some(global_id(self.0.object_type.as_deref()?, self.0.object_id?))
    }
    /// The request's id.
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// Details of the change.
    async fn details(&self) -> Option<JsonValue> {
        self.0
            .details
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .map(Json)
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit trail, oldest first (stewards).
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        action: Option<String>,
        object_id: Option<ID>,
    ) -> async_graphql::Result<Conn<AuditEvent>> {
        let page = page_request(ctx, first, after.clone())?;
        let filter = AuditFilter {
            action,
            object_id: object_id.and_then(|id| decode(&id)).map(|(_, u)| u),
        };
        let found = audit::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(
            found,
            after.is_some(),
            |m| m.id.into(),
            AuditEvent,
        ))
    }
}
