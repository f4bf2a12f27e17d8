//! Metering, rating and invoicing: usage ingestion, the close of a period
//! checked to the cent, payments (ERP and Stripe), credit notes, webhooks.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use crate::TestApp;
use crate::tenancy::fixture::{customer, jwt, mutate, quota, reseller};

pub(super) fn at(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

pub(super) const INVOICES: &str = "query { invoices(first: 50) { totalCount edges { node { id number layer status issuerName recipientName currency subtotal { amount } tax { amount } total { amount } amountDue { amount } lines { position description metricCode quantity unitPrice amount { amount } priceVersion } } } } }";

pub(super) async fn metric(app: &TestApp, steward: &str, code: &str, aggregation: &str) {
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

pub(super) async fn plan(
    app: &TestApp,
    steward: &str,
    code: &str,
    fee: &str,
    charges: Value,
) -> String {
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

pub(super) async fn tenant_on(
    app: &TestApp,
    token: &str,
    customer: &str,
    slug: &str,
    plan: &str,
) -> String {
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

pub(super) async fn ingest(app: &TestApp, token: &str, events: Value) -> Value {
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

pub(super) fn ev(tenant: &str, metric: &str, q: &str, when: DateTime<Utc>, key: &str) -> Value {
    json!({ "tenantId": tenant, "metric": metric, "quantity": q, "timestamp": when.to_rfc3339(), "idempotencyKey": key })
}

/// The scenario's parties.
pub(super) struct Scenario {
    pub(super) steward: String,
    pub(super) reseller_token: String,
    pub(super) reseller_id: String,
    pub(super) other_reseller_token: String,
}

/// A reseller (15 % wholesale discount, 19 % tax), two customers (one
/// reverse charge), a direct customer; tenant t1 moves from basic to pro
/// at mid-month.
pub(super) async fn scenario(app: &TestApp) -> Scenario {
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

pub(super) fn by_layer<'a>(invoices: &'a [Value], layer: &str, recipient: &str) -> &'a Value {
    invoices
        .iter()
        .find(|i| i["layer"] == layer && i["recipientName"] == recipient)
        .unwrap_or_else(|| panic!("no {layer} invoice for {recipient}: {invoices:?}"))
}

pub(super) fn amounts(inv: &Value) -> Vec<String> {
    inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"]["amount"].as_str().unwrap().to_owned())
        .collect()
}

pub(super) async fn invoices(app: &TestApp, token: &str) -> Vec<Value> {
    let body = app.graphql(INVOICES, Some(token)).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

mod levels;
mod payments;
mod period;
mod stripe;
mod usage;
