//! Housekeeping the app does by itself, so no cron job has to be remembered: dead refresh
//! tokens, ended sessions, spent throttle counters, expired mailed links, log-in challenges
//! and passkey ceremonies, security events
//! older than 90 days, SQLite's change log after ten minutes, and mail the SMTP server refused
//! for good (after a month, for the operator to look into) are deleted in small batches.

use std::time::Duration;

use super::{Services, activity, throttles::LONGEST_WINDOW};
use crate::{
    error::AppError,
    server::{db, now},
};

/// How often each instance sweeps.
const INTERVAL: Duration = Duration::from_secs(300);
/// Rows per statement.
pub const BATCH: i64 = 500;
/// How long SQLite's change log keeps a row, in seconds.
const CHANGES_KEPT: i64 = db::notify::CHANGES_KEPT.as_secs() as i64;
/// How long refused mail stays in the queue for the operator to see.
const REFUSED_MAIL_KEPT: i64 = 30 * 86_400;

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub refresh_tokens: u64,
    pub sessions: u64,
    pub throttles: u64,
    pub links: u64,
    pub challenges: u64,
    pub ceremonies: u64,
    pub refused_mail: u64,
    pub events: u64,
    pub changes: u64,
}

impl Swept {
    /// Each kind of row, by name, with how many went.
    pub fn counts(&self) -> [(&'static str, u64); 9] {
        [
            ("refresh tokens", self.refresh_tokens),
            ("sessions", self.sessions),
            ("throttle counters", self.throttles),
            ("mailed links", self.links),
            ("log-in challenges", self.challenges),
            ("passkey ceremonies", self.ceremonies),
            ("refused mail", self.refused_mail),
            ("security events", self.events),
            ("change-log rows", self.changes),
        ]
    }
}

/// Sweeps until nothing is left to delete, a batch at a time.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
#[tracing::instrument(name = "housekeeping", skip_all)]
pub async fn sweep(services: &Services, batch: i64) -> Result<Swept, AppError> {
    let mut total = Swept::default();
    loop {
        let now = now();
        let (refresh_tokens, sessions) = db::sessions::sweep(&services.db, now, batch).await?;
        let throttles =
            db::throttles::sweep(&services.db, now - LONGEST_WINDOW, now, batch).await?;
        let links = db::tokens::sweep(&services.db, now, batch).await?;
        let challenges = db::factors::sweep(&services.db, now, batch).await?;
        let ceremonies = db::passkeys::sweep(&services.db, now, batch).await?;
        let refused_mail = db::outbox::sweep(&services.db, now - REFUSED_MAIL_KEPT, batch).await?;
        let events = db::events::sweep(&services.db, now - activity::KEPT_SECONDS, batch).await?;
        let changes = db::notify::sweep(&services.db, now - CHANGES_KEPT, batch).await?;
        total.refresh_tokens += refresh_tokens;
        total.sessions += sessions;
        total.throttles += throttles;
        total.links += links;
        total.challenges += challenges;
        total.ceremonies += ceremonies;
        total.refused_mail += refused_mail;
        total.events += events;
        total.changes += changes;
        let most = [
            refresh_tokens,
            sessions,
            throttles,
            links,
            challenges,
            ceremonies,
            refused_mail,
            events,
            changes,
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let full = i64::try_from(most).unwrap_or(i64::MAX);
        if full < batch {
            return Ok(total);
        }
        // Let requests have the database between batches.
        tokio::task::yield_now().await;
    }
}

/// Sweeps every few minutes for as long as the returned task runs.
pub fn spawn(services: Services) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(&services, BATCH).await {
                Ok(swept) if swept != Swept::default() => tracing::info!(
                    refresh_tokens = swept.refresh_tokens,
                    sessions = swept.sessions,
                    throttles = swept.throttles,
                    links = swept.links,
                    challenges = swept.challenges,
                    ceremonies = swept.ceremonies,
                    refused_mail = swept.refused_mail,
                    events = swept.events,
                    changes = swept.changes,
                    "swept expired rows"
                ),
                Ok(_) => {}
                Err(_) => tracing::warn!("sweep failed; will try again"),
            }
        }
    })
}
