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

mod http;
mod jwt;

pub use http::{HttpSettings, Rate};

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
    "kube_clusters",
    "worker_concurrency",
    "job_poll_interval",
    "job_lease",
    "failed_job_retention",
    "namespace_retention",
    "ingress_namespaces",
    "app_domain",
    "log_format",
    "graphql_body_limit",
    "usage_body_limit",
    "cors_origins",
    "rate_limit_anonymous",
    "rate_limit_credential",
    "rate_limit_usage",
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
    /// The clusters the co-op operates, each with its target; the first is
    /// where tenants go when no cluster is named.
    pub clusters: Vec<(String, KubeTarget)>,
    /// Why the targets were chosen, for the start-up log.
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
    /// Request limits, CORS and rate limits.
    pub http: HttpSettings,
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
    /// What loading noticed but did not refuse (unknown `COPLANE_*`
    /// variables), logged once logging is set up.
    pub warnings: Vec<String>,
}

/// Whether a missing development key is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DevKey {
    CreateIfMissing,
    MustExist,
}

/// Raw values by key, before typing.
type Raw = BTreeMap<String, String>;

impl Settings {
    /// Loads settings from `config` (or `coplane.toml` if present) and the
    /// process environment.
    pub fn load(config: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_with(config, DevKey::CreateIfMissing)
    }

    /// As [`Settings::load`], for `coplane token`: a development key that
    /// does not exist is an error naming the file looked for, never a new
    /// key whose tokens the server would refuse.
    pub fn load_for_token(config: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_with(config, DevKey::MustExist)
    }

    fn load_with(config: Option<&Path>, dev_key: DevKey) -> Result<Self, SettingsError> {
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
        Self::from_sources_with(file.as_deref().map(|t| (path.as_path(), t)), env, dev_key)
    }

    /// Builds settings from a TOML text and environment variables.
    pub fn from_sources(
        file: Option<(&Path, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        Self::from_sources_with(file, env, DevKey::CreateIfMissing)
    }

    fn from_sources_with(
        file: Option<(&Path, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
        dev_key: DevKey,
    ) -> Result<Self, SettingsError> {
        let mut raw = Raw::new();
        let mut warnings = Vec::new();
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
                if value.trim().is_empty() {
                    return Err(SettingsError::File {
                        path: path.to_path_buf(),
                        message: format!("`{key}` is empty; remove the key to use the default"),
                    });
                }
                raw.insert(key, value);
            }
        }
        for (name, value) in env {
            let Some(key) = name.strip_prefix("COPLANE_") else {
                continue;
            };
            let key = key.to_lowercase();
            if KEYS.contains(&key.as_str()) {
                // An empty variable is unset: the file's value (or the
                // default) stays, as a shell's `VAR=` suggests.
                if !value.trim().is_empty() {
                    raw.insert(key, value);
                }
            } else if !key.starts_with("test_") && !key.starts_with("e2e_") {
                warnings.push(format!("ignoring unknown variable {name}"));
            }
        }
        let mut settings = Self::from_raw(&raw, dev_key)?;
        settings.warnings = warnings;
        Ok(settings)
    }

    fn from_raw(raw: &Raw, dev_key: DevKey) -> Result<Self, SettingsError> {
        let get = |k: &str| value(raw, k);
        Ok(Self {
            database: database(get("database_url"), get("database_max_connections"))?,
            listen: parse_or(get("listen"), "listen", "127.0.0.1:8080", |s| {
                s.parse::<SocketAddr>().map_err(|_| {
                    format!("`{s}` is not an address (expected host:port, e.g. 127.0.0.1:8080)")
                })
            })?,
            http: http::http(raw)?,
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
                templates: get("mail_templates")
                    .map(|dir| {
                        let dir = std::path::PathBuf::from(dir);
                        coplane_worker::mail::load_templates(Some(&dir))
                            .map(|_| dir)
                            .map_err(|e| invalid("mail_templates", e.to_string()))
                    })
                    .transpose()?,
            },
            kube: {
                let (clusters, reason) = match (get("kube_target"), get("kube_clusters")) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "kube_clusters",
                            "set either COPLANE_KUBE_TARGET (one cluster) or COPLANE_KUBE_CLUSTERS, not both",
                        ));
                    }
                    (None, Some(list)) => (
                        kube_clusters(list).map_err(|m| invalid("kube_clusters", m))?,
                        "set by COPLANE_KUBE_CLUSTERS",
                    ),
                    (Some(s), None) => (
                        vec![(
                            coplane_domain::tenancy::tenants::DEFAULT_CLUSTER.to_owned(),
                            KubeTarget::parse(s)
                                .map_err(|e| invalid("kube_target", e.to_string()))?,
                        )],
                        "set by COPLANE_KUBE_TARGET",
                    ),
                    (None, None) => {
                        let (t, reason) = KubeTarget::detect(PathBuf::from("coplane-manifests"));
                        (
                            vec![(
                                coplane_domain::tenancy::tenants::DEFAULT_CLUSTER.to_owned(),
                                t,
                            )],
                            reason,
                        )
                    }
                };
                KubeSettings {
                    clusters,
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
            // Last: with no JWT setting this creates the development key,
            // which a start refused for another value must not leave behind.
            jwt: jwt::jwt(raw, dev_key)?,
            warnings: Vec::new(),
        })
    }
}

/// Parses `eu1=kubeconfig,eu2=context:prod-eu2,lab=manifests:/srv/lab`.
fn kube_clusters(list: &str) -> Result<Vec<(String, KubeTarget)>, String> {
    let mut out: Vec<(String, KubeTarget)> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, target) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}` is not NAME=TARGET"))?;
        let name = coplane_domain::tenancy::parse_cluster(name.trim())
            .map_err(|e| format!("`{name}`: {e}"))?;
        let target = KubeTarget::parse(target.trim()).map_err(|e| format!("{name}: {e}"))?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(format!("the cluster `{name}` is named twice"));
        }
        out.push((name, target));
    }
    if out.is_empty() {
        return Err("no cluster named".into());
    }
    Ok(out)
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
mod tests;
