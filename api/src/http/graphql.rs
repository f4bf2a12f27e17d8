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
