//! Dunning: the overdue ladder driven by the clock, mail into a real SMTP
//! sink, suspension through Tenant resources on the fake API server with
//! the operator, exact resumption on payment.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use coplane_domain::billing::close::{self, CloseOptions};
use coplane_domain::clock::ManualClock;
use coplane_tests::fake_kube::FakeKube;
use coplane_tests::smtp::mail_sink;
use serde_json::{Value, json};

use crate::kube::{Operator, eventually};
use crate::tenancy::fixture::{count, jwt, mutate, quota};
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

async fn ladder_end_to_end(backend: Backend) {
    let sink = mail_sink().await;
    let mut app = app_with_mail(backend).await;
    let fake = FakeKube::start().await;
    app.use_cluster(fake.client());
    let op = Operator::start(
        &fake,
        Arc::new(ManualClock::new(Utc::now())),
        Duration::days(30),
    );
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let w = world(&app, &tag, ladder()).await;
    let ns = format!("coplane-{}", w.slug);
    eventually("the namespace exists", || {
        fake.get("Namespace", None, &ns).is_some()
    })
    .await;
    active(&app, &w).await;
    fake.apply_as("tenant-admin", deployment(&ns, "web", 3));
    fake.apply_as("tenant-admin", deployment(&ns, "worker", 2));

    // Not yet due: nothing.
    day(&app, &w, -1).await;
    assert!(sink.to(&w.customer_email).is_empty());
    assert_eq!(standing(&app, &w).await["standing"], "current");

    // Day 1: the first reminder, from the reseller's brand.
    day(&app, &w, 1).await;
    let mails = sink.wait_for(&w.customer_email, 1).await;
    assert_eq!(subjects(&mails), ["Payment reminder: 35.70 EUR overdue"]);
    assert_eq!(
        mails[0].header("From").unwrap(),
        "\"Rho Cloud\" <support@rho.example>"
    );
    assert!(
        mails[0].raw.contains("35.70 EUR outstanding"),
        "{}",
        mails[0].raw
    );
    assert!(mails[0].raw.contains("text/html"), "plain text and HTML");
    let s = standing(&app, &w).await;
    assert_eq!(
        (
            s["standing"].as_str(),
            s["lastStep"].as_i64(),
            s["nextStep"].as_str()
        ),
        (Some("overdue"), Some(0), Some("second-reminder"))
    );
    assert_eq!(
        s["nextStepAt"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        w.due + Duration::days(7)
    );

    // Day 7: the second reminder, a late fee, a notice to the reseller.
    day(&app, &w, 7).await;
    let mails = sink.wait_for(&w.customer_email, 2).await;
    assert_eq!(subjects(&mails)[1], "Payment reminder: 35.70 EUR overdue");
    let notices = sink.wait_for(&w.reseller_email, 1).await;
    assert_eq!(
        subjects(&notices),
        ["Your customer Acme is overdue: 35.70 EUR"]
    );
    let fees = app
        .graphql("{ invoices(first: 10, status: \"open\") { edges { node { id total { amount } lines { description } } } } }", Some(&w.reseller))
        .await;
    let fee = fees["data"]["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["total"]["amount"] == "5.95")
        .expect("a late fee of 5.00 + 19 %")
        .clone();
    assert!(
        fee["node"]["lines"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Late fee")
    );
    assert_eq!(tenant(&app, &w).await["state"], "active");

    // Day 14: suspended, with a notice; the operator scales everything to zero.
    day(&app, &w, 14).await;
    let mails = sink.wait_for(&w.customer_email, 3).await;
    assert_eq!(subjects(&mails)[2], "Service suspended: 35.70 EUR overdue");
    let t = tenant(&app, &w).await;
    assert_eq!(
        (t["state"].as_str(), t["suspensionReason"].as_str()),
        (Some("suspended"), Some("overdue"))
    );
    eventually("the workloads are at zero", || {
        fake.get("Tenant", None, &w.slug)
            .is_some_and(|t| t["spec"]["suspended"] == true)
            && replicas(&fake, &ns, "web") == 0
            && replicas(&fake, &ns, "worker") == 0
    })
    .await;
    assert_eq!(standing(&app, &w).await["standing"], "suspended");

    // Payment of the overdue invoice: current again, every replica back, a receipt.
    pay(&app, &w, &w.invoice_id, "35.70", &format!("pay-{tag}")).await;
    app.run_pending_jobs().await;
    assert_eq!(tenant(&app, &w).await["state"], "active");
    eventually("every replica count is restored", || {
        fake.get("Tenant", None, &w.slug)
            .is_some_and(|t| t["spec"]["suspended"] == false)
            && replicas(&fake, &ns, "web") == 3
            && replicas(&fake, &ns, "worker") == 2
    })
    .await;
    let mails = sink.wait_for(&w.customer_email, 4).await;
    assert_eq!(subjects(&mails)[3], "Payment received: 35.70 EUR");
    let s = standing(&app, &w).await;
    assert_eq!(s["standing"], "current");
    let actions: Vec<&str> = s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "reminder",
            "reminder",
            "late_fee",
            "notify_reseller",
            "suspend",
            "payment_received"
        ]
    );
    assert!(
        s["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["action"] != "late_fee")
            .all(|h| !h["sentAt"].is_null())
    );

    // Later evaluations send nothing more (until the unpaid late fee falls due on day 21).
    day(&app, &w, 20).await;
    assert_eq!(sink.to(&w.customer_email).len(), 4);
    op.stop().await;
    app.finish().await;
    fake.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_walks_the_ladder_to_suspension_and_a_payment_restores_every_replica_sqlite() {
    ladder_end_to_end(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_walks_the_ladder_to_suspension_and_a_payment_restores_every_replica_postgres() {
    if crate::postgres_available() {
        ladder_end_to_end(Backend::Postgres).await;
    }
}

async fn manual_and_prepaid(backend: Backend) {
    let app = app_with_mail(backend).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let w = world(&app, &tag, ladder()).await;
    // A second tenant, paid a year ahead.
    let prepaid = mutate(
        &app,
        &w.reseller,
        "createTenant",
        "CreateTenantInput",
        "tenant { id }",
        json!({ "customerId": w.customer_id, "slug": format!("prepaid-{tag}"), "quota": quota(100, 1 << 20, 0, 1, 0) }),
    )
    .await["tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_pending_jobs().await;
    mutate(
        &app,
        &w.reseller,
        "setTenantPrepaidUntil",
        "SetTenantPrepaidUntilInput",
        "tenant { prepaidUntil }",
        json!({ "tenantId": prepaid, "prepaidUntil": (w.due + Duration::days(365)).to_rfc3339() }),
    )
    .await;
    day(&app, &w, 15).await;
    assert_eq!(tenant(&app, &w).await["state"], "suspended");
    let p = app
        .graphql_vars(
            "query($id: ID!) { tenant(id: $id) { state } }",
            json!({ "id": prepaid }),
            Some(&w.steward),
        )
        .await;
    assert_eq!(
        p["data"]["tenant"]["state"], "active",
        "a prepaid tenant is not suspended"
    );
    // An overdue suspension is not lifted by hand.
    let refused = app
        .graphql_vars(
            "mutation($input: TenantIdInput!) { resumeTenant(input: $input) { tenant { state } userErrors { code } } }",
            json!({ "input": { "tenantId": w.tenant_id } }),
            Some(&w.reseller),
        )
        .await;
    assert_eq!(
        refused["data"]["resumeTenant"]["userErrors"][0]["code"],
        "ACCOUNT_OVERDUE"
    );
    // The steward suspends the prepaid tenant by hand, for abuse.
    let manual = mutate(
        &app,
        &w.steward,
        "suspendTenant",
        "SuspendTenantInput",
        "tenant { state suspensionReason suspensionNote }",
        json!({ "tenantId": prepaid, "reason": "abuse report #12" }),
    )
    .await;
    assert_eq!(manual["tenant"]["suspensionReason"], "manual");
    // An arrears suspension cannot be relabelled manual (and then lifted by hand).
    let relabel = app
        .graphql_vars(
            "mutation($input: SuspendTenantInput!) { suspendTenant(input: $input) { tenant { state } userErrors { code } } }",
            json!({ "input": { "tenantId": w.tenant_id, "reason": "mine now" } }),
            Some(&w.reseller),
        )
        .await;
    assert_eq!(
        relabel["data"]["suspendTenant"]["userErrors"][0]["code"],
        "SUSPENDED_FOR_ARREARS"
    );
    // Payment: the overdue suspension lifts, the manual one stays.
    pay(&app, &w, &w.invoice_id, "35.70", &format!("pay-{tag}")).await;
    app.run_pending_jobs().await;
    assert_eq!(tenant(&app, &w).await["state"], "active");
    let p = app
        .graphql_vars(
            "query($id: ID!) { tenant(id: $id) { state suspensionReason suspensionNote } }",
            json!({ "id": prepaid }),
            Some(&w.steward),
        )
        .await;
    assert_eq!(
        p["data"]["tenant"],
        json!({ "state": "suspended", "suspensionReason": "manual", "suspensionNote": "abuse report #12" })
    );
    // Another reseller can neither suspend nor resume it.
    let (m2, r2) = crate::tenancy::fixture::reseller(
        &app,
        &w.steward,
        "Other",
        crate::tenancy::fixture::allotment(),
    )
    .await;
    let other = jwt(&app, &["reseller"], "other", Some(&r2), Some(&m2), &[]);
    let foreign = app
        .graphql_vars(
            "mutation($input: TenantIdInput!) { resumeTenant(input: $input) { tenant { state } userErrors { code } } }",
            json!({ "input": { "tenantId": prepaid } }),
            Some(&other),
        )
        .await;
    assert_eq!(
        foreign["data"]["resumeTenant"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    let foreign = app
        .graphql_vars(
            "mutation($input: SuspendTenantInput!) { suspendTenant(input: $input) { tenant { state } userErrors { code } } }",
            json!({ "input": { "tenantId": w.tenant_id, "reason": "x" } }),
            Some(&other),
        )
        .await;
    assert_eq!(
        foreign["data"]["suspendTenant"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    let policy = app
        .graphql_vars(
            "query($id: ID) { overduePolicy(resellerId: $id) { version } }",
            json!({ "id": w.reseller_id }),
            Some(&other),
        )
        .await;
    assert_eq!(
        policy["data"]["overduePolicy"],
        Value::Null,
        "another reseller's ladder is not readable"
    );
    // The steward lifts the manual suspension.
    let resumed = mutate(
        &app,
        &w.steward,
        "resumeTenant",
        "TenantIdInput",
        "tenant { state }",
        json!({ "tenantId": prepaid }),
    )
    .await;
    assert_eq!(resumed["tenant"]["state"], "active");
    app.run_pending_jobs().await;
    app.finish().await;
}

crate::test_both_dbs!(
    a_manual_suspension_survives_a_payment_and_a_prepaid_tenant_is_spared,
    |app| {
        let backend = app.backend;
        manual_and_prepaid(backend).await;
    }
);

async fn reseller_cascade(backend: Backend) {
    let sink = mail_sink().await;
    let app = app_with_mail(backend).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    // The reseller's own ladder for its customers is lenient; the co-op's for resellers is not.
    let w = world(&app, &tag, json!([{ "name": "nudge", "trigger": { "daysPastDue": 60 }, "actions": [{ "kind": "reminder" }] }])).await;
    mutate(
        &app,
        &w.steward,
        "setOverduePolicy",
        "SetOverduePolicyInput",
        "policy { version }",
        json!({ "steps": [
            { "name": "notice", "trigger": { "daysPastDue": 3 }, "actions": [{ "kind": "reminder" }] },
            { "name": "cascade", "trigger": { "daysPastDue": 10 }, "actions": [{ "kind": "suspend" }] } ] }),
    )
    .await;
    // The customer pays the reseller; the reseller does not pay the co-op (wholesale 30.00, no tax set).
    pay(&app, &w, &w.invoice_id, "35.70", &format!("pay-{tag}")).await;
    app.run_pending_jobs().await;
    // Before the notice step: nothing.
    day(&app, &w, 2).await;
    assert!(sink.to(&w.reseller_email).is_empty());
    assert_eq!(tenant(&app, &w).await["state"], "active");
    // The notice reaches the reseller first; its customers' tenants still run.
    day(&app, &w, 5).await;
    let mails = sink.wait_for(&w.reseller_email, 1).await;
    assert_eq!(subjects(&mails), ["Payment reminder: 30.00 EUR overdue"]);
    assert!(
        mails[0].header("From").unwrap().contains("coplane co-op"),
        "the co-op's mail"
    );
    assert_eq!(tenant(&app, &w).await["state"], "active");
    // Beyond the co-op's ladder: every customer tenant of the reseller is suspended.
    day(&app, &w, 11).await;
    let t = tenant(&app, &w).await;
    assert_eq!(
        (
            t["state"].as_str(),
            t["suspensionReason"].as_str(),
            t["suspensionNote"].as_str()
        ),
        (Some("suspended"), Some("overdue"), Some("reseller overdue"))
    );
    let r = app
        .graphql_vars(
            "query($id: ID!) { node(id: $id) { ... on Reseller { standing { standing } } } }",
            json!({ "id": w.reseller_id }),
            Some(&w.steward),
        )
        .await;
    assert_eq!(r["data"]["node"]["standing"]["standing"], "suspended");
    // The customer's own standing is current: it paid.
    assert_eq!(standing(&app, &w).await["standing"], "current");
    // The reseller pays the co-op: its customers' tenants resume.
    let wholesale = wholesale_invoice(&app, &w).await;
    mutate(
        &app,
        &w.steward,
        "recordPayment",
        "RecordPaymentInput",
        "invoice { status }",
        json!({ "invoiceId": wholesale, "amount": "30.00", "method": "bank_transfer", "idempotencyKey": format!("w-{tag}") }),
    )
    .await;
    app.run_pending_jobs().await;
    assert_eq!(tenant(&app, &w).await["state"], "active");
    app.finish().await;
}

crate::test_both_dbs!(
    a_resellers_own_arrears_suspend_its_customers_only_after_its_notice,
    |app| {
        let backend = app.backend;
        reseller_cascade(backend).await;
    }
);

async fn restarts(backend: Backend) {
    let sink = mail_sink().await;
    let app = app_with_mail(backend).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let w = world(&app, &tag, ladder()).await;
    let account = crate::tenancy::fixture::uuid_of(&w.customer_id);
    // A worker that was down for two weeks takes every step that fell due, in order.
    app.clock.set(w.due + Duration::days(15));
    // Evaluations racing and repeating (as after a restart mid-job) take each step once.
    for _ in 0..3 {
        coplane_domain::dunning::evaluate(&app.db, "customer", account, app.now())
            .await
            .unwrap();
    }
    // A worker died holding the suspension notice's mail job (claimed, not done).
    let step: uuid::Uuid = {
        use sea_orm::{ConnectionTrait, Statement};
        app.db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT id FROM dunning_steps WHERE action = 'suspend'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get("", "id")
            .unwrap()
    };
    let held = app
        .execute(
            "UPDATE jobs SET state = 'running', locked_by = 'crashed-worker', locked_until = $1, attempts = attempts + 1 \
             WHERE name = 'dunning.send_mail' AND payload LIKE $2",
            vec![(app.now() + Duration::seconds(30)).into(), format!("%{step}%").into()],
        )
        .await;
    assert_eq!(
        held, 1,
        "the suspension mail's job is held by the dead worker"
    );
    // A fresh runner (a restarted worker) does the rest; the held job waits for its lease.
    let fresh =
        coplane_api::startup::build_runner(&app.settings, app.db.clone(), app.clock.clone())
            .await
            .unwrap();
    fresh.run_pending().await.unwrap();
    let before = sink.wait_for(&w.customer_email, 2).await;
    assert!(
        subjects(&before)
            .iter()
            .all(|s| s.starts_with("Payment reminder")),
        "{:?}",
        subjects(&before)
    );
    // The lease runs out: the next worker sends the held mail, once.
    app.clock
        .set(w.due + Duration::days(15) + Duration::minutes(5));
    fresh.run_pending().await.unwrap();
    app.run_pending_jobs().await;
    let mails = sink.wait_for(&w.customer_email, 3).await;
    let mut got = subjects(&mails);
    got.sort();
    assert_eq!(
        got,
        [
            "Payment reminder: 35.70 EUR overdue",
            "Payment reminder: 35.70 EUR overdue",
            "Service suspended: 35.70 EUR overdue",
        ]
    );
    assert_eq!(sink.to(&w.reseller_email).len(), 1);
    // Restart again and evaluate again: nothing more is sent.
    let again =
        coplane_api::startup::build_runner(&app.settings, app.db.clone(), app.clock.clone())
            .await
            .unwrap();
    coplane_domain::dunning::evaluate(&app.db, "customer", account, app.now())
        .await
        .unwrap();
    again.run_pending().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.to(&w.customer_email).len(), 3);
    assert_eq!(
        count(&app, "dunning_steps").await,
        5,
        "two reminders, a fee, a notice, a suspension"
    );
    app.run_pending_jobs().await;
    app.finish().await;
}

crate::test_both_dbs!(
    restarting_the_worker_sends_no_mail_twice_and_skips_no_step,
    |app| {
        let backend = app.backend;
        restarts(backend).await;
    }
);

async fn flips(backend: Backend) {
    let mut app = app_with_mail(backend).await;
    let fake = FakeKube::start().await;
    app.use_cluster(fake.client());
    let op = Operator::start(
        &fake,
        Arc::new(ManualClock::new(Utc::now())),
        Duration::days(30),
    );
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let steps = json!([{ "name": "suspend", "trigger": { "daysPastDue": 1 }, "actions": [{ "kind": "suspend" }] }]);
    let w = world(&app, &tag, steps).await;
    let ns = format!("coplane-{}", w.slug);
    eventually("the namespace exists", || {
        fake.get("Namespace", None, &ns).is_some()
    })
    .await;
    active(&app, &w).await;
    fake.apply_as("tenant-admin", deployment(&ns, "web", 3));
    fake.apply_as("tenant-admin", deployment(&ns, "worker", 2));
    let mut invoice = w.invoice_id.clone();
    let mut due = w.due;
    let mut month_end = close::month_of(app.now()).0;
    for round in 0..10 {
        // Unpaid: suspended, everything at zero.
        app.clock.set(due + Duration::days(2));
        app.run_pending_jobs().await;
        app.clock.set(due + Duration::days(2) + Duration::hours(1));
        app.run_pending_jobs().await;
        assert_eq!(
            tenant(&app, &w).await["state"],
            "suspended",
            "round {round}"
        );
        eventually("at zero", || {
            replicas(&fake, &ns, "web") == 0 && replicas(&fake, &ns, "worker") == 0
        })
        .await;
        // Paid: current, everything back.
        pay(&app, &w, &invoice, "35.70", &format!("flip-{tag}-{round}")).await;
        app.run_pending_jobs().await;
        assert_eq!(tenant(&app, &w).await["state"], "active", "round {round}");
        eventually("restored", || {
            replicas(&fake, &ns, "web") == 3 && replicas(&fake, &ns, "worker") == 2
        })
        .await;
        // The next month's invoice.
        let (_, next_end) = close::month_of(month_end);
        app.clock.set(next_end + Duration::hours(1));
        close::close(&app.db, month_end, CloseOptions::default(), app.now())
            .await
            .unwrap();
        app.run_pending_jobs().await;
        month_end = next_end;
        let open = app
            .graphql(
                "{ invoices(first: 50, status: \"open\") { edges { node { id layer dueAt } } } }",
                Some(&w.reseller),
            )
            .await;
        let node = open["data"]["invoices"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .find(|n| n["layer"] == "retail")
            .expect("next invoice");
        invoice = node["id"].as_str().unwrap().to_owned();
        due = node["dueAt"].as_str().unwrap().parse().unwrap();
    }
    // Consistent: the standing, the Tenant resource and the replicas agree.
    pay(&app, &w, &invoice, "35.70", &format!("flip-{tag}-last")).await;
    app.run_pending_jobs().await;
    assert_eq!(standing(&app, &w).await["standing"], "current");
    assert_eq!(tenant(&app, &w).await["state"], "active");
    eventually("agree", || {
        fake.get("Tenant", None, &w.slug)
            .is_some_and(|t| t["spec"]["suspended"] == false && t["status"]["suspended"] == false)
            && replicas(&fake, &ns, "web") == 3
            && replicas(&fake, &ns, "worker") == 2
    })
    .await;
    assert_eq!(
        coplane_domain::dunning::history(
            &app.db,
            "customer",
            crate::tenancy::fixture::uuid_of(&w.customer_id)
        )
        .await
        .unwrap()
        .iter()
        .filter(|h| h.action == "suspend")
        .count(),
        10
    );
    op.stop().await;
    app.finish().await;
    fake.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipping_between_paid_and_unpaid_ten_times_ends_consistent() {
    flips(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipping_between_paid_and_unpaid_ten_times_ends_consistent_postgres() {
    if crate::postgres_available() {
        flips(Backend::Postgres).await;
    }
}

async fn termination(backend: Backend) {
    let sink = mail_sink().await;
    let app = app_with_mail(backend).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let steps = json!([
        { "name": "suspend", "trigger": { "daysPastDue": 3 }, "actions": [{ "kind": "suspend" }] },
        { "name": "warn", "trigger": { "daysPastDue": 5 }, "actions": [{ "kind": "warn_termination" }] },
        { "name": "end", "trigger": { "daysPastDue": 6 }, "actions": [{ "kind": "terminate" }] },
    ]);
    let w = world(&app, &tag, steps).await;
    day(&app, &w, 5).await;
    let mails = sink.wait_for(&w.customer_email, 2).await;
    let mut got = subjects(&mails);
    got.sort();
    assert_eq!(
        got,
        [
            "Final notice before termination: 35.70 EUR overdue",
            "Service suspended: 35.70 EUR overdue"
        ]
    );
    assert_eq!(tenant(&app, &w).await["state"], "suspended");
    day(&app, &w, 6).await;
    assert_eq!(tenant(&app, &w).await["state"], "terminated");
    assert_eq!(standing(&app, &w).await["standing"], "terminated");
    // The ledger stays: the invoice is still there and still owed.
    let inv = app
        .graphql_vars(
            "query($id: ID!) { invoice(id: $id) { status amountDue { amount } } }",
            json!({ "id": w.invoice_id }),
            Some(&w.steward),
        )
        .await;
    assert_eq!(
        inv["data"]["invoice"],
        json!({ "status": "open", "amountDue": { "amount": "35.70" } })
    );
    // A late payment does not bring a terminated tenant back.
    pay(&app, &w, &w.invoice_id, "35.70", &format!("late-{tag}")).await;
    app.run_pending_jobs().await;
    assert_eq!(tenant(&app, &w).await["state"], "terminated");
    app.finish().await;
}

crate::test_both_dbs!(the_last_step_terminates_and_keeps_the_invoices, |app| {
    let backend = app.backend;
    termination(backend).await;
});

async fn both_in_arrears(backend: Backend) {
    let app = app_with_mail(backend).await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let suspend = json!([{ "name": "suspend", "trigger": { "daysPastDue": 3 }, "actions": [{ "kind": "suspend" }] }]);
    let w = world(&app, &tag, suspend.clone()).await;
    mutate(
        &app,
        &w.steward,
        "setOverduePolicy",
        "SetOverduePolicyInput",
        "policy { version }",
        json!({ "steps": suspend }),
    )
    .await;
    // Neither the customer nor its reseller pays.
    day(&app, &w, 4).await;
    assert_eq!(tenant(&app, &w).await["state"], "suspended");
    let wholesale = wholesale_invoice(&app, &w).await;
    // The reseller pays: the customer is still suspended, so is the tenant.
    mutate(
        &app,
        &w.steward,
        "recordPayment",
        "RecordPaymentInput",
        "invoice { status }",
        json!({ "invoiceId": wholesale, "amount": "30.00", "method": "bank_transfer", "idempotencyKey": format!("w-{tag}") }),
    )
    .await;
    app.run_pending_jobs().await;
    let t = tenant(&app, &w).await;
    assert_eq!(
        (t["state"].as_str(), t["suspensionNote"].as_str()),
        (Some("suspended"), Some("customer overdue"))
    );
    // The customer pays too: now it runs.
    pay(&app, &w, &w.invoice_id, "35.70", &format!("pay-{tag}")).await;
    app.run_pending_jobs().await;
    assert_eq!(tenant(&app, &w).await["state"], "active");
    app.finish().await;
}

crate::test_both_dbs!(
    a_tenant_resumes_only_when_both_its_paying_parties_are_current,
    |app| {
        let backend = app.backend;
        both_in_arrears(backend).await;
    }
);
