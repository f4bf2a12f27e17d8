//! Collection through Stripe (localstripe) and its webhooks.

use coplane_domain::Clock;
use coplane_domain::billing::close::{self, CloseOptions};
use serde_json::{Value, json};

use super::*;
use crate::TestApp;
use crate::table::Table;
use crate::tenancy::fixture::{count, customer, mutate, uuid_of};

/// Signs a webhook body as Stripe does.
fn sign(secret: &str, t: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

const WEBHOOK_SECRET: &str = "whsec_coplane_test";

async fn stripe_app(backend: crate::Backend, api_base: &str) -> TestApp {
    let base = api_base.to_owned();
    crate::spawn_app_with(backend, move |env| {
        env.push(("COPLANE_STRIPE_SECRET_KEY".into(), "sk_test_coplane".into()));
        env.push(("COPLANE_STRIPE_API_BASE".into(), base));
        env.push((
            "COPLANE_STRIPE_WEBHOOK_SECRET".into(),
            WEBHOOK_SECRET.into(),
        ));
    })
    .await
}

/// A direct customer's finalized invoice for last month, collected on the rail.
async fn collected_invoice(app: &TestApp, email: &str) -> Value {
    let steward = app.token(&["steward"], "steward");
    let real_now = app.clock.now();
    let (last_month, _) =
        close::month_of(close::month_of(real_now).0 - chrono::Duration::seconds(1));
    app.clock.set(last_month);
    let p = plan(app, &steward, "solo", "19.99", json!([])).await;
    let c = mutate(
        app,
        &steward,
        "createCustomer",
        "CreateCustomerInput",
        "customer { id }",
        json!({ "name": "Payer", "billingEmail": email, "country": "DE", "currency": "EUR", "taxRate": "0" }),
    )
    .await["customer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tenant_on(app, &steward, &c, "payer", &p).await;
    app.clock.set(real_now);
    mutate(
        app,
        &steward,
        "closeBillingPeriod",
        "CloseBillingPeriodInput",
        "created",
        json!({ "periodStart": last_month.to_rfc3339() }),
    )
    .await;
    app.run_pending_jobs().await;
    let all = invoices(app, &steward).await;
    let inv = all[0].clone();
    let body = app
        .graphql_vars(
            "query($id: ID!) { invoice(id: $id) { id status total { amount } paymentIntentId paymentClientSecret paymentError } }",
            json!({ "id": inv["id"] }),
            Some(&steward),
        )
        .await;
    body["data"]["invoice"].clone()
}

async fn wait_for_status(app: &TestApp, id: &Value, want: &str) -> Value {
    let steward = app.token(&["steward"], "steward");
    for _ in 0..100 {
        let body = app
            .graphql_vars(
                "query($id: ID!) { invoice(id: $id) { status amountPaid { amount } paymentError payments { method amount { amount } externalRef } } }",
                json!({ "id": id }),
                Some(&steward),
            )
            .await;
        let inv = body["data"]["invoice"].clone();
        if inv["status"] == want && (want != "open" || !inv["paymentError"].is_null()) {
            return inv;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("invoice {id} never became {want}");
}

crate::test_both_backends!(
    a_finalized_invoice_is_paid_through_stripe_and_a_declined_card_says_why,
    a_finalized_invoice_is_paid_through_stripe_and_a_declined_card_says_why_on
);

async fn a_finalized_invoice_is_paid_through_stripe_and_a_declined_card_says_why_on(
    backend: crate::Backend,
) {
    let stripe = coplane_tests::stripe::localstripe().await;
    let app = stripe_app(backend, &stripe.base).await;
    stripe
        .register_webhook(&format!("{}/webhooks/stripe", app.address), WEBHOOK_SECRET)
        .await;

    let inv = collected_invoice(&app, "payer@example.org").await;
    assert_eq!(inv["status"], "open");
    assert_eq!(inv["total"]["amount"], "19.99");
    let intent = inv["paymentIntentId"]
        .as_str()
        .expect("a PaymentIntent was opened")
        .to_owned();
    assert!(
        inv["paymentClientSecret"]
            .as_str()
            .unwrap()
            .starts_with(&intent)
    );
    // In Stripe: the intent carries the invoice id and the amount in cents.
    let pi = stripe.get(&format!("/v1/payment_intents/{intent}")).await;
    assert_eq!(
        pi["metadata"]["invoice_id"],
        uuid_of(inv["id"].as_str().unwrap()).to_string()
    );
    assert_eq!(pi["amount"], 1999);
    assert_eq!(pi["currency"], "eur");
    // The payer confirms with a test card; Stripe's signed webhook marks it paid.
    stripe
        .pay(&intent, "pm_card_visa")
        .await
        .expect("the card is charged");
    let paid = wait_for_status(&app, &inv["id"], "paid").await;
    assert_eq!(paid["amountPaid"]["amount"], "19.99");
    assert_eq!(
        paid["payments"],
        json!([{ "method": "stripe", "amount": { "amount": "19.99" }, "externalRef": intent }])
    );
    app.run_pending_jobs().await;
    app.finish().await;

    // A declined card leaves the next invoice open, saying why.
    let app = stripe_app(backend, &stripe.base).await;
    stripe
        .register_webhook(&format!("{}/webhooks/stripe", app.address), WEBHOOK_SECRET)
        .await;
    let inv = collected_invoice(&app, "decline@example.org").await;
    let intent = inv["paymentIntentId"].as_str().unwrap().to_owned();
    let declined = stripe.pay(&intent, "pm_card_chargeCustomerFail").await;
    assert!(declined.is_err(), "the card is declined");
    let open = wait_for_status(&app, &inv["id"], "open").await;
    assert_eq!(open["paymentError"], "Your card was declined.");
    assert_eq!(open["amountPaid"]["amount"], "0.00");
    app.run_pending_jobs().await;
    app.finish().await;
}

crate::test_both_dbs!(
    webhooks_with_a_forged_signature_a_stale_timestamp_or_a_replayed_id_change_nothing,
    // The rail is not reached in this test: a closed port.
    app = |backend| stripe_app(backend, "http://127.0.0.1:9"),
    |app| {
        let steward = app.token(&["steward"], "steward");
        let real_now = app.clock.now();
        let (last_month, _) =
            close::month_of(close::month_of(real_now).0 - chrono::Duration::seconds(1));
        app.clock.set(last_month);
        let p = plan(&app, &steward, "solo", "50.00", json!([])).await;
        let c = customer(&app, &steward, None, "Webhook Customer").await;
        tenant_on(&app, &steward, &c, "hooked", &p).await;
        app.clock.set(real_now);
        close::close(&app.db, last_month, CloseOptions::default(), real_now)
            .await
            .unwrap();
        let inv = invoices(&app, &steward).await[0].clone();
        // As if the rail had opened an intent.
        app.execute(
            "UPDATE invoices SET stripe_payment_intent_id = 'pi_test_1'",
            vec![],
        )
        .await;
        app.run_pending_jobs().await;
        let event = |id: &str, amount: i64| {
            json!({ "id": id, "type": "payment_intent.succeeded", "data": { "object": {
            "id": "pi_test_1", "object": "payment_intent", "amount": amount, "amount_received": amount,
            "metadata": { "invoice_id": uuid_of(inv["id"].as_str().unwrap()).to_string() } } } })
        .to_string()
        };
        let post = |body: String, sig: String| {
            app.client
                .post(format!("{}/webhooks/stripe", app.address))
                .header("Stripe-Signature", sig)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let t = real_now.timestamp();
        let body = event("evt_1", 2000);
        // Forged (wrong secret), stale (ten minutes old), unsigned, or a body
        // changed after signing: 400, nothing recorded.
        let mut table = Table::new("webhooks refused");
        for (name, payload, signature) in [
            (
                "signed with the wrong secret",
                body.clone(),
                sign("whsec_wrong", t, &body),
            ),
            (
                "signed ten minutes ago",
                body.clone(),
                sign(WEBHOOK_SECRET, t - 600, &body),
            ),
            ("unsigned", body.clone(), "t=1".to_owned()),
            (
                "a body changed after signing",
                event("evt_1", 5000),
                sign(WEBHOOK_SECRET, t, &body),
            ),
        ] {
            table
                .row(name, 400, async {
                    let res = post(payload, signature).await.unwrap();
                    let status = res.status().as_u16();
                    (status, res.text().await.unwrap_or_default())
                })
                .await;
        }
        table.finish();
        assert_eq!(count(&app, "payments").await, 0);
        assert_eq!(count(&app, "stripe_events").await, 0);
        // Genuine: a partial payment of 20.00.
        let ok = post(body.clone(), sign(WEBHOOK_SECRET, t, &body))
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        // Replayed: 200 (so Stripe stops), nothing new.
        let replay: Value = post(body.clone(), sign(WEBHOOK_SECRET, t + 5, &body))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(replay["duplicate"], true);
        assert_eq!(count(&app, "payments").await, 1);
        let after = invoices(&app, &steward).await[0].clone();
        assert_eq!(
            after["amountDue"]["amount"], "39.50",
            "59.50 total (50.00 + 19 %) − 20.00"
        );
        assert_eq!(after["status"], "open");
        app.run_pending_jobs().await;
    }
);
