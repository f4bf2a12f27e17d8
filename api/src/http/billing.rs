//! `POST /v1/usage` (bulk usage ingestion) and `POST /webhooks/stripe`.

use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use coplane_domain::Clock;
use coplane_domain::billing::invoices::{self, RailApplied, RailOutcome};
use coplane_domain::billing::usage::{self, RowError, UsageRow};
use coplane_graphql::Actor;
use hmac::{Hmac, Mac};
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::Sha256;

use super::admit::{Gate, Refusal};
use super::body::BodyLimits;
use super::observe::RequestId;
use super::ratelimit::{self, Bucket};

/// How old a webhook's signed timestamp may be (Stripe's default tolerance).
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// The webhook signing secret (`COPLANE_STRIPE_WEBHOOK_SECRET`), if set.
#[derive(Clone)]
pub struct WebhookSecret(pub Option<SecretString>);

fn problem(
    status: actix_web::http::StatusCode,
    code: &str,
    message: impl Into<String>,
) -> HttpResponse {
    HttpResponse::build(status)
        .json(json!({ "error": { "code": code, "message": message.into() } }))
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// One parsed row, or why it does not parse.
fn row(v: Value) -> Result<UsageRow, String> {
    let Value::Object(o) = v else {
        return Err("each event is a JSON object".into());
    };
    let pick = |a: &str, b: &str| o.get(a).or_else(|| o.get(b));
    Ok(UsageRow {
        tenant: text(pick("tenantId", "tenant")),
        metric: text(pick("metric", "metricCode")),
        quantity: text(o.get("quantity")),
        timestamp: text(o.get("timestamp")),
        idempotency_key: text(pick("idempotencyKey", "idempotency_key")),
        properties: o.get("properties").cloned().filter(|p| !p.is_null()),
    })
}

/// `POST /v1/usage`: a JSON array or NDJSON (one event per line). Answers
/// 200 with the counts and one error per refused row; a body that is not
/// JSON at all is 400.
pub async fn ingest(
    gate: web::Data<Gate>,
    limits: web::Data<BodyLimits>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let principal = match gate.admit(&req, Bucket::Usage).await {
        Ok(p) => p,
        Err(Refusal::Unauthenticated(e)) => {
            return problem(
                actix_web::http::StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                e.to_string(),
            );
        }
        Err(Refusal::RateLimited(wait)) => return ratelimit::too_many(wait),
    };
    let body = match super::body::read(&req, payload, limits.usage).await {
        Ok(b) => b,
        Err(e) => {
            let (code, message) = e.describe();
            return problem(e.status(), code, message);
        }
    };
    let now = gate.clock.now();
    let db = &gate.db;
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let Ok(text_body) = std::str::from_utf8(&body) else {
        return problem(
            actix_web::http::StatusCode::BAD_REQUEST,
            "INVALID_BODY",
            "the body is not UTF-8",
        );
    };
    // Rows as (position in the body, parsed row or why not).
    let items: Vec<Result<UsageRow, String>> = if text_body.trim_start().starts_with('[') {
        match serde_json::from_str::<Vec<Value>>(text_body) {
            Ok(values) => values.into_iter().map(row).collect(),
            Err(e) => {
                return problem(
                    actix_web::http::StatusCode::BAD_REQUEST,
                    "INVALID_BODY",
                    format!("the body is neither a JSON array of events nor NDJSON: {e}"),
                );
            }
        }
    } else {
        text_body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str::<Value>(l)
                    .map_err(|e| format!("not JSON: {e}"))
                    .and_then(row)
            })
            .collect()
    };
    let mut positions = Vec::with_capacity(items.len());
    let mut rows = Vec::with_capacity(items.len());
    let mut unparsed = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Ok(r) => {
                positions.push(i);
                rows.push(UsageRow {
                    tenant: coplane_graphql::tenant_ref(&r.tenant),
                    ..r
                });
            }
            Err(message) => unparsed.push(RowError {
                index: i,
                field: "event",
                code: "INVALID_EVENT",
                message,
            }),
        }
    }
    let actor = Actor {
        principal,
        request_id,
    };
    match usage::ingest(db, &actor, rows, now).await {
        Ok(mut report) => {
            for e in &mut report.errors {
                e.index = positions[e.index];
            }
            report.rejected += unparsed.len() as u64;
            report.errors.extend(unparsed);
            report.errors.sort_by_key(|e| e.index);
            HttpResponse::Ok().json(report)
        }
        Err(coplane_domain::Error::Forbidden(m)) => {
            problem(actix_web::http::StatusCode::FORBIDDEN, "FORBIDDEN", m)
        }
        Err(coplane_domain::Error::Unauthenticated) => problem(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "authentication required",
        ),
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, error.message = %e, "usage ingestion failed");
            problem(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    }
}

/// Why a signature is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No or malformed header.
    Malformed,
    /// Outside the tolerance.
    Stale,
    /// No `v1` matches.
    Mismatch,
}

/// Verifies a `Stripe-Signature` header over `body` at `now` (seconds).
pub fn verify_signature(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Malformed)?;
    let mut t: Option<i64> = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse().ok(),
            Some(("v1", v)) => sigs.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if sigs.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now
        .checked_sub(t)
        .is_none_or(|d| d.unsigned_abs() > SIGNATURE_TOLERANCE_SECS.unsigned_abs())
    {
        return Err(SignatureError::Stale);
    }
    for sig in sigs {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| SignatureError::Malformed)?;
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        if mac.verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// `POST /webhooks/stripe`: verified, handled once per event id. Answers
/// 2xx for anything handled or deliberately ignored (Stripe then stops
/// retrying) and 400 for a signature it cannot trust.
pub async fn stripe_webhook(
    secret: web::Data<WebhookSecret>,
    db: web::Data<DatabaseConnection>,
    clock: web::Data<Arc<dyn Clock>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some(secret) = secret.0.as_ref() else {
        return problem(
            actix_web::http::StatusCode::NOT_FOUND,
            "NOT_CONFIGURED",
            "no Stripe webhook secret is configured (COPLANE_STRIPE_WEBHOOK_SECRET)",
        );
    };
    let now = clock.now();
    let header = req
        .headers()
        .get("Stripe-Signature")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = verify_signature(secret.expose_secret(), header, &body, now.timestamp()) {
        tracing::warn!(reason = ?e, "stripe webhook refused");
        let message = match e {
            SignatureError::Malformed => "missing or malformed Stripe-Signature header",
            SignatureError::Stale => "the signature's timestamp is outside the tolerance",
            SignatureError::Mismatch => "no signature matches the payload",
        };
        return problem(
            actix_web::http::StatusCode::BAD_REQUEST,
            "INVALID_SIGNATURE",
            message,
        );
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return problem(
            actix_web::http::StatusCode::BAD_REQUEST,
            "INVALID_BODY",
            "the payload is not JSON",
        );
    };
    let id = text(event.get("id"));
    let kind = text(event.get("type"));
    let object = event
        .pointer("/data/object")
        .cloned()
        .unwrap_or(Value::Null);
    let intent = text(object.get("id"));
    let invoice_id = object
        .pointer("/metadata/invoice_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    let outcome = match kind.as_str() {
        "payment_intent.succeeded" => RailOutcome::Succeeded {
            amount_minor: object
                .get("amount_received")
                .and_then(Value::as_i64)
                .or_else(|| object.get("amount").and_then(Value::as_i64))
                .unwrap_or(0),
        },
        "payment_intent.payment_failed" => RailOutcome::Failed {
            reason: object
                .pointer("/last_payment_error/message")
                .and_then(Value::as_str)
                .unwrap_or("the payment failed")
                .to_owned(),
        },
        _ => return HttpResponse::Ok().json(json!({ "received": true, "handled": false })),
    };
    if id.is_empty() || intent.is_empty() {
        return problem(
            actix_web::http::StatusCode::BAD_REQUEST,
            "INVALID_BODY",
            "the event has no id or object id",
        );
    }
    match invoices::apply_rail_event(&db, &id, &kind, &intent, invoice_id, outcome, now).await {
        Ok(applied) => {
            tracing::info!(event = %id, kind = %kind, ?applied, "stripe webhook");
            HttpResponse::Ok().json(json!({
                "received": true,
                "handled": matches!(applied, RailApplied::Applied(_)),
                "duplicate": applied == RailApplied::Replayed,
            }))
        }
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, error.message = %e, "stripe webhook failed");
            problem(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures_verify_and_refuse_as_stripe_does() {
        let body = br#"{"id":"evt_1"}"#;
        let h = sign("whsec_x", 1000, body);
        assert_eq!(verify_signature("whsec_x", Some(&h), body, 1100), Ok(()));
        assert_eq!(
            verify_signature("whsec_y", Some(&h), body, 1100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("whsec_x", Some(&h), b"{}", 1100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("whsec_x", Some(&h), body, 1400),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature("whsec_x", None, body, 1000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature("whsec_x", Some("t=1000"), body, 1000),
            Err(SignatureError::Malformed)
        );
        // A second v1 (a rolled secret) is accepted.
        let two = format!("{h},v1={}", hex::encode([0u8; 32]));
        assert_eq!(verify_signature("whsec_x", Some(&two), body, 1000), Ok(()));
    }
}
