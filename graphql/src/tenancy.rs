//! Members, resellers, customers, tenants and quotas.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use coplane_domain::entity::{customer, member, reseller, tenant};
use coplane_domain::tenancy::{
    self, Platform, Quota as DomainQuota, customers, members, resellers, tenants,
};
use coplane_domain::{Error as DomainError, Fixed};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::context::{actor, db, now, record_tenant};
use crate::error::{UserError, payload, to_gql};
use crate::loaders::{CustomerLoader, ResellerLoader};
use crate::node::{Conn, connection, decode_as, global_id, page_request};

/// Resolves a global id of `kind` for a mutation, or a `NOT_FOUND` user error.
fn input_id(id: &ID, kind: &str, field: &'static str) -> coplane_domain::Result<Uuid> {
    decode_as(id, kind).ok_or(DomainError::NotFound {
        field,
        entity: kind_name(kind),
    })
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "Member" => "member",
        "Reseller" => "reseller",
        "Customer" => "customer",
        "Plan" => "plan",
        _ => "tenant",
    }
}

/// Five resource dimensions, as exact whole numbers.
#[derive(SimpleObject, Clone, Copy)]
pub struct Quota {
    /// CPU in millicores.
    pub cpu_millis: Decimal,
    /// Memory in bytes.
    pub memory_bytes: Decimal,
    /// Persistent storage in bytes.
    pub storage_bytes: Decimal,
    /// Pods.
    pub pods: Decimal,
    /// App installs.
    pub app_installs: Decimal,
}

impl From<DomainQuota> for Quota {
    fn from(q: DomainQuota) -> Self {
        Self {
            cpu_millis: q.cpu_millis.into(),
            memory_bytes: q.memory_bytes.into(),
            storage_bytes: q.storage_bytes.into(),
            pods: q.pods.into(),
            app_installs: q.app_installs.into(),
        }
    }
}

/// A quota to set: whole numbers from 0 to 2⁶³−1, as decimal strings.
#[derive(InputObject, Clone, Copy, Debug)]
pub struct QuotaInput {
    /// CPU in millicores.
    pub cpu_millis: Decimal,
    /// Memory in bytes.
    pub memory_bytes: Decimal,
    /// Persistent storage in bytes.
    pub storage_bytes: Decimal,
    /// Pods.
    pub pods: Decimal,
    /// App installs.
    pub app_installs: Decimal,
}

impl QuotaInput {
    fn values(self) -> tenancy::QuotaInput {
        [
            self.cpu_millis,
            self.memory_bytes,
            self.storage_bytes,
            self.pods,
            self.app_installs,
        ]
    }
}

/// Person or organisation.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case")]
pub enum MemberKind {
    /// A natural person.
    Person,
    /// An organisation.
    Organisation,
}

/// The class of membership.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case")]
pub enum MemberClass {
    /// Works for the co-op.
    Worker,
    /// Sells its hosting.
    Reseller,
    /// Uses it.
    User,
}

/// A tenant's lifecycle state.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(rename_items = "snake_case")]
pub enum TenantState {
    /// Created; its namespace is not ready yet.
    Pending,
    /// Running.
    Active,
    /// Workloads stopped.
    Suspended,
    /// Gone.
    Terminated,
}

impl TenantState {
    fn domain(self) -> tenancy::TenantState {
        match self {
            Self::Pending => tenancy::TenantState::Pending,
            Self::Active => tenancy::TenantState::Active,
            Self::Suspended => tenancy::TenantState::Suspended,
            Self::Terminated => tenancy::TenantState::Terminated,
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "active" => Self::Active,
            "suspended" => Self::Suspended,
            "terminated" => Self::Terminated,
            _ => Self::Pending,
        }
    }
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
        if self.0.kind == "organisation" {
            MemberKind::Organisation
        } else {
            MemberKind::Person
        }
    }
    /// Membership class.
    async fn class(&self) -> MemberClass {
        match self.0.class.as_str() {
            "worker" => MemberClass::Worker,
            "reseller" => MemberClass::Reseller,
            _ => MemberClass::User,
        }
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

/// A member organisation selling under its own brand.
pub struct Reseller(pub reseller::Model);

#[Object]
impl Reseller {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Reseller", self.0.id)
    }
    /// Its standing as the co-op's debtor, and the dunning steps taken;
    /// null unless the caller may read billing in the reseller's world.
    async fn standing(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::dunning::AccountStanding>> {
        crate::dunning::standing(ctx, "reseller", self.0.id, Some(self.0.id)).await
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

/// Someone who pays a reseller, or the co-op directly.
pub struct Customer(pub customer::Model);

#[Object]
impl Customer {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Customer", self.0.id)
    }
    /// Its standing, and the dunning steps taken; null unless the caller
    /// may read billing in the customer's world.
    async fn standing(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::dunning::AccountStanding>> {
        crate::dunning::standing(ctx, "customer", self.0.id, self.0.reseller_id).await
    }
    /// Its reseller; null for the co-op's direct customers.
    async fn reseller(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Reseller>> {
        load_reseller(ctx, self.0.reseller_id).await
    }
    /// Legal name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Where invoices go.
    async fn billing_email(&self) -> &str {
        &self.0.billing_email
    }
    /// Address.
    async fn address_line1(&self) -> Option<&str> {
        self.0.address_line1.as_deref()
    }
    /// Address.
    async fn address_line2(&self) -> Option<&str> {
        self.0.address_line2.as_deref()
    }
    /// Address.
    async fn postal_code(&self) -> Option<&str> {
        self.0.postal_code.as_deref()
    }
    /// Address.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }
    /// ISO 3166-1 alpha-2.
    async fn country(&self) -> &str {
        &self.0.country
    }
    /// ISO 4217.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Tax rate as a fraction (`"0.19"`).
    async fn tax_rate(&self) -> async_graphql::Result<Decimal> {
        Fixed::from_parts(self.0.tax_rate_units, self.0.tax_rate_nanos)
            .map(Fixed::to_decimal)
            .map_err(|e| crate::error::internal(&e))
    }
    /// The customer accounts for VAT.
    async fn reverse_charge(&self) -> bool {
        self.0.reverse_charge
    }
    /// Tax number.
    async fn tax_id(&self) -> Option<&str> {
        self.0.tax_id.as_deref()
    }
    /// The id an ERP knows it by.
    async fn external_ref(&self) -> Option<&str> {
        self.0.external_ref.as_deref()
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

/// A Kubernetes namespace with a quota, for a customer.
pub struct Tenant(pub tenant::Model);

#[Object]
impl Tenant {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Tenant", self.0.id)
    }
    /// Its customer; null unless the caller may read customers.
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Customer>> {
        let loader = ctx.data::<DataLoader<CustomerLoader>>()?;
        loader
            .load_one(self.0.customer_id)
            .await
            .map(|c| c.map(Customer))
            .map_err(|e| to_gql_shared(&e))
    }
    /// Its reseller; null for the co-op's direct customers or unless the caller may read resellers.
    async fn reseller(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Reseller>> {
        load_reseller(ctx, self.0.reseller_id).await
    }
    /// Immutable slug.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Cluster.
    async fn cluster(&self) -> &str {
        &self.0.cluster
    }
    /// Kubernetes namespace.
    async fn namespace(&self) -> &str {
        &self.0.namespace
    }
    /// Plan.
    async fn plan_id(&self) -> Option<ID> {
        self.0.plan_id.map(|p| global_id("Plan", p))
    }
    /// Quota.
    async fn quota(&self) -> Quota {
        self.0.quota().into()
    }
    /// State.
    async fn state(&self) -> TenantState {
        TenantState::parse(&self.0.state)
    }
    /// Its app installs (removed ones too), oldest first.
    #[graphql(complexity = "50 * child_complexity")]
    async fn app_installs(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::orders::AppInstall>> {
        crate::orders::tenant_installs(ctx, self).await
    }
    /// `overdue` or `manual` while suspended.
    async fn suspension_reason(&self) -> Option<&str> {
        self.0.suspension_reason.as_deref()
    }
    /// Why, in words (a manual suspension's reason).
    async fn suspension_note(&self) -> Option<&str> {
        self.0.suspension_note.as_deref()
    }
    /// Paid up to: not suspended for arrears before then.
    async fn prepaid_until(&self) -> Option<DateTime<Utc>> {
        self.0.prepaid_until
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

fn to_gql_shared(e: &std::sync::Arc<DomainError>) -> async_graphql::Error {
    crate::error::internal(&**e)
}

async fn load_reseller(
    ctx: &Context<'_>,
    id: Option<Uuid>,
) -> async_graphql::Result<Option<Reseller>> {
    let Some(id) = id else { return Ok(None) };
    let loader = ctx.data::<DataLoader<ResellerLoader>>()?;
    loader
        .load_one(id)
        .await
        .map(|r| r.map(Reseller))
        .map_err(|e| to_gql_shared(&e))
}

#[derive(Default)]
pub struct TenancyQuery;

#[Object]
impl TenancyQuery {
    /// Members the caller reaches (stewards: all; members: themselves).
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        updated_since: Option<DateTime<Utc>>,
        class: Option<MemberClass>,
    ) -> async_graphql::Result<Conn<Member>> {
        let page = page_request(first, after.clone())?;
        let filter = members::MemberFilter {
            class: class.map(|c| match c {
                MemberClass::Worker => tenancy::MemberClass::Worker,
                MemberClass::Reseller => tenancy::MemberClass::Reseller,
                MemberClass::User => tenancy::MemberClass::User,
            }),
            updated_since,
        };
        let found = members::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id, Member))
    }

    /// Resellers the caller reaches.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn resellers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        updated_since: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<Conn<Reseller>> {
        let page = page_request(first, after.clone())?;
        let filter = resellers::ResellerFilter { updated_since };
        let found = resellers::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id, Reseller))
    }

    /// Customers the caller reaches; `updatedSince` for ERP syncs.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        updated_since: Option<DateTime<Utc>>,
        reseller_id: Option<ID>,
    ) -> async_graphql::Result<Conn<Customer>> {
        let page = page_request(first, after.clone())?;
        let filter = customers::CustomerFilter {
            reseller_id: reseller_id.map(|r| decode_as(&r, "Reseller").unwrap_or_else(Uuid::nil)),
            updated_since,
        };
        let found = customers::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id, Customer))
    }

    /// Tenants the caller reaches, filtered by state, reseller or customer.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn tenants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        updated_since: Option<DateTime<Utc>>,
        state: Option<TenantState>,
        reseller_id: Option<ID>,
        customer_id: Option<ID>,
    ) -> async_graphql::Result<Conn<Tenant>> {
        let page = page_request(first, after.clone())?;
        let filter = tenants::TenantFilter {
            state: state.map(TenantState::domain),
            reseller_id: reseller_id.map(|r| decode_as(&r, "Reseller").unwrap_or_else(Uuid::nil)),
            customer_id: customer_id.map(|c| decode_as(&c, "Customer").unwrap_or_else(Uuid::nil)),
            updated_since,
        };
        let found = tenants::list(db(ctx)?, actor(ctx)?, filter, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id, Tenant))
    }

    /// One tenant; null if it does not exist or is outside the caller's reach.
    async fn tenant(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Tenant>> {
        let Some(uuid) = decode_as(&id, "Tenant") else {
            return Ok(None);
        };
        record_tenant(uuid);
        Ok(tenants::get(db(ctx)?, actor(ctx)?, uuid)
            .await
            .map_err(to_gql)?
            .map(Tenant))
    }
}

/// Page size times what each item costs, for the complexity limit.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let n = first.unwrap_or(20).clamp(0, 100);
    usize::try_from(n)
        .unwrap_or(0)
        .saturating_mul(child_complexity.max(1))
        .saturating_add(1)
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

/// `createMember` result.
#[derive(SimpleObject)]
pub struct CreateMemberPayload {
    /// The member, unless there were user errors.
    pub member: Option<Member>,
    /// What was wrong with the input; nothing was changed.
    pub user_errors: Vec<UserError>,
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

/// `createReseller` and `setResellerAllotment` result.
#[derive(SimpleObject)]
pub struct ResellerPayload {
    /// The reseller, unless there were user errors.
    pub reseller: Option<Reseller>,
    /// What was wrong with the input; nothing was changed.
    pub user_errors: Vec<UserError>,
}

/// `setResellerAllotment` input.
#[derive(InputObject)]
pub struct SetResellerAllotmentInput {
    /// The reseller.
    pub reseller_id: ID,
    /// The new pool; refused below what its tenants use.
    pub allotment: QuotaInput,
}

/// `createCustomer` input.
#[derive(InputObject)]
pub struct CreateCustomerInput {
    /// The reseller (stewards; empty for a direct customer). A reseller's customers are its own.
    pub reseller_id: Option<ID>,
    /// Legal name.
    pub name: String,
    /// Where invoices go.
    pub billing_email: String,
    /// Address.
    pub address_line1: Option<String>,
    /// Address.
    pub address_line2: Option<String>,
    /// Address.
    pub postal_code: Option<String>,
    /// Address.
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// ISO 4217.
    pub currency: String,
    /// A fraction: `"0.19"` for 19 %.
    pub tax_rate: Decimal,
    /// The customer accounts for VAT.
    #[graphql(default)]
    pub reverse_charge: bool,
    /// Tax number.
    pub tax_id: Option<String>,
    /// The id an ERP knows it by.
    pub external_ref: Option<String>,
    /// Replays the first result when repeated with the same input.
    pub idempotency_key: Option<String>,
}

/// `createCustomer` result.
#[derive(SimpleObject)]
pub struct CreateCustomerPayload {
    /// The customer, unless there were user errors.
    pub customer: Option<Customer>,
    /// What was wrong with the input; nothing was changed.
    pub user_errors: Vec<UserError>,
}

/// `createTenant` input.
#[derive(InputObject)]
pub struct CreateTenantInput {
    /// Its customer.
    pub customer_id: ID,
    /// DNS label, immutable; the namespace is `coplane-<slug>`.
    pub slug: String,
    /// Cluster (default `default`).
    pub cluster: Option<String>,
    /// Plan.
    pub plan_id: Option<ID>,
    /// Quota, within the reseller's allotment.
    pub quota: QuotaInput,
    /// Replays the first result when repeated with the same input.
    pub idempotency_key: Option<String>,
}

/// `updateTenantQuota` input.
#[derive(InputObject)]
pub struct UpdateTenantQuotaInput {
    /// The tenant.
    pub tenant_id: ID,
    /// Its new quota, within the reseller's allotment.
    pub quota: QuotaInput,
}

/// A mutation's tenant (`createTenant`, `updateTenantQuota`, `suspendTenant` …).
#[derive(SimpleObject)]
pub struct TenantPayload {
    /// The tenant, unless there were user errors.
    pub tenant: Option<Tenant>,
    /// What was wrong with the input; nothing was changed.
    pub user_errors: Vec<UserError>,
}

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
        let (member, user_errors) = payload(result.await.map(Member))?;
        Ok(CreateMemberPayload {
            member,
            user_errors,
        })
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
        let (reseller, user_errors) = payload(result.await.map(Reseller))?;
        Ok(ResellerPayload {
            reseller,
            user_errors,
        })
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
        let (reseller, user_errors) = payload(result.await.map(Reseller))?;
        Ok(ResellerPayload {
            reseller,
            user_errors,
        })
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
                reseller_id: input
                    .reseller_id
                    .as_ref()
                    .map(|r| input_id(r, "Reseller", "resellerId"))
                    .transpose()?,
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
        let (customer, user_errors) = payload(result.await.map(Customer))?;
        Ok(CreateCustomerPayload {
            customer,
            user_errors,
        })
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
                plan_id: input
                    .plan_id
                    .as_ref()
                    .map(|p| input_id(p, "Plan", "planId"))
                    .transpose()?,
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
        let (tenant, user_errors) = payload(result.await.map(Tenant))?;
        if let Some(t) = &tenant {
            record_tenant(t.0.id);
        }
        Ok(TenantPayload {
            tenant,
            user_errors,
        })
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
            tenants::update_quota(db, actor, id, input.quota.values(), now).await
        };
        let (tenant, user_errors) = payload(result.await.map(Tenant))?;
        Ok(TenantPayload {
            tenant,
            user_errors,
        })
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
