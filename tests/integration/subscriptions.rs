//! Subscriptions end with their credential: a revoked API token or a JWT
//! past its `exp` gets one `UNAUTHENTICATED` error, then the stream ends.

use futures::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::orders::{Socket, next};
use crate::tenancy::fixture::{Fixture, mutate};
use crate::{Backend, TestApp, spawn_app};

/// Subscribes to `tenantUpdated(tenant)` as `token`.
async fn watch_tenant(app: &TestApp, token: &str, tenant: &str) -> Socket {
    let url = format!("{}/graphql/ws", app.address.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the websocket opens");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    ws.send(Message::text(init.to_string())).await.unwrap();
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription($id: ID!) { tenantUpdated(id: $id) { slug state } }",
        "variables": { "id": tenant } } });
    ws.send(Message::text(subscribe.to_string())).await.unwrap();
    ws
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

crate::test_both_backends!(a_revoked_api_token_ends_its_subscriptions, revoked_on);

async fn revoked_on(backend: Backend) {
    let app = spawn_app(backend).await;
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
    app.finish().await;
}

crate::test_both_backends!(a_jwt_past_its_exp_ends_its_subscriptions, expired_on);

async fn expired_on(backend: Backend) {
    let app = spawn_app(backend).await;
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
    app.finish().await;
}
