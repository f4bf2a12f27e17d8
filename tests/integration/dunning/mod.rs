//! Dunning: the overdue ladder driven by the clock, mail into a real SMTP
//! sink, suspension through Tenant resources on the fake API server with
//! the operator, exact resumption on payment.

mod ladder;
mod parties;
mod robustness;

use chrono::{DateTime, Duration, TimeZone, Utc};
use coplane_domain::billing::close::{self, CloseOptions};
use coplane_tests::fake_kube::FakeKube;
use coplane_tests::smtp::mail_sink;
use serde_json::{Value, json};

use crate::tenancy::fixture::{jwt, mutate, quota};
use crate::{Backend, TestApp};

/// A reseller (brand Rho Cloud, support@rho.example) with a ladder for its
/// customers, one customer with a tenant on a 30.00 EUR plan since last
/// month, and last month closed: one retail invoice of 35.70 (19 % tax).
struct World {
    steward: String,
    reseller: String,
    reseller_id: String,
    customer_id: String,
    customer_email: String,
    reseller_email: String,
    tenant_id: String,
    slug: String,
    invoice_id: String,
    due: DateTime<Utc>,
}

async fn app_with_mail(backend: Backend) -> TestApp {
    let sink = mail_sink().await;
    let url = sink.url.clone();
    crate::spawn_app_with(backend, move |env| {
        env.push(("COPLANE_SMTP_URL".into(), url));
        env.push((
            "COPLANE_MAIL_FROM".into(),
            "coplane co-op <billing@coop.example>".into(),
        ));
    })
    .await
}

fn ladder() -> Value {
    json!([
        { "name": "first-reminder", "trigger": { "daysPastDue": 1 }, "actions": [{ "kind": "reminder" }] },
        { "name": "second-reminder", "trigger": { "daysPastDue": 7 }, "actions": [
            { "kind": "reminder" }, { "kind": "late_fee", "amount": "5.00" }, { "kind": "notify_reseller" } ] },
        { "name": "suspend", "trigger": { "daysPastDue": 14 }, "actions": [{ "kind": "suspend" }] },
        { "name": "final-notice", "trigger": { "daysPastDue": 21 }, "actions": [{ "kind": "warn_termination" }] },
    ])
}

async fn world(app: &TestApp, tag: &str, steps: Value) -> World {
    let steward = app.token(&["steward"], "steward");
    // A fixed calendar, so the ladder's days never meet a month's close by
    // chance: the invoice is due on 24 March; March is closed on 1 April
    // (day 8) and falls due on day 22.
    let real_now = Utc.with_ymd_and_hms(2027, 3, 10, 12, 0, 0).unwrap();
    app.clock.set(real_now);
    let (this_month, _) = close::month_of(real_now);
    let (last_month, _) = close::month_of(this_month - Duration::seconds(1));
    app.clock.set(last_month);
    let reseller_email = format!("rho-{tag}@rho.example");
    let member = mutate(
        app,
        &steward,
        "createMember",
        "CreateMemberInput",
        "member { id }",
        json!({ "kind": "organisation", "class": "reseller", "displayName": "Rho", "email": reseller_email, "sharesHeld": "1", "joinedOn": "2026-01-01" }),
    )
    .await["member"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reseller_id = mutate(
        app,
        &steward,
        "createReseller",
        "CreateResellerInput",
        "reseller { id }",
        json!({ "memberId": member, "brandName": "Rho Cloud", "supportEmail": "support@rho.example", "allotment": crate::tenancy::fixture::allotment() }),
    )
    .await["reseller"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reseller = jwt(
        app,
        &["reseller"],
        &format!("rho-{tag}"),
        Some(&reseller_id),
        Some(&member),
        &[],
    );
    mutate(
        app,
        &reseller,
        "setOverduePolicy",
        "SetOverduePolicyInput",
        "policy { version }",
        json!({ "resellerId": reseller_id, "steps": steps }),
    )
    .await;
    let plan = mutate(
        app,
        &steward,
        "createPlan",
        "CreatePlanInput",
        "plan { id }",
        json!({ "code": format!("std-{tag}"), "name": "Standard", "currency": "EUR", "baseFee": "30.00", "interval": "month",
                "includedQuota": quota(1000, 1 << 30, 10 << 30, 10, 5), "allowedApps": [] }),
    )
    .await["plan"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let customer_email = format!("cust-{tag}@example.org");
    let customer_id = mutate(
        app,
        &reseller,
        "createCustomer",
        "CreateCustomerInput",
        "customer { id }",
        json!({ "name": "Acme", "billingEmail": customer_email, "country": "DE", "currency": "EUR", "taxRate": "0.19" }),
    )
    .await["customer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let slug = format!("acme-{tag}");
    let tenant_id = mutate(
        app,
        &reseller,
        "createTenant",
        "CreateTenantInput",
        "tenant { id }",
        json!({ "customerId": customer_id, "slug": slug, "planId": plan, "quota": quota(500, 1 << 29, 1 << 30, 10, 2) }),
    )
    .await["tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_pending_jobs().await;
    app.clock.set(real_now);
    close::close(&app.db, last_month, CloseOptions::default(), real_now)
        .await
        .unwrap();
    app.run_pending_jobs().await;
    let inv = app
        .graphql("{ invoices(first: 10, status: \"open\") { edges { node { id total { amount } dueAt layer } } } }", Some(&reseller))
        .await;
    let node = inv["data"]["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .find(|n| n["layer"] == "retail")
        .expect("the retail invoice");
    assert_eq!(node["total"]["amount"], "35.70");
    World {
        steward,
        reseller,
        reseller_id,
        customer_id,
        customer_email,
        reseller_email,
        tenant_id,
        slug,
        invoice_id: node["id"].as_str().unwrap().to_owned(),
        due: node["dueAt"].as_str().unwrap().parse().unwrap(),
    }
}

/// Moves the clock to `days` (and an hour) past the due date and runs the
/// jobs: the hourly evaluation, the account's, the mail.
async fn day(app: &TestApp, w: &World, days: i64) {
    app.clock.set(w.due + Duration::days(days));
    app.run_pending_jobs().await;
    // The hourly evaluation's next slot, as a running worker would reach it.
    app.clock
        .set(w.due + Duration::days(days) + Duration::hours(1));
    app.run_pending_jobs().await;
}

async fn tenant(app: &TestApp, w: &World) -> Value {
    app.graphql_vars(
        "query($id: ID!) { tenant(id: $id) { state suspensionReason suspensionNote } }",
        json!({ "id": w.tenant_id }),
        Some(&w.steward),
    )
    .await["data"]["tenant"]
        .clone()
}

/// Runs jobs until the tenant is active (the operator reports it ready).
async fn active(app: &TestApp, w: &World) {
    for _ in 0..200 {
        // The sync looks again a few seconds later on the test clock.
        app.clock.advance(Duration::seconds(15));
        app.run_pending_jobs().await;
        if tenant(app, w).await["state"] == "active" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the tenant never became active");
}

async fn standing(app: &TestApp, w: &World) -> Value {
    let body = app
        .graphql_vars(
            "query($id: ID!) { node(id: $id) { ... on Customer { standing { standing lastStep nextStep nextStepAt history { stepIndex action sentAt } } } } }",
            json!({ "id": w.customer_id }),
            Some(&w.reseller),
        )
        .await;
    body["data"]["node"]["standing"].clone()
}

/// The reseller's wholesale invoice (from the co-op).
async fn wholesale_invoice(app: &TestApp, w: &World) -> Value {
    app.graphql(
        "{ invoices(first: 10) { edges { node { id layer } } } }",
        Some(&w.steward),
    )
    .await["data"]["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["layer"] == "wholesale")
        .unwrap()["node"]["id"]
        .clone()
}

async fn pay(app: &TestApp, w: &World, invoice: &str, amount: &str, key: &str) -> Value {
    mutate(
        app,
        &w.reseller,
        "recordPayment",
        "RecordPaymentInput",
        "invoice { status amountDue { amount } }",
        json!({ "invoiceId": invoice, "amount": amount, "method": "bank_transfer", "idempotencyKey": key }),
    )
    .await
}

fn subjects(mails: &[coplane_tests::smtp::Received]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect()
}

fn deployment(ns: &str, name: &str, replicas: i64) -> Value {
    json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": name, "namespace": ns }, "spec": { "replicas": replicas } })
}

fn replicas(fake: &FakeKube, ns: &str, name: &str) -> Value {
    fake.get("Deployment", Some(ns), name).unwrap()["spec"]["replicas"].clone()
}
