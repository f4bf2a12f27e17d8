//! Members of the co-op.

use async_graphql::{Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use coplane_domain::entity::member;
use rust_decimal::Decimal;

use crate::common::global_id;

/// Person or organisation.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(
    rename_items = "snake_case",
    remote = "coplane_domain::tenancy::MemberKind"
)]
pub enum MemberKind {
    /// A natural person.
    Person,
    /// An organisation.
    Organisation,
}

/// The class of membership.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(
    rename_items = "snake_case",
    remote = "coplane_domain::tenancy::MemberClass"
)]
pub enum MemberClass {
    /// Works for the co-op.
    Worker,
    /// Sells its hosting.
    Reseller,
    /// Uses it.
    User,
}

/// A member of the co-op.
pub struct Member(pub member::Model);

#[Object]
impl Member {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Member", self.0.id)
    }
    /// `person` or `organisation`.
    async fn kind(&self) -> MemberKind {
        self.0.kind.into()
    }
    /// Membership class.
    async fn class(&self) -> MemberClass {
        self.0.class.into()
    }
    /// Name shown.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// Contact address.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Shares held.
    async fn shares_held(&self) -> Decimal {
        self.0.shares_held.into()
    }
    /// Joined on.
    async fn joined_on(&self) -> NaiveDate {
        self.0.joined_on
    }
    /// Left on, if so.
    async fn left_on(&self) -> Option<NaiveDate> {
        self.0.left_on
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// `createMember` input.
#[derive(InputObject)]
pub struct CreateMemberInput {
    /// Person or organisation.
    pub kind: MemberKind,
    /// Membership class.
    pub class: MemberClass,
    /// Name shown.
    pub display_name: String,
    /// Contact.
    pub email: Option<String>,
    /// Shares held, a whole number.
    pub shares_held: Decimal,
    /// Joined on.
    pub joined_on: NaiveDate,
    /// Replays the first result when repeated with the same input.
    pub idempotency_key: Option<String>,
}

crate::common::payload! {
    /// `createMember` result.
    CreateMemberPayload {
        /// The member, unless there were user errors.
        member: Member,
        /// What was wrong with the input; nothing was changed.
        user_errors,
    }
}
