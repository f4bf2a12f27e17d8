//! Metering, rating and invoicing: usage ingestion, the close of a period
//! checked to the cent, payments (ERP and Stripe), credit notes, webhooks.

use chrono::{DateTime, TimeZone, Utc};
use coplane_domain::Clock;
use coplane_domain::billing::close::{self, CloseOptions};
use serde_json::{Value, json};

use crate::tenancy::fixture::{Fixture, count, customer, jwt, mutate, quota, reseller, uuid_of};
use crate::{TestApp, test_both_dbs};

fn at(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

const INVOICES: &str = "query { invoices(first: 50) { totalCount edges { node { id number layer status issuerName recipientName currency subtotal { amount } tax { amount } total { amount } amountDue { amount } lines { position description metricCode quantity unitPrice amount { amount } priceVersion } } } } }";

async fn metric(app: &TestApp, steward: &str, code: &str, aggregation: &str) {
    mutate(
        app,
        steward,
        "createBillableMetric",
        "CreateBillableMetricInput",
        "billableMetric { code }",
        json!({ "code": code, "name": code, "aggregation": aggregation, "unit": "unit" }),
    )
    .await;
}

async fn plan(app: &TestApp, steward: &str, code: &str, fee: &str, charges: Value) -> String {
    let id = mutate(
        app,
        steward,
        "createPlan",
        "CreatePlanInput",
        "plan { id }",
        json!({ "code": code, "name": code, "currency": "EUR", "baseFee": fee, "interval": "month",
                "includedQuota": quota(1000, 1 << 30, 10 << 30, 10, 5), "allowedApps": [] }),
    )
    .await["plan"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    mutate(
        app,
        steward,
        "setPlanCharges",
        "SetPlanChargesInput",
        "charges { metric model priceVersion }",
        json!({ "planId": id, "charges": charges }),
    )
    .await;
    id
}

async fn tenant_on(app: &TestApp, token: &str, customer: &str, slug: &str, plan: &str) -> String {
    mutate(
        app,
        token,
        "createTenant",
        "CreateTenantInput",
        "tenant { id }",
        json!({ "customerId": customer, "slug": slug, "planId": plan, "quota": quota(500, 1 << 29, 1 << 30, 5, 2) }),
    )
    .await["tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn ingest(app: &TestApp, token: &str, events: Value) -> Value {
    let body = app
        .graphql_vars(
            "mutation($input: IngestUsageInput!) { ingestUsage(input: $input) { accepted duplicates rejected rowErrors { index field code message } } }",
            json!({ "input": { "events": events } }),
            Some(token),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["ingestUsage"].clone()
}

fn ev(tenant: &str, metric: &str, q: &str, when: DateTime<Utc>, key: &str) -> Value {
    json!({ "tenantId": tenant, "metric": metric, "quantity": q, "timestamp": when.to_rfc3339(), "idempotencyKey": key })
}

/// The scenario's parties.
struct Scenario {
    steward: String,
    reseller_token: String,
    reseller_id: String,
    other_reseller_token: String,
}

/// A reseller (15 % wholesale discount, 19 % tax), two customers (one
/// reverse charge), a direct customer; tenant t1 moves from basic to pro
/// at mid-month.
async fn scenario(app: &TestApp) -> Scenario {
    let steward = app.token(&["steward"], "steward");
    app.clock.set(at(1, 0));
    metric(app, &steward, "api_calls", "sum").await;
    metric(app, &steward, "disk_gib", "weighted_sum").await;
    let basic = plan(
        app,
        &steward,
        "basic",
        "10.00",
        json!([{ "metric": "api_calls", "charge": { "model": "graduated", "tiers": [
            { "upTo": "1000", "unitPrice": "0.01" }, { "unitPrice": "0.005" } ] } }]),
    )
    .await;
    let pro = plan(
        app,
        &steward,
        "pro",
        "40.00",
        json!([
            { "metric": "api_calls", "charge": { "model": "standard", "unitPrice": "0.0037", "freeUnits": "500" } },
            { "metric": "disk_gib", "charge": { "model": "standard", "unitPrice": "0.01" } },
        ]),
    )
    .await;
    let (member, reseller_id) =
        reseller(app, &steward, "Rho", crate::tenancy::fixture::allotment()).await;
    mutate(
        app,
        &steward,
        "setResellerBillingTerms",
        "SetResellerBillingTermsInput",
        "resellerId",
        json!({ "resellerId": reseller_id, "wholesaleDiscount": "0.15", "taxRate": "0.19" }),
    )
    .await;
    let rt = jwt(
        app,
        &["reseller"],
        "rho",
        Some(&reseller_id),
        Some(&member),
        &[],
    );
    mutate(
        app,
        &rt,
        "setPriceList",
        "SetPriceListInput",
        "storefront { brandName }",
        json!({ "markup": "0.25", "prices": [{ "planId": pro, "price": "45.00" }] }),
    )
    .await;
    let c1 = customer(app, &rt, None, "Customer One").await;
    let c2 = mutate(
        app,
        &rt,
        "createCustomer",
        "CreateCustomerInput",
        "customer { id }",
        json!({ "name": "Customer Two", "billingEmail": "two@example.org", "country": "FR", "currency": "EUR", "taxRate": "0", "reverseCharge": true, "taxId": "FR123" }),
    )
    .await["customer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let direct = customer(app, &steward, None, "Direct Customer").await;
    let t1 = tenant_on(app, &rt, &c1, "t1-shop", &basic).await;
    let t2 = tenant_on(app, &rt, &c2, "t2-shop", &pro).await;
    let t3 = tenant_on(app, &steward, &direct, "t3-direct", &basic).await;

    // Usage in the basic half of t1's month.
    app.clock.set(at(15, 23));
    let r = ingest(
        app,
        &rt,
        json!([
            ev(&t1, "api_calls", "600", at(5, 12), "t1-a"),
            ev(&t2, "api_calls", "2000", at(10, 8), "t2-a"),
        ]),
    )
    .await;
    assert_eq!(r["accepted"], 2, "{r}");
    ingest(
        app,
        &steward,
        json!([ev(&t3, "api_calls", "1200", at(3, 0), "t3-a")]),
    )
    .await;

    // Mid-month: t1 moves to pro.
    app.clock.set(at(16, 0));
    let order = app
        .graphql_vars(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id state } userErrors { field code message } } }",
            json!({ "input": { "customerId": c1, "idempotencyKey": "upgrade-t1", "lines": [{ "planChange": { "tenantId": t1, "planId": pro } }] } }),
            Some(&rt),
        )
        .await;
    assert_eq!(
        order["data"]["placeOrder"]["userErrors"],
        json!([]),
        "{order}"
    );
    app.clock.set(at(21, 0));
    ingest(
        app,
        &rt,
        json!([
            ev(&t1, "api_calls", "1500", at(20, 0), "t1-b"),
            ev(&t1, "disk_gib", "10", at(16, 0), "t1-disk"),
        ]),
    )
    .await;

    let (m2, r2) = reseller(app, &steward, "Sigma", crate::tenancy::fixture::allotment()).await;
    let other = jwt(app, &["reseller"], "sigma", Some(&r2), Some(&m2), &[]);
    Scenario {
        steward,
        reseller_token: rt,
        reseller_id,
        other_reseller_token: other,
    }
}

fn by_layer<'a>(invoices: &'a [Value], layer: &str, recipient: &str) -> &'a Value {
    invoices
        .iter()
        .find(|i| i["layer"] == layer && i["recipientName"] == recipient)
        .unwrap_or_else(|| panic!("no {layer} invoice for {recipient}: {invoices:?}"))
}

fn amounts(inv: &Value) -> Vec<String> {
    inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"]["amount"].as_str().unwrap().to_owned())
        .collect()
}

async fn invoices(app: &TestApp, token: &str) -> Vec<Value> {
    let body = app.graphql(INVOICES, Some(token)).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

test_both_dbs!(
    a_period_closes_to_the_cent_once_however_often_and_after_a_crash,
    |app| {
        let s = scenario(&app).await;
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap());

        // A crash after two of the four invoices: the close made them whole
        // (each in its own transaction) and stopped.
        let first = close::close(
            &app.db,
            at(1, 0),
            CloseOptions {
                finalize: true,
                max_invoices: Some(2),
            },
            app.clock.now(),
        )
        .await
        .unwrap();
        assert_eq!(
            (first.created, first.remaining, first.state.as_str()),
            (2, 2, "closing")
        );
        // Usage for a closing period is refused.
        let late = ingest(
            &app,
            &s.steward,
            json!([ev("t1-shop", "api_calls", "1", at(29, 0), "late")]),
        )
        .await;
        assert_eq!(late["rowErrors"][0]["code"], "PERIOD_CLOSED", "{late}");

        let rerun = mutate(
            &app,
            &s.steward,
            "closeBillingPeriod",
            "CloseBillingPeriodInput",
            "billingPeriod { state } created existing",
            json!({ "periodStart": at(1, 0).to_rfc3339() }),
        )
        .await;
        assert_eq!(rerun["created"], 2, "{rerun}");
        assert_eq!(rerun["existing"], 2);
        assert_eq!(rerun["billingPeriod"]["state"], "closed");
        let again = mutate(
            &app,
            &s.steward,
            "closeBillingPeriod",
            "CloseBillingPeriodInput",
            "created existing",
            json!({ "periodStart": at(1, 0).to_rfc3339() }),
        )
        .await;
        assert_eq!(
            (again["created"].clone(), again["existing"].clone()),
            (json!(0), json!(4))
        );
        assert_eq!(count(&app, "invoices").await, 4);

        let all = invoices(&app, &s.steward).await;
        assert_eq!(all.len(), 4);
        // Wholesale, co-op → Rho Cloud at list less 15 %:
        // t1 basic ½: fee 5.00 × 0.85 = 4.25; 600 calls × 0.01 × 0.85 = 5.10;
        // t1 pro ½: fee 20.00 × 0.85 = 17.00; (1500 − 250 free) × 0.0037 × 0.85 = 3.93125 → 3.93;
        //           10 GiB × 360 h × 0.01 × 0.85 = 30.60;
        // t2 pro: 34.00; (2000 − 500) × 0.0037 × 0.85 = 4.7175 → 4.72.
        let w = by_layer(&all, "wholesale", "Rho Cloud");
        assert_eq!(
            amounts(w),
            ["4.25", "5.10", "17.00", "3.93", "30.60", "34.00", "4.72"]
        );
        assert_eq!(w["subtotal"]["amount"], "99.60");
        assert_eq!(w["tax"]["amount"], "18.92", "19 % of 99.60 = 18.924");
        assert_eq!(w["total"]["amount"], "118.52");
        assert_eq!(w["issuerName"], "coplane co-op");
        let pro_calls = &w["lines"][3];
        assert_eq!(pro_calls["quantity"], "1250");
        assert_eq!(pro_calls["unitPrice"], "0.003145");
        assert_eq!(pro_calls["metricCode"], "api_calls");
        assert_eq!(pro_calls["priceVersion"], "plan:pro@2;wholesale-0.15");

        // Retail, Rho Cloud → Customer One: its wholesale price (list less
        // 15 %) with its 25 % markup, × 1.0625, each price rounded once;
        // the pro base fee it set explicitly (45.00, half: 22.50).
        // 10.625 → 10.63 / 2 = 5.315 → 5.32; 6.375 → 6.38; 22.50;
        // 4.625 × 1.0625 = 4.914 → 4.91; 36 × 1.0625 = 38.25 → 77.36,
        // tax 19 % 14.6984 → 14.70.
        let r1 = by_layer(&all, "retail", "Customer One");
        assert_eq!(amounts(r1), ["5.32", "6.38", "22.50", "4.91", "38.25"]);
        assert_eq!(
            (
                r1["subtotal"]["amount"].as_str(),
                r1["tax"]["amount"].as_str(),
                r1["total"]["amount"].as_str()
            ),
            (Some("77.36"), Some("14.70"), Some("92.06"))
        );
        assert_eq!(r1["issuerName"], "Rho Cloud");
        assert_eq!(
            r1["lines"][3]["priceVersion"],
            "plan:pro@2;pricelist@1;wholesale-0.15;markup-0.25"
        );
        // Customer Two, reverse charge: 45.00 + 5.55 × 1.0625 = 5.896875 → 5.90; no tax.
        let r2 = by_layer(&all, "retail", "Customer Two");
        assert_eq!(amounts(r2), ["45.00", "5.90"]);
        assert_eq!(
            (r2["tax"]["amount"].as_str(), r2["total"]["amount"].as_str()),
            (Some("0.00"), Some("50.90"))
        );
        // Direct, co-op → Direct Customer at list: 10.00 + 1000 × 0.01 + 200 × 0.005 = 11.00.
        let d = by_layer(&all, "direct", "Direct Customer");
        assert_eq!(amounts(d), ["10.00", "11.00"]);
        assert_eq!(
            (d["tax"]["amount"].as_str(), d["total"]["amount"].as_str()),
            (Some("3.99"), Some("24.99"))
        );

        // Numbered without gaps per issuer and year, in the same order as an uninterrupted close.
        assert_eq!(d["number"], "2026-000001");
        assert_eq!(w["number"], "2026-000002");
        let mut retail_numbers = vec![
            r1["number"].as_str().unwrap(),
            r2["number"].as_str().unwrap(),
        ];
        retail_numbers.sort();
        assert_eq!(retail_numbers, ["2026-000001", "2026-000002"]);
        assert!(all.iter().all(|i| i["status"] == "open"));

        // The reseller sees its wholesale invoice and the two it issued; the other reseller none.
        let mine = invoices(&app, &s.reseller_token).await;
        assert_eq!(mine.len(), 3);
        assert!(invoices(&app, &s.other_reseller_token).await.is_empty());
        let peek = app
            .graphql_vars(
                "query($id: ID!) { invoice(id: $id) { id } }",
                json!({ "id": d["id"] }),
                Some(&s.reseller_token),
            )
            .await;
        assert_eq!(
            peek["data"]["invoice"],
            Value::Null,
            "a direct invoice is outside the reseller's reach"
        );
        app.run_pending_jobs().await;
    }
);

const PAY: &str = "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { payment { id amount { amount } } invoice { status amountPaid { amount } amountDue { amount } } userErrors { field code message } } }";

test_both_dbs!(
    payments_add_up_overpayments_become_credit_and_credit_notes_correct,
    |app| {
        let s = scenario(&app).await;
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap());
        close::close(&app.db, at(1, 0), CloseOptions::default(), app.clock.now())
            .await
            .unwrap();
        let all = invoices(&app, &s.steward).await;
        let r1 = by_layer(&all, "retail", "Customer One").clone();
        let pay = |amount: &str, key: &str| json!({ "input": { "invoiceId": r1["id"], "amount": amount, "method": "bank_transfer", "externalRef": key, "idempotencyKey": key } });
        // Partial: 88.49 of 92.06.
        let p1 = app
            .graphql_vars(PAY, pay("88.49", "bank-1"), Some(&s.reseller_token))
            .await;
        let p = &p1["data"]["recordPayment"];
        assert_eq!(p["userErrors"], json!([]), "{p1}");
        assert_eq!(p["invoice"]["status"], "open");
        assert_eq!(p["invoice"]["amountDue"]["amount"], "3.57");
        // The same key again records nothing new.
        let replay = app
            .graphql_vars(PAY, pay("88.49", "bank-1"), Some(&s.reseller_token))
            .await;
        assert_eq!(
            replay["data"]["recordPayment"]["payment"]["id"],
            p["payment"]["id"]
        );
        assert_eq!(count(&app, "payments").await, 1);
        // Another reseller cannot touch it; the co-op's direct invoice is not the reseller's to record.
        let foreign = app
            .graphql_vars(PAY, pay("1.00", "x-1"), Some(&s.other_reseller_token))
            .await;
        assert_eq!(
            foreign["data"]["recordPayment"]["userErrors"][0]["code"], "NOT_FOUND",
            "{foreign}"
        );
        let bad = app
            .graphql_vars(PAY, pay("-5", "bad-1"), Some(&s.reseller_token))
            .await;
        assert_eq!(
            bad["data"]["recordPayment"]["userErrors"][0]["code"],
            "INVALID_AMOUNT"
        );
        let cents = app
            .graphql_vars(PAY, pay("1.001", "bad-2"), Some(&s.reseller_token))
            .await;
        assert_eq!(
            cents["data"]["recordPayment"]["userErrors"][0]["code"],
            "INVALID_AMOUNT"
        );
        // Overpaying: 10.00 against 3.57 due; 6.43 is kept as credit.
        let p2 = app
            .graphql_vars(PAY, pay("10.00", "bank-2"), Some(&s.reseller_token))
            .await;
        assert_eq!(
            p2["data"]["recordPayment"]["invoice"]["status"], "paid",
            "{p2}"
        );
        assert_eq!(
            p2["data"]["recordPayment"]["invoice"]["amountPaid"]["amount"],
            "92.06"
        );
        let credit: i64 = {
            use sea_orm::{ConnectionTrait, Statement};
            let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT CAST(SUM(amount_units) AS BIGINT) AS u, CAST(SUM(amount_nanos) AS BIGINT) AS n FROM account_credits",
            ))
            .await
            .unwrap()
            .unwrap();
            row.try_get::<i64>("", "u").unwrap() * 100
                + row.try_get::<i64>("", "n").unwrap() / 10_000_000
        };
        assert_eq!(credit, 643, "6.43 of credit");

        // A credit note on the wholesale invoice (the co-op's to issue).
        let w = by_layer(&all, "wholesale", "Rho Cloud").clone();
        let note = mutate(
        &app,
        &s.steward,
        "issueCreditNote",
        "IssueCreditNoteInput",
        "creditNote { number amount }",
        json!({ "invoiceId": w["id"], "amount": "18.52", "reason": "goodwill", "idempotencyKey": "cn-1" }),
    )
    .await;
        assert_eq!(note["creditNote"]["number"], "CN-2026-000001");
        let too_much = app
        .graphql_vars(
            "mutation($input: IssueCreditNoteInput!) { issueCreditNote(input: $input) { creditNote { id } userErrors { code } } }",
            json!({ "input": { "invoiceId": w["id"], "amount": "100.01", "reason": "x" } }),
            Some(&s.steward),
        )
        .await;
        assert_eq!(
            too_much["data"]["issueCreditNote"]["userErrors"][0]["code"],
            "INVALID_AMOUNT"
        );
        let reseller_note = app
        .graphql_vars(
            "mutation($input: IssueCreditNoteInput!) { issueCreditNote(input: $input) { creditNote { id } userErrors { code } } }",
            json!({ "input": { "invoiceId": w["id"], "amount": "1.00", "reason": "x" } }),
            Some(&s.reseller_token),
        )
        .await;
        assert_eq!(
            reseller_note["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "a reseller does not credit its own bill: {reseller_note}"
        );
        let after = invoices(&app, &s.steward).await;
        let w2 = by_layer(&after, "wholesale", "Rho Cloud");
        assert_eq!(w2["amountDue"]["amount"], "100.00", "118.52 − 18.52");
        assert_eq!(
            w2["total"]["amount"], "118.52",
            "a finalized invoice never changes"
        );
        // Each change queued the account's re-evaluation: Customer One is
        // current again, Rho Cloud (not yet due) too.
        app.run_pending_jobs().await;
        assert_eq!(count(&app, "account_standings").await, 4);
        let overdue = app
            .execute(
                "UPDATE account_standings SET updated_at = updated_at WHERE standing = 'overdue'",
                vec![],
            )
            .await;
        assert_eq!(overdue, 0);
        // Past the due date the unpaid ones turn overdue on their next evaluation.
        app.clock
            .set(Utc.with_ymd_and_hms(2026, 12, 20, 0, 0, 0).unwrap());
        let account = uuid_of(&s.reseller_id);
        let held = coplane_domain::dunning::evaluate(&app.db, "reseller", account, app.clock.now())
            .await
            .unwrap()
            .standing;
        assert_eq!(
            held, "overdue",
            "100.00 of the wholesale invoice is past due"
        );
        app.run_pending_jobs().await;
    }
);

test_both_dbs!(usage_counts_each_key_once_and_reports_bad_rows, |app| {
    let f = Fixture::new(&app).await;
    metric(&app, &f.steward, "api_calls", "sum").await;
    let now = app.clock.now();
    let t = f.a.tenant_id.clone();
    let body = vec![
        ev(&t, "api_calls", "1.5", now, "k1"),
        ev(&t, "api_calls", "2", now, "k1"),
        ev(&t, "nope", "1", now, "k2"),
        ev(&t, "api_calls", "-1", now, "k3"),
        ev(&t, "api_calls", "abc", now, "k4"),
        ev(&t, "api_calls", "1", now + chrono::Duration::hours(1), "k5"),
        ev(&f.b.tenant_id, "api_calls", "1", now, "k6"),
        ev(&t, "api_calls", "1", now, ""),
        ev("no-such-tenant", "api_calls", "1", now, "k7"),
        ev(&t, "api_calls", "0.000000001", now, "k8"),
    ];
    let res = app
        .client
        .post(format!("{}/v1/usage", app.address))
        .bearer_auth(&f.a.reseller_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(
        (
            r["accepted"].clone(),
            r["duplicates"].clone(),
            r["rejected"].clone()
        ),
        (json!(2), json!(1), json!(7)),
        "{r}"
    );
    let codes: Vec<(i64, &str)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["index"].as_i64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (2, "UNKNOWN_METRIC"),
            (3, "NEGATIVE_QUANTITY"),
            (4, "INVALID_QUANTITY"),
            (5, "TIMESTAMP_IN_FUTURE"),
            (6, "UNKNOWN_TENANT"),
            (7, "INVALID_IDEMPOTENCY_KEY"),
            (8, "UNKNOWN_TENANT"),
        ]
    );
    // NDJSON, by slug, with a line that is not JSON.
    let nd = format!(
        "{}\nnot json\n{}\n",
        json!({ "tenant": "alpha-shop", "metric": "api_calls", "quantity": 3, "timestamp": now.to_rfc3339(), "idempotencyKey": "n1" }),
        json!({ "tenant": "alpha-shop", "metric": "api_calls", "quantity": "4", "timestamp": now.to_rfc3339(), "idempotencyKey": "k1" }),
    );
    let r: Value = app
        .client
        .post(format!("{}/v1/usage", app.address))
        .bearer_auth(&f.a.reseller_token)
        .header("content-type", "application/x-ndjson")
        .body(nd)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            r["accepted"].clone(),
            r["duplicates"].clone(),
            r["rejected"].clone()
        ),
        (json!(1), json!(1), json!(1)),
        "{r}"
    );
    assert_eq!(r["errors"][0]["index"], 1);
    // The stored usage: 1.5 + 0.000000001 + 3, each key once.
    let usage = app
        .graphql_vars(
            "query($t: ID!, $from: DateTime!, $to: DateTime!) { usage(tenantId: $t, from: $from, to: $to) { metric quantity } }",
            json!({ "t": t, "from": (now - chrono::Duration::hours(1)).to_rfc3339(), "to": (now + chrono::Duration::hours(1)).to_rfc3339() }),
            Some(&f.a.tenant_admin_token),
        )
        .await;
    assert_eq!(
        usage["data"]["usage"],
        json!([{ "metric": "api_calls", "quantity": "4.500000001" }]),
        "{usage}"
    );
    // The other reseller sees none of it; a member may not ingest.
    let theirs = app
        .graphql_vars(
            "query($from: DateTime!, $to: DateTime!) { usage(from: $from, to: $to) { quantity } }",
            json!({ "from": (now - chrono::Duration::hours(1)).to_rfc3339(), "to": (now + chrono::Duration::hours(1)).to_rfc3339() }),
            Some(&f.b.reseller_token),
        )
        .await;
    assert_eq!(theirs["data"]["usage"], json!([]));
    let member = app
        .client
        .post(format!("{}/v1/usage", app.address))
        .bearer_auth(&f.a.member_token)
        .json(&json!([ev(&t, "api_calls", "1", now, "m1")]))
        .send()
        .await
        .unwrap();
    assert_eq!(member.status(), 403);
    let anon = app
        .client
        .post(format!("{}/v1/usage", app.address))
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let garbage = app
        .client
        .post(format!("{}/v1/usage", app.address))
        .bearer_auth(&f.a.reseller_token)
        .body("[not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    app.run_pending_jobs().await;
});

test_both_dbs!(ten_thousand_concurrent_duplicates_count_once, |app| {
    let f = Fixture::new(&app).await;
    metric(&app, &f.steward, "api_calls", "sum").await;
    let now = app.clock.now();
    // 50 requests at once, each carrying the same event 200 times.
    let batch: Vec<Value> = (0..200)
        .map(|_| ev(&f.a.tenant_id, "api_calls", "7", now, "the-one"))
        .collect();
    let sends = (0..50).map(|_| {
        app.client
            .post(format!("{}/v1/usage", app.address))
            .bearer_auth(&f.a.reseller_token)
            .json(&batch)
            .send()
    });
    let mut accepted = 0;
    let mut duplicates = 0;
    for res in futures::future::join_all(sends).await {
        let r: Value = res.unwrap().json().await.unwrap();
        accepted += r["accepted"].as_i64().unwrap();
        duplicates += r["duplicates"].as_i64().unwrap();
    }
    assert_eq!((accepted, duplicates), (1, 9_999));
    assert_eq!(count(&app, "usage_events").await, 1);
    app.run_pending_jobs().await;
});

test_both_dbs!(
    allocation_metering_adds_each_hour_once_and_fills_gaps,
    |app| {
        let f = Fixture::new(&app).await;
        // The fixture's tenants are active once synced.
        app.run_pending_jobs().await;
        let start = app.clock.now();
        app.clock.set(start + chrono::Duration::hours(3));
        let first = coplane_domain::billing::metering::meter_allocations(&app.db, app.clock.now())
            .await
            .unwrap();
        assert!(first > 0);
        let again = coplane_domain::billing::metering::meter_allocations(&app.db, app.clock.now())
            .await
            .unwrap();
        assert_eq!(again, 0, "a rerun adds nothing");
        // The worker was away five hours: the next run fills them, once.
        app.clock.set(start + chrono::Duration::hours(8));
        let gap = coplane_domain::billing::metering::meter_allocations(&app.db, app.clock.now())
            .await
            .unwrap();
        assert_eq!(gap, 5 * 4 * 2, "5 hours × 4 metrics × 2 active tenants");
        // Alpha's tenant: 1000 millicores → 1 core-hour each hour.
        let usage = app
        .graphql_vars(
            "query($t: ID!, $from: DateTime!, $to: DateTime!) { usage(tenantId: $t, from: $from, to: $to) { metric quantity } }",
            json!({ "t": f.a.tenant_id, "from": start.to_rfc3339(), "to": app.clock.now().to_rfc3339() }),
            Some(&f.a.reseller_token),
        )
        .await;
        let cpu = usage["data"]["usage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["metric"] == "cpu_core_hours")
            .cloned()
            .unwrap_or_default();
        let hours = count(&app, "usage_events").await / 8;
        assert_eq!(cpu["quantity"], json!(hours.to_string()), "{usage}");
        app.run_pending_jobs().await;
    }
);

/// Signs a webhook body as Stripe does.
fn sign(secret: &str, t: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Two tests, one per backend, around an `async fn NAME_on(backend)` that
/// starts its own apps.
macro_rules! both_backends {
    ($name:ident, $run:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$run(crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if crate::postgres_available() {
                    super::$run(crate::Backend::Postgres).await;
                }
            }
        }
    };
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

both_backends!(
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

both_backends!(
    webhooks_with_a_forged_signature_a_stale_timestamp_or_a_replayed_id_change_nothing,
    webhooks_with_a_forged_signature_a_stale_timestamp_or_a_replayed_id_change_nothing_on
);

async fn webhooks_with_a_forged_signature_a_stale_timestamp_or_a_replayed_id_change_nothing_on(
    backend: crate::Backend,
) {
    // The rail is not reached in this test: a closed port.
    let app = stripe_app(backend, "http://127.0.0.1:9").await;
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
    // Forged (wrong secret), stale (ten minutes old), unsigned: 400, nothing recorded.
    assert_eq!(
        post(body.clone(), sign("whsec_wrong", t, &body))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        post(body.clone(), sign(WEBHOOK_SECRET, t - 600, &body))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        post(body.clone(), "t=1".into()).await.unwrap().status(),
        400
    );
    // A body changed after signing.
    let tampered = event("evt_1", 5000);
    assert_eq!(
        post(tampered, sign(WEBHOOK_SECRET, t, &body))
            .await
            .unwrap()
            .status(),
        400
    );
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
    app.finish().await;
}
