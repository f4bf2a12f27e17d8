//! A storefront's brand: its colours and terms, and the host names it
//! answers on. A host names one reseller's storefront, so a request's
//! `Host` picks whose brand, customers and prices a page shows.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use super::storefront::{Storefront, get, target};
use super::values::{is_host_name, is_under};
use crate::audit::Change;
use crate::auth::{Actor, Permission};
use crate::db::stmt;
use crate::error::{Error, Result};
use crate::ids::ResellerId;
use crate::tenancy::Platform;
use crate::usecase::Mutation;

/// Host names one storefront may answer on.
pub const MAX_DOMAINS: usize = 10;
/// Longest terms link.
pub const MAX_URL_LEN: usize = 2000;

/// A storefront's brand, beside the reseller's name and support address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Brand {
    /// Host names, in the order set.
    pub domains: Vec<String>,
    /// Main colour, `#rrggbb`.
    pub primary_color: Option<String>,
    /// Second colour, `#rrggbb`.
    pub accent_color: Option<String>,
    /// The reseller's terms of service, an `https` link.
    pub terms_url: Option<String>,
    /// Times set (0: never).
    pub version: i32,
}

/// What `setStorefrontBrand` sets: the whole brand, replacing the last.
#[derive(Clone, Debug, Default)]
pub struct BrandInput {
    /// Host names (lower case after trimming; at most [`MAX_DOMAINS`]).
    pub domains: Vec<String>,
    /// Main colour.
    pub primary_color: Option<String>,
    /// Second colour.
    pub accent_color: Option<String>,
    /// Terms link.
    pub terms_url: Option<String>,
}

/// `reseller`'s brand (the default when never set).
pub async fn brand(db: &impl ConnectionTrait, reseller: ResellerId) -> Result<Brand> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT primary_color, accent_color, terms_url, version FROM storefront_brands WHERE reseller_id = $1",
            vec![reseller.into()],
        ))
        .await?;
    let domains = db
        .query_all_raw(stmt(
            db,
            "SELECT host FROM storefront_domains WHERE reseller_id = $1 ORDER BY id",
            vec![reseller.into()],
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "host"))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(row) = row else {
        return Ok(Brand {
            domains,
            ..Brand::default()
        });
    };
    Ok(Brand {
        domains,
        primary_color: row.try_get("", "primary_color")?,
        accent_color: row.try_get("", "accent_color")?,
        terms_url: row.try_get("", "terms_url")?,
        version: row.try_get("", "version")?,
    })
}

/// The reseller whose storefront answers on `host` (a `Host` header's
/// value: a port is ignored); `None` for any other host (the co-op's own
/// storefront).
pub async fn reseller_by_host(db: &impl ConnectionTrait, host: &str) -> Result<Option<ResellerId>> {
    let host = host.trim();
    let host = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if !is_host_name(&host) {
        return Ok(None);
    }
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT reseller_id FROM storefront_domains WHERE host = $1",
            vec![host.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<Uuid>("", "reseller_id"))
        .transpose()?
        .map(ResellerId))
}

/// Sets a reseller's brand whole, checked whole first: nothing changes
/// unless every part is valid and every host is free.
pub async fn set_brand(
    db: &DatabaseConnection,
    actor: &Actor,
    platform: &Platform,
    reseller_id: Option<ResellerId>,
    input: BrandInput,
    now: DateTime<Utc>,
) -> Result<Storefront> {
    let grant = actor.principal.authorize(Permission::WriteStorefront)?;
    let id = target(&grant, reseller_id)?;
    let domains = hosts(&input.domains, platform)?;
    let primary = input
        .primary_color
        .as_deref()
        .map(|c| color("primaryColor", c))
        .transpose()?;
    let accent = input
        .accent_color
        .as_deref()
        .map(|c| color("accentColor", c))
        .transpose()?;
    let terms = input.terms_url.as_deref().map(terms_url).transpose()?;
    let txn = Mutation::begin(db, actor, &grant, "setStorefrontBrand", now).await?;
    crate::tenancy::resellers::lock(&txn, id)
        .await?
        .ok_or_else(|| Error::not_found("resellerId", "reseller"))?;
    for host in &domains {
        lock_host(&txn, host).await?;
        let owner = reseller_by_host(&txn, host).await?;
        if owner.is_some_and(|o| o != id) || serves_an_install(&txn, host).await? {
            return Err(taken(host));
        }
    }
    let version = txn
        .query_one_raw(stmt(
            &txn,
            "SELECT version FROM storefront_brands WHERE reseller_id = $1",
            vec![id.into()],
        ))
        .await?
        .map(|r| r.try_get::<i32>("", "version"))
        .transpose()?;
    let version = match version {
        Some(v) => {
            txn.execute_raw(stmt(
                &txn,
                "UPDATE storefront_brands SET primary_color = $2, accent_color = $3, terms_url = $4, version = $5, updated_at = $6 WHERE reseller_id = $1",
                vec![id.into(), primary.clone().into(), accent.clone().into(), terms.clone().into(), (v + 1).into(), now.into()],
            ))
            .await?;
            v + 1
        }
        None => {
            txn.execute_raw(stmt(
                &txn,
                "INSERT INTO storefront_brands (id, reseller_id, primary_color, accent_color, terms_url, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
                vec![Uuid::now_v7().into(), id.into(), primary.clone().into(), accent.clone().into(), terms.clone().into(), now.into()],
            ))
            .await?;
            1
        }
    };
    txn.execute_raw(stmt(
        &txn,
        "DELETE FROM storefront_domains WHERE reseller_id = $1",
        vec![id.into()],
    ))
    .await?;
    for host in &domains {
        // The unique index decides between two resellers claiming a host at once.
        txn.execute_raw(stmt(
            &txn,
            "INSERT INTO storefront_domains (id, reseller_id, host, created_at) VALUES ($1, $2, $3, $4)",
            vec![Uuid::now_v7().into(), id.into(), host.clone().into(), now.into()],
        ))
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => taken(host),
            _ => e.into(),
        })?;
    }
    let change = Change {
        object_type: "Reseller",
        object_id: id.into(),
        reseller_id: Some(id),
        details: serde_json::json!({
            "brandVersion": version,
            "domains": domains,
            "primaryColor": primary,
            "accentColor": accent,
            "termsUrl": terms,
        }),
    };
    txn.commit(change).await?;
    get(db, actor, Some(id))
        .await?
        .ok_or_else(|| Error::not_found("resellerId", "reseller"))
}

/// Holds `host` until the transaction ends, so a storefront and an
/// install (or two of either) claiming it at once are decided one after
/// the other (PostgreSQL; SQLite has one writer at a time anyway).
pub async fn lock_host(db: &impl ConnectionTrait, host: &str) -> Result<()> {
    if crate::db::is_postgres(db) {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(host.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        db.execute_raw(stmt(
            db,
            "SELECT pg_advisory_xact_lock($1)",
            vec![i64::from_be_bytes(first).into()],
        ))
        .await?;
    }
    Ok(())
}

/// Whether a live install serves `host`.
async fn serves_an_install(db: &impl ConnectionTrait, host: &str) -> Result<bool> {
    Ok(db
        .query_one_raw(stmt(
            db,
            "SELECT id FROM app_installs WHERE ingress_host = $1 AND state NOT IN ('uninstalling', 'uninstalled')",
            vec![host.to_owned().into()],
        ))
        .await?
        .is_some())
}

fn taken(host: &str) -> Error {
    Error::invalid(
        "domains",
        "HOST_TAKEN",
        format!("{host} is another storefront's"),
    )
}

/// The host names, checked and in lower case.
fn hosts(domains: &[String], platform: &Platform) -> Result<Vec<String>> {
    if domains.len() > MAX_DOMAINS {
        return Err(Error::invalid(
            "domains",
            "TOO_MANY_DOMAINS",
            format!("a storefront answers on at most {MAX_DOMAINS} host names"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(domains.len());
    for d in domains {
        let host = d.trim().to_ascii_lowercase();
        if !is_host_name(&host) {
            return Err(Error::invalid(
                "domains",
                "INVALID_HOST",
                format!(
                    "`{}` is not a host name (letters, digits and hyphens, dot-separated, two labels or more)",
                    d.chars().take(80).collect::<String>()
                ),
            ));
        }
        // An address is no storefront's: a request by bare IP is the co-op's.
        if host
            .rsplit('.')
            .next()
            .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Error::invalid(
                "domains",
                "INVALID_HOST",
                format!("{host} is an address, not a host name"),
            ));
        }
        // The co-op's own names: its app domain's parent and everything under it.
        let coop = coop_domain(&platform.app_domain);
        if is_under(&host, coop) {
            return Err(Error::invalid(
                "domains",
                "HOST_RESERVED",
                format!("names under `{coop}` are the co-op's; use a domain of your own"),
            ));
        }
        if out.contains(&host) {
            return Err(Error::invalid(
                "domains",
                "DUPLICATE_HOST",
                format!("{host} is named twice"),
            ));
        }
        out.push(host);
    }
    Ok(out)
}

/// The co-op's own domain: its app domain's parent (`example.coop` for
/// `apps.example.coop`), or the app domain itself when that has no parent
/// of two labels.
fn coop_domain(app_domain: &str) -> &str {
    match app_domain.split_once('.') {
        Some((_, parent)) if parent.contains('.') => parent,
        _ => app_domain,
    }
}

/// A colour as `#rrggbb`, in lower case.
fn color(field: &'static str, c: &str) -> Result<String> {
    let c = c.trim();
    let hex = c.strip_prefix('#').unwrap_or("");
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(
            field,
            "INVALID_COLOR",
            "a colour is `#` and six hexadecimal digits, like #1a7f5a",
        ));
    }
    Ok(format!("#{}", hex.to_ascii_lowercase()))
}

/// An `https` link of at most [`MAX_URL_LEN`] characters.
fn terms_url(u: &str) -> Result<String> {
    let bad = |why: &str| Error::invalid("termsUrl", "INVALID_URL", why.to_owned());
    let u = u.trim();
    if u.len() > MAX_URL_LEN {
        return Err(bad(&format!("a link has at most {MAX_URL_LEN} characters")));
    }
    let parsed = url::Url::parse(u).map_err(|_| bad("not a link"))?;
    if parsed.scheme() != "https" || parsed.host_str().is_none() {
        return Err(bad("the terms link is an https:// address"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("the terms link carries no user name or password"));
    }
    // Encoding may lengthen it.
    if parsed.as_str().len() > MAX_URL_LEN {
        return Err(bad(&format!("a link has at most {MAX_URL_LEN} characters")));
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_hosts_and_links_are_checked() {
        assert_eq!(color("c", " #1A7f5A ").unwrap(), "#1a7f5a");
        for bad in ["1a7f5a", "#1a7f5", "#1a7f5g", "#1a7f5a0", "red", ""] {
            assert!(color("c", bad).is_err(), "{bad}");
        }
        let platform = Platform::single();
        assert_eq!(
            hosts(&[" Shop.Example.COM ".into()], &platform).unwrap(),
            ["shop.example.com"]
        );
        let code = |domains: &[&str]| {
            let owned: Vec<String> = domains.iter().map(|d| (*d).to_owned()).collect();
            match hosts(&owned, &platform) {
                Err(Error::Invalid { code, .. }) => code,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(code(&["localhost"]), "INVALID_HOST");
        assert_eq!(code(&["shop..example.com"]), "INVALID_HOST");
        assert_eq!(code(&["-shop.example.com"]), "INVALID_HOST");
        assert_eq!(code(&["a.example.com", "A.example.com"]), "DUPLICATE_HOST");
        assert_eq!(code(&["shop.apps.localhost"]), "HOST_RESERVED");
        assert_eq!(code(&["apps.localhost"]), "HOST_RESERVED");
        assert_eq!(code(&["203.0.113.7"]), "INVALID_HOST");
        assert_eq!(code(&["127.0.0.1"]), "INVALID_HOST");
        let coop = Platform {
            app_domain: "apps.example.coop".into(),
            ..Platform::single()
        };
        for reserved in ["example.coop", "shop.example.coop", "x.apps.example.coop"] {
            assert!(
                matches!(
                    hosts(&[reserved.into()], &coop),
                    Err(Error::Invalid {
                        code: "HOST_RESERVED",
                        ..
                    })
                ),
                "{reserved}"
            );
        }
        assert!(hosts(&["example.com".into(), "shop.coop".into()], &coop).is_ok());
        let many: Vec<String> = (0..=MAX_DOMAINS)
            .map(|i| format!("s{i}.example.com"))
            .collect();
        assert!(hosts(&many, &platform).is_err());
        assert_eq!(
            terms_url("https://example.com/terms").unwrap(),
            "https://example.com/terms"
        );
        for bad in [
            "http://example.com/terms",
            "javascript:alert(1)",
            "example.com",
            "https://",
            "https://brand@evil.example/terms",
            "https://a:b@evil.example/terms",
        ] {
            assert!(terms_url(bad).is_err(), "{bad}");
        }
        assert!(terms_url(&format!("https://example.com/{}", "a".repeat(MAX_URL_LEN))).is_err());
        // 350 characters typed (720 bytes in all), 2,120 once encoded.
        assert!(terms_url(&format!("https://example.com/{}", "é".repeat(350))).is_err());
    }
}
