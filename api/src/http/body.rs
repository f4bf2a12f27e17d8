//! Request bodies read within a limit, after the credential is checked.
//!
//! A declared `Content-Length` over the limit is answered 413 before a byte
//! of the body is read; a chunked body stops being read at the limit.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures::StreamExt as _;
use serde_json::json;

/// Body limits per route, in bytes (`COPLANE_GRAPHQL_BODY_LIMIT`,
/// `COPLANE_USAGE_BODY_LIMIT`).
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    /// `POST /graphql`.
    pub graphql: usize,
    /// `POST /v1/usage`.
    pub usage: usize,
}

/// Why a body was not read.
#[derive(Debug)]
pub enum BodyError {
    /// Over the limit (declared or read).
    TooLarge(usize),
    /// The connection failed while reading.
    Read(String),
}

impl BodyError {
    /// 413 or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Read(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The code and message, for routes with their own error shape.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            Self::TooLarge(limit) => (
                "PAYLOAD_TOO_LARGE",
                format!("the request body is larger than {limit} bytes"),
            ),
            Self::Read(reason) => (
                "BAD_REQUEST",
                format!("the request body could not be read: {reason}"),
            ),
        }
    }

    /// The answer in GraphQL's error shape.
    pub fn response(&self) -> HttpResponse {
        let (code, message) = self.describe();
        let mut extensions = json!({ "code": code });
        let mut res = HttpResponse::build(self.status());
        if let Self::TooLarge(limit) = self {
            extensions["limit"] = json!(limit);
            res.insert_header((header::CONNECTION, "close"));
        }
        res.json(json!({ "errors": [{ "message": message, "extensions": extensions }] }))
    }
}

/// Reads the whole body, refusing it past `limit` bytes.
pub async fn read(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    let capacity = declared.map_or(8 * 1024, |n| usize::try_from(n).unwrap_or(limit));
    let mut body = web::BytesMut::with_capacity(capacity.min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| BodyError::Read(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
