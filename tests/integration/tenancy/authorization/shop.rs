//! The objects the order, install and billing rows act on, in each world.

use serde_json::json;

use crate::TestApp;
use crate::tenancy::fixture::{Fixture, World, mutate, quota};

/// Orders and installs in each world, for the order rows.
pub(super) struct Shop {
    pub(super) plan: String,
    /// Each world's retail invoice and its payment (A's, then B's).
    pub(super) invoices: [(String, String); 2],
    /// (order, install) of reseller A's world, then B's.
    pub(super) a: (String, String),
    pub(super) b: (String, String),
}

impl Shop {
    pub(super) async fn new(app: &TestApp, fx: &Fixture) -> Self {
        let s = &fx.steward;
        let app_id = mutate(
            app,
            s,
            "createApp",
            "CreateAppInput",
            "app { id }",
            json!({ "slug": "matrix-site", "name": "Site" }),
        )
        .await["app"]["id"]
            .clone();
        let version = mutate(
            app,
            s,
            "publishAppVersion",
            "PublishAppVersionInput",
            "appVersion { id }",
            json!({ "appId": app_id, "version": "1.0.0+1.27", "recipe": { "image": "nginx", "tag": "1.27" } }),
        )
        .await["appVersion"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let plan = mutate(
            app,
            s,
            "createPlan",
            "CreatePlanInput",
            "plan { id }",
            json!({ "code": "matrix", "name": "M", "currency": "EUR", "baseFee": "1", "interval": "month", "includedQuota": quota(10, 1 << 20, 0, 1, 1) }),
        )
        .await["plan"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut placed = Vec::new();
        for w in [&fx.a, &fx.b] {
            let order = mutate(
                app,
                s,
                "placeOrder",
                "PlaceOrderInput",
                "order { id lines { appInstallId } }",
                json!({ "customerId": w.customer_id, "idempotencyKey": format!("matrix-{}", w.reseller_id), "lines": [{ "appInstall": { "tenantId": w.tenant_id, "appVersionId": version } }] }),
            )
            .await["order"]
                .clone();
            placed.push((
                order["id"].as_str().unwrap().to_owned(),
                order["lines"][0]["appInstallId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ));
        }
        app.run_pending_jobs().await;
        let b = placed.pop().unwrap();
        let a = placed.pop().unwrap();
        let invoices = billing_worlds(app, fx, &plan).await;
        Self {
            plan,
            a,
            b,
            invoices,
        }
    }

    pub(super) fn invoice(&self, fx: &Fixture, w: &World) -> &(String, String) {
        if w.reseller_id == fx.a.reseller_id {
            &self.invoices[0]
        } else {
            &self.invoices[1]
        }
    }

    pub(super) fn of(&self, fx: &Fixture, w: &World) -> &(String, String) {
        if w.reseller_id == fx.a.reseller_id {
            &self.a
        } else {
            &self.b
        }
    }
}

/// Puts both worlds' tenants on `plan` since last month, with usage now,
/// closes last month and pays each retail invoice a cent; returns each
/// world's (retail invoice, payment).
async fn billing_worlds(app: &TestApp, fx: &Fixture, plan: &str) -> [(String, String); 2] {
    use coplane_domain::Clock;
    use coplane_domain::billing::close;
    let now = app.clock.now();
    let (this_month, _) = close::month_of(now);
    let (last_month, _) = close::month_of(this_month - chrono::Duration::seconds(1));
    let plan_id = crate::tenancy::fixture::uuid_of(plan);
    for w in [&fx.a, &fx.b] {
        let t = crate::tenancy::fixture::uuid_of(&w.tenant_id);
        app.execute(
            "UPDATE tenants SET plan_id = $1, created_at = $2 WHERE id = $3",
            vec![plan_id.into(), last_month.into(), t.into()],
        )
        .await;
        let actor = coplane_domain::auth::Actor {
            principal: coplane_domain::auth::Principal {
                subject: "steward".into(),
                roles: vec![coplane_domain::auth::Role::Steward],
                ..Default::default()
            },
            request_id: String::new(),
        };
        let row = coplane_domain::billing::usage::UsageRow {
            tenant: t.to_string(),
            metric: "cpu_core_hours".into(),
            quantity: "1".into(),
            timestamp: now.to_rfc3339(),
            idempotency_key: "matrix".into(),
            properties: None,
        };
        coplane_domain::billing::usage::ingest(&app.db, &actor, vec![row], now)
            .await
            .unwrap();
    }
    close::close(&app.db, last_month, close::CloseOptions::default(), now)
        .await
        .unwrap();
    for w in [&fx.a, &fx.b] {
        mutate(
            app,
            &fx.steward,
            "setOverduePolicy",
            "SetOverduePolicyInput",
            "policy { version }",
            json!({ "resellerId": w.reseller_id, "steps": [] }),
        )
        .await;
    }
    let mut out = Vec::new();
    for w in [&fx.a, &fx.b] {
        let body = app
            .graphql(
                "{ invoices(first: 50) { edges { node { id layer } } } }",
                Some(&w.reseller_token),
            )
            .await;
        let id = body["data"]["invoices"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["layer"] == "retail")
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .expect("a retail invoice");
        let payment = mutate(
            app,
            &fx.steward,
            "recordPayment",
            "RecordPaymentInput",
            "payment { id }",
            json!({ "invoiceId": id, "amount": "0.01", "method": "bank_transfer", "idempotencyKey": format!("matrix-{id}") }),
        )
        .await["payment"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        out.push((id, payment));
    }
    app.run_pending_jobs().await;
    [out.remove(0), out.remove(0)]
}
