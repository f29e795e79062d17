//! Housekeeping the app does by itself, so no cron job has to be remembered: dead refresh
//! tokens, ended sessions and spent throttle counters are deleted in small batches.

use std::time::Duration;

use crate::{
    error::AppError,
    server::{
        db::{self, sessions::Swept},
        now,
        services::throttle,
        state::AppState,
    },
};

/// How often each instance sweeps.
const INTERVAL: Duration = Duration::from_secs(300);
/// Rows per statement.
const BATCH: i64 = 500;

/// Sweeps until nothing is left to delete, a batch at a time.
///
/// # Errors
/// [`AppError::Internal`] on storage failure.
pub async fn sweep(state: &AppState, batch: i64) -> Result<Swept, AppError> {
    let mut total = Swept::default();
    loop {
        let swept = db::sessions::sweep(&state.db, now(), batch, throttle::LONGEST_WINDOW).await?;
        total.refresh_tokens += swept.refresh_tokens;
        total.sessions += swept.sessions;
        total.throttles += swept.throttles;
        let full = i64::try_from(
            swept
                .refresh_tokens
                .max(swept.sessions)
                .max(swept.throttles),
        )
        .unwrap_or(i64::MAX);
        if full < batch {
            return Ok(total);
        }
        // Let requests have the database between batches.
        tokio::task::yield_now().await;
    }
}

/// Sweeps every few minutes for as long as the returned task runs.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(&state, BATCH).await {
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
