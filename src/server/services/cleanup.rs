//! Housekeeping the app does by itself, so no cron job has to be remembered: dead refresh
//! tokens, ended sessions and spent throttle counters are deleted in small batches.

use std::time::Duration;

use super::{Services, throttles::LONGEST_WINDOW};
use crate::{
    error::AppError,
    server::{db, now},
};

/// How often each instance sweeps.
const INTERVAL: Duration = Duration::from_secs(300);
/// Rows per statement.
const BATCH: i64 = 500;

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub refresh_tokens: u64,
    pub sessions: u64,
    pub throttles: u64,
}

/// Sweeps until nothing is left to delete, a batch at a time.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn sweep(services: &Services, batch: i64) -> Result<Swept, AppError> {
    let mut total = Swept::default();
    loop {
        let now = now();
        let (refresh_tokens, sessions) = db::sessions::sweep(&services.db, now, batch).await?;
        let throttles =
            db::throttles::sweep(&services.db, now - LONGEST_WINDOW, now, batch).await?;
        total.refresh_tokens += refresh_tokens;
        total.sessions += sessions;
        total.throttles += throttles;
        let full = i64::try_from(refresh_tokens.max(sessions).max(throttles)).unwrap_or(i64::MAX);
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
                    "swept expired rows"
                ),
                Ok(_) => {}
                Err(_) => tracing::warn!("sweep failed; will try again"),
            }
        }
    })
}
