//! `POST /graphql`, and GraphiQL on `GET /graphql`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{Either, HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use coplane_domain::Clock;
use coplane_graphql::{Actor, CoplaneSchema};
use sea_orm::DatabaseConnection;
use serde_json::json;

use super::observe::RequestId;
use crate::auth::{AuthError, Authenticator};

/// `POST /graphql`.
pub async fn graphql(
    schema: web::Data<CoplaneSchema>,
    auth: web::Data<Authenticator>,
    db: web::Data<DatabaseConnection>,
    clock: web::Data<Arc<dyn Clock>>,
    req: HttpRequest,
    body: GraphQLRequest,
) -> Either<GraphQLResponse, HttpResponse> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let principal = match auth.authenticate(header, &db, clock.now()).await {
        Ok(p) => p,
        Err(e) => return Either::Right(unauthenticated(e)),
    };
    tracing::Span::current().record("principal", principal.subject.as_str());
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let request = coplane_graphql::with_request_data(
        body.into_inner(),
        &db,
        Actor {
            principal,
            request_id,
        },
    );
    Either::Left(schema.execute(request).await.into())
}

fn unauthenticated(e: AuthError) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer error=\"invalid_token\", error_description=\"{}\"", e.reason()),
        ))
        .json(json!({
            "errors": [{
                "message": e.to_string(),
                "extensions": { "code": coplane_graphql::error::code::UNAUTHENTICATED, "reason": e.reason() },
            }]
        }))
}

/// `GET /graphql`: GraphiQL.
pub async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .finish(),
        )
}

/// `GET /graphql/ws`: subscriptions over WebSocket (the `graphql-transport-ws`
/// and `graphql-ws` protocols). The credential comes in the
/// `connection_init` payload (`{"Authorization": "Bearer …"}`), or else in
/// the upgrade request's `Authorization` header; a bad one closes the
/// connection with the reason.
pub async fn subscriptions(
    schema: web::Data<CoplaneSchema>,
    auth: web::Data<Authenticator>,
    db: web::Data<DatabaseConnection>,
    clock: web::Data<Arc<dyn Clock>>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let db = db.get_ref().clone();
    let clock = clock.get_ref().clone();
    let on_init = move |init: serde_json::Value| async move {
        let from_init = ["Authorization", "authorization"]
            .iter()
            .find_map(|k| init.get(*k).and_then(|v| v.as_str()).map(str::to_owned));
        let credential = from_init.or(header);
        let principal = auth
            .authenticate(credential.as_deref(), &db, clock.now())
            .await
            .map_err(|e| async_graphql::Error::new(format!("{e} ({})", e.reason())))?;
        Ok(coplane_graphql::connection_data(
            &db,
            Actor {
                principal,
                request_id,
            },
        ))
    };
    async_graphql_actix_web::GraphQLSubscription::new(CoplaneSchema::clone(&schema))
        .on_connection_init(on_init)
        .start(&req, payload)
}
