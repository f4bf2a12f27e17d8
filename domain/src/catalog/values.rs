//! Per-install values: what a customer may set on an install without a new
//! recipe version. Parsed strictly and checked against the installed
//! recipe, on install and on every change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::recipe::{Recipe, RecipeError};

/// An install's values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallValues {
    /// The customer's own domain, in place of the recipe's host template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Values for the recipe's literal environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

fn err(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> RecipeError {
    RecipeError {
        path: path.into(),
        code,
        message: message.into(),
    }
}

/// Whether `host` is `domain` or a name under it.
pub fn is_under(host: &str, domain: &str) -> bool {
    host.strip_suffix(domain)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

/// Whether `s` is a fully qualified host name (two labels or more).
pub fn is_host_name(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

impl InstallValues {
    /// The host an install of `app` in `tenant` is reached at: the
    /// customer's own, or the recipe's template filled in under the co-op's
    /// `domain`; `None` for an app not reachable from outside. The one
    /// derivation: the uniqueness check and the rendered Ingress use it.
    pub fn effective_host(
        &self,
        recipe: &Recipe,
        app: &str,
        tenant: &str,
        domain: &str,
    ) -> Option<String> {
        let ingress = recipe.ingress.as_ref()?;
        Some(self.host.clone().unwrap_or_else(|| {
            ingress
                .host_template
                .replace("{app}", app)
                .replace("{tenant}", tenant)
                .replace("{domain}", domain)
        }))
    }

    /// Parses values (`null` is no values).
    pub fn parse(value: &serde_json::Value) -> Result<Self, RecipeError> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value.clone())
            .map_err(|e| err("values", "INVALID_VALUES", e.to_string()))
    }

    /// Every way these values do not fit `recipe`.
    pub fn validate(&self, recipe: &Recipe) -> Vec<RecipeError> {
        let mut problems = Vec::new();
        if let Some(host) = &self.host {
            if recipe.ingress.is_none() {
                problems.push(err(
                    "values.host",
                    "NO_INGRESS",
                    "this app is not reachable from outside, so it takes no host",
                ));
            } else if !is_host_name(host) {
                problems.push(err(
                    "values.host",
                    "INVALID_HOST",
                    format!("`{host}` is not a host name"),
                ));
            }
        }
        for (name, value) in &self.env {
            let literal = recipe
                .env
                .iter()
                .any(|e| &e.name == name && e.value.is_some());
            if !literal {
                problems.push(err(
                    format!("values.env.{name}"),
                    "UNKNOWN_SETTING",
                    format!("`{name}` is not a setting of this app (only its literal environment variables are)"),
                ));
            }
            if value.len() > 4096 {
                problems.push(err(
                    format!("values.env.{name}"),
                    "VALUE_TOO_LONG",
                    "a value has at most 4096 bytes",
                ));
            }
        }
        problems
    }

    /// Parses and validates against `recipe`.
    pub fn check(value: &serde_json::Value, recipe: &Recipe) -> Result<Self, Vec<RecipeError>> {
        let values = Self::parse(value).map_err(|e| vec![e])?;
        let problems = values.validate(recipe);
        if problems.is_empty() {
            Ok(values)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recipe() -> Recipe {
        Recipe::parse(&json!({
            "image": "ghcr.io/coop/site", "tag": "1.0",
            "ports": [{ "name": "http", "port": 8080 }],
            "env": [{ "name": "TITLE", "value": "Hello" }, { "name": "KEY", "generatedSecret": { "length": 32 } }],
            "ingress": { "port": "http" },
        }))
        .unwrap()
    }

    #[test]
    fn a_host_and_literal_settings_are_accepted() {
        let v = InstallValues::check(
            &json!({ "host": "shop.example.org", "env": { "TITLE": "Shop" } }),
            &recipe(),
        )
        .unwrap();
        assert_eq!(v.host.as_deref(), Some("shop.example.org"));
        assert_eq!(
            InstallValues::check(&json!(null), &recipe()).unwrap(),
            InstallValues::default()
        );
    }

    #[test]
    fn secrets_unknown_keys_and_bad_hosts_are_refused() {
        let codes = |v| {
            InstallValues::check(&v, &recipe())
                .unwrap_err()
                .into_iter()
                .map(|e| e.code)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes(json!({ "env": { "KEY": "mine" } })),
            ["UNKNOWN_SETTING"]
        );
        assert_eq!(codes(json!({ "host": "Not A Host" })), ["INVALID_HOST"]);
        assert_eq!(codes(json!({ "host": "localhost" })), ["INVALID_HOST"]);
        assert_eq!(codes(json!({ "replicas": 3 })), ["INVALID_VALUES"]);
    }
}
