//! How JWTs are verified: a shared secret, an OIDC provider's keys, or the
//! development key.

use std::path::{Path, PathBuf};

use jsonwebtoken::Algorithm;
use secrecy::SecretString;

use super::{DevKey, JwtSettings, Raw, SettingsError, http_url, invalid, parse_or, secret, value};

pub(super) fn jwt(raw: &Raw, mode: DevKey) -> Result<JwtSettings, SettingsError> {
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
            if let Some(a) = get("jwt_algorithm").filter(|a| *a != "HS256") {
                return Err(invalid(
                    "jwt_algorithm",
                    format!("`{a}`: the development key signs with HS256"),
                ));
            }
            for key in ["jwt_issuer", "jwt_audience"] {
                if get(key).is_some() {
                    return Err(invalid(key, "only used with COPLANE_JWT_JWKS_URL"));
                }
            }
            let path = PathBuf::from(get("dev_key_file").unwrap_or("coplane-dev-jwt.key"));
            if mode == DevKey::MustExist && !path.exists() {
                let shown = std::env::current_dir()
                    .map(|d| d.join(&path))
                    .unwrap_or_else(|_| path.clone());
                return Err(invalid(
                    "dev_key_file",
                    format!(
                        "no development key at {}: run this where `coplane up` runs, \
                         or set COPLANE_DEV_KEY_FILE or COPLANE_JWT_SECRET to the server's",
                        shown.display()
                    ),
                ));
            }
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
