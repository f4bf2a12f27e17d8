//! Order and tenant updates over `/graphql/ws`, and the socket helpers the
//! other subscription tests use.

use futures::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{catalog, place_ok};
use crate::TestApp;
use crate::tenancy::fixture::Fixture;

/// `orderUpdated` over `/graphql/ws`: the order now, then at each change,
/// ending when it settles; a caller outside the reseller gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_updates_stream_over_the_websocket() {
    use futures::StreamExt;

    let app = crate::spawn_app(if crate::postgres_available() {
        crate::Backend::Postgres
    } else {
        crate::Backend::Sqlite
    })
    .await;
    let f = Fixture::new(&app).await;
    let c = catalog(&app, &f.steward).await;
    let placed = place_ok(
        &app,
        &f.a.reseller_token,
        &f.a.customer_id,
        "ws",
        json!([{ "appInstall": { "tenantId": f.a.tenant_id, "appVersionId": c.site_v1 } }]),
    )
    .await;
    let id = placed["id"].as_str().unwrap().to_owned();

    let order = "subscription($id: ID!) { orderUpdated(id: $id) { id state } }";
    let connect = |token: String| {
        let (app, id) = (&app, id.clone());
        async move { subscribe(app, &token, "1", order, json!({ "id": id })).await }
    };
    let mut ws = connect(f.a.reseller_token.clone()).await;
    let first = next(&mut ws).await;
    assert_eq!(
        first["payload"]["data"]["orderUpdated"]["state"], "pending",
        "{first}"
    );
    app.run_pending_jobs().await;
    let mut states = Vec::new();
    loop {
        let msg = next(&mut ws).await;
        if msg["type"] == "complete" {
            break;
        }
        states.push(
            msg["payload"]["data"]["orderUpdated"]["state"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        states.last().map(String::as_str),
        Some("fulfilled"),
        "{states:?}"
    );

    // The tenant: its state now, over the same protocol.
    let mut tenant = connect(f.a.reseller_token.clone()).await;
    tenant
        .send(Message::text(
            json!({ "id": "2", "type": "subscribe", "payload": { "query": "subscription($id: ID!) { tenantUpdated(id: $id) { slug state } }", "variables": { "id": f.a.tenant_id } } }).to_string(),
        ))
        .await
        .unwrap();
    let mut slugs = Vec::new();
    while slugs.is_empty() {
        let msg = next(&mut tenant).await;
        if msg["id"] == "2" {
            slugs.push(msg["payload"]["data"]["tenantUpdated"]["slug"].clone());
        }
    }
    assert_eq!(slugs, [json!("alpha-shop")]);
    drop(tenant);

    // Another reseller's subscription completes without a single update.
    let mut theirs = connect(f.b.reseller_token.clone()).await;
    let msg = next(&mut theirs).await;
    assert_eq!(msg["type"], "complete", "{msg}");
    // A bad credential is refused at connection_init.
    let mut bad = connect("not-a-token".into()).await;
    let refused = tokio::time::timeout(std::time::Duration::from_secs(10), bad.next())
        .await
        .expect("an answer");
    assert!(
        matches!(refused, Some(Ok(Message::Close(_))) | None | Some(Err(_))),
        "{refused:?}"
    );
    app.finish().await;
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next protocol message that is not an ack or a ping.
pub async fn next(ws: &mut Socket) -> Value {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] != "connection_ack" && v["type"] != "ping" {
                return v;
            }
        }
    }
}

/// Opens `/graphql/ws` as `token` (graphql-transport-ws) and subscribes
/// with `query` as subscription `id`.
pub async fn subscribe(
    app: &TestApp,
    token: &str,
    id: &str,
    query: &str,
    variables: Value,
) -> Socket {
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
    let subscribe = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
    ws.send(Message::text(subscribe.to_string())).await.unwrap();
    ws
}
