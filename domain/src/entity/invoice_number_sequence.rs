//! `invoice_number_sequences`: one counter per issuer and year, taken in
//! the finalizing transaction, so numbers have no gaps.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invoice_number_sequences")]
#[allow(missing_docs)]
pub struct Model {
    /// `coop`, or the issuing reseller's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub issuer: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    /// The last number given out.
    pub last_number: i64,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
