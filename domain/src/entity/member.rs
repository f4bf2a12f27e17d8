//! `members`.

use sea_orm::entity::prelude::*;

use crate::ids::MemberId;

/// A member row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: MemberId,
    pub kind: MemberKind,
    pub class: MemberClass,
    /// Name shown.
    pub display_name: String,
    /// Contact.
    pub email: Option<String>,
    pub shares_held: i64,
    /// Joined.
    pub joined_on: Date,
    /// Left, if so.
    pub left_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

super::stored_enum!(
    /// A person or an organisation.
    MemberKind {
        /// A natural person.
        Person = "person",
        /// A company, association or other organisation.
        Organisation = "organisation",
    }
);

super::stored_enum!(
    /// The class of membership.
    MemberClass {
        /// Works for the co-op.
        Worker = "worker",
        /// Sells the co-op's hosting.
        Reseller = "reseller",
        /// Uses it.
        User = "user",
    }
);
