//! Resellers and their allotments.

use async_graphql::{Context, ID, InputObject, Object, Value};
use chrono::{DateTime, Utc};
use coplane_domain::Error as DomainError;
use coplane_domain::entity::reseller;
use coplane_domain::tenancy::{members, resellers};
use uuid::Uuid;

use super::Member;
use crate::common::plain::{At, Plain, scalar, text, text_opt};
use crate::common::{Quota, QuotaInput, global_id};
use crate::context::{actor, db};
use crate::error::to_gql;

/// A member organisation selling under its own brand.
pub struct Reseller(pub reseller::Model);

#[Object]
impl Reseller {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Reseller", self.0.id)
    }
    #[graphql(flatten)]
    async fn dunning_fields(&self) -> ResellerDunningFields {
        ResellerDunningFields {
            id: self.0.id.into(),
        }
    }
    /// The member it is; null unless the caller may read members.
    async fn member(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Member>> {
        match members::get(db(ctx)?, actor(ctx)?, self.0.member_id).await {
            Ok(m) => Ok(m.map(Member)),
            Err(DomainError::Forbidden(_)) => Ok(None),
            Err(e) => Err(to_gql(e)),
        }
    }
    /// Brand.
    async fn brand_name(&self) -> &str {
        &self.0.brand_name
    }
    /// Support contact.
    async fn support_email(&self) -> Option<&str> {
        self.0.support_email.as_deref()
    }
    /// The pool its live tenants' quotas share.
    async fn allotment(&self) -> Quota {
        self.0.allotment().into()
    }
    /// What its live (not terminated) tenants hold now.
    #[graphql(complexity = 5)]
    async fn allotment_in_use(&self, ctx: &Context<'_>) -> async_graphql::Result<Quota> {
        resellers::usage(db(ctx)?, self.0.id)
            .await
            .map(Into::into)
            .map_err(to_gql)
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

impl Plain for Reseller {
    fn field(&self, name: &str, at: &At<'_, '_>) -> Option<Value> {
        let r = &self.0;
        Some(match name {
            "id" => scalar(&global_id("Reseller", r.id)),
            "brandName" => text(&r.brand_name),
            "supportEmail" => text_opt(r.support_email.as_deref()),
            "allotment" => return at.object(&Quota::from(r.allotment())),
            "createdAt" => scalar(&r.created_at),
            "updatedAt" => scalar(&r.updated_at),
            _ => return None,
        })
    }
}

/// `Reseller`'s fields that dunning resolves (`standing`), in their place
/// among its own: dunning implements the object, so tenancy does not use
/// dunning.
pub struct ResellerDunningFields {
    pub id: Uuid,
}

/// `createReseller` input.
#[derive(InputObject)]
pub struct CreateResellerInput {
    /// The member organisation (class reseller).
    pub member_id: ID,
    /// Brand it sells under.
    pub brand_name: String,
    /// Support contact.
    pub support_email: Option<String>,
    /// The pool its tenants share.
    pub allotment: QuotaInput,
    /// Replays the first result when repeated with the same input.
    pub idempotency_key: Option<String>,
}

crate::common::payload! {
    /// `createReseller` and `setResellerAllotment` result.
    ResellerPayload {
        /// The reseller, unless there were user errors.
        reseller: Reseller,
        /// What was wrong with the input; nothing was changed.
        user_errors,
    }
}

/// `setResellerAllotment` input.
#[derive(InputObject)]
pub struct SetResellerAllotmentInput {
    /// The reseller.
    pub reseller_id: ID,
    /// The new pool; refused below what its tenants use.
    pub allotment: QuotaInput,
}
