//! localstripe, a stateful Stripe fake, started once per test process.
//!
//! The binary is `$COPLANE_LOCALSTRIPE`, else `localstripe` on `PATH`,
//! else the virtualenv `.ci/run` installs it into
//! (`~/.cache/coplane-localstripe/bin/localstripe`). Tests that need it fail
//! with that explanation when it is missing: they never skip silently.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

/// A running localstripe.
pub struct LocalStripe {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    client: reqwest::Client,
    _child: Child,
}

const KEY: &str = "sk_test_coplane";

fn binary() -> String {
    if let Ok(b) = std::env::var("COPLANE_LOCALSTRIPE") {
        return b;
    }
    let venv = format!(
        "{}/.cache/coplane-localstripe/bin/localstripe",
        std::env::var("HOME").unwrap_or_default()
    );
    if std::path::Path::new(&venv).exists() {
        return venv;
    }
    "localstripe".to_owned()
}

static STRIPE: OnceCell<LocalStripe> = OnceCell::const_new();

/// The process's localstripe, started on first use.
pub async fn localstripe() -> &'static LocalStripe {
    STRIPE
        .get_or_init(|| async {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port");
            let bin = binary();
            let child = Command::new(&bin)
                .args(["--port", &port.to_string(), "--from-scratch"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot start localstripe (`{bin}`: {e}); `bash .ci/run` installs it, \
                         or `pip install localstripe`, or set COPLANE_LOCALSTRIPE"
                    )
                });
            let base = format!("http://127.0.0.1:{port}");
            let client = reqwest::Client::new();
            for _ in 0..100 {
                if client
                    .get(format!("{base}/js.stripe.com/v3/"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    return LocalStripe {
                        base,
                        client,
                        _child: child,
                    };
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("localstripe did not answer on {base} within 10 s");
        })
        .await
}

impl LocalStripe {
    /// Sends every event to `url`, signed with `secret`.
    pub async fn register_webhook(&self, url: &str, secret: &str) {
        let id = format!("wh{}", uuid::Uuid::new_v4().simple());
        let res = self
            .client
            .post(format!("{}/_config/webhooks/{id}", self.base))
            .form(&[("url", url), ("secret", secret)])
            .send()
            .await
            .expect("localstripe answers");
        assert!(
            res.status().is_success(),
            "registering a webhook: {}",
            res.status()
        );
    }

    /// `GET` a Stripe path as JSON.
    pub async fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.base))
            .basic_auth(KEY, Some(""))
            .send()
            .await
            .expect("localstripe answers")
            .json()
            .await
            .expect("JSON")
    }

    /// Pays an intent as a browser would: attaches the card, confirms.
    /// `Err` carries Stripe's error body when the card is declined.
    pub async fn pay(&self, intent: &str, card: &str) -> Result<Value, Value> {
        let set = self
            .client
            .post(format!("{}/v1/payment_intents/{intent}", self.base))
            .basic_auth(KEY, Some(""))
            .form(&[("payment_method", card)])
            .send()
            .await
            .expect("localstripe answers");
        assert!(
            set.status().is_success(),
            "attaching {card}: {}",
            set.status()
        );
        let res = self
            .client
            .post(format!("{}/v1/payment_intents/{intent}/confirm", self.base))
            .basic_auth(KEY, Some(""))
            .send()
            .await
            .expect("localstripe answers");
        let ok = res.status().is_success();
        let body: Value = res.json().await.unwrap_or_default();
        if ok { Ok(body) } else { Err(body) }
    }
}
