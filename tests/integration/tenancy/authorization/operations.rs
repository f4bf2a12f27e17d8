//! Running one operation as one caller against one world, and reading its
//! outcome.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use super::shop::Shop;
use super::{A, Caller, F, N, Outcome, U};
use crate::TestApp;
use crate::tenancy::fixture::{Fixture, World, allotment, api_token, mutate, quota};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Reads an operation's outcome from its response.
type Check = Box<dyn Fn(&Value) -> Outcome>;

fn token(fx: &Fixture, caller: Caller) -> Option<&str> {
    match caller {
        Caller::Steward => Some(&fx.steward),
        Caller::Reseller => Some(&fx.a.reseller_token),
        Caller::TenantAdmin => Some(&fx.a.tenant_admin_token),
        Caller::Member => Some(&fx.a.member_token),
        Caller::Integration => Some(&fx.a.integration_token),
        Caller::Anonymous => None,
    }
}

fn classify_errors(body: &Value) -> Option<Outcome> {
    let code = body["errors"][0]["extensions"]["code"].as_str()?;
    Some(match code {
        "FORBIDDEN" => F,
        "UNAUTHENTICATED" => U,
        other => panic!("unexpected error code {other}: {body}"),
    })
}

fn in_list(body: &Value, field: &str, id: &str) -> Outcome {
    let edges = body["data"][field]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    if edges.iter().any(|e| e["node"]["id"] == id) {
        A
    } else {
        N
    }
}

fn mutation_outcome(body: &Value, field: &str, object: &str) -> Outcome {
    let payload = &body["data"][field];
    match payload["userErrors"][0]["code"].as_str() {
        Some("NOT_FOUND") => N,
        // Checked after authorization and reach: the caller got to the object.
        Some("ORDER_NOT_FAILED" | "NO_PREVIOUS_VERSION" | "NOT_A_DRAFT" | "NOT_SUSPENDED") => A,
        Some(_) => panic!("unexpected user error: {body}"),
        None if payload[object].is_object() || payload[object].is_array() => A,
        None => panic!("neither object nor error: {body}"),
    }
}

pub(super) async fn run(
    app: &TestApp,
    fx: &Fixture,
    shop: &Shop,
    op: &str,
    caller: Caller,
    target: &World,
) -> Outcome {
    let token = token(fx, caller);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let (query, vars, check): (String, Value, Check) = match op {
        "viewer" => ("{ viewer { roles } }".into(), json!({}), Box::new(|_| A)),
        "node" => (
            "query($id: ID!) { node(id: $id) { id } }".into(),
            json!({ "id": target.tenant_id }),
            Box::new(|b| if b["data"]["node"].is_object() { A } else { N }),
        ),
        // The catalog is not anyone's world: readable by every authenticated caller.
        "apps" | "plans" => (
            format!("{{ {op} {{ totalCount }} }}"),
            json!({}),
            Box::new(|_| A),
        ),
        "storefront" => (
            "query($id: ID) { storefront(resellerId: $id) { brandName } }".into(),
            json!({ "id": target.reseller_id }),
            Box::new(|b| {
                if b["data"]["storefront"].is_object() {
                    A
                } else {
                    N
                }
            }),
        ),
        "overduePolicy" => (
            "query($id: ID) { overduePolicy(resellerId: $id) { version } }".into(),
            json!({ "id": target.reseller_id }),
            Box::new(|b| if b["data"]["overduePolicy"].is_object() { A } else { N }),
        ),
        "setCustomerDunningOverrides" => (
            "mutation($input: SetCustomerDunningOverridesInput!) { setCustomerDunningOverrides(input: $input) { neverSuspend userErrors { code } } }".into(),
            json!({ "input": { "customerId": target.customer_id, "neverSuspend": false, "extraGraceDays": 2 } }),
            Box::new(|b| match b["data"]["setCustomerDunningOverrides"]["userErrors"][0]["code"].as_str() {
                None => A,
                Some("NOT_FOUND") => N,
                Some(other) => panic!("unexpected user error {other}: {b}"),
            }),
        ),
        "billableMetrics" => (
            "{ billableMetrics { code } }".into(),
            json!({}),
            Box::new(|_| A),
        ),
        "billingPeriods" => (
            "{ billingPeriods { id } }".into(),
            json!({}),
            Box::new(|b| if b["data"]["billingPeriods"].is_array() { A } else { N }),
        ),
        "usage" => {
            let id = target.tenant_id.clone();
            let now = app.now();
            (
                "query($from: DateTime!, $to: DateTime!) { usage(from: $from, to: $to) { tenantId } }".into(),
                json!({ "from": (now - chrono::Duration::hours(1)).to_rfc3339(), "to": (now + chrono::Duration::hours(1)).to_rfc3339() }),
                Box::new(move |b| {
                    if b["data"]["usage"].as_array().unwrap_or_else(|| panic!("{b}")).iter().any(|u| u["tenantId"] == id) { A } else { N }
                }),
            )
        }
        "invoices" => {
            let id = shop.invoice(fx, target).0.clone();
            (
                "{ invoices(first: 100) { edges { node { id } } } }".into(),
                json!({}),
                Box::new(move |b| in_list(b, "invoices", &id)),
            )
        }
        "payments" => {
            let id = shop.invoice(fx, target).1.clone();
            (
                "{ payments(first: 100) { edges { node { id } } } }".into(),
                json!({}),
                Box::new(move |b| in_list(b, "payments", &id)),
            )
        }
        "invoice" => (
            "query($id: ID!) { invoice(id: $id) { id } }".into(),
            json!({ "id": shop.invoice(fx, target).0 }),
            Box::new(|b| if b["data"]["invoice"].is_object() { A } else { N }),
        ),
        "ingestUsage" => (
            "mutation($input: IngestUsageInput!) { ingestUsage(input: $input) { accepted rowErrors { code } } }".into(),
            json!({ "input": { "events": [{ "tenantId": target.tenant_id, "metric": "cpu_core_hours", "quantity": "1", "timestamp": app.now().to_rfc3339(), "idempotencyKey": format!("m-{n}") }] } }),
            Box::new(|b| match b["data"]["ingestUsage"]["rowErrors"][0]["code"].as_str() {
                None => A,
                Some("UNKNOWN_TENANT") => N,
                Some(other) => panic!("unexpected row error {other}: {b}"),
            }),
        ),
        "setResellerBillingTerms" => (
            "mutation($input: SetResellerBillingTermsInput!) { setResellerBillingTerms(input: $input) { resellerId userErrors { code } } }".into(),
            json!({ "input": { "resellerId": target.reseller_id, "taxRate": "0.2" } }),
            Box::new(|b| match b["data"]["setResellerBillingTerms"]["userErrors"][0]["code"].as_str() {
                None => A,
                Some("NOT_FOUND") => N,
                Some(other) => panic!("unexpected user error {other}: {b}"),
            }),
        ),
        "closeBillingPeriod" => {
            let (this_month, _) = coplane_domain::billing::close::month_of(app.now());
            let (last, _) = coplane_domain::billing::close::month_of(this_month - chrono::Duration::seconds(1));
            (
                "mutation($input: CloseBillingPeriodInput!) { closeBillingPeriod(input: $input) { billingPeriod { state } userErrors { code } } }".into(),
                json!({ "input": { "periodStart": last.to_rfc3339() } }),
                Box::new(|b| if b["data"]["closeBillingPeriod"]["billingPeriod"]["state"] == "closed" { A } else { panic!("{b}") }),
            )
        }
        "order" => (
            "query($id: ID!) { order(id: $id) { id } }".into(),
            json!({ "id": shop.of(fx, target).0 }),
            Box::new(|b| if b["data"]["order"].is_object() { A } else { N }),
        ),
        "orders" => {
            let id = shop.of(fx, target).0.clone();
            (
                "{ orders(first: 100) { edges { node { id } } } }".into(),
                json!({}),
                Box::new(move |b| in_list(b, "orders", &id)),
            )
        }
        "tenant" => (
            "query($id: ID!) { tenant(id: $id) { id } }".into(),
            json!({ "id": target.tenant_id }),
            Box::new(|b| {
                if b["data"]["tenant"].is_object() {
                    A
                } else {
                    N
                }
            }),
        ),
        "members" | "resellers" | "customers" | "tenants" | "apiTokens" => {
            let id = match op {
                "members" => target.person_id.clone(),
                "resellers" => target.reseller_id.clone(),
                "customers" => target.customer_id.clone(),
                "tenants" => target.tenant_id.clone(),
                _ => target.integration_token_id.clone(),
            };
            let field = op.to_owned();
            (
                format!("{{ {op}(first: 100) {{ edges {{ node {{ id }} }} }} }}"),
                json!({}),
                Box::new(move |b| in_list(b, &field, &id)),
            )
        }
        "auditEvents" => (
            "query($id: ID!) { auditEvents(objectId: $id) { edges { node { id } } } }".into(),
            json!({ "id": target.tenant_id }),
            Box::new(|b| {
                if b["data"]["auditEvents"]["edges"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty())
                {
                    A
                } else {
                    N
                }
            }),
        ),
        _ => {
            let (input_type, object, input) = match op {
                "createMember" => (
                    "CreateMemberInput",
                    "member",
                    json!({ "kind": "person", "class": "user", "displayName": "x", "sharesHeld": "1", "joinedOn": "2026-03-01" }),
                ),
                "createReseller" => {
                    let member = mutate(
                        app,
                        &fx.steward,
                        "createMember",
                        "CreateMemberInput",
                        "member { id }",
                        json!({ "kind": "organisation", "class": "reseller", "displayName": format!("org {n}"), "sharesHeld": "1", "joinedOn": "2026-03-01" }),
                    )
                    .await["member"]["id"]
                    .clone();
                    (
                        "CreateResellerInput",
                        "reseller",
                        json!({ "memberId": member, "brandName": "b", "allotment": quota(0, 0, 0, 0, 0) }),
                    )
                }
                "setResellerAllotment" => (
                    "SetResellerAllotmentInput",
                    "reseller",
                    json!({ "resellerId": target.reseller_id, "allotment": allotment() }),
                ),
                "createCustomer" => (
                    "CreateCustomerInput",
                    "customer",
                    json!({ "resellerId": target.reseller_id, "name": "c", "billingEmail": "c@example.org", "country": "FR", "currency": "EUR", "taxRate": "0.2" }),
                ),
                "createTenant" => (
                    "CreateTenantInput",
                    "tenant",
                    json!({ "customerId": target.customer_id, "slug": format!("matrix-{n}"), "quota": quota(1, 1, 1, 1, 0) }),
                ),
                "updateTenantQuota" => (
                    "UpdateTenantQuotaInput",
                    "tenant",
                    json!({ "tenantId": target.tenant_id, "quota": quota(1000, 1 << 30, 10 << 30, 10, 2) }),
                ),
                "createApiToken" => (
                    "CreateApiTokenInput",
                    "apiToken",
                    json!({ "name": "t", "scopes": ["customers:read"], "resellerId": target.reseller_id }),
                ),
                "createApp" => (
                    "CreateAppInput",
                    "app",
                    json!({ "slug": format!("app-{n}"), "name": "App" }),
                ),
                "publishAppVersion" => {
                    let app_id = mutate(
                        app,
                        &fx.steward,
                        "createApp",
                        "CreateAppInput",
                        "app { id }",
                        json!({ "slug": format!("pub-{n}"), "name": "App" }),
                    )
                    .await["app"]["id"]
                        .clone();
                    let recipe = json!({ "image": "nginx", "tag": "1.27" });
                    (
                        "PublishAppVersionInput",
                        "appVersion",
                        json!({ "appId": app_id, "version": "1.0.0+1.27", "recipe": recipe }),
                    )
                }
                "createPlan" => (
                    "CreatePlanInput",
                    "plan",
                    json!({ "code": format!("plan-{n}"), "name": "P", "currency": "EUR", "baseFee": "9.90", "interval": "month", "includedQuota": quota(1000, 1 << 30, 10 << 30, 10, 2) }),
                ),
                "setPriceList" => (
                    "SetPriceListInput",
                    "storefront",
                    json!({ "resellerId": target.reseller_id, "markup": "0.1" }),
                ),
                "setStorefrontBrand" => (
                    "SetStorefrontBrandInput",
                    "storefront",
                    json!({ "resellerId": target.reseller_id, "domains": [format!("shop-{n}.example.com")], "primaryColor": "#1a7f5a" }),
                ),
                "placeOrder" => (
                    "PlaceOrderInput",
                    "order",
                    json!({ "customerId": target.customer_id, "idempotencyKey": format!("m-{n}"), "lines": [{ "newTenant": { "slug": format!("matrix-order-{n}"), "planId": shop.plan } }] }),
                ),
                "cancelOrder" => {
                    let pending = mutate(
                        app,
                        &fx.steward,
                        "placeOrder",
                        "PlaceOrderInput",
                        "order { id }",
                        json!({ "customerId": target.customer_id, "idempotencyKey": format!("c-{n}"), "lines": [{ "newTenant": { "slug": format!("matrix-cancel-{n}"), "planId": shop.plan } }] }),
                    )
                    .await["order"]["id"]
                        .clone();
                    ("OrderIdInput", "order", json!({ "orderId": pending }))
                }
                "retryOrder" => (
                    "OrderIdInput",
                    "order",
                    json!({ "orderId": shop.of(fx, target).0 }),
                ),
                "rollbackAppInstall" => (
                    "RollbackAppInstallInput",
                    "appInstall",
                    json!({ "installId": shop.of(fx, target).1 }),
                ),
                "setAppInstallValues" => (
                    "SetAppInstallValuesInput",
                    "appInstall",
                    json!({ "installId": shop.of(fx, target).1, "values": { "env": {} } }),
                ),
                "revokeApiToken" => {
                    let (id, _) = api_token(
                        app,
                        &fx.steward,
                        &["customers:read"],
                        Some(&target.reseller_id),
                    )
                    .await;
                    ("RevokeApiTokenInput", "apiToken", json!({ "id": id }))
                }
                "setOverduePolicy" => (
                    "SetOverduePolicyInput",
                    "policy",
                    json!({ "resellerId": target.reseller_id, "steps": [{ "name": "r", "trigger": { "daysPastDue": 1 }, "actions": [{ "kind": "reminder" }] }] }),
                ),
                "setTenantPrepaidUntil" => (
                    "SetTenantPrepaidUntilInput",
                    "tenant",
                    json!({ "tenantId": target.tenant_id, "prepaidUntil": null }),
                ),
                "suspendTenant" => (
                    "SuspendTenantInput",
                    "tenant",
                    json!({ "tenantId": target.tenant_id, "reason": "matrix" }),
                ),
                "resumeTenant" => (
                    "TenantIdInput",
                    "tenant",
                    json!({ "tenantId": target.tenant_id }),
                ),
                "createBillableMetric" => (
                    "CreateBillableMetricInput",
                    "billableMetric",
                    json!({ "code": format!("m_{n}"), "name": "M", "aggregation": "sum", "unit": "u" }),
                ),
                "setPlanCharges" => (
                    "SetPlanChargesInput",
                    "charges",
                    json!({ "planId": shop.plan, "charges": [{ "metric": "cpu_core_hours", "charge": { "model": "standard", "unitPrice": "0.01" } }] }),
                ),
                "finalizeInvoice" => (
                    "InvoiceIdInput",
                    "invoice",
                    json!({ "invoiceId": shop.invoice(fx, target).0 }),
                ),
                "recordPayment" => (
                    "RecordPaymentInput",
                    "payment",
                    json!({ "invoiceId": shop.invoice(fx, target).0, "amount": "0.01", "method": "erp", "idempotencyKey": format!("m-{n}") }),
                ),
                "issueCreditNote" => (
                    "IssueCreditNoteInput",
                    "creditNote",
                    json!({ "invoiceId": shop.invoice(fx, target).0, "amount": "0.01", "reason": "matrix" }),
                ),
                other => panic!("no matrix case for {other}"),
            };
            // A storefront is read by its brand; everything else has an id.
            let selected = match op {
                "setPriceList" | "setStorefrontBrand" => "brandName",
                "setPlanCharges" => "metric",
                "setOverduePolicy" => "version",
                _ => "id",
            };
            let query = format!(
                "mutation($input: {input_type}!) {{ {op}(input: $input) {{ {object} {{ {selected} }} userErrors {{ code }} }} }}"
            );
            let field = op.to_owned();
            (
                query,
                json!({ "input": input }),
                Box::new(move |b| mutation_outcome(b, &field, object)),
            )
        }
    };
    let body = app.graphql_vars(&query, vars, token).await;
    classify_errors(&body).unwrap_or_else(|| check(&body))
}
