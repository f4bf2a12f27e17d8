//! Authentication: turns an `Authorization: Bearer` credential into a
//! [`Principal`]. The algorithm is pinned by configuration, never taken from
//! the token; `exp` and `sub` are required. No credential at all is the
//! anonymous principal; a bad one is an [`AuthError`].

mod jwks;

use std::sync::Arc;

use coplane_domain::auth::{Principal, Role, tokens};
use coplane_domain::ids::{CustomerId, MemberId, ResellerId, TenantId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::settings::JwtSettings;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 5;

/// The claims coplane reads (API.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Claims {
    /// Subject.
    pub sub: String,
    /// Role names.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Reseller acted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseller_id: Option<uuid::Uuid>,
    /// Member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<uuid::Uuid>,
    /// Customer acted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<uuid::Uuid>,
    /// Tenants administered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenant_ids: Vec<uuid::Uuid>,
    /// Scopes of an integration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// An integration acting for every reseller's world: explicit, never
    /// implied by a missing `reseller_id`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub coop_wide: bool,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Issued at.
    #[serde(default)]
    pub iat: u64,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
}

/// Why a credential was refused. Shown to the caller as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The header is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`")]
    MalformedHeader,
    /// Not a JWT, or claims of the wrong shape.
    #[error("the token is malformed: {0}")]
    Malformed(String),
    /// Signature, key or algorithm do not match.
    #[error("the token's signature is not valid for this server")]
    BadSignature,
    /// Past its `exp`.
    #[error("the token has expired")]
    Expired,
    /// Wrong `iss` or `aud`, or not yet valid.
    #[error("the token is not for this server: {0}")]
    WrongAudience(String),
    /// The key set of the identity provider could not be fetched.
    #[error("the identity provider's keys are unavailable")]
    KeysUnavailable,
    /// An API token that is not known.
    #[error("the API token is not known")]
    UnknownToken,
    /// A revoked API token.
    #[error("the API token was revoked")]
    Revoked,
    /// The credential store could not be read.
    #[error("credentials cannot be checked right now")]
    Unavailable,
}

impl AuthError {
    /// A short machine-readable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MalformedHeader => "malformed_header",
            Self::Malformed(_) => "malformed_token",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::WrongAudience(_) => "wrong_audience",
            Self::KeysUnavailable => "keys_unavailable",
            Self::UnknownToken => "unknown_token",
            Self::Revoked => "revoked",
            Self::Unavailable => "unavailable",
        }
    }
}

enum Keys {
    Hs256 {
        decoding: DecodingKey,
        encoding: EncodingKey,
    },
    Jwks(jwks::JwksCache),
}

/// Verifies credentials; cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    keys: Arc<Keys>,
    validation: Arc<Validation>,
}

impl Authenticator {
    /// An authenticator for the configured keys.
    pub fn new(settings: &JwtSettings) -> Self {
        let (keys, mut validation) = match settings {
            JwtSettings::Hs256 { secret, .. } => {
                let bytes = secret.expose_secret().as_bytes();
                (
                    Keys::Hs256 {
                        decoding: DecodingKey::from_secret(bytes),
                        encoding: EncodingKey::from_secret(bytes),
                    },
                    Validation::new(Algorithm::HS256),
                )
            }
            JwtSettings::Jwks {
                url,
                issuer,
                audience,
                algorithm,
            } => {
                let mut v = Validation::new(*algorithm);
                v.set_issuer(&[issuer]);
                v.set_audience(&[audience]);
                (Keys::Jwks(jwks::JwksCache::new(url.clone())), v)
            }
        };
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        if matches!(settings, JwtSettings::Hs256 { .. }) {
            validation.validate_aud = false;
        }
        Self {
            keys: Arc::new(keys),
            validation: Arc::new(validation),
        }
    }

    /// The principal for an `Authorization` header value; `None` is anonymous.
    /// API tokens (`cpl_…`) are looked up in `db`; anything else is a JWT.
    pub async fn authenticate(
        &self,
        header: Option<&str>,
        db: &sea_orm::DatabaseConnection,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Principal, AuthError> {
        let Some(token) = bearer(header)? else {
            return Ok(Principal::anonymous());
        };
        if !tokens::is_api_token(token) {
            return self.authenticate_jwt(token).await;
        }
        tokens::authenticate(db, token, now).await.map_err(|e| match e {
            tokens::TokenError::Unknown => AuthError::UnknownToken,
            tokens::TokenError::Revoked => AuthError::Revoked,
            tokens::TokenError::Expired => AuthError::Expired,
            tokens::TokenError::Db(e) => {
                tracing::error!(error.cause_chain = ?e, error.message = %e, "API token lookup failed");
                AuthError::Unavailable
            }
        })
    }

    /// The principal a JWT stands for.
    pub async fn authenticate_jwt(&self, token: &str) -> Result<Principal, AuthError> {
        principal(self.verify(token).await?)
    }

    async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let decoded = match &*self.keys {
            Keys::Hs256 { decoding, .. } => {
                jsonwebtoken::decode::<Claims>(token, decoding, &self.validation)
            }
            Keys::Jwks(cache) => {
                let header = jsonwebtoken::decode_header(token).map_err(map_jwt_error)?;
                let key = cache.key(header.kid.as_deref()).await?;
                jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            }
        };
        decoded.map(|d| d.claims).map_err(map_jwt_error)
    }

    /// Signs `claims` with the HS256 key. Fails when keys come from a JWKS.
    pub fn mint(&self, claims: &Claims) -> anyhow::Result<String> {
        match &*self.keys {
            Keys::Hs256 { encoding, .. } => Ok(jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                claims,
                encoding,
            )?),
            Keys::Jwks(_) => anyhow::bail!(
                "tokens can only be minted with an HS256 key (COPLANE_JWT_SECRET or the development key); \
                 this configuration verifies tokens of an OIDC provider"
            ),
        }
    }
}

/// Whether checking this header's credential costs a database read (an API
/// token), read exactly as [`Authenticator::authenticate`] reads it.
pub fn is_api_token_header(header: Option<&str>) -> bool {
    matches!(bearer(header), Ok(Some(t)) if tokens::is_api_token(t))
}

/// The credential of a `Bearer` header; `None` without a header.
fn bearer(header: Option<&str>) -> Result<Option<&str>, AuthError> {
    let Some(header) = header else {
        return Ok(None);
    };
    header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Some)
        .ok_or(AuthError::MalformedHeader)
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => AuthError::Expired,
        K::InvalidSignature
        | K::InvalidAlgorithm
        | K::InvalidAlgorithmName
        | K::InvalidKeyFormat => AuthError::BadSignature,
        K::InvalidIssuer => AuthError::WrongAudience("unexpected issuer".into()),
        K::InvalidAudience => AuthError::WrongAudience("unexpected audience".into()),
        K::ImmatureSignature => AuthError::WrongAudience("not valid yet".into()),
        K::MissingRequiredClaim(c) => AuthError::Malformed(format!("missing claim `{c}`")),
        _ => AuthError::Malformed(e.to_string()),
    }
}

fn principal(c: Claims) -> Result<Principal, AuthError> {
    if c.sub.is_empty() {
        return Err(AuthError::Malformed("empty `sub`".into()));
    }
    let mut roles = Vec::new();
    for name in &c.roles {
        let role: Role = name
            .parse()
            .map_err(|e: coplane_domain::auth::UnknownRole| AuthError::Malformed(e.to_string()))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.contains(&Role::Reseller) && c.reseller_id.is_none() {
        return Err(AuthError::Malformed(
            "the reseller role needs a `reseller_id` claim".into(),
        ));
    }
    if c.coop_wide && c.reseller_id.is_some() {
        return Err(AuthError::Malformed(
            "`coop_wide` and `reseller_id` exclude each other".into(),
        ));
    }
    let expires_at = i64::try_from(c.exp)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0));
    Ok(Principal {
        subject: c.sub,
        coop_wide: c.coop_wide,
        expires_at,
        api_token_id: None,
        roles,
        reseller_id: c.reseller_id.map(ResellerId),
        member_id: c.member_id.map(MemberId),
        customer_id: c.customer_id.map(CustomerId),
        tenant_ids: c.tenant_ids.into_iter().map(TenantId).collect(),
        scopes: c.scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn auth(secret: &str) -> Authenticator {
        Authenticator::new(&JwtSettings::Hs256 {
            secret: SecretString::from(secret.to_owned()),
            source: "test".into(),
        })
    }

    fn claims(exp_offset: i64) -> Claims {
        let now = jsonwebtoken::get_current_timestamp();
        Claims {
            sub: "me".into(),
            roles: vec!["steward".into()],
            exp: now.saturating_add_signed(exp_offset),
            iat: now,
            ..Claims::default()
        }
    }

    async fn check(a: &Authenticator, header: Option<&str>) -> Result<Principal, AuthError> {
        match bearer(header)? {
            None => Ok(Principal::anonymous()),
            Some(token) => a.authenticate_jwt(token).await,
        }
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[tokio::test]
    async fn accepts_its_own_tokens() {
        let a = auth(KEY);
        let token = a.mint(&claims(60)).unwrap();
        let p = check(&a, Some(&format!("Bearer {token}"))).await.unwrap();
        assert_eq!(
            (p.subject.as_str(), p.roles.as_slice()),
            ("me", &[Role::Steward][..])
        );
    }

    #[tokio::test]
    async fn refuses_forged_expired_unsigned_and_malformed_tokens() {
        let a = auth(KEY);
        let forged = auth("another-secret-another-secret-1234")
            .mint(&claims(60))
            .unwrap();
        let bearer = |t: &str| format!("Bearer {t}");
        assert_eq!(
            check(&a, Some(&bearer(&forged))).await,
            Err(AuthError::BadSignature)
        );
        let expired = a.mint(&claims(-120)).unwrap();
        assert_eq!(
            check(&a, Some(&bearer(&expired))).await,
            Err(AuthError::Expired)
        );
        // alg: none, with the same claims and no signature.
        let b64 =
            |s: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s);
        let none = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(&serde_json::to_string(&claims(60)).unwrap())
        );
        assert!(check(&a, Some(&bearer(&none))).await.is_err());
        assert!(matches!(
            check(&a, Some(&bearer("not-a-jwt"))).await,
            Err(AuthError::Malformed(_))
        ));
        assert_eq!(
            check(&a, Some("Basic abc")).await,
            Err(AuthError::MalformedHeader)
        );
        assert_eq!(
            check(&a, Some("Bearer ")).await,
            Err(AuthError::MalformedHeader)
        );
        let mut unknown_role = claims(60);
        unknown_role.roles = vec!["root".into()];
        let t = a.mint(&unknown_role).unwrap();
        assert!(matches!(
            check(&a, Some(&bearer(&t))).await,
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn an_api_token_is_recognised_however_the_header_spaces_it() {
        assert!(is_api_token_header(Some("Bearer cpl_abc")));
        assert!(is_api_token_header(Some("Bearer  cpl_abc")));
        assert!(!is_api_token_header(Some("Bearer eyJ.x.y")));
        assert!(!is_api_token_header(None));
    }

    #[tokio::test]
    async fn no_header_is_anonymous() {
        assert!(check(&auth(KEY), None).await.unwrap().is_anonymous());
    }
}
