//! Typed settings: defaults, then an optional TOML file, then `COPLANE_*`
//! environment variables over it. Every key of the file is the variable's
//! name without `COPLANE_`, in lower case (`database_url = "…"`).
//!
//! A bad value fails at start with a message that names the variable and
//! says what is wrong; an unknown key in the file is an error (a typo would
//! otherwise be ignored silently), an unknown `COPLANE_*` variable a warning.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use coplane_worker::kube_target::KubeTarget;
use jsonwebtoken::Algorithm;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Every setting's key; the README's configuration table documents each
/// (a test checks it does).
pub const KEYS: &[&str] = &[
    "database_url",
    "database_max_connections",
    "listen",
    "jwt_secret",
    "jwt_jwks_url",
    "jwt_issuer",
    "jwt_audience",
    "jwt_algorithm",
    "dev_key_file",
    "stripe_secret_key",
    "stripe_webhook_secret",
    "stripe_api_base",
    "smtp_url",
    "mail_from",
    "mail_templates",
    "kube_target",
    "worker_concurrency",
    "job_poll_interval",
    "job_lease",
    "failed_job_retention",
    "namespace_retention",
    "ingress_namespaces",
    "app_domain",
    "log_format",
];

/// A setting that is missing, malformed or inconsistent.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value that does not parse or breaks a rule.
    #[error("invalid configuration: {var}: {message}")]
    Invalid {
        /// The environment variable naming the setting.
        var: String,
        /// What is wrong.
        message: String,
    },
    /// The configuration file cannot be read or parsed.
    #[error("invalid configuration file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn invalid(key: &str, message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        var: env_name(key),
        message: message.into(),
    }
}

fn env_name(key: &str) -> String {
    format!("COPLANE_{}", key.to_uppercase())
}

/// The database.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// Connection URL (may hold a password: see [`DatabaseSettings::redacted_url`]).
    pub url: SecretString,
    /// PostgreSQL pool size.
    pub max_connections: u32,
    /// Whether the URL was the default embedded SQLite file.
    pub is_default: bool,
}

impl DatabaseSettings {
    /// The URL with any password replaced, for logs and errors.
    pub fn redacted_url(&self) -> String {
        redact(self.url.expose_secret())
    }

    /// Whether this is an SQLite database.
    pub fn is_sqlite(&self) -> bool {
        self.url.expose_secret().starts_with("sqlite:")
    }
}

fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// How JWTs are verified.
#[derive(Clone, Debug)]
pub enum JwtSettings {
    /// HS256 with a shared secret.
    Hs256 {
        /// The secret.
        secret: SecretString,
        /// Where it came from, for the start-up log.
        source: String,
    },
    /// Keys of an OIDC provider.
    Jwks {
        /// The JWKS document.
        url: Url,
        /// Required `iss`.
        issuer: String,
        /// Required `aud`.
        audience: String,
        /// The one accepted algorithm.
        algorithm: Algorithm,
    },
}

/// Stripe, the payment rail.
#[derive(Clone, Debug, Default)]
pub struct BillingSettings {
    /// Secret API key.
    pub stripe_secret_key: Option<SecretString>,
    /// Webhook signing secret.
    pub stripe_webhook_secret: Option<SecretString>,
    /// API base URL override.
    pub stripe_api_base: Option<Url>,
}

/// Outgoing mail.
#[derive(Clone, Debug)]
pub struct EmailSettings {
    /// SMTP URL (may hold credentials).
    pub smtp_url: Option<SecretString>,
    /// Sender of the co-op's mail.
    pub from: String,
    /// A directory of mail templates replacing the built-in ones.
    pub templates: Option<std::path::PathBuf>,
}

/// The Kubernetes side.
#[derive(Clone, Debug)]
pub struct KubeSettings {
    /// The target.
    pub target: KubeTarget,
    /// Why it was chosen, for the start-up log.
    pub reason: &'static str,
    /// How long a terminated tenant's namespace is kept.
    pub namespace_retention: Duration,
    /// Namespaces allowed to reach tenants' pods.
    pub ingress_namespaces: Vec<String>,
    /// Base domain of apps' ingress hosts.
    pub app_domain: String,
}

/// The job runner.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    /// Jobs run at once.
    pub concurrency: usize,
    /// Wait between polls of an empty queue.
    pub poll_interval: Duration,
    /// Claim length without renewal.
    pub lease: Duration,
    /// How long failed jobs are kept.
    pub failed_job_retention: Duration,
}

/// Log output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// All settings, typed and checked.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The database.
    pub database: DatabaseSettings,
    /// The HTTP listen address.
    pub listen: SocketAddr,
    /// JWT verification.
    pub jwt: JwtSettings,
    /// Stripe.
    pub billing: BillingSettings,
    /// Mail.
    pub email: EmailSettings,
    /// Kubernetes.
    pub kube: KubeSettings,
    /// Jobs.
    pub worker: WorkerSettings,
    /// Log output.
    pub log_format: LogFormat,
}

/// Raw values by key, before typing.
type Raw = BTreeMap<String, String>;

impl Settings {
    /// Loads settings from `config` (or `coplane.toml` if present) and the
    /// process environment.
    pub fn load(config: Option<&Path>) -> Result<Self, SettingsError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let (path, required) = match config {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("coplane.toml"), false),
        };
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(SettingsError::File {
                    path,
                    message: e.to_string(),
                });
            }
        };
        Self::from_sources(file.as_deref().map(|t| (path.as_path(), t)), env)
    }

    /// Builds settings from a TOML text and environment variables.
    pub fn from_sources(
        file: Option<(&Path, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut raw = Raw::new();
        if let Some((path, text)) = file {
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| SettingsError::File {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    })?;
            for (key, value) in table {
                if !KEYS.contains(&key.as_str()) {
                    return Err(SettingsError::File {
                        path: path.to_path_buf(),
                        message: format!("unknown key `{key}`"),
                    });
                }
                let value = match value {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                raw.insert(key, value);
            }
        }
        for (name, value) in env {
            let Some(key) = name.strip_prefix("COPLANE_") else {
                continue;
            };
            let key = key.to_lowercase();
            if KEYS.contains(&key.as_str()) {
                raw.insert(key, value);
            } else if !key.starts_with("test_") && !key.starts_with("e2e_") {
                tracing::warn!(variable = %name, "ignoring unknown COPLANE_ variable");
            }
        }
        Self::from_raw(&raw)
    }

    fn from_raw(raw: &Raw) -> Result<Self, SettingsError> {
        let get = |k: &str| value(raw, k);
        Ok(Self {
            database: database(get("database_url"), get("database_max_connections"))?,
            listen: parse_or(get("listen"), "listen", "127.0.0.1:8080", |s| {
                s.parse::<SocketAddr>().map_err(|_| {
                    format!("`{s}` is not an address (expected host:port, e.g. 127.0.0.1:8080)")
                })
            })?,
            jwt: jwt(raw)?,
            billing: BillingSettings {
                stripe_secret_key: get("stripe_secret_key").map(secret),
                stripe_webhook_secret: get("stripe_webhook_secret").map(secret),
                stripe_api_base: get("stripe_api_base")
                    .map(|s| http_url("stripe_api_base", s))
                    .transpose()?,
            },
            email: EmailSettings {
                smtp_url: get("smtp_url")
                    .map(|s| {
                        coplane_worker::context::Mailer::from_url(s)
                            .map(|_| secret(s))
                            .map_err(|e| invalid("smtp_url", format!("not a usable SMTP URL: {e}")))
                    })
                    .transpose()?,
                from: {
                    let from = get("mail_from").unwrap_or("coplane <noreply@localhost>");
                    from.parse::<lettre::message::Mailbox>()
                        .map_err(|e| invalid("mail_from", format!("not a mailbox: {e}")))?;
                    from.to_owned()
                },
                templates: get("mail_templates").map(std::path::PathBuf::from),
            },
            kube: {
                let (target, reason) = match get("kube_target") {
                    Some(s) => (
                        KubeTarget::parse(s).map_err(|e| invalid("kube_target", e.to_string()))?,
                        "set by COPLANE_KUBE_TARGET",
                    ),
                    None => KubeTarget::detect(PathBuf::from("coplane-manifests")),
                };
                KubeSettings {
                    target,
                    reason,
                    app_domain: parse_or(get("app_domain"), "app_domain", "apps.localhost", |s| {
                        let ok = s
                            .split('.')
                            .all(|l| coplane_domain::tenancy::parse_cluster(l).is_ok());
                        if ok {
                            Ok(s.to_owned())
                        } else {
                            Err(format!("`{s}` is not a domain name"))
                        }
                    })?,
                    namespace_retention: parse_or(
                        get("namespace_retention"),
                        "namespace_retention",
                        "30d",
                        |s| bounded(s, Duration::ZERO, Duration::from_secs(3650 * 86_400)),
                    )?,
                    ingress_namespaces: parse_or(
                        get("ingress_namespaces"),
                        "ingress_namespaces",
                        "ingress-nginx",
                        |s| {
                            let names: Vec<String> = s
                                .split(',')
                                .map(|n| n.trim().to_owned())
                                .filter(|n| !n.is_empty())
                                .collect();
                            match names
                                .iter()
                                .find(|n| coplane_domain::tenancy::parse_cluster(n).is_err())
                            {
                                Some(bad) => Err(format!("`{bad}` is not a namespace name")),
                                None => Ok(names),
                            }
                        },
                    )?,
                }
            },
            worker: WorkerSettings {
                concurrency: parse_or(get("worker_concurrency"), "worker_concurrency", "4", |s| {
                    s.parse::<usize>()
                        .ok()
                        .filter(|n| (1..=1024).contains(n))
                        .ok_or_else(|| format!("`{s}` is not a number between 1 and 1024"))
                })?,
                poll_interval: parse_or(
                    get("job_poll_interval"),
                    "job_poll_interval",
                    "1s",
                    |s| bounded(s, Duration::from_millis(10), Duration::from_secs(3600)),
                )?,
                lease: parse_or(get("job_lease"), "job_lease", "60s", |s| {
                    bounded(s, Duration::from_secs(3), Duration::from_secs(86_400))
                })?,
                failed_job_retention: parse_or(
                    get("failed_job_retention"),
                    "failed_job_retention",
                    "30d",
                    parse_duration,
                )?,
            },
            log_format: parse_or(get("log_format"), "log_format", "pretty", |s| match s {
                "pretty" => Ok(LogFormat::Pretty),
                "json" => Ok(LogFormat::Json),
                _ => Err(format!(
                    "`{s}` is not a log format (expected pretty or json)"
                )),
            })?,
        })
    }
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn parse_or<T>(
    value: Option<&str>,
    key: &str,
    default: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, SettingsError> {
    parse(value.unwrap_or(default)).map_err(|m| invalid(key, m))
}

fn http_url(key: &str, s: &str) -> Result<Url, SettingsError> {
    let url = Url::parse(s).map_err(|e| invalid(key, format!("`{s}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(key, format!("`{s}` is not an http(s) URL")));
    }
    Ok(url)
}

fn database(url: Option<&str>, max: Option<&str>) -> Result<DatabaseSettings, SettingsError> {
    let key = "database_url";
    let (url, is_default) = match url {
        Some(u) => (u, false),
        None => ("sqlite://coplane.db", true),
    };
    if let Some(path) = url.strip_prefix("sqlite:") {
        if path.trim_start_matches('/').is_empty() {
            return Err(invalid(
                key,
                "an sqlite URL needs a file, e.g. sqlite://coplane.db",
            ));
        }
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Url::parse(url).map_err(|e| invalid(key, format!("not a valid PostgreSQL URL: {e}")))?;
    } else {
        return Err(invalid(
            key,
            "expected a URL starting with sqlite:// or postgres://",
        ));
    }
    let max_connections = parse_or(max, "database_max_connections", "10", |s| {
        s.parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| format!("`{s}` is not a number between 1 and 1000"))
    })?;
    Ok(DatabaseSettings {
        url: secret(url),
        max_connections,
        is_default,
    })
}

fn value<'a>(raw: &'a Raw, key: &str) -> Option<&'a str> {
    raw.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

fn jwt(raw: &Raw) -> Result<JwtSettings, SettingsError> {
    let get = |k: &str| value(raw, k);
    match (get("jwt_secret"), get("jwt_jwks_url")) {
        (Some(_), Some(_)) => Err(invalid(
            "jwt_jwks_url",
            "set either COPLANE_JWT_SECRET (HS256) or COPLANE_JWT_JWKS_URL (an OIDC provider), not both",
        )),
        (Some(secret_value), None) => {
            if secret_value.len() < 32 {
                return Err(invalid("jwt_secret", "must be at least 32 bytes long"));
            }
            if get("jwt_algorithm").is_some_and(|a| a != "HS256") {
                return Err(invalid(
                    "jwt_algorithm",
                    "with COPLANE_JWT_SECRET the algorithm is HS256",
                ));
            }
            Ok(JwtSettings::Hs256 {
                secret: secret(secret_value),
                source: "COPLANE_JWT_SECRET".into(),
            })
        }
        (None, Some(url)) => {
            let url = http_url("jwt_jwks_url", url)?;
            let issuer = get("jwt_issuer")
                .ok_or_else(|| invalid("jwt_issuer", "required with COPLANE_JWT_JWKS_URL"))?;
            let audience = get("jwt_audience")
                .ok_or_else(|| invalid("jwt_audience", "required with COPLANE_JWT_JWKS_URL"))?;
            let algorithm = parse_or(get("jwt_algorithm"), "jwt_algorithm", "RS256", |s| {
                use Algorithm::*;
                match s.parse::<Algorithm>() {
                    Ok(
                        a @ (RS256 | RS384 | RS512 | ES256 | ES384 | PS256 | PS384 | PS512 | EdDSA),
                    ) => Ok(a),
                    _ => Err(format!(
                        "`{s}` is not an asymmetric JWT algorithm (RS256, ES256, …)"
                    )),
                }
            })?;
            Ok(JwtSettings::Jwks {
                url,
                issuer: issuer.into(),
                audience: audience.into(),
                algorithm,
            })
        }
        (None, None) => {
            let path = PathBuf::from(get("dev_key_file").unwrap_or("coplane-dev-jwt.key"));
            let key = dev_key(&path).map_err(|e| {
                invalid(
                    "dev_key_file",
                    format!("cannot read or create {}: {e}", path.display()),
                )
            })?;
            Ok(JwtSettings::Hs256 {
                secret: key,
                source: format!("development key in {}", path.display()),
            })
        }
    }
}

/// Reads the development signing key, creating it (random, mode 0600) on first use.
fn dev_key(path: &Path) -> std::io::Result<SecretString> {
    match std::fs::read_to_string(path) {
        Ok(k) if k.trim().len() >= 32 => return Ok(secret(k.trim())),
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the key is shorter than 32 bytes",
            ));
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let bytes: [u8; 32] = rand::random();
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, key.as_bytes())?;
    Ok(secret(&key))
}

/// A duration between `min` and `max`.
fn bounded(s: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < min || d > max {
        return Err(format!("`{s}` is out of range ({min:?} to {max:?})"));
    }
    Ok(d)
}

/// Parses `90s`, `15m`, `1h`, `30d` (or bare seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let err = || format!("`{s}` is not a duration (e.g. 30s, 15m, 1h, 7d)");
    let (digits, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = digits.parse().map_err(|_| err())?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(err)?,
        "h" => n.checked_mul(3600).ok_or_else(err)?,
        "d" => n.checked_mul(86_400).ok_or_else(err)?,
        _ => return Err(err()),
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        // Keep tests away from the working directory's development key; the
        // case's own variables come last and win.
        let mut v = vec![
            (
                "COPLANE_JWT_SECRET".to_owned(),
                "0123456789abcdef0123456789abcdef".to_owned(),
            ),
            (
                "COPLANE_KUBE_TARGET".to_owned(),
                "manifests:/tmp/coplane-test-manifests".to_owned(),
            ),
        ];
        v.extend(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        v
    }

    fn error_of(pairs: &[(&str, &str)]) -> String {
        Settings::from_sources(None, env(pairs))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_to_embedded_sqlite_and_localhost() {
        let s = Settings::from_sources(None, env(&[])).unwrap();
        assert!(s.database.is_default && s.database.is_sqlite());
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.worker.concurrency, 4);
    }

    #[test]
    fn environment_overrides_the_file() {
        let file = "listen = \"0.0.0.0:9000\"\nworker_concurrency = 8\n";
        let s = Settings::from_sources(
            Some((Path::new("c.toml"), file)),
            env(&[("COPLANE_LISTEN", "127.0.0.1:9999")]),
        )
        .unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(s.worker.concurrency, 8);
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert!(
            error_of(&[("COPLANE_LISTEN", "nowhere")])
                .contains("COPLANE_LISTEN: `nowhere` is not an address")
        );
        assert!(
            error_of(&[("COPLANE_DATABASE_URL", "mysql://x")]).contains("COPLANE_DATABASE_URL")
        );
        assert!(error_of(&[("COPLANE_KUBE_TARGET", "cluster")]).contains("COPLANE_KUBE_TARGET"));
        assert!(
            error_of(&[("COPLANE_WORKER_CONCURRENCY", "0")]).contains("COPLANE_WORKER_CONCURRENCY")
        );
        assert!(error_of(&[("COPLANE_JOB_LEASE", "soon")]).contains("COPLANE_JOB_LEASE"));
        assert!(error_of(&[("COPLANE_JOB_LEASE", "0s")]).contains("out of range"));
        assert!(error_of(&[("COPLANE_JOB_LEASE", "100000000d")]).contains("out of range"));
        assert!(
            error_of(&[("COPLANE_JOB_POLL_INTERVAL", "0")]).contains("COPLANE_JOB_POLL_INTERVAL")
        );
        assert!(error_of(&[("COPLANE_SMTP_URL", "gopher://x")]).contains("COPLANE_SMTP_URL"));
        assert!(
            error_of(&[("COPLANE_STRIPE_API_BASE", "ftp://x")]).contains("COPLANE_STRIPE_API_BASE")
        );
        assert!(
            error_of(&[("COPLANE_JWT_JWKS_URL", "https://idp/jwks")])
                .contains("COPLANE_JWT_JWKS_URL")
        );
    }

    #[test]
    fn jwks_needs_issuer_and_audience_and_an_asymmetric_algorithm() {
        let base = [("COPLANE_JWT_JWKS_URL", "https://idp.example/jwks")];
        let no_secret = |pairs: &[(&str, &str)]| {
            let v: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect();
            Settings::from_sources(None, v)
        };
        assert!(
            no_secret(&base)
                .unwrap_err()
                .to_string()
                .contains("COPLANE_JWT_ISSUER")
        );
        let full = [
            base[0],
            ("COPLANE_JWT_ISSUER", "https://idp.example"),
            ("COPLANE_JWT_AUDIENCE", "coplane"),
            ("COPLANE_KUBE_TARGET", "kubeconfig"),
        ];
        assert!(matches!(
            no_secret(&full).unwrap().jwt,
            JwtSettings::Jwks {
                algorithm: Algorithm::RS256,
                ..
            }
        ));
        let mut hs = full.to_vec();
        hs.push(("COPLANE_JWT_ALGORITHM", "HS256"));
        assert!(
            no_secret(&hs)
                .unwrap_err()
                .to_string()
                .contains("COPLANE_JWT_ALGORITHM")
        );
    }

    #[test]
    fn a_short_secret_is_refused() {
        let v = vec![("COPLANE_JWT_SECRET".to_owned(), "short".to_owned())];
        assert!(
            Settings::from_sources(None, v)
                .unwrap_err()
                .to_string()
                .contains("at least 32 bytes")
        );
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let e =
            Settings::from_sources(Some((Path::new("c.toml"), "databse_url = \"x\"")), env(&[]))
                .unwrap_err()
                .to_string();
        assert!(e.contains("unknown key `databse_url`"), "{e}");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn the_readme_documents_every_setting() {
        let readme = include_str!("../../README.md");
        for key in KEYS {
            assert!(
                readme.contains(&format!("`{}`", env_name(key))),
                "README lacks {}",
                env_name(key)
            );
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }
}
