//! The iXiamen identity (FAQ 1): bearer JWTs from the configured OpenID
//! Connect issuer, verified against its JWKS. Discovery finds the JWKS; keys
//! are cached and fetched again when a token names an unknown `kid` (at most
//! once per [`REFRESH_COOLDOWN`]). Only RS256 and ES256 are accepted; `iss`,
//! `aud`, `exp` and `sub` are required, `nbf` is enforced when present, an
//! `iat` in the future (beyond the clock skew) and a lifetime over
//! `identity.max_token_lifetime_secs` are refused, and so is any `crit` header.
//! Which claims carry the name, certificate and mobile is configuration.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use intake_rules::form::{CertificateType, Identity};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::sync::RwLock;

use crate::config::IdentityConfig;

/// Shortest interval between two JWKS fetches caused by unknown key ids.
pub const REFRESH_COOLDOWN: Duration = Duration::from_secs(10);

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `issuer|sub`: the owner key of submissions.
    pub subject: String,
    /// Name, certificate and mobile from the token.
    pub identity: Identity,
}

/// Why a token was refused (all are 401 `auth.invalid_token`; the reason is logged, not returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Not a JWT, or a header we cannot read.
    Malformed,
    /// `alg` other than RS256/ES256 (including `none`).
    Algorithm(String),
    /// No key with that `kid` in the issuer's JWKS.
    UnknownKey,
    /// Signature, `iss`, `aud`, `exp`, `nbf` or a required claim failed.
    Invalid(String),
    /// A `crit` header parameter (RFC 7515 §4.1.11: none is understood here).
    Critical,
    /// The identity claims are missing or unusable.
    Claims(String),
    /// The issuer's keys could not be fetched (503, not 401).
    KeysUnavailable(String),
}

struct Keys {
    by_kid: HashMap<String, (Algorithm, DecodingKey)>,
    fetched: Option<Instant>,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Verifies bearer tokens.
pub struct Verifier {
    config: IdentityConfig,
    http: reqwest::Client,
    keys: RwLock<Keys>,
    /// Static keys (tests and the demo's in-process issuer): never fetched.
    fixed: bool,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("issuer", &self.config.issuer).field("fixed", &self.fixed).finish()
    }
}

impl Verifier {
    /// A verifier that discovers and fetches the issuer's keys over HTTP.
    pub fn new(config: IdentityConfig, http: reqwest::Client) -> Verifier {
        Verifier { config, http, keys: RwLock::new(Keys { by_kid: HashMap::new(), fetched: None }), fixed: false }
    }

    /// A verifier with a fixed JWKS (no network).
    pub fn with_jwks(config: IdentityConfig, jwks: &JwkSet) -> Verifier {
        let by_kid = index(jwks);
        Verifier {
            config,
            http: crate::net::http_client(),
            keys: RwLock::new(Keys { by_kid, fetched: Some(Instant::now()) }),
            fixed: true,
        }
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Verifies a bearer token and extracts the caller.
    pub async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithmName => AuthError::Algorithm("unsupported".into()),
            _ => AuthError::Malformed,
        })?;
        // RFC 7515 §4.1.11: a `crit` extension the recipient does not understand must be
        // refused; we understand none, so any `crit` is refused.
        if header.crit.is_some() {
            return Err(AuthError::Critical);
        }
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(AuthError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.clone().ok_or(AuthError::UnknownKey)?;
        let (alg, key) = match self.key(&kid).await? {
            Some(k) => k,
            None => return Err(AuthError::UnknownKey),
        };
        if alg != header.alg {
            return Err(AuthError::Algorithm(format!("{:?} with a {alg:?} key", header.alg)));
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway_secs;
        let data = jsonwebtoken::decode::<HashMap<String, Value>>(token, &key, &validation)
            .map_err(|e| AuthError::Invalid(format!("{:?}", e.kind())))?;
        self.times(&data.claims, now_secs())?;
        self.caller(&data.claims)
    }

    /// `iat` not in the future beyond the clock skew; the lifetime (`exp - iat`, or `exp - now`
    /// without `iat`) at most `max_token_lifetime_secs` (`exp`, `nbf` are checked by the decoder).
    fn times(&self, claims: &HashMap<String, Value>, now: u64) -> Result<(), AuthError> {
        let leeway = self.config.leeway_secs;
        let number = |name: &str| -> Result<Option<u64>, AuthError> {
            match claims.get(name) {
                None => Ok(None),
                Some(v) => v
                    .as_u64()
                    .or_else(|| v.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
                    .map(Some)
                    .ok_or_else(|| AuthError::Invalid(format!("{name} is not a NumericDate"))),
            }
        };
        let iat = number("iat")?;
        let exp = number("exp")?.ok_or_else(|| AuthError::Invalid("exp missing".into()))?;
        if let Some(iat) = iat
            && iat > now.saturating_add(leeway)
        {
            return Err(AuthError::Invalid("iat in the future".into()));
        }
        let lifetime = exp.saturating_sub(iat.unwrap_or(now));
        if lifetime > self.config.max_token_lifetime_secs.saturating_add(leeway) {
            return Err(AuthError::Invalid(format!("lifetime {lifetime} s over the maximum")));
        }
        Ok(())
    }

    fn caller(&self, claims: &HashMap<String, Value>) -> Result<Caller, AuthError> {
        let names = &self.config.claims;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
        let sub = text("sub").ok_or_else(|| AuthError::Claims("sub".into()))?;
        let name = text(&names.name).ok_or_else(|| AuthError::Claims(names.name.clone()))?;
        let kind = text(&names.certificate_type)
            .and_then(CertificateType::parse)
            .ok_or_else(|| AuthError::Claims(names.certificate_type.clone()))?;
        let number =
            text(&names.certificate_number).ok_or_else(|| AuthError::Claims(names.certificate_number.clone()))?;
        let mobile = text(&names.mobile).map(str::to_owned);
        Ok(Caller {
            subject: format!("{}|{sub}", self.config.issuer),
            identity: Identity {
                name: name.to_owned(),
                certificate_type: kind,
                certificate_number: intake_rules::form::numbers::normalize(number),
                mobile,
            },
        })
    }

    async fn key(&self, kid: &str) -> Result<Option<(Algorithm, DecodingKey)>, AuthError> {
        {
            let keys = self.keys.read().await;
            if let Some(k) = keys.by_kid.get(kid) {
                return Ok(Some(k.clone()));
            }
            if self.fixed || keys.fetched.is_some_and(|t| t.elapsed() < REFRESH_COOLDOWN) {
                return Ok(None);
            }
        }
        let mut keys = self.keys.write().await;
        // Another request may have refreshed while we waited for the lock.
        if let Some(k) = keys.by_kid.get(kid) {
            return Ok(Some(k.clone()));
        }
        if keys.fetched.is_some_and(|t| t.elapsed() < REFRESH_COOLDOWN) {
            return Ok(None);
        }
        let jwks = self.fetch_jwks().await;
        keys.fetched = Some(Instant::now());
        keys.by_kid = index(&jwks?);
        Ok(keys.by_kid.get(kid).cloned())
    }

    async fn fetch_jwks(&self) -> Result<JwkSet, AuthError> {
        let unavailable = |e: String| AuthError::KeysUnavailable(e);
        let uri = match &self.config.jwks_uri {
            Some(u) => u.clone(),
            None => {
                let url = format!("{}/.well-known/openid-configuration", self.config.issuer.trim_end_matches('/'));
                let doc: Value = get_json(&self.http, &url).await.map_err(unavailable)?;
                if doc.get("issuer").and_then(Value::as_str) != Some(self.config.issuer.as_str()) {
                    return Err(unavailable(format!("discovery at {url} names another issuer")));
                }
                doc.get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unavailable(format!("no jwks_uri at {url}")))?
                    .to_owned()
            }
        };
        let value = get_json(&self.http, &uri).await.map_err(unavailable)?;
        serde_json::from_value(value).map_err(|e| unavailable(format!("{uri}: {e}")))
    }
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let resp = http.get(url).timeout(Duration::from_secs(10)).send().await.map_err(|e| format!("{url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    resp.json().await.map_err(|e| format!("{url}: {e}"))
}

/// Usable keys of a JWKS by `kid`: RSA keys for RS256, P-256 keys for ES256; others are skipped.
fn index(jwks: &JwkSet) -> HashMap<String, (Algorithm, DecodingKey)> {
    jwks.keys
        .iter()
        .filter_map(|jwk: &Jwk| {
            let kid = jwk.common.key_id.clone()?;
            let alg = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
                _ => return None,
            };
            if let Some(declared) = jwk.common.key_algorithm
                && format!("{declared:?}") != format!("{alg:?}")
            {
                return None;
            }
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, (alg, key)))
        })
        .collect()
}
