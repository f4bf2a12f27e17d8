//! The built `coplane` binary as an operator runs it: started in a fresh
//! directory, driven from bash and curl, stopped with a signal. Each test
//! checks what a person at a terminal would see.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_coplane");

/// A fresh directory, removed on drop unless the test failed (then its
/// path is printed, with the server's log in it).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "coplane-process-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(path.join("work")).expect("creating a temporary directory");
        Self(path.canonicalize().expect("canonical temporary directory"))
    }

    /// The root, holding logs and whatever the test writes.
    fn root(&self) -> &Path {
        &self.0
    }

    /// The empty directory coplane runs in.
    fn work(&self) -> PathBuf {
        self.0.join("work")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A port nobody listens on (a moment ago).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `coplane ARGS` in `dir`, with none of this environment's coplane or
/// Kubernetes settings, HOME in the test's directory, output to files in it.
fn coplane(tmp: &TempDir, name: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(tmp.work());
    clean_env(&mut cmd, tmp);
    cmd.stdin(Stdio::null())
        .stdout(log_file(tmp, &format!("{name}.stdout")))
        .stderr(log_file(tmp, &format!("{name}.stderr")));
    cmd
}

fn clean_env(cmd: &mut Command, tmp: &TempDir) {
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("COPLANE") || k.starts_with("KUBE") || k == "RUST_LOG" || k == "NO_COLOR" {
            cmd.env_remove(&key);
        }
    }
    cmd.env("HOME", tmp.root());
}

fn log_file(tmp: &TempDir, name: &str) -> std::fs::File {
    std::fs::File::create(tmp.root().join(name)).expect("creating a log file")
}

fn read(tmp: &TempDir, name: &str) -> String {
    std::fs::read_to_string(tmp.root().join(name)).unwrap_or_default()
}

/// Both output streams of the command run as `name`.
fn output_of(tmp: &TempDir, name: &str) -> String {
    format!(
        "{}{}",
        read(tmp, &format!("{name}.stdout")),
        read(tmp, &format!("{name}.stderr"))
    )
}

/// Waits for `child` at most `limit`; `None` if it still runs (then it is killed).
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `coplane up`, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Starts `coplane up` in `tmp` on a free port, writing to
/// `manifests:<tmp>/manifests`, and waits until `/healthz` answers.
fn start_up(tmp: &TempDir) -> Server {
    let port = free_port();
    let manifests = tmp.root().join("manifests");
    let child = coplane(tmp, "server", &["up"])
        .env("COPLANE_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "COPLANE_KUBE_TARGET",
            format!("manifests:{}", manifests.display()),
        )
        .spawn()
        .expect("starting coplane up");
    let mut server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if healthz(port) {
            return server;
        }
        if let Some(status) = server.child.try_wait().expect("waiting for coplane up") {
            panic!(
                "coplane up exited ({status}) before answering /healthz:\n{}",
                output_of(tmp, "server")
            );
        }
        assert!(
            Instant::now() < deadline,
            "coplane up did not answer /healthz within 60 s:\n{}",
            output_of(tmp, "server")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `GET /healthz` answers 200.
fn healthz(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
}

// ---------------------------------------------------------------------------
// The README's walkthrough.

/// A run of walkthrough lines and the answer the README shows for them.
#[derive(Debug)]
struct Step {
    code: String,
    /// The `# {…}` comment after the code, as JSON text; `None`: prints nothing.
    expected: Option<String>,
}

/// The `sh` blocks between the walkthrough's heading and the next `## `.
fn walkthrough_blocks(readme: &str) -> Vec<String> {
    let start = readme
        .find("\n## Walkthrough")
        .expect("the README has a `## Walkthrough` section");
    let section = &readme[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let section = &section[..end];
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in section.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed sh block in the walkthrough");
    blocks
}

/// Splits the blocks into steps: the code up to each `# {` comment (which
/// may go on over following `#` lines until it is whole JSON) is a step
/// expecting that answer; code after the last comment of a block prints
/// nothing.
fn steps(blocks: &[String]) -> Vec<Step> {
    let mut steps = Vec::new();
    for block in blocks {
        let mut code: Vec<&str> = Vec::new();
        let mut lines = block.lines();
        while let Some(line) = lines.next() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("# {") || trimmed.starts_with("# [") {
                let mut text = trimmed[2..].trim().to_owned();
                while serde_json::from_str::<Value>(&text).is_err() {
                    let next = lines.next().unwrap_or_else(|| {
                        panic!("the answer comment `{text}` in the walkthrough is not JSON")
                    });
                    let next = next.trim_start().strip_prefix('#').unwrap_or_else(|| {
                        panic!("the answer comment `{text}` in the walkthrough is not JSON")
                    });
                    text.push_str(next.trim());
                }
                assert!(
                    code.iter().any(|l| !l.trim().is_empty()),
                    "the answer `{text}` in the walkthrough follows no command"
                );
                steps.push(Step {
                    code: code.join("\n"),
                    expected: Some(text),
                });
                code.clear();
            } else {
                code.push(line);
            }
        }
        if code.iter().any(|l| !l.trim().is_empty()) {
            steps.push(Step {
                code: code.join("\n"),
                expected: None,
            });
        }
    }
    steps
}

/// Whether `actual` is what the README shows: the same JSON, where a string
/// ending in `…` is a prefix of a longer string.
fn compare(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(e), Value::String(a)) => {
            let ok = match e.strip_suffix('…') {
                Some(prefix) => a.starts_with(prefix) && a.len() > prefix.len(),
                None => e == a,
            };
            if ok {
                Ok(())
            } else {
                Err(format!("at {at}: expected {e:?}, got {a:?}"))
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            let ek: Vec<&String> = e.keys().collect();
            let ak: Vec<&String> = a.keys().collect();
            if ek != ak {
                return Err(format!("at {at}: expected the keys {ek:?}, got {ak:?}"));
            }
            for (k, ev) in e {
                compare(ev, &a[k], &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "at {at}: expected {} items, got {}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(ev, av, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("at {at}: expected {expected}, got {actual}")),
    }
}

#[test]
fn the_walkthrough_parser_and_comparison_hold_to_their_rules() {
    let blocks = vec![
        "A=1\ngql x\n# {\"a\":[1,\n#   \"b…\"]}\nB=2".to_owned(),
        "# a remark\nC=3".to_owned(),
    ];
    let s = steps(&blocks);
    assert_eq!(s.len(), 3, "{s:?}");
    assert_eq!(s[0].code, "A=1\ngql x");
    assert_eq!(s[0].expected.as_deref(), Some("{\"a\":[1,\"b…\"]}"));
    assert_eq!(
        (s[1].code.as_str(), s[1].expected.as_deref()),
        ("B=2", None)
    );
    assert_eq!(s[2].code, "# a remark\nC=3");
    let expected: Value = serde_json::from_str(s[0].expected.as_deref().unwrap_or("")).unwrap();
    let ok = serde_json::json!({"a": [1, "bcd"]});
    assert_eq!(compare(&expected, &ok, "$"), Ok(()));
    for bad in [
        serde_json::json!({"a": [1, "b"]}),
        serde_json::json!({"a": [1, "xbc"]}),
        serde_json::json!({"a": [1, "bcd"], "extra": 1}),
        serde_json::json!({"a": [1, "bcd", 2]}),
        serde_json::json!({"a": [2, "bcd"]}),
    ] {
        assert!(compare(&expected, &bad, "$").is_err(), "{bad}");
    }
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("reading README.md");
    let blocks = walkthrough_blocks(&readme);
    assert!(
        blocks.len() >= 4,
        "the walkthrough has {} sh blocks",
        blocks.len()
    );
    let steps = steps(&blocks);
    let answers = steps.iter().filter(|s| s.expected.is_some()).count();
    assert!(
        answers >= 8,
        "the walkthrough shows {answers} answers; expected its eight requests"
    );

    let tmp = TempDir::new("walkthrough");
    let server = start_up(&tmp);

    // One bash session, as if the blocks were pasted in order; a marker
    // before each step separates the steps' output.
    let marker = |n: usize| format!("==coplane-walkthrough-step {n}==");
    let mut script = String::new();
    for (n, step) in steps.iter().enumerate() {
        script.push_str(&format!("printf '\\n%s\\n' '{}'\n", marker(n)));
        script.push_str(&step.code);
        script.push('\n');
    }
    script.push_str(&format!("printf '\\n%s\\n' '{}'\n", marker(steps.len())));
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", &script])
        .current_dir(tmp.work());
    clean_env(&mut cmd, &tmp);
    let mut bash = cmd
        .env("COPLANE", BIN)
        .env(
            "GRAPHQL",
            format!("http://127.0.0.1:{}/graphql", server.port),
        )
        .stdin(Stdio::null())
        .stdout(log_file(&tmp, "walkthrough.stdout"))
        .stderr(log_file(&tmp, "walkthrough.stderr"))
        .spawn()
        .expect("starting bash");
    let status = wait_at_most(&mut bash, Duration::from_secs(120));
    let stdout = read(&tmp, "walkthrough.stdout");
    let stderr = read(&tmp, "walkthrough.stderr");

    // Each step's output: between its marker and the next.
    let mut outputs = Vec::new();
    let mut rest = stdout.as_str();
    for n in 0..=steps.len() {
        let m = format!("\n{}\n", marker(n));
        match rest.find(&m) {
            Some(i) => {
                if n > 0 {
                    outputs.push(rest[..i].trim().to_owned());
                }
                rest = &rest[i + m.len()..];
            }
            None => {
                if n > 0 {
                    outputs.push(rest.trim().to_owned());
                }
                break;
            }
        }
    }
    let mut failures = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let Some(output) = outputs.get(n) else {
            break;
        };
        let problem = match &step.expected {
            None if output.is_empty() => None,
            None => Some(format!("printed {output:?}, the README shows nothing")),
            Some(expected) => {
                let expected: Value = serde_json::from_str(expected).expect("checked JSON");
                match serde_json::from_str::<Value>(output) {
                    Err(e) => Some(format!("printed {output:?}, not JSON ({e})")),
                    Ok(actual) => compare(&expected, &actual, "$")
                        .err()
                        .map(|e| format!("{e}\n  printed: {output}")),
                }
            }
        };
        if let Some(p) = problem {
            failures.push(format!("step {n}:\n{}\n  {p}", step.code));
        }
    }
    let finished = outputs.len() == steps.len() && rest.trim().is_empty();
    let succeeded = status.is_some_and(|s| s.success());
    if !failures.is_empty() || !finished || !succeeded {
        let stopped_in = steps.get(outputs.len().saturating_sub(1));
        panic!(
            "the walkthrough does not run as written (bash: {}):\n{}\n\
             {}\nbash's stderr:\n{stderr}\nthe server's log:\n{}",
            status.map_or("timed out after 120 s".into(), |s| s.to_string()),
            failures.join("\n"),
            if finished {
                String::new()
            } else {
                format!(
                    "it stopped in step {}:\n{}\n",
                    outputs.len().saturating_sub(1),
                    stopped_in.map_or("", |s| s.code.as_str())
                )
            },
            output_of(&tmp, "server")
        );
    }
    drop(server);
}

// ---------------------------------------------------------------------------
// Start and stop.

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
