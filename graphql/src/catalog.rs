//! The catalog: apps with versioned recipes, plans, and resellers'
//! storefronts. It may use tenancy, no later area.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use coplane_domain::catalog::{apps, brand, plans, storefront};
use coplane_domain::entity::{app, app_version, plan};
use coplane_domain::tenancy::Platform;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::common::{
    Conn, Money, Payload, Quota, QuotaInput, connection, decode_as, exact_decimal, global_id,
    input_id, optional_id, page_cost, page_request,
};
use crate::context::{actor, db, now};
use crate::error::{UserError, to_gql};
use crate::scalars::{Json, JsonValue};

/// An app of the co-op's catalog.
pub struct App(pub app::Model);

#[Object]
impl App {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("App", self.0.id)
    }
    /// DNS label.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name shown.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it is.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Published versions, oldest first.
    #[graphql(complexity = 10)]
    async fn versions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AppVersion>> {
        let found = apps::versions(db(ctx)?, actor(ctx)?, self.0.id)
            .await
            .map_err(to_gql)?;
        Ok(found.into_iter().map(AppVersion).collect())
    }
}

/// A published, immutable recipe version.
pub struct AppVersion(pub app_version::Model);

#[Object]
impl AppVersion {
    /// Global id.
    async fn id(&self) -> ID {
        global_id("AppVersion", self.0.id)
    }
    /// `recipeVersion+upstreamVersion`.
    async fn version(&self) -> &str {
        &self.0.version
    }
    /// The recipe.
    async fn recipe(&self) -> Option<JsonValue> {
        serde_json::from_str(&self.0.recipe).ok().map(Json)
    }
    /// Published.
    async fn published_at(&self) -> DateTime<Utc> {
        self.0.published_at
    }
}

/// A plan: a base fee per period and an included quota.
pub struct Plan(pub plan::Model);

#[Object]
impl Plan {
    /// Global id.
    pub async fn id(&self) -> ID {
        global_id("Plan", self.0.id)
    }
    /// Unique code.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Name shown.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Base fee per period, at the co-op's (wholesale) price.
    async fn base_fee(&self) -> async_graphql::Result<Money> {
        let amount = exact_decimal(self.0.base_fee_units, self.0.base_fee_nanos)?;
        Ok(Money::new(amount, &self.0.currency))
    }
    #[graphql(flatten)]
    async fn billing_fields(&self) -> PlanBillingFields {
        PlanBillingFields {
            id: self.0.id.into(),
        }
    }
    /// `month` or `year`.
    async fn interval(&self) -> &str {
        &self.0.billing_interval
    }
    /// Quota included.
    async fn included_quota(&self) -> Quota {
        self.0.included().into()
    }
    /// Slugs of the apps it allows; empty: every app.
    async fn allowed_apps(&self) -> Vec<String> {
        serde_json::from_str(&self.0.allowed_apps).unwrap_or_default()
    }
}

/// `Plan`'s fields that billing resolves (`charges`), in their place among
/// its own: billing implements the object, so the catalog does not use
/// billing.
pub struct PlanBillingFields {
    pub id: Uuid,
}

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// The app catalog.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn apps(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<App>> {
        let page = page_request(ctx, first, after.clone())?;
        let found = apps::list(db(ctx)?, actor(ctx)?, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id.into(), App))
    }

    /// Plans on sale, at the co-op's prices.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn plans(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Plan>> {
        let page = page_request(ctx, first, after.clone())?;
        let found = plans::list(db(ctx)?, actor(ctx)?, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id.into(), Plan))
    }
}

/// `createApp` input.
#[derive(InputObject)]
pub struct CreateAppInput {
    /// DNS label, unique.
    pub slug: String,
    /// Name shown.
    pub name: String,
    /// What it is.
    #[graphql(default)]
    pub description: String,
    /// Replays the first result when repeated with the same input.
    pub idempotency_key: Option<String>,
}

crate::common::payload! {
    /// `createApp` result.
    CreateAppPayload {
        /// The app, unless there were user errors.
        app: App,
        /// What was wrong with the input; nothing was changed.
        user_errors,
    }
}

/// `publishAppVersion` input.
#[derive(InputObject)]
pub struct PublishAppVersionInput {
    /// The app.
    pub app_id: ID,
    /// `recipeVersion+upstreamVersion`, e.g. `1.0.0+2.3.4`.
    pub version: String,
    /// The recipe (image, tag, ports, env, volumes, resources, health, ingress, services).
    pub recipe: JsonValue,
}

crate::common::payload! {
    /// `publishAppVersion` result.
    PublishAppVersionPayload {
        /// The version, unless there were user errors.
        app_version: AppVersion,
        /// Every problem found, each with its path in the recipe; nothing was published.
        user_errors,
    }
}

/// `createPlan` input.
#[derive(InputObject)]
pub struct CreatePlanInput {
    /// Unique code (a DNS label).
    pub code: String,
    /// Name shown.
    pub name: String,
    /// ISO 4217.
    pub currency: String,
    /// Base fee per period.
    pub base_fee: Decimal,
    /// `month` or `year`.
    pub interval: String,
    /// Quota included.
    pub included_quota: QuotaInput,
    /// Slugs of the apps it allows; empty: every app.
    #[graphql(default)]
    pub allowed_apps: Vec<String>,
    /// Replays the first result when repeated with the same input.
    pub idempotency_key: Option<String>,
}

crate::common::payload! {
    /// `createPlan` result.
    CreatePlanPayload {
        /// The plan, unless there were user errors.
        plan: Plan,
        /// What was wrong with the input; nothing was changed.
        user_errors,
    }
}

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates an app (stewards).
    async fn create_app(
        &self,
        ctx: &Context<'_>,
        input: CreateAppInput,
    ) -> async_graphql::Result<CreateAppPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let new = apps::NewApp {
            slug: input.slug,
            name: input.name,
            description: input.description,
        };
        CreateAppPayload::from_result(
            apps::create(db, actor, new, input.idempotency_key.as_deref(), now)
                .await
                .map(App),
        )
    }

    /// Publishes a version of an app's recipe (stewards). Versions are immutable.
    async fn publish_app_version(
        &self,
        ctx: &Context<'_>,
        input: PublishAppVersionInput,
    ) -> async_graphql::Result<PublishAppVersionPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let app_id = match input_id(&input.app_id, "App", "appId") {
            Ok(id) => id,
            Err(e) => return PublishAppVersionPayload::from_result(Err(e)),
        };
        match apps::publish_version(db, actor, app_id, &input.version, &input.recipe.0, now).await {
            Ok(v) => Ok(PublishAppVersionPayload::new(
                Some(AppVersion(v)),
                Vec::new(),
            )),
            Err(apps::PublishError::Recipe(problems)) => Ok(PublishAppVersionPayload::refused(
                problems
                    .into_iter()
                    .map(|p| {
                        let mut field = vec!["input".to_owned()];
                        if p.path != "version" && p.path != "recipe" {
                            field.push("recipe".to_owned());
                        }
                        field.push(p.path);
                        UserError {
                            field,
                            message: p.message,
                            code: p.code.to_owned(),
                        }
                    })
                    .collect(),
            )),
            Err(apps::PublishError::Other(e)) => PublishAppVersionPayload::from_result(Err(e)),
        }
    }

    /// Creates a plan (stewards).
    async fn create_plan(
        &self,
        ctx: &Context<'_>,
        input: CreatePlanInput,
    ) -> async_graphql::Result<CreatePlanPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let new = plans::NewPlan {
            code: input.code,
            name: input.name,
            currency: input.currency,
            base_fee: input.base_fee,
            interval: input.interval,
            included: input.included_quota.values(),
            allowed_apps: input.allowed_apps,
        };
        CreatePlanPayload::from_result(
            plans::create(db, actor, new, input.idempotency_key.as_deref(), now)
                .await
                .map(Plan),
        )
    }
}

/// A plan at a reseller's price.
#[derive(SimpleObject)]
pub struct StorefrontPlan {
    /// The plan.
    pub plan: Plan,
    /// Its price per period, as this reseller sells it.
    pub price: Money,
}

/// The catalog as one reseller sells it: its prices, its brand.
pub struct Storefront(pub storefront::Storefront);

#[Object]
impl Storefront {
    /// The reseller.
    async fn reseller_id(&self) -> ID {
        global_id("Reseller", self.0.reseller.id)
    }
    /// The brand it sells under.
    async fn brand_name(&self) -> &str {
        &self.0.reseller.brand_name
    }
    /// Its support contact.
    async fn support_email(&self) -> Option<&str> {
        self.0.reseller.support_email.as_deref()
    }
    /// Its markup over wholesale (`"0.25"` for 25 %), if set.
    async fn markup(&self) -> Option<Decimal> {
        self.0.markup
    }
    /// The price list's version (0: never set).
    async fn price_version(&self) -> i32 {
        self.0.price_version
    }
    /// Plans on sale, at its prices.
    async fn plans(&self) -> Vec<StorefrontPlan> {
        self.0
            .plans
            .iter()
            .map(|p| StorefrontPlan {
                price: Money::new(p.price, &p.plan.currency),
                plan: Plan(p.plan.clone()),
            })
            .collect()
    }
    /// Apps on sale.
    async fn apps(&self) -> Vec<App> {
        self.0.apps.iter().cloned().map(App).collect()
    }
    /// Its colours, terms and host names.
    async fn brand(&self) -> StorefrontBrand<'_> {
        StorefrontBrand(&self.0.brand)
    }
}

/// A storefront's look and the host names it answers on.
pub struct StorefrontBrand<'a>(&'a brand::Brand);

#[Object]
impl StorefrontBrand<'_> {
    /// Host names its storefront answers on (lower case).
    async fn domains(&self) -> &[String] {
        &self.0.domains
    }
    /// Main colour, `#rrggbb`.
    async fn primary_color(&self) -> Option<&str> {
        self.0.primary_color.as_deref()
    }
    /// Second colour, `#rrggbb`.
    async fn accent_color(&self) -> Option<&str> {
        self.0.accent_color.as_deref()
    }
    /// Its terms of service (an https link).
    async fn terms_url(&self) -> Option<&str> {
        self.0.terms_url.as_deref()
    }
    /// Times the brand was set (0: never).
    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(Default)]
pub struct StorefrontQuery;

#[Object]
impl StorefrontQuery {
    /// The calling reseller's storefront (stewards name the reseller); null outside the caller's reach.
    #[graphql(complexity = 50)]
    async fn storefront(
        &self,
        ctx: &Context<'_>,
        reseller_id: Option<ID>,
    ) -> async_graphql::Result<Option<Storefront>> {
        let reseller = match reseller_id {
            Some(id) => match decode_as(&id, "Reseller") {
                Some(u) => Some(u),
                None => return Ok(None),
            },
            None => None,
        };
        let found = storefront::get(db(ctx)?, actor(ctx)?, reseller.map(Into::into))
            .await
            .map_err(to_gql)?;
        Ok(found.map(Storefront))
    }
}

/// A plan's price in a price list.
#[derive(InputObject)]
pub struct PlanPriceInput {
    /// The plan.
    pub plan_id: ID,
    /// Its retail price per period, in the plan's currency.
    pub price: Decimal,
}

/// `setPriceList` input.
#[derive(InputObject)]
pub struct SetPriceListInput {
    /// The reseller (stewards; a reseller sets its own).
    pub reseller_id: Option<ID>,
    /// Markup over wholesale for plans without an explicit price (`"0.25"` for 25 %).
    pub markup: Option<Decimal>,
    /// Explicit prices.
    #[graphql(default)]
    pub prices: Vec<PlanPriceInput>,
}

crate::common::payload! {
    /// `setPriceList` result.
    SetPriceListPayload {
        /// The storefront at the new prices, unless there were user errors.
        storefront: Storefront,
        /// What was wrong with the input; nothing was changed.
        user_errors,
    }
}

/// `setStorefrontBrand` input: the whole brand, replacing the last.
#[derive(InputObject)]
pub struct SetStorefrontBrandInput {
    /// The reseller (stewards; a reseller sets its own).
    pub reseller_id: Option<ID>,
    /// Host names its storefront answers on (at most 10; none under the co-op's app domain).
    #[graphql(default)]
    pub domains: Vec<String>,
    /// Main colour, `#rrggbb`.
    pub primary_color: Option<String>,
    /// Second colour, `#rrggbb`.
    pub accent_color: Option<String>,
    /// Its terms of service, an https link.
    pub terms_url: Option<String>,
}

crate::common::payload! {
    /// `setStorefrontBrand` result.
    SetStorefrontBrandPayload {
        /// The storefront with its new brand, unless there were user errors.
        storefront: Storefront,
        /// What was wrong with the input; nothing was changed.
        user_errors,
    }
}

#[derive(Default)]
pub struct StorefrontMutation;

#[Object]
impl StorefrontMutation {
    /// Sets a reseller's prices, replacing the previous price list.
    async fn set_price_list(
        &self,
        ctx: &Context<'_>,
        input: SetPriceListInput,
    ) -> async_graphql::Result<SetPriceListPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let reseller = optional_id(input.reseller_id.as_ref(), "Reseller", "resellerId")?;
            let mut prices = Vec::new();
            for p in &input.prices {
                prices.push((input_id(&p.plan_id, "Plan", "prices")?, p.price));
            }
            storefront::set_prices(db, actor, reseller, input.markup, prices, now).await
        };
        SetPriceListPayload::from_result(result.await.map(Storefront))
    }

    /// Sets a storefront's colours, terms link and host names, replacing
    /// the previous brand; a host name belongs to one storefront.
    async fn set_storefront_brand(
        &self,
        ctx: &Context<'_>,
        input: SetStorefrontBrandInput,
    ) -> async_graphql::Result<SetStorefrontBrandPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let platform = ctx.data::<Platform>()?;
        let result = async {
            let reseller = optional_id(input.reseller_id.as_ref(), "Reseller", "resellerId")?;
            let brand = brand::BrandInput {
                domains: input.domains,
                primary_color: input.primary_color,
                accent_color: input.accent_color,
                terms_url: input.terms_url,
            };
            brand::set_brand(db, actor, platform, reseller, brand, now).await
        };
        SetStorefrontBrandPayload::from_result(result.await.map(Storefront))
    }
}
