//! API tokens for integrations (ERP connectors, scripts). Uses no other area.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use coplane_domain::auth::tokens;
use coplane_domain::entity::api_token;

use crate::common::{
    Conn, Payload, connection, global_id, input_id, optional_id, page_cost, page_request,
};
use crate::context::{actor, db, now};
use crate::error::{UserError, payload, to_gql};

/// A bearer credential for an integration. Its secret is shown once, at creation.
pub struct ApiToken(pub api_token::Model);

#[Object]
impl ApiToken {
    /// Global id.
    async fn id(&self) -> ID {
        global_id("ApiToken", self.0.id)
    }
    /// Label.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Scopes (`customers:read`, …).
    async fn scopes(&self) -> Vec<String> {
        serde_json::from_str(&self.0.scopes).unwrap_or_default()
    }
    /// The reseller it acts for.
    async fn reseller_id(&self) -> Option<ID> {
        self.0.reseller_id.map(|r| global_id("Reseller", r))
    }
    /// Whether it reaches every reseller's world (a steward asked for it).
    async fn coop_wide(&self) -> bool {
        self.0.coop_wide
    }
    /// Who created it.
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    /// Expiry.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// Revocation.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Last use (to the minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    /// Created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// `createApiToken` input.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// Label.
    pub name: String,
    /// Scopes: customers:read, customers:write, tenants:read, tenants:write, members:read,
    /// resellers:read, billing:read, billing:write, usage:write.
    pub scopes: Vec<String>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// The reseller it acts for (stewards; a reseller's tokens are its own).
    pub reseller_id: Option<ID>,
    /// A steward's token for every reseller's world: must be said, as
    /// `true`, when no `resellerId` is given.
    #[graphql(default)]
    pub coop_wide: bool,
}

/// `createApiToken` result.
#[derive(SimpleObject)]
pub struct CreateApiTokenPayload {
    /// The token's record.
    pub api_token: Option<ApiToken>,
    /// The secret (`cpl_…`), shown this once: store it now.
    pub token: Option<String>,
    /// What was wrong with the input; nothing was changed.
    pub user_errors: Vec<UserError>,
}

/// `revokeApiToken` input.
#[derive(InputObject)]
pub struct RevokeApiTokenInput {
    /// The token.
    pub id: ID,
}

crate::common::payload! {
    /// `revokeApiToken` result.
    RevokeApiTokenPayload {
        /// The revoked token.
        api_token: ApiToken,
        /// What was wrong with the input; nothing was changed.
        user_errors,
    }
}

#[derive(Default)]
pub struct TokensQuery;

#[Object]
impl TokensQuery {
    /// API tokens the caller manages.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<ApiToken>> {
        let page = page_request(ctx, first, after.clone())?;
        let found = tokens::list(db(ctx)?, actor(ctx)?, page)
            .await
            .map_err(to_gql)?;
        Ok(connection(
            found,
            after.is_some(),
            |m| m.id.into(),
            ApiToken,
        ))
    }
}

#[derive(Default)]
pub struct TokensMutation;

#[Object]
impl TokensMutation {
    /// Creates an API token (stewards, resellers for themselves). The secret is returned once.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> async_graphql::Result<CreateApiTokenPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let reseller_id = optional_id(input.reseller_id.as_ref(), "Reseller", "resellerId")?;
            let new = tokens::NewApiToken {
                name: input.name,
                scopes: input.scopes,
                expires_at: input.expires_at,
                reseller_id,
                coop_wide: input.coop_wide,
            };
            tokens::create(db, actor, new, now).await
        };
        let (created, user_errors) = payload(result.await)?;
        let (api_token, token) = created.map_or((None, None), |(m, secret)| {
            (Some(ApiToken(m)), Some(secret))
        });
        Ok(CreateApiTokenPayload {
            api_token,
            token,
            user_errors,
        })
    }

    /// Revokes an API token: it stops working at once.
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiTokenInput,
    ) -> async_graphql::Result<RevokeApiTokenPayload> {
        let (db, actor, now) = (db(ctx)?, actor(ctx)?, now(ctx)?);
        let result = async {
            let id = input_id(&input.id, "ApiToken", "id")?;
            tokens::revoke(db, actor, id, now).await
        };
        RevokeApiTokenPayload::from_result(result.await.map(ApiToken))
    }
}
