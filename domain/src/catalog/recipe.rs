//! App recipes: what an app needs to run, as the co-op publishes it.
//! Parsed strictly (unknown fields are errors) and validated whole before a
//! version is published; a published version never changes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Backing services a recipe may ask for.
pub const BACKING_SERVICES: &[&str] = &["postgres", "mysql", "redis", "s3", "smtp"];

/// The default ingress host: the app's name under the tenant's.
pub const DEFAULT_HOST_TEMPLATE: &str = "{app}.{tenant}.{domain}";

/// A port the app listens on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Port {
    /// DNS label, at most 15 characters (a Kubernetes port name).
    pub name: String,
    /// 1 to 65535.
    pub port: u32,
}

/// Where an environment variable's value comes from: exactly one source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    /// `[A-Za-z_][A-Za-z0-9_]*`.
    pub name: String,
    /// A literal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A secret generated once per install, never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_secret: Option<GeneratedSecret>,
    /// A value a backing service provides (`url`, `host`, `password`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_service: Option<FromService>,
}

/// A generated secret's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GeneratedSecret {
    /// Characters, 16 to 128.
    pub length: u32,
}

/// A value from a backing service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FromService {
    /// One of the recipe's `services`.
    pub service: String,
    /// Which of its values.
    pub key: String,
}

/// A persistent volume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    /// DNS label.
    pub name: String,
    /// Absolute path in the container.
    pub mount_path: String,
    /// Size in bytes.
    pub size_bytes: i64,
}

/// CPU and memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    /// Millicores.
    pub cpu_millis: i64,
    /// Bytes.
    pub memory_bytes: i64,
}

/// Requests and limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceSpec {
    /// What is reserved.
    pub requests: Resources,
    /// The ceiling.
    pub limits: Resources,
}

/// An HTTP health probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Health {
    /// Path, starting with `/`.
    pub http_path: String,
    /// One of the recipe's port names.
    pub port: String,
}

/// How the app is reached from outside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ingress {
    /// One of the recipe's port names.
    pub port: String,
    /// Host, with `{app}`, `{tenant}` and `{domain}` placeholders.
    #[serde(default = "default_host")]
    pub host_template: String,
}

fn default_host() -> String {
    DEFAULT_HOST_TEMPLATE.to_owned()
}

/// A recipe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recipe {
    /// Image repository (`registry/path`), without tag.
    pub image: String,
    /// Image tag.
    pub tag: String,
    /// Ports.
    #[serde(default)]
    pub ports: Vec<Port>,
    /// Environment.
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// Volumes.
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// Requests and limits.
    #[serde(default)]
    pub resources: ResourceSpec,
    /// Health probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Ingress>,
    /// Backing services ([`BACKING_SERVICES`]).
    #[serde(default)]
    pub services: Vec<String>,
}

/// What is wrong with a recipe: the field (a path in the recipe), a code, a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipeError {
    /// Path in the recipe (`ports[1].port`).
    pub path: String,
    /// `INVALID_IMAGE`, `PORT_COLLISION`, `VOLUME_TOO_LARGE`, `UNKNOWN_SERVICE`…
    pub code: &'static str,
    /// For people.
    pub message: String,
}

fn err(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> RecipeError {
    RecipeError {
        path: path.into(),
        code,
        message: message.into(),
    }
}

fn dns_label(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= max
        && b.iter().all(|&c| alnum(c) || c == b'-')
        && alnum(b[0])
        && alnum(b[b.len() - 1])
}

/// Whether `s` is an image repository: `[host[:port]/]component(/component)*`,
/// components lower-case alphanumerics joined by `.`, `_`, `__` or `-`.
pub fn is_image_repository(s: &str) -> bool {
    if s.is_empty() || s.len() > 255 || s.contains("//") {
        return false;
    }
    let mut parts: Vec<&str> = s.split('/').collect();
    let first = parts[0];
    let has_host =
        parts.len() > 1 && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_host {
        let (host, port) = first.split_once(':').unwrap_or((first, "1"));
        let host_ok = host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
        if !host_ok || port.parse::<u16>().is_err() {
            return false;
        }
        parts.remove(0);
    }
    !parts.is_empty()
        && parts.iter().all(|c| {
            let b = c.as_bytes();
            let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
            !b.is_empty()
                && alnum(b[0])
                && alnum(b[b.len() - 1])
                && b.iter().all(|&x| alnum(x) || b"._-".contains(&x))
                && !c.contains("..")
        })
}

fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
}

/// Checks a version string: `recipeVersion+upstreamVersion`, the recipe's
/// own `MAJOR.MINOR.PATCH`, then the upstream app's version.
pub fn check_version(v: &str) -> Result<(), RecipeError> {
    let ok = v.split_once('+').is_some_and(|(recipe, upstream)| {
        let nums: Vec<&str> = recipe.split('.').collect();
        nums.len() == 3
            && nums
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
            && !upstream.is_empty()
            && upstream.len() <= 100
            && upstream
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
    });
    if ok {
        Ok(())
    } else {
        Err(err(
            "version",
            "INVALID_VERSION",
            format!("`{v}` is not recipeVersion+upstreamVersion (e.g. 1.0.0+2.3.4)"),
        ))
    }
}

impl Recipe {
    /// Parses a recipe from JSON, strictly.
    pub fn parse(value: &serde_json::Value) -> Result<Self, RecipeError> {
        serde_json::from_value(value.clone())
            .map_err(|e| err("recipe", "INVALID_RECIPE", e.to_string()))
    }

    /// What one install of this recipe takes from its tenant's quota: its
    /// limits (the tenant's ResourceQuota caps limits and requests alike),
    /// its volumes, one pod and one install.
    pub fn footprint(&self) -> crate::tenancy::Quota {
        crate::tenancy::Quota {
            cpu_millis: self
                .resources
                .limits
                .cpu_millis
                .max(self.resources.requests.cpu_millis),
            memory_bytes: self
                .resources
                .limits
                .memory_bytes
                .max(self.resources.requests.memory_bytes),
            storage_bytes: self
                .volumes
                .iter()
                .fold(0i64, |a, v| a.saturating_add(v.size_bytes)),
            pods: 1,
            app_installs: 1,
        }
    }

    /// Every problem of the recipe, given the largest storage any plan
    /// includes (`None`: no plan limits it yet).
    pub fn validate(&self, max_plan_storage: Option<i64>) -> Vec<RecipeError> {
        let mut errors = Vec::new();
        if !is_image_repository(&self.image) {
            errors.push(err(
                "image",
                "INVALID_IMAGE",
                format!("`{}` is not an image reference", self.image),
            ));
        }
        if !is_tag(&self.tag) {
            errors.push(err(
                "tag",
                "INVALID_IMAGE",
                format!("`{}` is not an image tag", self.tag),
            ));
        }
        let (mut names, mut numbers) = (BTreeSet::new(), BTreeSet::new());
        for (i, p) in self.ports.iter().enumerate() {
            if !dns_label(&p.name, 15) {
                errors.push(err(
                    format!("ports[{i}].name"),
                    "INVALID_PORT",
                    format!(
                        "`{}` is not a port name (a DNS label of at most 15 characters)",
                        p.name
                    ),
                ));
            }
            if !(1..=65_535).contains(&p.port) {
                errors.push(err(
                    format!("ports[{i}].port"),
                    "INVALID_PORT",
                    format!("{} is not a port number", p.port),
                ));
            }
            if !names.insert(p.name.as_str()) || !numbers.insert(p.port) {
                errors.push(err(
                    format!("ports[{i}]"),
                    "PORT_COLLISION",
                    format!("port `{}` ({}) collides with another port", p.name, p.port),
                ));
            }
        }
        let mut services = BTreeSet::new();
        for (i, s) in self.services.iter().enumerate() {
            if !BACKING_SERVICES.contains(&s.as_str()) {
                errors.push(err(
                    format!("services[{i}]"),
                    "UNKNOWN_SERVICE",
                    format!(
                        "unknown backing service `{s}` (known: {})",
                        BACKING_SERVICES.join(", ")
                    ),
                ));
            }
            if !services.insert(s.as_str()) {
                errors.push(err(
                    format!("services[{i}]"),
                    "DUPLICATE_SERVICE",
                    format!("`{s}` is listed twice"),
                ));
            }
        }
        let mut env_names = BTreeSet::new();
        for (i, e) in self.env.iter().enumerate() {
            let valid_name = e
                .name
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
                && e.name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_');
            if !valid_name || !env_names.insert(e.name.as_str()) {
                errors.push(err(
                    format!("env[{i}].name"),
                    "INVALID_ENV",
                    format!("`{}` is not a distinct variable name", e.name),
                ));
            }
            let sources = usize::from(e.value.is_some())
                + usize::from(e.generated_secret.is_some())
                + usize::from(e.from_service.is_some());
            if sources != 1 {
                errors.push(err(
                    format!("env[{i}]"),
                    "INVALID_ENV",
                    format!(
                        "`{}` needs exactly one of value, generatedSecret, fromService",
                        e.name
                    ),
                ));
            }
            if let Some(g) = &e.generated_secret
                && !(16..=128).contains(&g.length)
            {
                errors.push(err(
                    format!("env[{i}].generatedSecret.length"),
                    "INVALID_ENV",
                    "a generated secret has 16 to 128 characters",
                ));
            }
            if let Some(f) = &e.from_service
                && !services.contains(f.service.as_str())
            {
                errors.push(err(
                    format!("env[{i}].fromService.service"),
                    "UNKNOWN_SERVICE",
                    format!("`{}` is not one of the recipe's services", f.service),
                ));
            }
        }
        let mut volume_names = BTreeSet::new();
        for (i, v) in self.volumes.iter().enumerate() {
            if !dns_label(&v.name, 63) || !volume_names.insert(v.name.as_str()) {
                errors.push(err(
                    format!("volumes[{i}].name"),
                    "INVALID_VOLUME",
                    format!("`{}` is not a distinct volume name", v.name),
                ));
            }
            if !v.mount_path.starts_with('/') {
                errors.push(err(
                    format!("volumes[{i}].mountPath"),
                    "INVALID_VOLUME",
                    "a mount path is absolute",
                ));
            }
            if v.size_bytes <= 0 {
                errors.push(err(
                    format!("volumes[{i}].sizeBytes"),
                    "INVALID_VOLUME",
                    "a volume has a positive size",
                ));
            } else if let Some(max) = max_plan_storage
                && v.size_bytes > max
            {
                errors.push(err(
                    format!("volumes[{i}].sizeBytes"),
                    "VOLUME_TOO_LARGE",
                    format!(
                        "{} bytes is more than any plan includes ({max})",
                        v.size_bytes
                    ),
                ));
            }
        }
        let r = &self.resources;
        let negative = [
            r.requests.cpu_millis,
            r.requests.memory_bytes,
            r.limits.cpu_millis,
            r.limits.memory_bytes,
        ]
        .iter()
        .any(|v| *v < 0);
        if negative
            || r.requests.cpu_millis > r.limits.cpu_millis
            || r.requests.memory_bytes > r.limits.memory_bytes
        {
            errors.push(err(
                "resources",
                "INVALID_RESOURCES",
                "requests are non-negative and at most the limits",
            ));
        }
        if let Some(h) = &self.health {
            if !h.http_path.starts_with('/') {
                errors.push(err(
                    "health.httpPath",
                    "INVALID_HEALTH",
                    "a probe path starts with /",
                ));
            }
            if !names.contains(h.port.as_str()) {
                errors.push(err(
                    "health.port",
                    "INVALID_HEALTH",
                    format!("`{}` is not one of the recipe's ports", h.port),
                ));
            }
        }
        if let Some(ing) = &self.ingress {
            if !names.contains(ing.port.as_str()) {
                errors.push(err(
                    "ingress.port",
                    "INVALID_INGRESS",
                    format!("`{}` is not one of the recipe's ports", ing.port),
                ));
            }
            let stripped = ing
                .host_template
                .replace("{app}", "a")
                .replace("{tenant}", "t")
                .replace("{domain}", "d.example");
            let host_ok = !stripped.is_empty()
                && stripped.len() <= 253
                && stripped.split('.').all(|l| dns_label(l, 63));
            if !host_ok {
                errors.push(err(
                    "ingress.hostTemplate",
                    "INVALID_INGRESS",
                    format!("`{}` does not make a host name", ing.host_template),
                ));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wiki() -> serde_json::Value {
        json!({
            "image": "ghcr.io/coop/wiki", "tag": "2.3.4",
            "ports": [{ "name": "http", "port": 8080 }],
            "env": [
                { "name": "TITLE", "value": "Docs" },
                { "name": "SECRET_KEY", "generatedSecret": { "length": 32 } },
                { "name": "DATABASE_URL", "fromService": { "service": "postgres", "key": "url" } },
            ],
            "volumes": [{ "name": "data", "mountPath": "/var/lib/wiki", "sizeBytes": 1073741824 }],
            "resources": { "requests": { "cpuMillis": 100, "memoryBytes": 134217728 }, "limits": { "cpuMillis": 500, "memoryBytes": 536870912 } },
            "health": { "httpPath": "/healthz", "port": "http" },
            "ingress": { "port": "http" },
            "services": ["postgres"],
        })
    }

    fn codes(v: serde_json::Value, max: Option<i64>) -> Vec<&'static str> {
        Recipe::parse(&v)
            .map(|r| r.validate(max).into_iter().map(|e| e.code).collect())
            .unwrap_or_else(|e| vec![e.code])
    }

    #[test]
    fn a_good_recipe_is_valid_and_gets_the_default_host() {
        let r = Recipe::parse(&wiki()).unwrap();
        assert_eq!(r.validate(Some(10 << 30)), vec![]);
        assert_eq!(r.ingress.unwrap().host_template, DEFAULT_HOST_TEMPLATE);
    }

    #[test]
    fn each_kind_of_mistake_has_its_code() {
        let with = |path: &str, value: serde_json::Value| {
            let mut v = wiki();
            v.pointer_mut(path).map(|p| *p = value).expect("path");
            v
        };
        assert_eq!(
            codes(with("/image", json!("Not An Image")), None),
            ["INVALID_IMAGE"]
        );
        assert_eq!(
            codes(
                with(
                    "/ports",
                    json!([{ "name": "http", "port": 80 }, { "name": "web", "port": 80 }])
                ),
                None
            ),
            ["PORT_COLLISION"]
        );
        assert_eq!(codes(wiki(), Some(1 << 20)), ["VOLUME_TOO_LARGE"]);
        assert_eq!(
            codes(with("/services", json!(["postgres", "oracle"])), None),
            ["UNKNOWN_SERVICE"]
        );
        assert_eq!(
            codes(with("/env/2/fromService/service", json!("redis")), None),
            ["UNKNOWN_SERVICE"]
        );
        assert_eq!(
            codes(with("/health/port", json!("admin")), None),
            ["INVALID_HEALTH"]
        );
        let mut host = wiki();
        host["ingress"]["hostTemplate"] = json!("{app}..{domain}");
        assert_eq!(codes(host, None), ["INVALID_INGRESS"]);
        let mut extra = wiki();
        extra["imagePullPolicy"] = json!("Always");
        assert_eq!(codes(extra, None), ["INVALID_RECIPE"]);
    }

    #[test]
    fn image_references() {
        for ok in [
            "nginx",
            "library/nginx",
            "ghcr.io/coop/wiki",
            "localhost:5000/a/b",
            "registry.example.org:443/x_y/z-1",
        ] {
            assert!(is_image_repository(ok), "{ok}");
        }
        for bad in ["", "Nginx", "a//b", "a/", "-a", "ghcr.io:port/x", "a b"] {
            assert!(!is_image_repository(bad), "{bad}");
        }
    }

    #[test]
    fn versions_are_recipe_plus_upstream() {
        assert!(check_version("1.0.0+2.3.4").is_ok());
        assert!(check_version("12.3.0+v2024-01_rc.1").is_ok());
        for bad in ["1.0.0", "1.0+2", "1.0.0+", "a.b.c+1", "1.0.0+x y"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }
}
