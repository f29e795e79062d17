//! Wasm-safe, pure types: validated newtypes and the DTOs both sides exchange.

pub mod admin;
mod email;
mod factors;
mod password;
pub mod permissions;
mod user;
mod username;

pub use email::{Email, MAX_EMAIL_CHARS};
pub use factors::{
    Enrolment, FactorOverview, FactorStatus, MAX_PASSKEY_NAME_CHARS, PasskeyCeremony, PasskeyView,
};
pub use password::{
    MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, MIN_STRENGTH, Password, Strength, check_typed,
};
pub use user::{ActivityView, CurrentUser, DeviceView, EmailLink, UserView, format_timestamp};
pub use username::{MAX_USERNAME_CHARS, Username, fold};

/// Where a login may send a person afterwards: a same-site path, never another origin.
///
/// Anything that is not a plain absolute path (`//evil`, `/\evil`, `https://…`, control
/// characters) falls back to `/profile`.
pub fn safe_next_path(next: Option<&str>) -> String {
    const FALLBACK: &str = "/profile";
    let Some(next) = next.map(str::trim).filter(|n| !n.is_empty()) else {
        return FALLBACK.to_string();
    };
    let plain_path = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if plain_path {
        next.to_string()
    } else {
        FALLBACK.to_string()
    }
}

/// The log-in page that returns to `next` (a path with its query) afterwards; `expired` says
/// the session ended, so the page can tell the person why they are asked again. The one
/// builder of this URL, on the server (page guards) and in the browser (session keeper).
pub fn login_url(next: &str, expired: bool) -> String {
    let mut url = format!("/login?next={}", encode_query_value(next));
    if expired {
        url.push_str("&reason=expired");
    }
    url
}

/// Percent-encodes a query value: everything but RFC 3986's unreserved characters, as
/// `application/x-www-form-urlencoded` encoders do (so `/` becomes `%2F`).
pub fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{login_url, safe_next_path};

    #[test]
    fn the_login_url_carries_the_page_to_return_to() {
        assert_eq!(login_url("/profile", false), "/login?next=%2Fprofile");
        assert_eq!(
            login_url("/profile", true),
            "/login?next=%2Fprofile&reason=expired"
        );
        assert_eq!(
            login_url("/a b&c?x=1/é", false),
            "/login?next=%2Fa%20b%26c%3Fx%3D1%2F%C3%A9"
        );
        assert_eq!(
            safe_next_path(Some("/a b&c?x=1")),
            "/a b&c?x=1",
            "what the log-in form decodes goes back unchanged"
        );
    }

    #[test]
    fn next_paths_that_leave_the_site_fall_back_to_profile() {
        let cases = [
            (None, "/profile", "absent"),
            (Some(""), "/profile", "empty"),
            (Some("/profile"), "/profile", "same-site path"),
            (Some("/profile?tab=1"), "/profile?tab=1", "path with query"),
            (Some("//evil.example"), "/profile", "protocol-relative URL"),
            (Some("/\\evil.example"), "/profile", "backslash trick"),
            (Some("https://evil.example"), "/profile", "absolute URL"),
            (Some("javascript:alert(1)"), "/profile", "script URL"),
            (Some("/ok\n/x"), "/profile", "control character"),
        ];
        for (input, expected, why) in cases {
            assert_eq!(safe_next_path(input), expected, "{why}");
        }
    }
}
