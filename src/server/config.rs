//! Typed settings, read once from the environment; bad values fail fast with the variable named.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use jsonwebtoken::Algorithm;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Shortest JWT_SECRET accepted: 256 bits, the HS256 key size.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// Every setting latchkey reads, grouped by the part that uses it. README lists each
/// variable with its default.
#[derive(Debug, Clone)]
pub struct Settings {
    pub site: SiteSettings,
    pub database: DatabaseUrl,
    pub keys: KeySettings,
    pub tokens: TokenSettings,
    pub limits: LimitSettings,
    pub mail: MailSettings,
    pub accounts: AccountSettings,
    pub factors: FactorSettings,
}

/// Second factors: the key their secrets are sealed with, and who must have one.
#[derive(Debug, Clone)]
pub struct FactorSettings {
    /// `ENCRYPTION_KEY`; `None`: use (or create) the key file under the data directory.
    pub encryption_key: Option<SecretString>,
    /// `REQUIRE_MFA_FOR_STAFF`: staff without a second factor are sent to enrol before the
    /// admin site or API answers them.
    pub require_for_staff: bool,
    /// Where passkeys work; `None` when the site is served at an IP address other than
    /// loopback and `WEBAUTHN_RP_ID` names no domain (browsers refuse passkeys there).
    pub passkeys: Option<RelyingPartySettings>,
}

/// The WebAuthn relying party: a domain (`WEBAUTHN_RP_ID`, by default `SITE_URL`'s host, or
/// `localhost` for a loopback address) and the origins whose pages may use its passkeys
/// (`WEBAUTHN_ORIGINS`, by default `SITE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingPartySettings {
    pub id: String,
    pub origins: Vec<Url>,
}

/// Where the site is served and who may talk to it.
#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub addr: SocketAddr,
    /// The site's public origin (`SITE_URL`), which links in mail point to.
    pub url: String,
    /// What mail and pages call the site (`SITE_NAME`).
    pub name: String,
    /// Where cargo-leptos put the built site (`target/site`): pkg/ and public assets.
    pub root: PathBuf,
    /// Where the SQLite database and a generated JWT secret live.
    pub data_dir: PathBuf,
    pub cookie_secure: bool,
    /// Origins (`scheme://host[:port]`) allowed to send state-changing requests.
    pub allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` names the client; empty: the socket peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Words accepted before the token in the JSON API's `Authorization` header.
    pub auth_header_types: Vec<String>,
}

/// Which database, parsed once. Its URL may hold a password: `Debug` shows it redacted, and
/// only [`DatabaseUrl::expose`] gives the URL itself (to the driver).
#[derive(Clone)]
pub struct DatabaseUrl {
    pub backend: Backend,
    url: SecretString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl DatabaseUrl {
    /// # Errors
    /// When the URL names neither SQLite nor PostgreSQL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err("must start with sqlite:, postgres:// or postgresql://".into());
        };
        Ok(Self {
            backend,
            url: SecretString::from(url),
        })
    }

    /// The URL, password included: for the database driver only.
    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseUrl")
            .field("backend", &self.backend)
            .field("url", &redacted(self.expose()))
            .finish()
    }
}

/// A URL with its password, if any, replaced: what logs and debug prints may show.
pub fn redacted(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("REDACTED"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "(unparsable)".to_string(),
    }
}

/// Where mail goes and whom it is from.
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://` (STARTTLS when offered, `?tls=required` to insist), `smtps://` (TLS from the
    /// start), with optional user and password. `None`: mail is written as `.eml` files under
    /// the data directory's `outbox/`.
    smtp_url: Option<SecretString>,
    /// The `From:` mailbox, `Name <address>` or a plain address.
    pub from: lettre::message::Mailbox,
    /// Mails each instance delivers at once, each on its own SMTP connection.
    pub connections: usize,
}

impl MailSettings {
    /// The SMTP URL, password included: for the mail transport only.
    pub fn smtp_url(&self) -> Option<&str> {
        self.smtp_url.as_ref().map(ExposeSecret::expose_secret)
    }
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url().map(redacted))
            .field("from", &self.from.to_string())
            .field("connections", &self.connections)
            .finish()
    }
}

/// allauth's ACCOUNT_EMAIL_VERIFICATION: whether an address must be verified before log-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerification {
    /// No verification mail is sent.
    None,
    /// A link is sent; the account works before it is used.
    Optional,
    /// Log-in is refused until the address is verified.
    Mandatory,
}

/// How accounts are confirmed and recovered.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    pub email_verification: EmailVerification,
    /// How long a verification (or email-change) link works.
    pub verification_ttl: Duration,
    /// How long a password-reset link works.
    pub reset_ttl: Duration,
    /// How long after a session proved the password (GitHub's sudo mode) sensitive changes
    /// need no password again.
    pub reauth_max_age: Duration,
}

/// Where the signing and verification keys come from (loaded by `auth::keys`).
#[derive(Debug, Clone)]
pub enum KeySettings {
    /// HS256. `secret: None`: use (or create) the secret file under the data directory.
    Hmac {
        secret: Option<SecretString>,
        /// Secrets rotated out whose tokens are still accepted.
        previous: Vec<SecretString>,
    },
    /// EdDSA or RS256 from PEM files.
    Asymmetric {
        algorithm: Algorithm,
        private_key_file: PathBuf,
        public_key_file: PathBuf,
        /// Public keys rotated out but still accepted.
        previous_public_key_files: Vec<PathBuf>,
    },
}

impl KeySettings {
    /// The JWT `alg` the keys sign with.
    pub fn algorithm_name(&self) -> &'static str {
        match self {
            Self::Hmac { .. } => "HS256",
            Self::Asymmetric {
                algorithm: Algorithm::EdDSA,
                ..
            } => "EdDSA",
            Self::Asymmetric { .. } => "RS256",
        }
    }
}

/// How tokens are made and checked, besides the keys.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// How long a rotated refresh token still yields its successor (tabs and retries racing).
    pub refresh_reuse_grace: Duration,
    /// Clock difference allowed for `exp` and `nbf`.
    pub leeway: Duration,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// The claim that carries the user id (Simple JWT's USER_ID_CLAIM).
    pub user_id_claim: String,
    /// What else access tokens carry (`TOKEN_CLAIMS`).
    pub claims: TokenClaims,
}

/// The optional claims of access tokens: none unless asked for, so tokens stay small.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenClaims {
    pub is_staff: bool,
    /// Group names.
    pub groups: bool,
    /// Codenames (every one for a superuser).
    pub permissions: bool,
}

/// Bounds on what clients can pile up.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Open connections accepted at once; further clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// Requests handled at once; one more is answered 503 at once instead of queueing.
    pub max_in_flight: usize,
    /// Live sessions each instance keeps in memory (0: none, every request reads the database).
    pub session_cache: usize,
}

/// Claims a `USER_ID_CLAIM` may not take: the standard ones and latchkey's own.
const RESERVED_CLAIMS: [&str; 13] = [
    "sub",
    "sid",
    "jti",
    "iat",
    "exp",
    "nbf",
    "iss",
    "aud",
    "token_type",
    "email_verified",
    "is_staff",
    "groups",
    "permissions",
];

impl Settings {
    /// Reads the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable with a bad value.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `lookup`, so tests can pass their own values.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable with a bad value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let site = site(&get)?;
        let database = DatabaseUrl::parse(
            &get("DATABASE_URL")
                .unwrap_or_else(|| format!("sqlite://{}/latchkey.db", site.data_dir.display())),
        )
        .map_err(|message| bad("DATABASE_URL", message))?;
        Ok(Self {
            database,
            keys: keys(&get)?,
            tokens: tokens(&get)?,
            limits: LimitSettings {
                request_timeout: seconds(&get, "REQUEST_TIMEOUT", 10, 1..=300)?,
                max_connections: count(&get, "MAX_CONNECTIONS", 1024, 1..=1_000_000)?,
                max_in_flight: count(&get, "MAX_IN_FLIGHT", 512, 1..=1_000_000)?,
                session_cache: count(&get, "SESSION_CACHE_SIZE", 100_000, 0..=100_000_000)?,
            },
            mail: mail(&get, &site)?,
            accounts: accounts(&get)?,
            factors: FactorSettings {
                encryption_key: get("ENCRYPTION_KEY")
                    .map(|v| secret("ENCRYPTION_KEY", v))
                    .transpose()?,
                require_for_staff: flag(&get, "REQUIRE_MFA_FOR_STAFF", false)?,
                passkeys: relying_party(&get, &site.url)?,
            },
            site,
        })
    }
}

/// Comma-separated values, blanks dropped.
fn list(get: &impl Fn(&str) -> Option<String>, key: &str) -> Vec<String> {
    get(key)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn site(get: &impl Fn(&str) -> Option<String>) -> Result<SiteSettings, ConfigError> {
    let addr: SocketAddr = match get("LEPTOS_SITE_ADDR") {
        Some(v) => v.parse().map_err(|_| {
            bad(
                "LEPTOS_SITE_ADDR",
                format!("{v:?} is not an address like 127.0.0.1:3000"),
            )
        })?,
        None => SocketAddr::from(([127, 0, 0, 1], 3000)),
    };
    let site_url = match get("SITE_URL") {
        Some(v) => origin_of(&v).ok_or_else(|| {
            bad(
                "SITE_URL",
                format!("{v:?} is not an http(s) origin like https://auth.example.com"),
            )
        })?,
        None => format!("http://{addr}"),
    };
    let plain_http_loopback = Url::parse(&site_url).is_ok_and(|u| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            }
    });
    let cookie_secure = flag(get, "COOKIE_SECURE", !plain_http_loopback)?;
    let allowed_origins = match get("ALLOWED_ORIGINS") {
        Some(_) => list(get, "ALLOWED_ORIGINS")
            .iter()
            .map(|o| {
                origin_of(o).ok_or_else(|| {
                    bad(
                        "ALLOWED_ORIGINS",
                        format!("{o:?} is not an origin like https://app.example.com"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None if plain_http_loopback => loopback_aliases(&site_url),
        None => vec![site_url.clone()],
    };
    let trusted_proxies = list(get, "TRUSTED_PROXIES")
        .iter()
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    bad(
                        "TRUSTED_PROXIES",
                        format!("{entry:?} is not an address or network like 10.0.0.0/8"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let auth_header_types = match get("AUTH_HEADER_TYPES") {
        Some(_) => list(get, "AUTH_HEADER_TYPES"),
        None => vec!["Bearer".to_string()],
    };
    if auth_header_types.is_empty()
        || auth_header_types
            .iter()
            .any(|t| !t.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(bad(
            "AUTH_HEADER_TYPES",
            "must be a comma-separated list of words like Bearer,JWT",
        ));
    }
    Ok(SiteSettings {
        addr,
        url: site_url,
        name: get("SITE_NAME").unwrap_or_else(|| "latchkey".to_string()),
        root: PathBuf::from(get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into())),
        data_dir: PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "data".into())),
        cookie_secure,
        allowed_origins,
        trusted_proxies,
        auth_header_types,
    })
}

fn mail(
    get: &impl Fn(&str) -> Option<String>,
    site: &SiteSettings,
) -> Result<MailSettings, ConfigError> {
    let smtp_url = get("SMTP_URL")
        .map(|raw| {
            let shown = redacted(&raw);
            let usable = Url::parse(&raw).is_ok_and(|u| {
                matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some_and(|h| !h.is_empty())
            });
            if usable {
                Ok(SecretString::from(raw))
            } else {
                Err(bad(
                    "SMTP_URL",
                    format!("{shown:?} is not a URL like smtp://user:password@mail.example.com:587 or smtps://mail.example.com"),
                ))
            }
        })
        .transpose()?;
    let host = Url::parse(&site.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .filter(|h| {
            h.contains('.') && h.parse::<std::net::Ipv4Addr>().is_err() && !h.starts_with('[')
        })
        .unwrap_or_else(|| "localhost".to_string());
    let from = match get("MAIL_FROM") {
        Some(v) => v.parse().map_err(|_| {
            bad(
                "MAIL_FROM",
                format!("{v:?} is not a mailbox like \"Example <noreply@example.com>\""),
            )
        })?,
        None => lettre::message::Mailbox::new(
            Some(site.name.clone()),
            format!("noreply@{host}")
                .parse()
                .map_err(|_| bad("SITE_URL", "gives no host a sender address can use"))?,
        ),
    };
    Ok(MailSettings {
        smtp_url,
        from,
        connections: count(get, "SMTP_CONNECTIONS", 8, 1..=100)?,
    })
}

fn accounts(get: &impl Fn(&str) -> Option<String>) -> Result<AccountSettings, ConfigError> {
    let email_verification = match get("EMAIL_VERIFICATION")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("optional") => EmailVerification::Optional,
        Some("mandatory") => EmailVerification::Mandatory,
        Some("none") => EmailVerification::None,
        Some(other) => {
            return Err(bad(
                "EMAIL_VERIFICATION",
                format!("{other:?} is not one of none, optional, mandatory"),
            ));
        }
    };
    Ok(AccountSettings {
        email_verification,
        verification_ttl: seconds(get, "EMAIL_VERIFICATION_TTL", 86_400, 60..=30 * 86_400)?,
        reset_ttl: seconds(get, "PASSWORD_RESET_TTL", 3600, 60..=86_400)?,
        reauth_max_age: seconds(get, "REAUTH_MAX_AGE", 300, 0..=86_400)?,
    })
}

/// A secret of at least [`MIN_SECRET_BYTES`].
fn secret(var: &'static str, value: String) -> Result<SecretString, ConfigError> {
    if value.len() < MIN_SECRET_BYTES {
        return Err(bad(
            var,
            format!(
                "each secret must be at least {MIN_SECRET_BYTES} bytes (256 bits); leave it unset to have one generated"
            ),
        ));
    }
    Ok(SecretString::from(value))
}

fn keys(get: &impl Fn(&str) -> Option<String>) -> Result<KeySettings, ConfigError> {
    let algorithm = match get("JWT_ALGORITHM").as_deref().unwrap_or("HS256") {
        "HS256" => Algorithm::HS256,
        "EdDSA" => Algorithm::EdDSA,
        "RS256" => Algorithm::RS256,
        other => {
            return Err(bad(
                "JWT_ALGORITHM",
                format!("{other:?} is not one of HS256, EdDSA, RS256"),
            ));
        }
    };
    if algorithm == Algorithm::HS256 {
        let from_file = match get("JWT_SECRET_FILE") {
            Some(_) if get("JWT_SECRET").is_some() => {
                return Err(bad(
                    "JWT_SECRET_FILE",
                    "set JWT_SECRET or JWT_SECRET_FILE, not both",
                ));
            }
            Some(path) => Some(
                std::fs::read_to_string(&path)
                    .map(|v| v.trim().to_string())
                    .map_err(|e| bad("JWT_SECRET_FILE", format!("cannot read {path}: {e}")))?,
            ),
            None => None,
        };
        return Ok(KeySettings::Hmac {
            secret: match from_file {
                Some(v) => Some(secret("JWT_SECRET_FILE", v)?),
                None => get("JWT_SECRET")
                    .map(|v| secret("JWT_SECRET", v))
                    .transpose()?,
            },
            previous: list(get, "JWT_PREVIOUS_SECRETS")
                .into_iter()
                .map(|v| secret("JWT_PREVIOUS_SECRETS", v))
                .collect::<Result<_, _>>()?,
        });
    }
    let file = |var: &'static str| {
        get(var)
            .map(PathBuf::from)
            .ok_or_else(|| bad(var, "is required with JWT_ALGORITHM EdDSA or RS256"))
    };
    Ok(KeySettings::Asymmetric {
        algorithm,
        private_key_file: file("JWT_PRIVATE_KEY_FILE")?,
        public_key_file: file("JWT_PUBLIC_KEY_FILE")?,
        previous_public_key_files: list(get, "JWT_PREVIOUS_PUBLIC_KEY_FILES")
            .into_iter()
            .map(PathBuf::from)
            .collect(),
    })
}

fn tokens(get: &impl Fn(&str) -> Option<String>) -> Result<TokenSettings, ConfigError> {
    let user_id_claim = get("USER_ID_CLAIM").unwrap_or_else(|| "user_id".to_string());
    if RESERVED_CLAIMS.contains(&user_id_claim.as_str())
        || !user_id_claim
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(bad(
            "USER_ID_CLAIM",
            "must be a plain claim name other than the standard ones",
        ));
    }
    const TEN_YEARS: u64 = 10 * 365 * 86_400;
    let access_ttl = seconds(get, "ACCESS_TOKEN_TTL", 300, 1..=TEN_YEARS)?;
    let refresh_ttl = seconds(get, "REFRESH_TOKEN_TTL", 604_800, 1..=TEN_YEARS)?;
    if refresh_ttl <= access_ttl {
        return Err(bad(
            "REFRESH_TOKEN_TTL",
            "must be longer than ACCESS_TOKEN_TTL",
        ));
    }
    let mut claims = TokenClaims::default();
    for name in list(get, "TOKEN_CLAIMS") {
        match name.as_str() {
            "is_staff" => claims.is_staff = true,
            "groups" => claims.groups = true,
            "permissions" => claims.permissions = true,
            other => {
                return Err(bad(
                    "TOKEN_CLAIMS",
                    format!("{other:?} is not one of is_staff, groups, permissions"),
                ));
            }
        }
    }
    Ok(TokenSettings {
        claims,
        access_ttl,
        refresh_ttl,
        refresh_reuse_grace: seconds(get, "REFRESH_REUSE_GRACE", 10, 0..=300)?,
        leeway: seconds(get, "JWT_LEEWAY", 5, 0..=300)?,
        issuer: get("JWT_ISSUER"),
        audience: get("JWT_AUDIENCE"),
        user_id_claim,
    })
}

/// A whole number of seconds within `range`, or `default` when unset.
fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    whole(get, var, default, range, "seconds").map(Duration::from_secs)
}

/// A limit (a count of things) within `range`, or `default` when unset.
fn count(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<usize, ConfigError> {
    let n = whole(get, var, default, range, "")?;
    usize::try_from(n).map_err(|_| bad(var, "is too large for this machine"))
}

fn whole(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
    unit: &str,
) -> Result<u64, ConfigError> {
    let Some(v) = get(var) else {
        return Ok(default);
    };
    v.parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            bad(
                var,
                format!(
                    "{v:?} is not a whole number{}{unit} between {} and {}",
                    if unit.is_empty() { "" } else { " of " },
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// A true/false setting (`1`/`0`, `yes`/`no`, `on`/`off` too), `default` when unset.
fn flag(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    let Some(v) = get(var) else {
        return Ok(default);
    };
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(bad(var, format!("{v:?} is not true or false"))),
    }
}

/// `scheme://host[:port]` of an http(s) URL with no path beyond `/`.
fn origin_of(raw: &str) -> Option<String> {
    let url = Url::parse(raw).ok()?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.path() == "/"
        && url.query().is_none()
        && url.username().is_empty();
    plain.then(|| url.origin().ascii_serialization())
}

fn relying_party(
    get: &impl Fn(&str) -> Option<String>,
    site_url: &str,
) -> Result<Option<RelyingPartySettings>, ConfigError> {
    let site = Url::parse(site_url).map_err(|_| bad("SITE_URL", "is not a URL"))?;
    let loopback_ip = match site.host() {
        Some(url::Host::Ipv4(ip)) => Some(ip.is_loopback()),
        Some(url::Host::Ipv6(ip)) => Some(ip.is_loopback()),
        _ => None,
    };
    let default_origin = match loopback_ip {
        Some(true) => {
            let port = site.port().map(|p| format!(":{p}")).unwrap_or_default();
            Url::parse(&format!("{}://localhost{port}", site.scheme()))
                .map_err(|_| bad("SITE_URL", "gives no localhost origin"))?
        }
        _ => site.clone(),
    };
    let origins = match get("WEBAUTHN_ORIGINS") {
        Some(_) => list(get, "WEBAUTHN_ORIGINS")
            .iter()
            .map(|o| {
                origin_of(o)
                    .and_then(|o| Url::parse(&o).ok())
                    .ok_or_else(|| {
                        bad(
                            "WEBAUTHN_ORIGINS",
                            format!("{o:?} is not an origin like https://auth.example.com"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![default_origin.clone()],
    };
    let id = match get("WEBAUTHN_RP_ID") {
        Some(id) => id.to_ascii_lowercase(),
        None => match (loopback_ip, default_origin.host_str()) {
            (Some(false), _) | (_, None) => return Ok(None),
            (_, Some(host)) => host.to_string(),
        },
    };
    for origin in &origins {
        let host = origin.host_str().unwrap_or_default();
        let suffix = host == id || host.ends_with(&format!(".{id}"));
        if !suffix || id.parse::<std::net::IpAddr>().is_ok() {
            return Err(bad(
                "WEBAUTHN_RP_ID",
                format!(
                    "{id:?} must be a domain that {origin} is on (passkeys cannot belong to an IP address)"
                ),
            ));
        }
    }
    Ok(Some(RelyingPartySettings { id, origins }))
}

/// A site on loopback is reached as localhost, 127.0.0.1 or [::1]; allow each with its port.
fn loopback_aliases(site_url: &str) -> Vec<String> {
    let port = Url::parse(site_url)
        .ok()
        .and_then(|u| u.port_or_known_default())
        .unwrap_or(80);
    ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .map(|host| format!("http://{host}:{port}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Settings;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, super::ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_suit_a_local_run() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.database.expose(), "sqlite://data/latchkey.db");
        assert_eq!(s.database.backend, super::Backend::Sqlite);
        assert_eq!(s.tokens.access_ttl.as_secs(), 300);
        assert_eq!(s.tokens.refresh_ttl.as_secs(), 604_800);
        assert_eq!(s.tokens.refresh_reuse_grace.as_secs(), 10);
        assert_eq!(s.tokens.leeway.as_secs(), 5);
        assert!(
            !s.site.cookie_secure,
            "plain http on loopback may use insecure cookies"
        );
        assert!(
            s.site
                .allowed_origins
                .contains(&"http://127.0.0.1:3000".to_string())
        );
        assert!(
            s.site
                .allowed_origins
                .contains(&"http://localhost:3000".to_string())
        );
    }

    #[test]
    fn passkeys_belong_to_the_site_host_or_localhost_on_loopback() {
        let rp = |pairs: &[(&str, &str)]| settings(pairs).expect("valid").factors.passkeys;
        let public = rp(&[("SITE_URL", "https://auth.example.com")]).expect("on");
        assert_eq!(public.id, "auth.example.com");
        assert_eq!(public.origins[0].as_str(), "https://auth.example.com/");
        let local = rp(&[("SITE_URL", "http://127.0.0.1:8000")]).expect("on");
        assert_eq!(local.id, "localhost");
        assert_eq!(local.origins[0].as_str(), "http://localhost:8000/");
        assert_eq!(rp(&[("SITE_URL", "http://10.1.2.3:8000")]), None);
        let chosen = rp(&[
            ("SITE_URL", "https://auth.example.com"),
            ("WEBAUTHN_RP_ID", "example.com"),
            (
                "WEBAUTHN_ORIGINS",
                "https://auth.example.com,https://www.example.com",
            ),
        ])
        .expect("on");
        assert_eq!(chosen.id, "example.com");
        assert_eq!(chosen.origins.len(), 2);
        for bad in [
            [
                ("SITE_URL", "https://auth.example.com"),
                ("WEBAUTHN_RP_ID", "other.org"),
            ],
            [
                ("SITE_URL", "https://auth.example.com"),
                ("WEBAUTHN_RP_ID", "ample.com"),
            ],
            [
                ("SITE_URL", "http://10.1.2.3:8000"),
                ("WEBAUTHN_RP_ID", "10.1.2.3"),
            ],
            [
                ("SITE_URL", "https://auth.example.com"),
                ("WEBAUTHN_ORIGINS", "nope"),
            ],
        ] {
            let error = settings(&bad).expect_err("refused");
            assert!(error.var.starts_with("WEBAUTHN_"), "{error}");
        }
    }

    #[test]
    fn cookies_are_secure_unless_the_site_is_plain_http_on_loopback() {
        let public = settings(&[("SITE_URL", "https://auth.example.com")]).expect("valid");
        assert!(public.site.cookie_secure);
        assert_eq!(
            public.site.allowed_origins,
            vec!["https://auth.example.com".to_string()]
        );
        let lan = settings(&[("LEPTOS_SITE_ADDR", "0.0.0.0:3000")]).expect("valid");
        assert!(
            lan.site.cookie_secure,
            "a non-loopback address gets secure cookies"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            ("JWT_SECRET", "too-short"),
            ("ACCESS_TOKEN_TTL", "five minutes"),
            ("ACCESS_TOKEN_TTL", "0"),
            ("REFRESH_TOKEN_TTL", "-1"),
            ("COOKIE_SECURE", "maybe"),
            ("ALLOWED_ORIGINS", "https://ok.example, not a url"),
            ("ALLOWED_ORIGINS", "https://example.com/path"),
            ("LEPTOS_SITE_ADDR", "localhost"),
            ("DATABASE_URL", "mysql://x"),
            ("SITE_URL", "ftp://x.example"),
            ("AUTH_HEADER_TYPES", "Bearer token"),
            ("JWT_ALGORITHM", "HS512"),
            ("JWT_PREVIOUS_SECRETS", "short"),
            ("JWT_LEEWAY", "3600"),
            ("USER_ID_CLAIM", "exp"),
            ("SMTP_URL", "http://mail.example.com"),
            ("SMTP_URL", "mail.example.com:25"),
            ("MAIL_FROM", "not a mailbox"),
            ("EMAIL_VERIFICATION", "sometimes"),
            ("EMAIL_VERIFICATION_TTL", "0"),
            ("PASSWORD_RESET_TTL", "1 hour"),
            ("REAUTH_MAX_AGE", "-5"),
            ("ENCRYPTION_KEY", "short"),
            ("REQUIRE_MFA_FOR_STAFF", "sometimes"),
        ];
        for (var, value) in cases {
            let err = settings(&[(var, value)]).expect_err(&format!("{var}={value} was accepted"));
            assert_eq!(err.var, var, "{var}={value} blamed {}", err.var);
        }
    }

    #[test]
    fn asymmetric_algorithms_need_their_key_files() {
        let err = settings(&[("JWT_ALGORITHM", "EdDSA")]).expect_err("no key files");
        assert_eq!(err.var, "JWT_PRIVATE_KEY_FILE");
        let err = settings(&[
            ("JWT_ALGORITHM", "RS256"),
            ("JWT_PRIVATE_KEY_FILE", "k.pem"),
        ])
        .expect_err("no public key file");
        assert_eq!(err.var, "JWT_PUBLIC_KEY_FILE");
    }

    #[test]
    fn a_database_password_never_shows_in_a_debug_print() {
        let s = settings(&[(
            "DATABASE_URL",
            "postgres://latchkey:hunter2-secret@db.internal/latchkey",
        )])
        .expect("valid");
        assert_eq!(s.database.backend, super::Backend::Postgres);
        let printed = format!("{s:?}");
        assert!(!printed.contains("hunter2-secret"), "{printed}");
        assert!(printed.contains("db.internal"), "{printed}");
        assert!(
            s.database.expose().contains("hunter2-secret"),
            "the driver still gets it"
        );
    }

    #[test]
    fn an_smtp_password_never_shows_in_a_debug_print_or_an_error() {
        let s = settings(&[(
            "SMTP_URL",
            "smtps://mailer:smtp-hunter2@mail.example.com:465",
        )])
        .expect("valid");
        let printed = format!("{s:?}");
        assert!(!printed.contains("smtp-hunter2"), "{printed}");
        assert!(printed.contains("mail.example.com"), "{printed}");
        assert_eq!(
            s.mail.smtp_url(),
            Some("smtps://mailer:smtp-hunter2@mail.example.com:465")
        );
        let err = settings(&[("SMTP_URL", "ftp://mailer:smtp-hunter2@mail.example.com")])
            .expect_err("not smtp");
        assert!(!err.message.contains("smtp-hunter2"), "{}", err.message);
    }

    #[test]
    fn mail_defaults_name_the_site() {
        let s = settings(&[
            ("SITE_URL", "https://auth.example.com"),
            ("SITE_NAME", "Example"),
        ])
        .expect("valid");
        assert_eq!(
            s.mail.from.to_string(),
            "Example <noreply@auth.example.com>"
        );
        assert_eq!(s.mail.smtp_url(), None, "no SMTP_URL: the outbox folder");
        assert_eq!(
            s.accounts.email_verification,
            super::EmailVerification::Optional
        );
        assert_eq!(s.accounts.verification_ttl.as_secs(), 86_400);
        assert_eq!(s.accounts.reset_ttl.as_secs(), 3600);
        let local = settings(&[]).expect("valid");
        assert_eq!(local.mail.from.to_string(), "latchkey <noreply@localhost>");
        assert_eq!(local.site.url, "http://127.0.0.1:3000");
    }

    #[test]
    fn the_refresh_token_must_outlive_the_access_token() {
        let err = settings(&[("ACCESS_TOKEN_TTL", "600"), ("REFRESH_TOKEN_TTL", "300")])
            .expect_err("refresh shorter than access");
        assert_eq!(err.var, "REFRESH_TOKEN_TTL");
    }
}
