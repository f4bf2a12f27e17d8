//! Start and stop, refused starts, and the tokens the binary signs.

use serde_json::Value;

use super::*;

/// Runs `coplane up` with `env` in a fresh directory and expects it to stop
/// at once, failing; returns what it printed.
fn refused_start(tag: &str, env: &[(&str, &str)]) -> String {
    let tmp = TempDir::new(tag);
    let mut cmd = coplane(&tmp, "up", &["up"]);
    cmd.env("COPLANE_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env(
            "COPLANE_KUBE_TARGET",
            format!("manifests:{}", tmp.root().join("manifests").display()),
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("starting coplane up");
    let started = Instant::now();
    let status = wait_at_most(&mut child, Duration::from_secs(10));
    let output = output_of(&tmp, "up");
    let status =
        status.unwrap_or_else(|| panic!("coplane up with {env:?} still ran after 10 s:\n{output}"));
    assert!(
        !status.success(),
        "coplane up with {env:?} exited successfully:\n{output}"
    );
    assert!(
        !tmp.work().join("coplane.db").exists(),
        "coplane up with {env:?} created its database before refusing the settings"
    );
    assert!(
        !tmp.work().join("coplane-dev-jwt.key").exists(),
        "coplane up with {env:?} left a development key behind"
    );
    eprintln!("{tag}: refused in {:?}", started.elapsed());
    output
}

#[test]
fn a_bad_value_stops_the_start_naming_the_variable() {
    let output = refused_start("bad-algorithm", &[("COPLANE_JWT_ALGORITHM", "bogus")]);
    assert!(
        output.contains("COPLANE_JWT_ALGORITHM") && output.contains("bogus"),
        "the refusal names neither the variable nor the value:\n{output}"
    );
    let output = refused_start(
        "bad-templates",
        &[("COPLANE_MAIL_TEMPLATES", "/nonexistent")],
    );
    assert!(
        output.contains("COPLANE_MAIL_TEMPLATES") && output.contains("/nonexistent"),
        "the refusal names neither the variable nor the directory:\n{output}"
    );
}

#[test]
fn shutdown_finishes_within_the_drain_whatever_kubernetes_does() {
    // A cluster that accepts connections and never says a word.
    let silent = TcpListener::bind("127.0.0.1:0").expect("binding a silent API server");
    let silent_port = silent.local_addr().expect("its address").port();
    let tmp = TempDir::new("silent-cluster");
    let kubeconfig = tmp.root().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: silent\n\
             clusters:\n- name: silent\n  cluster:\n    server: https://127.0.0.1:{silent_port}\n    insecure-skip-tls-verify: true\n\
             contexts:\n- name: silent\n  context:\n    cluster: silent\n    user: silent\n\
             users:\n- name: silent\n  user:\n    token: not-a-real-token\n"
        ),
    )
    .expect("writing a kubeconfig");
    let mut child = coplane(&tmp, "up", &["up"])
        .env("COPLANE_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("COPLANE_LOG_FORMAT", "json")
        .env("KUBECONFIG", &kubeconfig)
        .spawn()
        .expect("starting coplane up");
    let started = Instant::now();
    let status = wait_at_most(&mut child, Duration::from_secs(20));
    let elapsed = started.elapsed();
    let output = output_of(&tmp, "up");
    drop(silent);
    let status = status.unwrap_or_else(|| {
        panic!("coplane up against a silent cluster still ran after 20 s:\n{output}")
    });
    assert!(
        !status.success(),
        "coplane up against a silent cluster exited successfully:\n{output}"
    );
    assert_eq!(
        output.matches("cannot reach Kubernetes").count(),
        1,
        "expected one line saying the cluster cannot be reached:\n{output}"
    );
    assert!(
        output.contains("cannot reach Kubernetes for cluster default (kubeconfig)"),
        "the refusal does not name the cluster:\n{output}"
    );
    let complaints = output
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\"") || l.contains("\"level\":\"WARN\""))
        .count();
    assert_eq!(
        complaints, 0,
        "expected one clear line, not a stream of errors:\n{output}"
    );
    eprintln!("silent cluster: refused in {elapsed:?}");

    // A working process stops on SIGINT within the drain.
    let tmp = TempDir::new("sigint");
    let mut server = start_up(&tmp);
    let pid = server.child.id().to_string();
    let interrupted = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("running kill");
    assert!(kill.success(), "kill -INT {pid} failed");
    let status = wait_at_most(&mut server.child, Duration::from_secs(35));
    let elapsed = interrupted.elapsed();
    let output = output_of(&tmp, "server");
    let status =
        status.unwrap_or_else(|| panic!("coplane up still ran 35 s after SIGINT:\n{output}"));
    assert!(
        status.success(),
        "coplane up stopped by SIGINT exited with {status}:\n{output}"
    );
    assert!(
        output.contains("signal received; shutting down"),
        "coplane up did not say it was shutting down:\n{output}"
    );
    eprintln!("SIGINT: stopped in {elapsed:?}");
}

#[test]
fn a_token_is_signed_with_the_servers_key_or_refused() {
    // No key: refused, naming the file it looked for, and no key is made.
    let tmp = TempDir::new("token");
    let status = coplane(&tmp, "nokey", &["token", "--role", "steward", "--sub", "x"])
        .status()
        .expect("running coplane token");
    let output = output_of(&tmp, "nokey");
    let key = tmp.work().join("coplane-dev-jwt.key");
    assert!(!status.success(), "a token without a key:\n{output}");
    assert!(
        output.contains(&key.display().to_string()),
        "the refusal does not name {}:\n{output}",
        key.display()
    );
    assert!(
        read(&tmp, "nokey.stdout").trim().is_empty(),
        "a refused token printed something on stdout:\n{output}"
    );
    assert!(!key.exists(), "coplane token created a key of its own");

    // With the server's key: a token that key verifies.
    let secret = "5f0c2d7e9a41b3c8d6e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0";
    std::fs::write(&key, format!("{secret}\n")).expect("writing a key");
    let status = coplane(
        &tmp,
        "withkey",
        &["token", "--role", "steward", "--sub", "x"],
    )
    .status()
    .expect("running coplane token");
    let output = output_of(&tmp, "withkey");
    assert!(status.success(), "a token with the key:\n{output}");
    let token = read(&tmp, "withkey.stdout").trim().to_owned();
    let claims = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
    )
    .unwrap_or_else(|e| panic!("the key does not verify the token {token:?}: {e}"))
    .claims;
    assert_eq!(claims["sub"], "x", "{claims}");
    assert_eq!(claims["roles"], serde_json::json!(["steward"]), "{claims}");
    assert!(
        jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(&[b'x'; 64]),
            &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
        )
        .is_err(),
        "another key verifies the token too"
    );

    // A member's id where a reseller's is asked for: refused, naming both.
    let uuid = "01a23362-21d5-7257-a7f9-d9a51f4ae8d0";
    let member = base64url(&format!("Member:{uuid}"));
    let reseller = base64url(&format!("Reseller:{uuid}"));
    let status = coplane(
        &tmp,
        "member-as-reseller",
        &[
            "token",
            "--role",
            "reseller",
            "--sub",
            "shop",
            "--reseller",
            &member,
        ],
    )
    .status()
    .expect("running coplane token");
    let output = output_of(&tmp, "member-as-reseller");
    assert!(
        !status.success(),
        "a Member id taken as a reseller:\n{output}"
    );
    assert!(
        output.contains("Member") && output.contains("Reseller") && output.contains(&member),
        "the refusal does not name the id and both kinds:\n{output}"
    );
    assert!(
        read(&tmp, "member-as-reseller.stdout").trim().is_empty(),
        "a refused token printed something on stdout:\n{output}"
    );
    let status = coplane(
        &tmp,
        "reseller",
        &[
            "token",
            "--role",
            "reseller",
            "--sub",
            "shop",
            "--reseller",
            &reseller,
        ],
    )
    .status()
    .expect("running coplane token");
    let output = output_of(&tmp, "reseller");
    assert!(status.success(), "a Reseller id refused:\n{output}");
    let token = read(&tmp, "reseller.stdout").trim().to_owned();
    let claims = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
        &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
    )
    .unwrap_or_else(|e| panic!("the key does not verify the token {token:?}: {e}"))
    .claims;
    assert_eq!(claims["reseller_id"], uuid, "{claims}");
}

/// Base64url without padding, as global ids are.
fn base64url(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
