//! Configuration: a TOML file (`intake serve --config FILE`, documented in
//! `docs/configuration.md` and `config/intake.example.toml`) with environment
//! overrides (`INTAKE_*`). Every field has a default, so an empty file is a
//! valid configuration for a local run.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listening and pages.
    pub server: ServerConfig,
    /// Where submissions are stored.
    pub store: StoreConfig,
    /// The iXiamen OpenID Connect issuer.
    pub identity: IdentityConfig,
    /// The city's platform.
    pub platform: PlatformConfig,
    /// The outbox worker.
    pub forwarding: ForwardingConfig,
    /// Request and resource limits.
    pub limits: LimitsConfig,
    /// Feature switches.
    pub features: FeaturesConfig,
    /// Photo spec profile.
    pub photo: PhotoConfig,
    /// Help texts shown by the widget (FAQ 2, 3).
    pub help: HelpConfig,
    /// Browser security and abuse limits.
    pub security: SecurityConfig,
}

/// Browser security and abuse limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Origins allowed to call the API from a browser (the iXiamen host pages); empty: no CORS.
    pub cors_origins: Vec<String>,
    /// Origins allowed to frame our pages (CSP `frame-ancestors`); `'self'` always.
    pub frame_ancestors: Vec<String>,
    /// Submissions (and amendments) per person per 10 minutes; 0 disables.
    pub submissions_per_10_min: u32,
    /// API requests per client address per minute; 0 disables.
    pub requests_per_minute: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            cors_origins: Vec::new(),
            frame_ancestors: Vec::new(),
            submissions_per_10_min: 10,
            requests_per_minute: 600,
        }
    }
}

/// Listening and pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Folder with the standalone page and the built widget (`npm run build` writes `pkg/` into it),
    /// served at `/`; relative to the working directory. Default `www`; `None` serves no pages.
    pub www_dir: Option<PathBuf>,
    /// How long graceful shutdown waits for requests in flight, seconds.
    pub shutdown_grace_secs: u64,
    /// A client must send the whole request head within this many seconds (slow-loris), seconds.
    pub header_read_timeout_secs: u64,
    /// A whole request, body included, must be answered within this many seconds (408 after).
    pub request_timeout_secs: u64,
    /// Benchmarks only: enables `POST /bench/bare`, which reads a body and fsyncs it into this folder
    /// (the baseline of the load benchmark). Never set in production.
    pub bench_dir: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            www_dir: Some(PathBuf::from("www")),
            shutdown_grace_secs: 10,
            header_read_timeout_secs: 10,
            request_timeout_secs: 180,
            bench_dir: None,
        }
    }
}

/// Where submissions are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` (default `sqlite://data/intake.db`) or `postgres://…` (scale-out).
    pub url: String,
    /// Encryption at rest (AES-256-GCM, a data key per submission wrapped by a master key).
    pub encryption: Option<EncryptionConfig>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { url: "sqlite://data/intake.db".into(), encryption: None }
    }
}

/// Master keys for encryption at rest. Old keys stay listed so older submissions stay readable.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// The key id new submissions are encrypted under.
    pub active_key_id: String,
    /// Key id → base64 of 32 random bytes (`head -c 32 /dev/urandom | base64`). Prefer `INTAKE_MASTER_KEYS`.
    pub keys: std::collections::HashMap<String, String>,
}

impl std::fmt::Debug for EncryptionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&String> = self.keys.keys().collect();
        f.debug_struct("EncryptionConfig").field("active_key_id", &self.active_key_id).field("key_ids", &ids).finish()
    }
}

/// Which token claims carry the identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimNames {
    /// The registered name.
    pub name: String,
    /// The certificate type (`resident_id`, `residence_permit`, `foreign_permanent_resident`, `passport`).
    pub certificate_type: String,
    /// The certificate number.
    pub certificate_number: String,
    /// The registered mobile (optional claim).
    pub mobile: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            name: "name".into(),
            certificate_type: "cert_type".into(),
            certificate_number: "cert_no".into(),
            mobile: "phone_number".into(),
        }
    }
}

/// The iXiamen OpenID Connect issuer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// The issuer URL (`iss`); discovery is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// The accepted audience (`aud`): the widget's client id.
    pub audience: String,
    /// JWKS URL; discovered from the issuer when absent.
    pub jwks_uri: Option<String>,
    /// Accepted clock skew, seconds.
    pub leeway_secs: u64,
    /// Longest accepted token lifetime (`exp - iat`, or `exp - now` without `iat`), seconds.
    pub max_token_lifetime_secs: u64,
    /// Claim names.
    pub claims: ClaimNames,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            issuer: "http://127.0.0.1:8080/sandbox/idp".into(),
            audience: "intake-web".into(),
            jwks_uri: None,
            leeway_secs: 2,
            max_token_lifetime_secs: 24 * 3600,
            claims: ClaimNames::default(),
        }
    }
}

/// The city's platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformConfig {
    /// Base URL: `{base_url}/v1/collections`, `{base_url}/v1/archives/…`.
    pub base_url: String,
    /// Timeout of one request, seconds.
    pub timeout_secs: u64,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig { base_url: "http://127.0.0.1:9090".into(), timeout_secs: 15 }
    }
}

/// The outbox worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForwardingConfig {
    /// Run the worker in this process.
    pub enabled: bool,
    /// How often the worker looks for due submissions when nothing wakes it, milliseconds.
    pub poll_interval_ms: u64,
    /// How long a claim is held before another worker may take it over, seconds.
    pub lease_secs: u64,
    /// First retry delay, milliseconds (doubles each attempt, with jitter).
    pub base_delay_ms: u64,
    /// Longest retry delay, milliseconds.
    pub max_delay_ms: u64,
    /// Submissions forwarded at once.
    pub concurrency: usize,
    /// Hours the image bytes are kept after delivery (0: deleted right away); receipt and history stay.
    pub retention_hours: u64,
}

impl Default for ForwardingConfig {
    fn default() -> Self {
        ForwardingConfig {
            enabled: true,
            poll_interval_ms: 1000,
            lease_secs: 60,
            base_delay_ms: 2000,
            max_delay_ms: 10 * 60 * 1000,
            concurrency: 4,
            retention_hours: 0,
        }
    }
}

/// Request and resource limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest whole submission body, bytes.
    pub max_body_bytes: u64,
    /// Largest single part, bytes (a phone photo fixed by the widget is far smaller).
    pub max_part_bytes: u64,
    /// Largest `bundle` JSON part, bytes.
    pub max_bundle_bytes: u64,
    /// Most parts in one submission.
    pub max_parts: usize,
    /// Submissions re-checked at once (image decoding is bounded by this).
    pub max_concurrent_checks: usize,
    /// Upload bytes held in memory at once across all requests, counted as they are received
    /// (not as declared); an upload that finds the budget spent waits (its bytes stay in the
    /// kernel's socket buffers) up to `upload_budget_wait_secs`, then gets 503. Bounds RSS.
    pub max_inflight_upload_bytes: u64,
    /// How long an upload waits for room in the in-flight budget before 503 `server.unavailable`.
    pub upload_budget_wait_secs: u64,
    /// Uploads (submissions and amendments) one person may have in progress at once; more are
    /// 429 `request.too_many_uploads` before their body is read. 0 disables.
    pub max_uploads_per_person: u32,
    /// Uploads in progress at once from one client address (429 beyond). 0 disables.
    pub max_uploads_per_address: u32,
    /// The largest header block of one multipart part, bytes (400 `request.part_header_too_large`).
    pub max_part_header_bytes: usize,
    /// The most header lines of one multipart part.
    pub max_part_header_lines: usize,
    /// An upload that sends nothing for this long is cut with 408 `request.upload_too_slow`, seconds.
    pub upload_idle_timeout_secs: u64,
    /// After `upload_rate_grace_secs`, an upload must have averaged at least this many bytes per
    /// second since it started (408 `request.upload_too_slow` otherwise); 0 disables.
    pub min_upload_bytes_per_sec: u64,
    /// Seconds an upload may take before the minimum rate applies.
    pub upload_rate_grace_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 48 * 1024 * 1024,
            max_part_bytes: 12 * 1024 * 1024,
            max_bundle_bytes: 64 * 1024,
            max_parts: 12,
            max_concurrent_checks: 2,
            max_inflight_upload_bytes: 96 * 1024 * 1024,
            upload_budget_wait_secs: 10,
            max_uploads_per_person: 2,
            max_uploads_per_address: 16,
            max_part_header_bytes: 8 * 1024,
            max_part_header_lines: 16,
            upload_idle_timeout_secs: 15,
            min_upload_bytes_per_sec: 2048,
            upload_rate_grace_secs: 10,
        }
    }
}

/// Feature switches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeaturesConfig {
    /// The information modification module (FAQ 6); off until the city opens it.
    pub modification_open: bool,
}

/// Photo spec profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhotoConfig {
    /// The active profile id (see `intake profiles`).
    pub profile: String,
}

impl Default for PhotoConfig {
    fn default() -> Self {
        PhotoConfig { profile: intake_rules::profile::ProfileSet::embedded().default.clone() }
    }
}

/// Help texts (all configuration, FAQ 2 and 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HelpConfig {
    /// iXiamen account help (registration, SMS codes, passwords), zh-CN.
    pub ixiamen_zh: String,
    /// The same in English.
    pub ixiamen_en: String,
    /// iXiamen hotlines.
    pub ixiamen_hotlines: Vec<String>,
    /// iXiamen service window address with the window numbers, zh-CN.
    pub ixiamen_window_zh: String,
    /// The same in English.
    pub ixiamen_window_en: String,
    /// The collection system's consultation hotline (FAQ 3).
    pub system_hotline: String,
}

impl Default for HelpConfig {
    fn default() -> Self {
        HelpConfig {
            ixiamen_zh: "登录、注册、验证码或密码问题请查看i厦门网站注册指南，或使用网站右下角的在线人工客服。".into(),
            ixiamen_en: "For sign-in, registration, SMS code or password problems, read the iXiamen registration guide or use the online service at the lower right of the iXiamen website.".into(),
            ixiamen_hotlines: vec!["5051516".into(), "5051180".into()],
            ixiamen_window_zh: "厦门市湖里区云顶北路842号厦门市行政服务中心A区3楼，i厦门服务窗口19号、20号".into(),
            ixiamen_window_en: "iXiamen service windows 19 and 20, Hall A, 3rd floor, Xiamen Administrative Service Center, No. 842 Yunding North Road, Huli District, Xiamen".into(),
            system_hotline: "5398135".into(),
        }
    }
}

impl Config {
    /// Reads a TOML file (or the defaults when `path` is `None`), then applies the environment.
    pub fn load(path: Option<&std::path::Path>) -> Result<Config, String> {
        let mut config = match path {
            None => Config::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?
            }
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Environment overrides: `INTAKE_ADDR`, `INTAKE_STORE_URL`, `INTAKE_OIDC_ISSUER`,
    /// `INTAKE_OIDC_AUDIENCE`, `INTAKE_OIDC_JWKS_URI`, `INTAKE_PLATFORM_URL`, `INTAKE_MODIFICATION_OPEN`,
    /// `INTAKE_PHOTO_PROFILE`, `INTAKE_WWW_DIR`, `INTAKE_FORWARDING` (`on`/`off`), `INTAKE_CORS_ORIGINS` and
    /// `INTAKE_FRAME_ANCESTORS` (comma-separated origins).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        if let Some(v) = var("INTAKE_ADDR") {
            self.server.addr = v.parse().map_err(|e| format!("INTAKE_ADDR {v:?}: {e}"))?;
        }
        if let Some(v) = var("INTAKE_STORE_URL") {
            self.store.url = v;
        }
        if let Some(v) = var("INTAKE_MASTER_KEYS") {
            // "active-id:id1=base64,id2=base64"
            let (active, list) = v.split_once(':').ok_or("INTAKE_MASTER_KEYS: expected ACTIVE:ID=KEY,…")?;
            let keys = list
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|kv| kv.split_once('=').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
                .collect::<Option<_>>()
                .ok_or("INTAKE_MASTER_KEYS: expected ACTIVE:ID=KEY,…")?;
            self.store.encryption = Some(EncryptionConfig { active_key_id: active.trim().to_owned(), keys });
        }
        if let Some(v) = var("INTAKE_OIDC_ISSUER") {
            self.identity.issuer = v;
        }
        if let Some(v) = var("INTAKE_OIDC_AUDIENCE") {
            self.identity.audience = v;
        }
        if let Some(v) = var("INTAKE_OIDC_JWKS_URI") {
            self.identity.jwks_uri = Some(v);
        }
        if let Some(v) = var("INTAKE_PLATFORM_URL") {
            self.platform.base_url = v;
        }
        if let Some(v) = var("INTAKE_MODIFICATION_OPEN") {
            self.features.modification_open = parse_bool("INTAKE_MODIFICATION_OPEN", &v)?;
        }
        if let Some(v) = var("INTAKE_FORWARDING") {
            self.forwarding.enabled = parse_bool("INTAKE_FORWARDING", &v)?;
        }
        if let Some(v) = var("INTAKE_PHOTO_PROFILE") {
            self.photo.profile = v;
        }
        if let Some(v) = var("INTAKE_WWW_DIR") {
            self.server.www_dir = Some(v.into());
        }
        let origins = |v: String| v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect();
        if let Some(v) = var("INTAKE_CORS_ORIGINS") {
            self.security.cors_origins = origins(v);
        }
        if let Some(v) = var("INTAKE_FRAME_ANCESTORS") {
            self.security.frame_ancestors = origins(v);
        }
        Ok(())
    }

    /// Refuses configurations that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if intake_rules::profile::ProfileSet::embedded().get(&self.photo.profile).is_none() {
            return Err(format!("photo.profile {:?} is not a known profile", self.photo.profile));
        }
        if !(self.store.url.starts_with("sqlite://") || self.store.url.starts_with("postgres://")) {
            return Err(format!("store.url {:?} must start with sqlite:// or postgres://", self.store.url));
        }
        if self.identity.issuer.is_empty() || self.identity.audience.is_empty() {
            return Err("identity.issuer and identity.audience are required".into());
        }
        if self.limits.max_part_bytes > self.limits.max_body_bytes
            || self.limits.max_concurrent_checks == 0
            || self.limits.max_inflight_upload_bytes < self.limits.max_body_bytes
        {
            return Err(
                "limits: max_part_bytes ≤ max_body_bytes ≤ max_inflight_upload_bytes; max_concurrent_checks ≥ 1".into(),
            );
        }
        if self.limits.max_part_header_bytes < 256
            || self.limits.max_part_header_lines < 2
            || self.limits.upload_idle_timeout_secs == 0
        {
            return Err(
                "limits: max_part_header_bytes ≥ 256, max_part_header_lines ≥ 2, upload_idle_timeout_secs ≥ 1".into()
            );
        }
        if self.identity.max_token_lifetime_secs == 0 {
            return Err("identity.max_token_lifetime_secs must be positive".into());
        }
        if self.forwarding.concurrency == 0 || self.forwarding.base_delay_ms == 0 {
            return Err("forwarding: concurrency and base_delay_ms must be positive".into());
        }
        Ok(())
    }

    /// The active photo profile.
    pub fn profile(&self) -> &'static intake_rules::profile::PhotoProfile {
        let set = intake_rules::profile::ProfileSet::embedded();
        set.get(&self.photo.profile).unwrap_or_else(|| set.default_profile())
    }
}

fn parse_bool(name: &str, v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Ok(true),
        "0" | "false" | "off" | "no" => Ok(false),
        _ => Err(format!("{name} {v:?}: expected on/off")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_equals_the_defaults_where_it_says_so() {
        let text = include_str!("../../config/intake.example.toml");
        let config: Config = toml::from_str(text).expect("example parses");
        config.validate().expect("example is valid");
        assert_eq!(config.limits, LimitsConfig::default());
        assert!(!config.features.modification_open);
        assert_eq!(config.server.www_dir, Some(PathBuf::from("www")), "pages are served from ./www by default");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c = Config::default();
        c.apply_env(|k| match k {
            "INTAKE_ADDR" => Some("127.0.0.1:9999".into()),
            "INTAKE_MODIFICATION_OPEN" => Some("on".into()),
            "INTAKE_STORE_URL" => Some("sqlite:///tmp/x.db".into()),
            "INTAKE_CORS_ORIGINS" => Some("https://www.ixiamen.example, https://m.ixiamen.example,".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.security.cors_origins, ["https://www.ixiamen.example", "https://m.ixiamen.example"]);
        assert_eq!(c.server.addr.port(), 9999);
        assert!(c.features.modification_open);
        assert_eq!(c.store.url, "sqlite:///tmp/x.db");
        assert!(c.apply_env(|k| (k == "INTAKE_FORWARDING").then(|| "maybe".into())).is_err());
    }

    #[test]
    fn bad_configurations_are_refused() {
        let mut c = Config::default();
        c.photo.profile = "nope".into();
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.store.url = "mysql://x".into();
        assert!(c.validate().is_err());
        assert!(toml::from_str::<Config>("[server]\nunknown = 1").is_err(), "unknown keys are refused");
    }
}
