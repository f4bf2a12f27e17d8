//! Tenancy's mutations.

use async_graphql::{Context, Object};
use coplane_domain::Error as DomainError;
use coplane_domain::tenancy::{Platform, customers, members, resellers, tenants};
use rust_decimal::Decimal;

use super::{
    CreateCustomerInput, CreateCustomerPayload, CreateMemberInput, CreateMemberPayload,
    CreateResellerInput, CreateTenantInput, Customer, Member, MemberClass, MemberKind, Reseller,
    ResellerPayload, SetResellerAllotmentInput, Tenant, TenantPayload, UpdateTenantQuotaInput,
};
use crate::common::{Payload, input_id, optional_id};
use crate::context::{actor, db, now, record_tenant};

#[derive(Default)]
pub struct TenancyMutation;

#[Object]
impl TenancyMutation {
    /// Creates a member (stewards).
    async fn create_member(
        &self,
        ctx: &Context<'_>,
        input: CreateMemberInput,
    ) -> async_graphql::Result<CreateMemberPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let shares_held = whole(input.shares_held, "sharesHeld")?;
            let new = members::NewMember {
                kind: if input.kind == MemberKind::Organisation {
                    "organisation"
                } else {
                    "person"
                }
                .into(),
                class: match input.class {
                    MemberClass::Worker => "worker",
                    MemberClass::Reseller => "reseller",
                    MemberClass::User => "user",
                }
                .into(),
                display_name: input.display_name,
                email: input.email,
                shares_held,
                joined_on: input.joined_on,
            };
            members::create(db, actor, new, input.idempotency_key.as_deref(), now).await
        };
        CreateMemberPayload::from_result(result.await.map(Member))
    }

    /// Creates a reseller for a member organisation (stewards).
    async fn create_reseller(
        &self,
        ctx: &Context<'_>,
        input: CreateResellerInput,
    ) -> async_graphql::Result<ResellerPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let new = resellers::NewReseller {
                member_id: input_id(&input.member_id, "Member", "memberId")?,
                brand_name: input.brand_name,
                support_email: input.support_email,
                allotment: input.allotment.values(),
            };
            resellers::create(db, actor, new, input.idempotency_key.as_deref(), now).await
        };
        ResellerPayload::from_result(result.await.map(Reseller))
    }

    /// Sets a reseller's allotment (stewards); refused below what its tenants use.
    async fn set_reseller_allotment(
        &self,
        ctx: &Context<'_>,
        input: SetResellerAllotmentInput,
    ) -> async_graphql::Result<ResellerPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let id = input_id(&input.reseller_id, "Reseller", "resellerId")?;
            resellers::set_allotment(db, actor, id, input.allotment.values(), now).await
        };
        ResellerPayload::from_result(result.await.map(Reseller))
    }

    /// Creates a customer.
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomerInput,
    ) -> async_graphql::Result<CreateCustomerPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let new = customers::NewCustomer {
                reseller_id: optional_id(input.reseller_id.as_ref(), "Reseller", "resellerId")?,
                name: input.name,
                billing_email: input.billing_email,
                address_line1: input.address_line1,
                address_line2: input.address_line2,
                postal_code: input.postal_code,
                city: input.city,
                country: input.country,
                currency: input.currency,
                tax_rate: input.tax_rate,
                reverse_charge: input.reverse_charge,
                tax_id: input.tax_id,
                external_ref: input.external_ref,
            };
            customers::create(db, actor, new, input.idempotency_key.as_deref(), now).await
        };
        CreateCustomerPayload::from_result(result.await.map(Customer))
    }

    /// Creates a tenant for a customer, within its reseller's allotment.
    async fn create_tenant(
        &self,
        ctx: &Context<'_>,
        input: CreateTenantInput,
    ) -> async_graphql::Result<TenantPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let new = tenants::NewTenant {
                customer_id: input_id(&input.customer_id, "Customer", "customerId")?,
                slug: input.slug,
                cluster: input.cluster,
                plan_id: optional_id(input.plan_id.as_ref(), "Plan", "planId")?,
                quota: input.quota.values(),
            };
            let clusters = &ctx.data_unchecked::<Platform>().clusters;
            tenants::create(
                db,
                actor,
                new,
                clusters,
                input.idempotency_key.as_deref(),
                now,
            )
            .await
        };
        let created = TenantPayload::from_result(result.await.map(Tenant))?;
        if let Some(t) = &created.tenant {
            record_tenant(t.0.id.into());
        }
        Ok(created)
    }

    /// Changes a tenant's quota, within its reseller's allotment.
    async fn update_tenant_quota(
        &self,
        ctx: &Context<'_>,
        input: UpdateTenantQuotaInput,
    ) -> async_graphql::Result<TenantPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let id = input_id(&input.tenant_id, "Tenant", "tenantId")?;
            record_tenant(id);
            coplane_domain::orders::update_tenant_quota(
                db,
                actor,
                id.into(),
                input.quota.values(),
                now,
            )
            .await
        };
        TenantPayload::from_result(result.await.map(Tenant))
    }
}

fn whole(d: Decimal, field: &'static str) -> coplane_domain::Result<i64> {
    use rust_decimal::prelude::ToPrimitive;
    if d.normalize().scale() > 0 {
        return Err(DomainError::invalid(
            field,
            "INVALID_NUMBER",
            format!("{field} must be a whole number"),
        ));
    }
    d.to_i64().ok_or_else(|| {
        DomainError::invalid(field, "INVALID_NUMBER", format!("{field} is out of range"))
    })
}
