//! What jobs run with.

use std::sync::Arc;

use coplane_domain::Clock;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use sea_orm::DatabaseConnection;

use crate::kube::target::Targets;

/// The production jobs' context: cheap to clone.
#[derive(Clone)]
pub struct WorkerContext {
    pub db: DatabaseConnection,
    pub clock: Arc<dyn Clock>,
    /// Where each cluster's Kubernetes objects go.
    pub targets: Targets,
    /// Outgoing mail, when `COPLANE_SMTP_URL` is set.
    pub mailer: Option<Mailer>,
    /// Senders and templates of mail.
    pub mail: crate::mail::MailConfig,
    /// The payment rail, when `COPLANE_STRIPE_SECRET_KEY` is set.
    pub stripe: Option<stripe::Client>,
    /// How long failed jobs are kept for inspection.
    pub failed_job_retention: chrono::Duration,
    /// Namespaces allowed to reach tenants' pods (the ingress controller's).
    pub ingress_namespaces: Vec<String>,
    /// How long a terminated tenant's namespace is kept.
    pub namespace_retention: chrono::Duration,
}

/// An SMTP transport from a URL (`smtp://`, `smtps://`, with credentials).
#[derive(Clone)]
pub struct Mailer {
    /// The pooled transport.
    pub transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Mailer {
    /// Builds the transport; fails on a URL lettre cannot use.
    pub fn from_url(url: &str) -> Result<Self, lettre::transport::smtp::Error> {
        Ok(Self {
            transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
        })
    }
}

/// Builds the Stripe client, against `api_base` if given (a local fake).
pub fn stripe_client(
    secret_key: &str,
    api_base: Option<&str>,
) -> Result<stripe::Client, stripe::StripeError> {
    let builder = stripe::ClientBuilder::new(secret_key);
    match api_base {
        Some(base) => builder.url(base).build(),
        None => builder.build(),
    }
}
