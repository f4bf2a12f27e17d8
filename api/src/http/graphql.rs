//! `POST /graphql`, and GraphiQL on `GET /graphql`.

use actix_web::http::{StatusCode, header};
use actix_web::{Either, HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql_actix_web::GraphQLResponse;
use coplane_graphql::{Actor, Api, CoplaneSchema};
use serde_json::json;

use super::admit::{Gate, Refusal};
use super::body::{self, BodyLimits};
use super::observe::RequestId;
use super::ratelimit::{self, Bucket};
use super::socket;
use crate::auth::AuthError;

/// `POST /graphql`: a JSON body `{query, operationName, variables}`. The
/// credential is checked before the body is read, and the body is read
/// within its limit; multipart uploads are not accepted.
pub async fn graphql(
    api: web::Data<Api>,
    gate: web::Data<Gate>,
    limits: web::Data<BodyLimits>,
    req: HttpRequest,
    payload: web::Payload,
) -> Either<GraphQLResponse, HttpResponse> {
    let principal = match gate.admit(&req, Bucket::Credential).await {
        Ok(p) => p,
        Err(Refusal::Unauthenticated(e)) => return Either::Right(unauthenticated(e)),
        Err(Refusal::RateLimited(wait)) => return Either::Right(ratelimit::too_many(wait)),
    };
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Either::Right(bad_request(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the request as `content-type: application/json`".into(),
        ));
    }
    let bytes = match body::read(&req, payload, limits.graphql).await {
        Ok(b) => b,
        Err(e) => return Either::Right(e.response()),
    };
    let request: async_graphql::Request = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return Either::Right(bad_request(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!("the body is not a GraphQL request: {e}"),
            ));
        }
    };
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let actor = Actor {
        principal,
        request_id,
    };
    Either::Left(api.execute(request, actor).await.into())
}

fn bad_request(status: StatusCode, code: &str, message: String) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
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

/// `GET /graphql/ws`: subscriptions over WebSocket (the `graphql-transport-ws`
/// and `graphql-ws` protocols). The credential comes in the
/// `connection_init` payload (`{"Authorization": "Bearer …"}`), or else in
/// the upgrade request's `Authorization` header; a bad one closes the
/// connection with the reason.
pub async fn subscriptions(
    api: web::Data<Api>,
    gate: web::Data<Gate>,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    // Each connection costs its address one request, whoever it turns out
    // to be, and holds one of its address's connection slots.
    let address = ratelimit::address(&req);
    if let Err(wait) = gate.limiter.take(Bucket::Address, &address) {
        return Ok(ratelimit::too_many(wait));
    }
    let Some(slot) = gate.sockets.open(&address) else {
        return Ok(HttpResponse::TooManyRequests().json(json!({
            "errors": [{
                "message": format!("at most {} connections per client address", socket::MAX_PER_ADDRESS),
                "extensions": { "code": "TOO_MANY_CONNECTIONS" },
            }]
        })));
    };
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
    let gate = gate.into_inner();
    let on_init = move |init: serde_json::Value| async move {
        let from_init = ["Authorization", "authorization"]
            .iter()
            .find_map(|k| init.get(*k).and_then(|v| v.as_str()).map(str::to_owned));
        let credential = from_init.or(header);
        let principal = gate
            .auth
            .authenticate(credential.as_deref(), &gate.db, gate.clock.now())
            .await
            .map_err(|e| async_graphql::Error::new(format!("{e} ({})", e.reason())))?;
        // Every operation on the connection is one request of its caller:
        // its credential's bucket, or its address's when anonymous.
        let (bucket, key) = if principal.is_anonymous() {
            (Bucket::Address, address)
        } else {
            (Bucket::Credential, principal.subject.clone())
        };
        let limiter_gate = gate.clone();
        let admission = coplane_graphql::SocketAdmission(std::sync::Arc::new(move || {
            limiter_gate
                .limiter
                .take(bucket, &key)
                .map_err(|wait| format!("too many requests; retry in {} s", wait.as_secs().max(1)))
        }));
        Ok(coplane_graphql::connection_data(
            &gate.db,
            Actor {
                principal,
                request_id,
            },
            admission,
        ))
    };
    async_graphql_actix_web::GraphQLSubscription::new(CoplaneSchema::clone(api.subscriptions()))
        .on_connection_init(on_init)
        .start(&req, socket::Capped::new(payload, slot))
}
