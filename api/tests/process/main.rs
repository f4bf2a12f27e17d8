//! The built `coplane` binary as an operator runs it: started in a fresh
//! directory, driven from bash and curl, stopped with a signal. Each test
//! checks what a person at a terminal would see.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

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

mod lifecycle;
mod walkthrough;
