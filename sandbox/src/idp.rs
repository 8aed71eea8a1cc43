//! The SANDBOX identity provider of `intake demo` (never in `intake serve`):
//! a minimal OpenID Connect issuer with discovery, JWKS, an authorization
//! endpoint whose login page lets you pick one of the sample people, the
//! authorization-code flow with PKCE (S256), and, for curl, a token endpoint
//! by person. Tokens are ES256 JWTs with the claim names of the default
//! configuration. Real deployments verify iXiamen's tokens; tests use a
//! real OpenID Connect server (`tests/oidc/`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType, Jwk,
    JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use crate::people::{self, Person};

/// Lifetime of sandbox tokens.
pub const TOKEN_TTL: Duration = Duration::from_secs(3600);

/// An ES256 signing key with its public JWK.
#[derive(Clone)]
pub struct Signer {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish()
    }
}

impl Signer {
    /// A fresh P-256 key.
    pub fn generate(kid: &str) -> Signer {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let der = key.to_pkcs8_der().expect("a fresh P-256 key encodes as PKCS#8");
        let point = key.verifying_key().to_encoded_point(false);
        let x = URL_SAFE_NO_PAD.encode(point.x().expect("uncompressed point has x"));
        let y = URL_SAFE_NO_PAD.encode(point.y().expect("uncompressed point has y"));
        let jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::ES256),
                key_id: Some(kid.to_owned()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x,
                y,
            }),
        };
        Signer { kid: kid.to_owned(), encoding: EncodingKey::from_ec_der(der.as_bytes()), jwk }
    }

    /// The public key set.
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: vec![self.jwk.clone()] }
    }

    /// Signs arbitrary claims (tests use this to forge expired, wrong-audience and other tokens).
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("ES256 signing with a valid key")
    }

    /// Signs claims with header parameters edited by `edit` (tests: `crit`, other `typ`s).
    pub fn sign_with_header(&self, edit: impl FnOnce(&mut Header), claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        edit(&mut header);
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("ES256 signing with a valid key")
    }

    /// A token for a sample person.
    pub fn token_for(&self, issuer: &str, audience: &str, person: &Person, ttl: Duration) -> String {
        self.sign(&person_claims(issuer, audience, person, ttl))
    }
}

/// The claims of a sandbox token for `person` (claim names of the default configuration).
pub fn person_claims(issuer: &str, audience: &str, person: &Person, ttl: Duration) -> serde_json::Value {
    let now = now_secs();
    json!({
        "iss": issuer,
        "aud": audience,
        "sub": person.key,
        "iat": now,
        "nbf": now,
        "exp": now + ttl.as_secs(),
        "name": person.name,
        "cert_type": person.certificate_type,
        "cert_no": person.certificate_number,
        "phone_number": person.mobile,
    })
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

struct PendingCode {
    person: String,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    issued: SystemTime,
}

/// The sandbox issuer: its URL, audience and key.
#[derive(Clone)]
pub struct SandboxIdp {
    issuer: String,
    audience: String,
    signer: Signer,
    codes: Arc<Mutex<HashMap<String, PendingCode>>>,
    /// The registered redirect URIs; a request's `redirect_uri` must equal one of them as a parsed URL.
    redirect_uris: Arc<Vec<url::Url>>,
}

impl std::fmt::Debug for SandboxIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxIdp").field("issuer", &self.issuer).finish()
    }
}

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    #[serde(default)]
    state: Option<String>,
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    person: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    code_verifier: String,
    redirect_uri: String,
    client_id: String,
}

impl SandboxIdp {
    /// An issuer at `issuer` (the URL where [`SandboxIdp::routes`] is mounted) for `audience`.
    pub fn new(issuer: &str, audience: &str) -> SandboxIdp {
        SandboxIdp {
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: audience.to_owned(),
            signer: Signer::generate("sandbox-es256-1"),
            codes: Arc::new(Mutex::new(HashMap::new())),
            redirect_uris: Arc::new(default_redirect_uris(issuer)),
        }
    }

    /// Registers exactly these redirect URIs instead of the defaults (the pages of the issuer's
    /// origin, `/`, `/index.html` and `/embed-demo.html`, on `127.0.0.1` and on `localhost`).
    /// URIs that do not parse are ignored.
    pub fn with_redirect_uris(mut self, uris: &[&str]) -> SandboxIdp {
        self.redirect_uris = Arc::new(uris.iter().filter_map(|u| url::Url::parse(u).ok()).collect());
        self
    }

    /// True when `uri` is, as a parsed URL, one of the registered redirect URIs (no prefix
    /// matching: `http://127.0.0.1:1@evil.example/cb` names the host `evil.example`).
    pub fn is_registered_redirect(&self, uri: &str) -> bool {
        let Ok(parsed) = url::Url::parse(uri) else { return false };
        parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.fragment().is_none()
            && self.redirect_uris.contains(&parsed)
    }

    /// The signing key (its JWKS is what the backend verifies against).
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// A token for a sample person (`intake demo` prints how to get one with curl).
    pub fn token(&self, person_key: &str) -> Option<String> {
        people::person(person_key).map(|p| self.signer.token_for(&self.issuer, &self.audience, p, TOKEN_TTL))
    }

    /// The routes, to be mounted under the issuer's path (`/sandbox/idp`).
    pub fn routes(&self) -> BoxedFilter<(Response,)> {
        let this = self.clone();
        let discovery = warp::path!(".well-known" / "openid-configuration").and(warp::get()).map({
            let this = this.clone();
            move || {
                let i = &this.issuer;
                warp::reply::json(&json!({
                    "issuer": i,
                    "authorization_endpoint": format!("{i}/authorize"),
                    "token_endpoint": format!("{i}/token"),
                    "jwks_uri": format!("{i}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["ES256"],
                    "code_challenge_methods_supported": ["S256"],
                    "grant_types_supported": ["authorization_code"],
                    "token_endpoint_auth_methods_supported": ["none"],
                    "scopes_supported": ["openid", "ixiamen"],
                }))
                .into_response()
            }
        });
        let jwks = warp::path!("jwks").and(warp::get()).map({
            let this = this.clone();
            move || warp::reply::json(&this.signer.jwks()).into_response()
        });
        let authorize = warp::path!("authorize").and(warp::get()).and(warp::query::<AuthorizeQuery>()).map({
            let this = this.clone();
            move |q: AuthorizeQuery| this.authorize(&q)
        });
        let token = warp::path!("token").and(warp::post()).and(warp::body::form::<TokenForm>()).map({
            let this = this.clone();
            move |f: TokenForm| this.exchange(&f)
        });
        let by_person = warp::path!("token" / String).and(warp::get()).map({
            move |key: String| match this.token(&key) {
                Some(t) => warp::reply::json(&json!({ "token": t, "person": key, "sandbox": true })).into_response(),
                None => warp::reply::with_status("unknown sample person", StatusCode::NOT_FOUND).into_response(),
            }
        });
        // Pages on another origin of this machine (e.g. `localhost` instead of `127.0.0.1`) exchange
        // their code from the browser; the sandbox answers them like a public-client issuer does.
        discovery
            .or(jwks)
            .unify()
            .or(authorize)
            .unify()
            .or(token)
            .unify()
            .or(by_person)
            .unify()
            .with(warp::reply::with::header("access-control-allow-origin", "*"))
            .map(Reply::into_response)
            .boxed()
    }

    fn authorize(&self, q: &AuthorizeQuery) -> Response {
        if q.client_id != self.audience || q.code_challenge_method.as_deref().unwrap_or("S256") != "S256" {
            return warp::reply::with_status("unknown client or PKCE method (S256 only)", StatusCode::BAD_REQUEST)
                .into_response();
        }
        if !self.is_registered_redirect(&q.redirect_uri) {
            return warp::reply::with_status("redirect_uri is not registered for this client", StatusCode::BAD_REQUEST)
                .into_response();
        }
        let Some(person) = q.person.as_deref().and_then(people::person) else {
            return warp::reply::html(login_page(q)).into_response();
        };
        let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
        let mut codes = self.codes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        codes.retain(|_, c| c.issued.elapsed().map(|e| e < Duration::from_secs(300)).unwrap_or(false));
        codes.insert(
            code.clone(),
            PendingCode {
                person: person.key.clone(),
                client_id: q.client_id.clone(),
                redirect_uri: q.redirect_uri.clone(),
                challenge: q.code_challenge.clone(),
                nonce: q.nonce.clone(),
                issued: SystemTime::now(),
            },
        );
        let sep = if q.redirect_uri.contains('?') { '&' } else { '?' };
        let mut location = format!("{}{sep}code={}", q.redirect_uri, urlencode(&code));
        if let Some(state) = &q.state {
            location.push_str(&format!("&state={}", urlencode(state)));
        }
        warp::reply::with_header(warp::reply::with_status(warp::reply(), StatusCode::FOUND), "location", location)
            .into_response()
    }

    fn exchange(&self, f: &TokenForm) -> Response {
        let error = |e: &str| {
            warp::reply::with_status(warp::reply::json(&json!({ "error": e })), StatusCode::BAD_REQUEST).into_response()
        };
        if f.grant_type != "authorization_code" {
            return error("unsupported_grant_type");
        }
        let pending = self.codes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&f.code);
        let Some(p) = pending else { return error("invalid_grant") };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(f.code_verifier.as_bytes()));
        if challenge != p.challenge || p.redirect_uri != f.redirect_uri || p.client_id != f.client_id {
            return error("invalid_grant");
        }
        let Some(person) = people::person(&p.person) else { return error("invalid_grant") };
        let mut claims = person_claims(&self.issuer, &self.audience, person, TOKEN_TTL);
        if let Some(nonce) = p.nonce {
            claims["nonce"] = json!(nonce);
        }
        let token = self.signer.sign(&claims);
        warp::reply::json(&json!({
            "id_token": token,
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL.as_secs(),
        }))
        .into_response()
    }
}

/// The demo's pages on the issuer's origin, under `127.0.0.1` and `localhost` alike.
fn default_redirect_uris(issuer: &str) -> Vec<url::Url> {
    let Ok(issuer) = url::Url::parse(issuer) else { return Vec::new() };
    let port = issuer.port().map(|p| format!(":{p}")).unwrap_or_default();
    let host = issuer.host_str().unwrap_or("127.0.0.1");
    let hosts = if matches!(host, "127.0.0.1" | "localhost") { vec!["127.0.0.1", "localhost"] } else { vec![host] };
    let mut out = Vec::new();
    for host in &hosts {
        for page in ["/", "/index.html", "/embed-demo.html"] {
            if let Ok(u) = url::Url::parse(&format!("{}://{host}{port}{page}", issuer.scheme())) {
                out.push(u);
            }
        }
    }
    out
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn login_page(q: &AuthorizeQuery) -> String {
    let mut items = String::new();
    for p in people::people() {
        let mut href = format!(
            "authorize?client_id={}&redirect_uri={}&code_challenge={}&code_challenge_method=S256&person={}",
            urlencode(&q.client_id),
            urlencode(&q.redirect_uri),
            urlencode(&q.code_challenge),
            urlencode(&p.key)
        );
        if let Some(s) = &q.state {
            href.push_str(&format!("&state={}", urlencode(s)));
        }
        if let Some(n) = &q.nonce {
            href.push_str(&format!("&nonce={}", urlencode(n)));
        }
        items.push_str(&format!(
            "<li><a href=\"{}\" data-person=\"{}\">{}</a> <small>{} · {}</small></li>",
            html_escape(&href),
            html_escape(&p.key),
            html_escape(&p.name),
            html_escape(&p.key),
            html_escape(&intake_rules::form::numbers::mask(&p.certificate_number)),
        ));
    }
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>沙箱登录 Sandbox sign-in</title><style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}}\
         .warn{{background:#fff3cd;border:1px solid #e0c36a;padding:.75rem;border-radius:.5rem}}li{{margin:.6rem 0}}a{{font-size:1.1rem}}</style></head>\
         <body><p class=\"warn\"><strong>演示沙箱，不是 i厦门。</strong> Demo sandbox — this is not iXiamen. Pick a sample person to sign in as.</p>\
         <h1>选择示例人员 Choose a sample person</h1><ul>{items}</ul></body></html>"
    )
}
