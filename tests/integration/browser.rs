//! Pages in a real browser: Debian's Chromium, headless, with no network
//! beyond the server under test (`.ci/run` installs it).

use std::process::Command;

use crate::{Backend, spawn_app};

/// The DOM of `url` once its scripts ran, as headless Chromium renders it.
/// A missing browser fails the test, naming what to install: it is never a
/// pass.
pub fn rendered_dom(url: &str) -> String {
    let profile = std::env::temp_dir().join(format!(
        "coplane-chromium-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let output = Command::new(std::env::var("COPLANE_CHROMIUM").unwrap_or_else(|_| "chromium".into()))
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            // Anything but the server under test is unreachable, as with
            // the network unplugged.
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=127.0.0.1",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .unwrap_or_else(|e| {
            panic!("Chromium is needed for the page tests (apt-get install chromium; bash .ci/run does): {e}")
        });
    std::fs::remove_dir_all(&profile).ok();
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_renders_with_no_network_but_the_server() {
    let app = spawn_app(Backend::Sqlite).await;
    let url = format!("{}/graphql", app.address);
    let dom = tokio::task::spawn_blocking(move || rendered_dom(&url))
        .await
        .unwrap();
    // React rendered GraphiQL itself, not the page's loading placeholder.
    assert!(dom.contains("graphiql-container"), "{dom}");
    app.finish().await;
}
