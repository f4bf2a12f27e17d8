//! The benchmark's dataset, built through the GraphQL API: 10 resellers,
//! 100 customers (10 each), 1,000 tenants (10 per customer) on one plan,
//! made last month (on the test clock), whose period is then closed into
//! 110 invoices (100 retail of 10 lines, 10 wholesale of 100 lines).

use chrono::Duration;
use coplane_domain::Clock;
use coplane_domain::billing::close::{self, CloseOptions};
use coplane_tests::{TestApp, mutate};
use futures::StreamExt;
use serde_json::{Value, json};

pub const RESELLERS: usize = 10;
pub const CUSTOMERS_PER_RESELLER: usize = 10;
pub const TENANTS_PER_CUSTOMER: usize = 10;

/// The dataset's ids and what it made.
pub struct Dataset {
    pub customer: String,
    pub tenant: String,
    pub invoices: u64,
}

fn quota(cpu: i64, memory: i64, storage: i64, pods: i64, installs: i64) -> Value {
    json!({
        "cpuMillis": cpu.to_string(),
        "memoryBytes": memory.to_string(),
        "storageBytes": storage.to_string(),
        "pods": pods.to_string(),
        "appInstalls": installs.to_string(),
    })
}

/// The plan every tenant is on: a base fee, so the close makes a line per tenant.
async fn plan(app: &TestApp, steward: &str) -> String {
    mutate(
        app,
        steward,
        "createPlan",
        "CreatePlanInput",
        "plan { id }",
        json!({ "code": "bench", "name": "Bench", "currency": "EUR", "baseFee": "9.90", "interval": "month",
                "includedQuota": quota(500, 1 << 30, 10 << 30, 10, 5), "allowedApps": [] }),
    )
    .await["plan"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Builds the dataset and closes last month's period.
pub async fn build(app: &TestApp, steward: &str) -> Dataset {
    let real_now = app.clock.now();
    let (this_month, _) = close::month_of(real_now);
    let (last_month, _) = close::month_of(this_month - Duration::seconds(1));
    app.clock.set(last_month + Duration::days(1));
    let dataset = build_parties(app, steward).await;
    app.clock.set(real_now);
    let report = close::close(&app.db, last_month, CloseOptions::default(), real_now)
        .await
        .expect("last month closes");
    Dataset {
        invoices: u64::from(report.created),
        ..dataset
    }
}

async fn build_parties(app: &TestApp, steward: &str) -> Dataset {
    let plan = plan(app, steward).await;
    let plan = &plan;
    let mut resellers = Vec::new();
    for r in 0..RESELLERS {
        let member = mutate(
            app,
            steward,
            "createMember",
            "CreateMemberInput",
            "member { id }",
            json!({ "kind": "organisation", "class": "reseller", "displayName": format!("Reseller {r}"), "sharesHeld": "1", "joinedOn": "2026-01-01" }),
        )
        .await["member"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let reseller = mutate(
            app,
            steward,
            "createReseller",
            "CreateResellerInput",
            "reseller { id }",
            json!({ "memberId": member, "brandName": format!("Reseller {r} Cloud"), "allotment": quota(1_000_000, 1 << 45, 1 << 50, 100_000, 100_000) }),
        )
        .await["reseller"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        resellers.push(reseller);
    }
    let customer_inputs: Vec<(usize, usize, &String)> = resellers
        .iter()
        .enumerate()
        .flat_map(|(r, id)| (0..CUSTOMERS_PER_RESELLER).map(move |c| (r, c, id)))
        .collect();
    let customers: Vec<(usize, usize, String)> = futures::stream::iter(customer_inputs)
        .map(|(r, c, reseller)| async move {
            let id = mutate(
                app,
                steward,
                "createCustomer",
                "CreateCustomerInput",
                "customer { id }",
                json!({ "resellerId": reseller, "name": format!("Customer {r}-{c} GmbH"), "billingEmail": format!("billing-{r}-{c}@example.org"), "country": "DE", "currency": "EUR", "taxRate": "0.19" }),
            )
            .await["customer"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            (r, c, id)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let tenant_inputs: Vec<(String, String)> = customers
        .iter()
        .flat_map(|(r, c, id)| {
            (0..TENANTS_PER_CUSTOMER).map(move |t| (format!("r{r}-c{c}-t{t}"), id.clone()))
        })
        .collect();
    let tenants: Vec<String> = futures::stream::iter(tenant_inputs)
        .map(|(slug, customer)| async move {
            mutate(
                app,
                steward,
                "createTenant",
                "CreateTenantInput",
                "tenant { id }",
                json!({ "customerId": customer, "slug": slug, "planId": plan, "quota": quota(500, 1 << 30, 10 << 30, 10, 5) }),
            )
            .await["tenant"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .buffer_unordered(10)
        .collect()
        .await;
    Dataset {
        customer: customers[customers.len() / 2].2.clone(),
        tenant: tenants[tenants.len() / 2].clone(),
        invoices: 0,
    }
}
