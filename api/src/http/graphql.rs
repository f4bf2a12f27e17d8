//! `POST /graphql`, and GraphiQL on `GET /graphql`.

use actix_web::http::header;
use actix_web::{Either, HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql_actix_web::{GraphQLRequest, GraphQLResponse};
use coplane_graphql::{CoplaneSchema, RequestContext};
use serde_json::json;

use super::observe::RequestId;
use crate::auth::{AuthError, Authenticator};

/// `POST /graphql`.
pub async fn graphql(
    schema: web::Data<CoplaneSchema>,
    auth: web::Data<Authenticator>,
    req: HttpRequest,
    body: GraphQLRequest,
) -> Either<GraphQLResponse, HttpResponse> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let principal = match auth.authenticate(header).await {
        Ok(p) => p,
        Err(e) => return Either::Right(unauthenticated(e)),
    };
    let span = tracing::Span::current();
    span.record("principal", principal.subject.as_str());
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let request = body.into_inner().data(RequestContext {
        principal,
        request_id,
    });
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
