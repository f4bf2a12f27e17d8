//! A real SMTP server as the mail sink: aiosmtpd writing a maildir,
//! started once per test process. Tests find their mail by recipient.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

/// A running sink.
pub struct MailSink {
    /// `smtp://127.0.0.1:PORT`, for `COPLANE_SMTP_URL`.
    pub url: String,
    dir: std::path::PathBuf,
    _child: Child,
}

/// One received message.
#[derive(Clone, Debug)]
pub struct Received {
    /// Its raw text (headers and MIME parts).
    pub raw: String,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let mut lines = self.raw.lines().take_while(|l| !l.is_empty());
        let mut value: Option<String> = None;
        for line in lines.by_ref() {
            if let Some(v) = &mut value {
                if line.starts_with(' ') || line.starts_with('\t') {
                    v.push_str(line.trim_start());
                    continue;
                }
                break;
            }
            if line.to_ascii_lowercase().starts_with(&prefix) {
                value = Some(line[prefix.len()..].trim().to_owned());
            }
        }
        value
    }
}

static SINK: OnceCell<MailSink> = OnceCell::const_new();

fn python() -> String {
    if let Ok(p) = std::env::var("COPLANE_PYTHON") {
        return p;
    }
    let venv = format!(
        "{}/.cache/coplane-localstripe/bin/python",
        std::env::var("HOME").unwrap_or_default()
    );
    if std::path::Path::new(&venv).exists() {
        venv
    } else {
        "python3".to_owned()
    }
}

/// The process's sink, started on first use.
pub async fn mail_sink() -> &'static MailSink {
    SINK.get_or_init(|| async {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let dir = std::env::temp_dir().join(format!("coplane-mail-{}", uuid::Uuid::new_v4().simple()));
        let py = python();
        let child = Command::new(&py)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aiosmtpd with `{py}`: {e}; `bash .ci/run` installs it"));
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return MailSink {
                    url: format!("smtp://127.0.0.1:{port}"),
                    dir,
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on {port} within 10 s (is it installed? `bash .ci/run` installs it)");
    })
    .await
}

impl MailSink {
    /// Every message to `recipient`, in arrival order.
    pub fn to(&self, recipient: &str) -> Vec<Received> {
        let mut found: Vec<(std::time::SystemTime, String, Received)> = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(raw) = std::fs::read_to_string(e.path()) else {
                    continue;
                };
                let m = Received { raw };
                if m.header("To").is_some_and(|t| t.contains(recipient)) {
                    let at = e
                        .metadata()
                        .and_then(|md| md.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    found.push((at, e.file_name().to_string_lossy().into_owned(), m));
                }
            }
        }
        found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        found.into_iter().map(|(_, _, m)| m).collect()
    }

    /// Waits until `recipient` has `n` messages (mail is sent by jobs the
    /// test runs, so it is there once they ran; this allows for the sink's write).
    pub async fn wait_for(&self, recipient: &str, n: usize) -> Vec<Received> {
        for _ in 0..100 {
            let got = self.to(recipient);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got = self.to(recipient);
        panic!("{recipient} has {} message(s), expected {n}", got.len());
    }
}
