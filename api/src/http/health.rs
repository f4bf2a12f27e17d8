//! `/healthz` (the process answers) and `/readyz` (the database answers and
//! its schema is the one this binary expects).

use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::db::schema_status;

/// `GET /healthz`.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`.
pub async fn readyz(db: web::Data<DatabaseConnection>) -> HttpResponse {
    if let Err(e) = db.ping().await {
        tracing::warn!(error.cause_chain = ?e, error.message = %e, "readiness: database unreachable");
        return HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "database": "unreachable" }));
    }
    match schema_status(&db).await {
        Ok(s) if s.is_current() => HttpResponse::Ok()
            .json(json!({ "status": "ok", "database": "ok", "migrations": "current" })),
        Ok(s) => HttpResponse::ServiceUnavailable().json(json!({
            "status": "unavailable",
            "database": "ok",
            "migrations": s.to_string(),
        })),
        Err(e) => {
            tracing::warn!(error.cause_chain = ?e, error.message = %e, "readiness: reading migrations failed");
            HttpResponse::ServiceUnavailable().json(
                json!({ "status": "unavailable", "database": "ok", "migrations": "unreadable" }),
            )
        }
    }
}
