//! What HTTP requests may cost: body limits, CORS origins and rate limits.

use std::time::Duration;

use super::{Raw, SettingsError, invalid, parse_or, value};

/// A rate: `count` requests per `per`, as a burst that refills evenly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed in one period (the burst).
    pub count: u32,
    /// The period.
    pub per: Duration,
}

impl Rate {
    /// Parses `120/min`, `10/s`, `3600/h`, or `off`.
    pub fn parse(s: &str) -> Result<Option<Self>, String> {
        if s == "off" {
            return Ok(None);
        }
        let err = || format!("`{s}` is not a rate (e.g. 120/min, 10/s, 3600/h, or off)");
        let (count, unit) = s.split_once('/').ok_or_else(err)?;
        let count: u32 = count.trim().parse().map_err(|_| err())?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "min" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(err()),
        };
        if !(1..=1_000_000).contains(&count) {
            return Err(format!("`{s}`: the count must be between 1 and 1000000"));
        }
        Ok(Some(Self { count, per }))
    }
}

/// Request limits.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Largest `POST /graphql` body, in bytes.
    pub graphql_body_limit: usize,
    /// Largest `POST /v1/usage` body, in bytes.
    pub usage_body_limit: usize,
    /// Origins allowed to call the API from a browser (`https://shop.example`);
    /// none by default.
    pub cors_origins: Vec<String>,
    /// Anonymous calls and refused credentials, per client address.
    pub rate_anonymous: Option<Rate>,
    /// Authenticated calls, per credential.
    pub rate_credential: Option<Rate>,
    /// `POST /v1/usage`, per credential.
    pub rate_usage: Option<Rate>,
}

/// Parses `1048576`, `512KiB`, `1MiB`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let err = || format!("`{s}` is not a size (e.g. 65536, 512KiB, 16MiB)");
    let (digits, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: usize = digits.parse().map_err(|_| err())?;
    let factor = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        _ => return Err(err()),
    };
    n.checked_mul(factor).ok_or_else(err)
}

fn size(raw: &Raw, key: &str, default: &str) -> Result<usize, SettingsError> {
    parse_or(value(raw, key), key, default, |s| {
        let n = parse_size(s)?;
        if (1024..=(1 << 30)).contains(&n) {
            Ok(n)
        } else {
            Err(format!("`{s}` is out of range (1KiB to 1024MiB)"))
        }
    })
}

fn origin(s: &str) -> Result<String, String> {
    let url = url::Url::parse(s).map_err(|e| format!("`{s}` is not an origin: {e}"))?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
        return Err(format!(
            "`{s}` is not an origin (scheme://host[:port], e.g. https://shop.example)"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

pub(super) fn http(raw: &Raw) -> Result<HttpSettings, SettingsError> {
    let get = |k: &str| value(raw, k);
    let rate = |key: &str, default: &str| parse_or(get(key), key, default, Rate::parse);
    let cors_origins = match get("cors_origins") {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(origin)
            .collect::<Result<_, _>>()
            .map_err(|m| invalid("cors_origins", m))?,
    };
    Ok(HttpSettings {
        graphql_body_limit: size(raw, "graphql_body_limit", "1MiB")?,
        usage_body_limit: size(raw, "usage_body_limit", "16MiB")?,
        cors_origins,
        rate_anonymous: rate("rate_limit_anonymous", "120/min")?,
        rate_credential: rate("rate_limit_credential", "1200/min")?,
        rate_usage: rate("rate_limit_usage", "120/min")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_sizes_and_origins_parse_or_are_refused() {
        assert_eq!(
            Rate::parse("120/min"),
            Ok(Some(Rate {
                count: 120,
                per: Duration::from_secs(60)
            }))
        );
        assert_eq!(Rate::parse("off"), Ok(None));
        assert!(Rate::parse("0/s").is_err());
        assert!(Rate::parse("10/week").is_err());
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("1GB").is_err());
        assert!(parse_size("99999999999999999999MiB").is_err());
        assert_eq!(
            origin("https://shop.example").as_deref(),
            Ok("https://shop.example")
        );
        assert!(origin("https://shop.example/path").is_err());
        assert!(origin("*").is_err());
    }
}
