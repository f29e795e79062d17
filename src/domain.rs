//! Wasm-safe, pure types: validated newtypes and the DTOs both sides exchange.

mod email;
mod password;
mod user;
mod username;

pub use email::{Email, MAX_EMAIL_CHARS};
pub use password::{
    MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, MIN_STRENGTH, Password, Strength, check_typed,
};
pub use user::{CurrentUser, UserView, format_timestamp};
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

#[cfg(test)]
mod tests {
    use super::safe_next_path;

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
