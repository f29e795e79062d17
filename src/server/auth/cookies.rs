//! The two session cookies: built and read with the cookie library, never by hand.

use axum::http::{HeaderMap, HeaderValue, header::SET_COOKIE};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use secrecy::ExposeSecret;

use super::tokens::Signed;

/// What a short-lived cookie carries from one request to the next (HttpOnly like the
/// session cookies, for minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// A log-in between its password and code steps (the challenge token).
    Challenge,
    /// New recovery codes, sealed, until the page shows them (without JavaScript the form's
    /// answer is a redirect, so they cannot travel in it).
    RecoveryCodes,
}

/// Cookie names and attributes. With Secure on, the names carry the `__Host-` prefix, which
/// makes the browser insist on Secure, Path=/ and no Domain: no subdomain can plant them.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    pub secure: bool,
}

impl CookiePolicy {
    pub fn access_name(self) -> &'static str {
        if self.secure {
            "__Host-latchkey_access"
        } else {
            "latchkey_access"
        }
    }

    pub fn refresh_name(self) -> &'static str {
        if self.secure {
            "__Host-latchkey_refresh"
        } else {
            "latchkey_refresh"
        }
    }

    /// The name of a short-lived cookie.
    pub fn carried_name(self, what: Carried) -> &'static str {
        match (what, self.secure) {
            (Carried::Challenge, true) => "__Host-latchkey_mfa",
            (Carried::Challenge, false) => "latchkey_mfa",
            (Carried::RecoveryCodes, true) => "__Host-latchkey_codes",
            (Carried::RecoveryCodes, false) => "latchkey_codes",
        }
    }

    /// A short-lived cookie carrying `value` for `max_age` seconds.
    pub fn carry(self, what: Carried, value: String, max_age: i64) -> Cookie<'static> {
        self.base(self.carried_name(what), value, max_age)
    }

    /// A short-lived cookie as sent by the browser.
    pub fn read_carried(self, headers: &HeaderMap, what: Carried) -> Option<String> {
        CookieJar::from_headers(headers)
            .get(self.carried_name(what))
            .map(|c| c.value().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A cookie that makes the browser drop a short-lived one.
    pub fn drop_carried(self, what: Carried) -> Cookie<'static> {
        self.base(self.carried_name(what), String::new(), 0)
    }

    /// `(access, refresh)` as sent by the browser.
    pub fn read(self, headers: &HeaderMap) -> (Option<String>, Option<String>) {
        let jar = CookieJar::from_headers(headers);
        let value = |name| {
            jar.get(name)
                .map(|c| c.value().to_string())
                .filter(|v| !v.is_empty())
        };
        (value(self.access_name()), value(self.refresh_name()))
    }

    /// Whether a request carries either session cookie.
    pub fn present(self, headers: &HeaderMap) -> bool {
        let (access, refresh) = self.read(headers);
        access.is_some() || refresh.is_some()
    }

    /// A cookie carrying a token just signed, living exactly as long as the token. (The
    /// lifetime comes from the token itself, not the clock, so a second ticking between
    /// signing and this call cannot shave one off.)
    pub fn token_cookie(self, name: &'static str, signed: &Signed) -> Cookie<'static> {
        let max_age = (signed.claims.exp - signed.claims.iat).max(0);
        self.base(name, signed.token.expose_secret().to_string(), max_age)
    }

    /// Cookies that make the browser drop both session cookies.
    pub fn cleared(self) -> [Cookie<'static>; 2] {
        [
            self.base(self.access_name(), String::new(), 0),
            self.base(self.refresh_name(), String::new(), 0),
        ]
    }

    fn base(self, name: &'static str, value: String, max_age: i64) -> Cookie<'static> {
        // Path=/ for both: a full page load of any protected page must be able to refresh
        // before rendering, so the refresh cookie has to travel with page requests too.
        Cookie::build((name, value))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age))
            .build()
    }

    /// Whether a response already sets one of the session cookies (a handler decided).
    pub fn set_by(self, headers: &HeaderMap) -> bool {
        headers.get_all(SET_COOKIE).iter().any(|v| {
            v.to_str()
                .ok()
                .and_then(|s| Cookie::parse(s).ok())
                .is_some_and(|c| c.name() == self.access_name() || c.name() == self.refresh_name())
        })
    }
}

/// A `Set-Cookie` header value for `cookie`.
pub fn header_value(cookie: &Cookie<'_>) -> Option<HeaderValue> {
    HeaderValue::from_str(&cookie.encoded().to_string()).ok()
}
