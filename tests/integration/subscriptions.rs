//! Subscriptions end with their credential: a revoked API token or a JWT
//! past its `exp` gets one `UNAUTHENTICATED` error, then the stream ends.

use serde_json::{Value, json};

use crate::orders::{Socket, next, subscribe};
use crate::tenancy::fixture::{Fixture, mutate};
use crate::{Backend, TestApp, spawn_app};

/// Subscribes to `tenantUpdated(tenant)` as `token`.
async fn watch_tenant(app: &TestApp, token: &str, tenant: &str) -> Socket {
    let query = "subscription($id: ID!) { tenantUpdated(id: $id) { slug state } }";
    subscribe(app, token, "1", query, json!({ "id": tenant })).await
}

/// The messages until the stream completes.
async fn rest(ws: &mut Socket) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let msg = next(ws).await;
        let done = msg["type"] == "complete";
        out.push(msg);
        if done {
            return out;
        }
    }
}

fn ended_unauthenticated(msgs: &[Value]) {
    let codes: Vec<&Value> = msgs
        .iter()
        .map(|m| &m["payload"]["errors"][0]["extensions"]["code"])
        .collect();
    assert!(codes.contains(&&json!("UNAUTHENTICATED")), "{msgs:?}");
    assert_eq!(msgs.last().unwrap()["type"], "complete", "{msgs:?}");
    // Nothing after the credential ended but the completion.
    assert!(
        msgs.iter()
            .all(|m| m["payload"]["data"]["tenantUpdated"].is_null()),
        "{msgs:?}"
    );
}

crate::test_both_dbs!(a_revoked_api_token_ends_its_subscriptions, |app| {
    let f = Fixture::new(&app).await;
    app.run_pending_jobs().await;
    let mut ws = watch_tenant(&app, &f.a.integration_token, &f.a.tenant_id).await;
    let first = next(&mut ws).await;
    assert_eq!(
        first["payload"]["data"]["tenantUpdated"]["slug"], "alpha-shop",
        "{first}"
    );
    mutate(
        &app,
        &f.a.reseller_token,
        "revokeApiToken",
        "RevokeApiTokenInput",
        "apiToken { id }",
        json!({ "id": f.a.integration_token_id }),
    )
    .await;
    ended_unauthenticated(&rest(&mut ws).await);
});

crate::test_both_dbs!(a_jwt_past_its_exp_ends_its_subscriptions, |app| {
    let f = Fixture::new(&app).await;
    app.run_pending_jobs().await;
    let mut ws = watch_tenant(&app, &f.a.reseller_token, &f.a.tenant_id).await;
    let first = next(&mut ws).await;
    assert_eq!(
        first["payload"]["data"]["tenantUpdated"]["slug"], "alpha-shop",
        "{first}"
    );
    // The fixture's tokens live an hour.
    app.clock.advance(chrono::Duration::hours(2));
    ended_unauthenticated(&rest(&mut ws).await);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_holds_a_bounded_number_of_subscriptions() {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_app(Backend::Sqlite).await;
    let f = Fixture::new(&app).await;
    app.run_pending_jobs().await;
    let query = "subscription($id: ID!) { tenantUpdated(id: $id) { slug } }";
    let mut ws = subscribe(
        &app,
        &f.a.reseller_token,
        "0",
        query,
        json!({ "id": f.a.tenant_id }),
    )
    .await;
    for i in 1..=16 {
        let msg = json!({ "id": i.to_string(), "type": "subscribe",
                          "payload": { "query": query, "variables": { "id": f.a.tenant_id } } });
        ws.send(Message::text(msg.to_string())).await.unwrap();
    }
    // Sixteen get their tenant; the seventeenth is refused.
    let mut delivered = 0;
    let mut refused = Vec::new();
    while delivered + refused.len() < 17 {
        let msg = next(&mut ws).await;
        if msg["payload"]["data"]["tenantUpdated"]["slug"] == "alpha-shop" {
            delivered += 1;
        } else if msg["type"] == "next" || msg["type"] == "error" {
            refused.push(msg);
        }
    }
    assert_eq!(delivered, 16);
    let code = &refused[0]["payload"]["errors"][0]["extensions"]["code"];
    let code = if code.is_null() {
        &refused[0]["payload"][0]["extensions"]["code"]
    } else {
        code
    };
    assert_eq!(code, "TOO_MANY_SUBSCRIPTIONS", "{refused:?}");
    app.finish().await;
}

crate::test_both_dbs!(the_socket_carries_subscriptions_only, |app| {
    let f = Fixture::new(&app).await;
    app.run_pending_jobs().await;
    // A mutation over the socket would skip the per-request checks of
    // POST /graphql: it is refused, and nothing is created.
    let before = crate::tenancy::fixture::count(&app, "customers").await;
    let create = "mutation { createCustomer(input: { name: \"Sneaky\", billingEmail: \"s@example.org\", country: \"DE\", currency: \"EUR\", taxRate: \"0.19\" }) { customer { id } } }";
    let mut ws = subscribe(&app, &f.a.reseller_token, "1", create, json!({})).await;
    let msg = next(&mut ws).await;
    let code = &msg["payload"][0]["extensions"]["code"];
    let code = if code.is_null() {
        &msg["payload"]["errors"][0]["extensions"]["code"]
    } else {
        code
    };
    assert_eq!(code, "SUBSCRIPTIONS_ONLY", "{msg}");
    assert_eq!(
        crate::tenancy::fixture::count(&app, "customers").await,
        before
    );
});
