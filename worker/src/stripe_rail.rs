//! Stripe as the payment rail: a Stripe customer per paying party and a
//! PaymentIntent per finalized invoice, made through async-stripe's request
//! builders. Responses are read as plain JSON: only the fields coplane
//! needs, which every Stripe API version (and localstripe) returns.

use std::collections::HashMap;
use std::str::FromStr;

use coplane_domain::billing::rail::{Collection, Opened, Payer, PaymentRail, RailError};
use stripe::{RequestStrategy, StripeRequest};
use stripe_core::customer::CreateCustomer;
use stripe_core::payment_intent::CreatePaymentIntent;

/// The rail over a configured client.
pub struct StripeRail {
    pub client: stripe::Client,
}

async fn send_raw<R: StripeRequest>(
    client: &stripe::Client,
    req: &R,
    key: Option<String>,
) -> Result<serde_json::Value, RailError> {
    let mut call = req.build().customize::<miniserde::json::Value>();
    if let Some(k) = key {
        let key = stripe::IdempotencyKey::new(k).map_err(|e| RailError(e.to_string()))?;
        call = call.request_strategy(RequestStrategy::Idempotent(key));
    }
    let value = call
        .send(client)
        .await
        .map_err(|e| RailError(format!("stripe: {e}")))?;
    serde_json::from_str(&miniserde::json::to_string(&value))
        .map_err(|e| RailError(format!("stripe answered with unreadable JSON: {e}")))
}

fn id_of(v: &serde_json::Value) -> Result<String, RailError> {
    v.get("id")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| RailError("stripe's answer has no id".into()))
}

#[async_trait::async_trait]
impl PaymentRail for StripeRail {
    async fn ensure_payer(&self, payer: &Payer) -> Result<String, RailError> {
        let mut req = CreateCustomer::new()
            .name(payer.name.clone())
            .metadata(HashMap::from([
                ("coplane_kind".to_owned(), payer.account.kind().to_owned()),
                ("coplane_id".to_owned(), payer.account.id().to_string()),
            ]));
        if let Some(e) = &payer.email {
            req = req.email(e.clone());
        }
        let v = send_raw(
            &self.client,
            &req,
            Some(format!("payer-{}", payer.account.id())),
        )
        .await?;
        id_of(&v)
    }

    async fn open(&self, c: &Collection) -> Result<Opened, RailError> {
        let currency = stripe_types::Currency::from_str(&c.currency)
            .map_err(|_| RailError(format!("stripe does not take {}", c.currency)))?;
        let req = CreatePaymentIntent::new(c.amount_minor, currency)
            .customer(c.payer.clone())
            .metadata(HashMap::from([
                ("invoice_id".to_owned(), c.invoice_id.to_string()),
                ("invoice_number".to_owned(), c.number.clone()),
            ]));
        let v = send_raw(
            &self.client,
            &req,
            Some(format!("invoice-{}", c.invoice_id)),
        )
        .await?;
        Ok(Opened {
            id: id_of(&v)?,
            client_secret: v
                .get("client_secret")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
        })
    }
}
