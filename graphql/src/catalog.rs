//! The catalog: apps with versioned recipes, and plans.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use coplane_domain::Fixed;
use coplane_domain::catalog::{apps, plans};
use coplane_domain::entity::{app, app_version, plan};
use rust_decimal::Decimal;

use crate::context::{actor, db, now};
use crate::error::{UserError, payload, to_gql, user_error};
use crate::node::{Conn, connection, decode_as, global_id, page_request};
use crate::scalars::Json;
use crate::tenancy::{Quota, QuotaInput, page_cost};

/// An exact amount of money.
#[derive(SimpleObject, Clone)]
pub struct Money {
    /// The amount, a decimal string (`"12.30"`).
    pub amount: Decimal,
    /// ISO 4217.
    pub currency: String,
}

impl Money {
    /// `amount` in `currency`, shown with the currency's minor digits (`9.90`).
    pub fn new(mut amount: Decimal, currency: &str) -> Self {
        let digits = coplane_domain::reference::Currency::parse(currency)
            .map_or(2, |c| c.minor_unit_digits());
        if amount.scale() < digits {
            amount.rescale(digits);
        }
        Self {
            amount,
            currency: currency.to_owned(),
        }
    }
}

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
    async fn recipe(&self) -> Option<Json<serde_json::Value>> {
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
        let amount = Fixed::from_parts(self.0.base_fee_units, self.0.base_fee_nanos)
            .map_err(|e| crate::error::internal(&e))?;
        Ok(Money::new(amount.to_decimal(), &self.0.currency))
    }
    /// Metered charges on top of the base fee.
    async fn charges(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<crate::billing::PlanCharge>> {
        crate::billing::plan_charges(ctx, self.0.id).await
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
        let page = page_request(first, after.clone())?;
        let found = apps::list(db(ctx)?, actor(ctx)?, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id, App))
    }

    /// Plans on sale, at the co-op's prices.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn plans(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<Plan>> {
        let page = page_request(first, after.clone())?;
        let found = plans::list(db(ctx)?, actor(ctx)?, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(found, after.is_some(), |m| m.id, Plan))
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

/// `createApp` result.
#[derive(SimpleObject)]
pub struct CreateAppPayload {
    /// The app, unless there were user errors.
    pub app: Option<App>,
    /// What was wrong with the input; nothing was changed.
    pub user_errors: Vec<UserError>,
}

/// `publishAppVersion` input.
#[derive(InputObject)]
pub struct PublishAppVersionInput {
    /// The app.
    pub app_id: ID,
    /// `recipeVersion+upstreamVersion`, e.g. `1.0.0+2.3.4`.
    pub version: String,
    /// The recipe (image, tag, ports, env, volumes, resources, health, ingress, services).
    pub recipe: Json<serde_json::Value>,
}

/// `publishAppVersion` result.
#[derive(SimpleObject)]
pub struct PublishAppVersionPayload {
    /// The version, unless there were user errors.
    pub app_version: Option<AppVersion>,
    /// Every problem found, each with its path in the recipe; nothing was published.
    pub user_errors: Vec<UserError>,
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

/// `createPlan` result.
#[derive(SimpleObject)]
pub struct CreatePlanPayload {
    /// The plan, unless there were user errors.
    pub plan: Option<Plan>,
    /// What was wrong with the input; nothing was changed.
    pub user_errors: Vec<UserError>,
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
        let (app, user_errors) = payload(
            apps::create(db, actor, new, input.idempotency_key.as_deref(), now)
                .await
                .map(App),
        )?;
        Ok(CreateAppPayload { app, user_errors })
    }

    /// Publishes a version of an app's recipe (stewards). Versions are immutable.
    async fn publish_app_version(
        &self,
        ctx: &Context<'_>,
        input: PublishAppVersionInput,
    ) -> async_graphql::Result<PublishAppVersionPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let Some(app_id) = decode_as(&input.app_id, "App") else {
            let e = coplane_domain::Error::not_found("appId", "app");
            return Ok(PublishAppVersionPayload {
                app_version: None,
                user_errors: user_error(&e).into_iter().collect(),
            });
        };
        match apps::publish_version(db, actor, app_id, &input.version, &input.recipe.0, now).await {
            Ok(v) => Ok(PublishAppVersionPayload {
                app_version: Some(AppVersion(v)),
                user_errors: Vec::new(),
            }),
            Err(apps::PublishError::Recipe(problems)) => Ok(PublishAppVersionPayload {
                app_version: None,
                user_errors: problems
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
            }),
            Err(apps::PublishError::Other(e)) => {
                let (_, user_errors) = payload::<()>(Err(e))?;
                Ok(PublishAppVersionPayload {
                    app_version: None,
                    user_errors,
                })
            }
        }
    }

    /// Creates a plan (stewards).
    async fn create_plan(
        &self,
        ctx: &Context<'_>,
        input: CreatePlanInput,
    ) -> async_graphql::Result<CreatePlanPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let included = input.included_quota;
        let new = plans::NewPlan {
            code: input.code,
            name: input.name,
            currency: input.currency,
            base_fee: input.base_fee,
            interval: input.interval,
            included: [
                included.cpu_millis,
                included.memory_bytes,
                included.storage_bytes,
                included.pods,
                included.app_installs,
            ],
            allowed_apps: input.allowed_apps,
        };
        let (plan, user_errors) = payload(
            plans::create(db, actor, new, input.idempotency_key.as_deref(), now)
                .await
                .map(Plan),
        )?;
        Ok(CreatePlanPayload { plan, user_errors })
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
pub struct Storefront(pub coplane_domain::catalog::storefront::Storefront);

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
        let found = coplane_domain::catalog::storefront::get(db(ctx)?, actor(ctx)?, reseller)
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

/// `setPriceList` result.
#[derive(SimpleObject)]
pub struct SetPriceListPayload {
    /// The storefront at the new prices, unless there were user errors.
    pub storefront: Option<Storefront>,
    /// What was wrong with the input; nothing was changed.
    pub user_errors: Vec<UserError>,
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
            let reseller = match &input.reseller_id {
                Some(id) => Some(
                    decode_as(id, "Reseller")
                        .ok_or(coplane_domain::Error::not_found("resellerId", "reseller"))?,
                ),
                None => None,
            };
            let mut prices = Vec::new();
            for p in &input.prices {
                let plan = decode_as(&p.plan_id, "Plan")
                    .ok_or(coplane_domain::Error::not_found("prices", "plan"))?;
                prices.push((plan, p.price));
            }
            coplane_domain::catalog::storefront::set_prices(
                db,
                actor,
                reseller,
                input.markup,
                prices,
                now,
            )
            .await
        };
        let (storefront, user_errors) = payload(result.await.map(Storefront))?;
        Ok(SetPriceListPayload {
            storefront,
            user_errors,
        })
    }
}
