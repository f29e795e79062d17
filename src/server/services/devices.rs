//! Where an account is signed in: each live session with the device and address it started
//! from and when it was last used; signing one out, or all but this one.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use super::{Services, activity, session_cache::Change};
use crate::{
    domain::DeviceView,
    error::AppError,
    server::{db, now},
};

/// Longest User-Agent kept: enough for any real browser's.
const MAX_USER_AGENT: usize = 512;

/// The client a request came from: its address and what its User-Agent says.
#[derive(Debug, Clone)]
pub struct Client {
    pub ip: IpAddr,
    pub user_agent: String,
}

impl Client {
    pub fn new(ip: IpAddr, user_agent: Option<&str>) -> Self {
        let mut user_agent = user_agent.unwrap_or_default().to_string();
        if user_agent.len() > MAX_USER_AGENT {
            let mut end = MAX_USER_AGENT;
            while !user_agent.is_char_boundary(end) {
                end -= 1;
            }
            user_agent.truncate(end);
        }
        Self { ip, user_agent }
    }
}

/// "Firefox on Linux", from a User-Agent (woothee's parser), or what it can tell.
pub fn describe(user_agent: &str) -> String {
    if user_agent.trim().is_empty() {
        return "Unknown device".to_string();
    }
    let Some(parsed) = woothee::parser::Parser::new().parse(user_agent) else {
        return "Unrecognised client".to_string();
    };
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    match (known(parsed.name), known(parsed.os)) {
        (true, true) => format!("{} on {}", parsed.name, parsed.os),
        (true, false) => parsed.name.to_string(),
        (false, true) => format!("A client on {}", parsed.os),
        (false, false) => "Unrecognised client".to_string(),
    }
}

/// The public name of a session: a hash of its id, so pages never carry the id itself.
fn public_id(session_id: &str) -> String {
    hex::encode(&Sha256::digest(format!("latchkey device {session_id}").as_bytes())[..12])
}

/// The user's live sessions, this one marked.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn list(
    services: &Services,
    user_id: i64,
    current_session: &str,
) -> Result<Vec<DeviceView>, AppError> {
    Ok(db::sessions::live_of(&services.db, user_id, now())
        .await?
        .into_iter()
        .map(|session| DeviceView {
            id: public_id(&session.id),
            device: describe(&session.user_agent),
            client_ip: session.client_ip,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            current: session.id == current_session,
        })
        .collect())
}

/// Signs out the user's session named `id` (from [`list`]). Returns whether there was one.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn sign_out(services: &Services, user_id: i64, id: &str) -> Result<bool, AppError> {
    let now = now();
    let sessions = db::sessions::live_of(&services.db, user_id, now).await?;
    let Some(session) = sessions.into_iter().find(|s| public_id(&s.id) == id) else {
        return Ok(false);
    };
    if !db::sessions::revoke_of(&services.db, user_id, &session.id, now).await? {
        return Ok(false);
    }
    services.cache.apply(&Change::Session(session.id));
    activity::record(services, user_id, activity::Event::SessionEnded, None).await?;
    tracing::info!(target: "security", user_id, "a device was signed out");
    Ok(true)
}

/// Signs out every session of the user but `keep`. Returns how many ended.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn sign_out_others(
    services: &Services,
    user_id: i64,
    keep: &str,
) -> Result<u64, AppError> {
    let mut tx = services.db.begin().await?;
    let ended = db::sessions::revoke_others(&mut tx, user_id, keep, now()).await?;
    tx.commit().await?;
    services.cache.apply(&Change::User(user_id));
    if ended > 0 {
        activity::record(services, user_id, activity::Event::SessionEnded, None).await?;
    }
    tracing::info!(target: "security", user_id, sessions_ended = ended, "other devices signed out");
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::{Client, describe};

    #[test]
    fn devices_read_as_a_person_says_them() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe(firefox), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
        assert_eq!(describe(chrome), "Chrome on Windows 10");
        assert_eq!(describe(""), "Unknown device");
        assert_eq!(describe("curl/8.5.0"), "HTTP Library");
        let long = "é".repeat(400);
        assert!(
            Client::new([127, 0, 0, 1].into(), Some(&long))
                .user_agent
                .len()
                <= 512
        );
    }
}
