//! Members of the co-op.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{MemberClass, MemberKind};
use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::entity::member;
use crate::error::{Error, Result};
use crate::ids::MemberId;
use crate::input::{email, non_empty};
use crate::page::{self, Page, PageRequest};
use crate::usecase::Mutation;

/// A new member.
#[derive(Clone, Debug, Serialize)]
pub struct NewMember {
    /// `person` | `organisation`.
    pub kind: String,
    /// `worker` | `reseller` | `user`.
    pub class: String,
    /// Name shown.
    pub display_name: String,
    /// Contact.
    pub email: Option<String>,
    /// Shares held (≥ 0).
    pub shares_held: i64,
    /// Joined.
    pub joined_on: NaiveDate,
}

/// Creates a member (stewards).
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewMember,
    key: Option<&str>,
    now: DateTime<Utc>,
) -> Result<member::Model> {
    let grant = actor.principal.authorize(Permission::WriteMembers)?;
    let kind = MemberKind::parse(&input.kind)
        .ok_or_else(|| Error::invalid("kind", "INVALID_KIND", "kind is person or organisation"))?;
    let class = MemberClass::parse(&input.class).ok_or_else(|| {
        Error::invalid(
            "class",
            "INVALID_CLASS",
            "class is worker, reseller or user",
        )
    })?;
    let display_name = non_empty("displayName", &input.display_name, 200)?;
    let contact = input
        .email
        .as_deref()
        .map(|e| email("email", e))
        .transpose()?;
    if input.shares_held < 0 {
        return Err(Error::invalid(
            "sharesHeld",
            "INVALID_SHARES",
            "sharesHeld cannot be negative",
        ));
    }
    let mut txn = Mutation::begin(db, actor, &grant, "createMember", now).await?;
    if let Some(id) = txn.claim(key, &input).await? {
        return txn.replay::<member::Entity>(id, |_| true, "member").await;
    }
    let model = member::ActiveModel {
        id: Set(Uuid::now_v7().into()),
        kind: Set(kind),
        class: Set(class),
        display_name: Set(display_name),
        email: Set(contact),
        shares_held: Set(input.shares_held),
        joined_on: Set(input.joined_on),
        left_on: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let change = Change {
        object_type: "Member",
        object_id: model.id.into(),
        reseller_id: None,
        details: serde_json::json!({ "class": model.class, "kind": model.kind }),
    };
    txn.commit(change).await?;
    Ok(model)
}

/// Filters of the member list.
#[derive(Clone, Debug, Default)]
pub struct MemberFilter {
    /// Only this class.
    pub class: Option<MemberClass>,
    /// Changed at or after.
    pub updated_since: Option<DateTime<Utc>>,
}

/// Members the actor reaches.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: MemberFilter,
    page: PageRequest,
) -> Result<Page<member::Model>> {
    let grant = actor.principal.authorize(Permission::ReadMembers)?;
    let mut q =
        member::Entity::find().filter(grant.reach.condition(None, None, Some(member::Column::Id)));
    if let Some(class) = filter.class {
        q = q.filter(member::Column::Class.eq(class.as_str()));
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(member::Column::UpdatedAt.gte(since));
    }
    page::fetch(db, q, member::Column::Id, page).await
}

/// One member, if the actor reaches it.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: MemberId,
) -> Result<Option<member::Model>> {
    let grant = actor.principal.authorize(Permission::ReadMembers)?;
    Ok(member::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|m| grant.reach.member(m.id)))
}
