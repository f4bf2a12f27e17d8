//! `tenant_plans`: which plan a tenant holds from when. The close bills
//! each span at its plan's price; rows are only ever added.

use sea_orm::entity::prelude::*;

use crate::ids::{PlanId, ResellerId, TenantId, TenantPlanId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_plans")]
#[allow(missing_docs)]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TenantPlanId,
    pub tenant_id: TenantId,
    /// Whose world the tenant is in.
    pub reseller_id: Option<ResellerId>,
    pub plan_id: PlanId,
    /// Held from this instant until the tenant's next row.
    pub starts_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
