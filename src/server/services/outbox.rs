//! Mail, the outbox way: a use case queues its mail in the transaction of what the mail
//! confirms (so an acknowledged change always has its mail, and a failed one never does), and
//! a sender on every instance delivers what is due. A request never waits for SMTP.
//!
//! Each mail is claimed with a lease longer than an SMTP conversation may take, so several
//! instances never send one mail at once; a delivered mail is deleted. A sender that dies
//! between the SMTP server's acceptance and the delete leaves the mail to be sent again after
//! the lease (at-least-once, as with every outbox): the repeat has the same `Message-ID`.

use std::{sync::Arc, time::Duration};

use tokio::{
    sync::{Notify, watch},
    task::{JoinHandle, JoinSet},
};
use tracing::Instrument;

use crate::server::{
    db::{self, Db, DbError, Tx, outbox::NewMail},
    mail::{Mailer, Outgoing, SMTP_TIMEOUT, templates::Rendered},
    now,
};

/// How long a claimed mail is its sender's: several SMTP timeouts.
const LEASE_SECONDS: i64 = 4 * SMTP_TIMEOUT.as_secs() as i64;
// A lease that a stalled SMTP conversation could outlast would let a second sender in.
const _: () = assert!(LEASE_SECONDS >= 2 * SMTP_TIMEOUT.as_secs() as i64);
/// How often a sender looks for due mail when nothing woke it (retries, mail queued by an
/// instance that stopped).
const POLL: Duration = Duration::from_secs(2);
/// The longest wait between two attempts at a mail while the SMTP server is down.
const MAX_RETRY_SECONDS: i64 = 300;

/// What this instance's sender has done, for tests and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: u64,
    pub failed_attempts: u64,
}

/// The handle use cases queue mail through. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    wake: Arc<Notify>,
    delivery: Arc<watch::Sender<Delivery>>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self {
            wake: Arc::new(Notify::new()),
            delivery: Arc::new(watch::channel(Delivery::default()).0),
        }
    }
}

impl Outbox {
    /// Queues `mail` to `to` inside `tx`; call [`Outbox::wake`] once `tx` is committed.
    ///
    /// # Errors
    /// The database error (the transaction then fails as a whole).
    pub async fn queue(
        tx: &mut Tx,
        user_id: Option<i64>,
        to: &str,
        mail: &Rendered,
    ) -> Result<(), DbError> {
        let new = NewMail {
            user_id,
            recipient: to,
            subject: &mail.subject,
            text_body: &mail.text,
            html_body: &mail.html,
        };
        db::outbox::enqueue(tx, &new, now()).await.map(drop)
    }

    /// Tells this instance's sender that mail is due now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Follows what this instance's sender has done.
    pub fn delivery(&self) -> watch::Receiver<Delivery> {
        self.delivery.subscribe()
    }

    /// Starts this instance's sender: up to `SMTP_CONNECTIONS` mails on their way at once.
    /// SMTP is a conversation of round trips (and lettre's last write of each message waits
    /// out Nagle's algorithm against the server's delayed acknowledgement, ~40 ms), so one
    /// mail at a time would leave the connection idle most of the time. Aborting the sender
    /// aborts the deliveries in flight: their leases run out and they are sent again.
    pub fn spawn(&self, db: Db, mailer: Mailer) -> JoinHandle<()> {
        let outbox = self.clone();
        tokio::spawn(
            async move {
                let mut in_flight = JoinSet::new();
                loop {
                    while in_flight.try_join_next().is_some() {}
                    if in_flight.len() >= mailer.connections() {
                        in_flight.join_next().await;
                        continue;
                    }
                    match db::outbox::claim(&db, now(), LEASE_SECONDS).await {
                        Ok(Some(mail)) => {
                            let (outbox, db, mailer) = (outbox.clone(), db.clone(), mailer.clone());
                            in_flight.spawn(
                                async move { outbox.deliver(&db, &mailer, mail).await }
                                    .in_current_span(),
                            );
                        }
                        // Nothing due, or nothing whose recipient's earlier mail is gone: the
                        // next chance is new mail, or a delivery in flight ending.
                        Ok(None) => {
                            tokio::select! {
                                _ = in_flight.join_next(), if !in_flight.is_empty() => {}
                                _ = tokio::time::timeout(POLL, outbox.wake.notified()) => {}
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "cannot read the mail queue");
                            tokio::time::sleep(POLL).await;
                        }
                    }
                }
            }
            .instrument(tracing::info_span!("outbox")),
        )
    }

    async fn deliver(&self, db: &Db, mailer: &Mailer, mail: db::outbox::Claimed) {
        let outgoing = Outgoing {
            id: mail.id,
            recipient: mail.recipient,
            subject: mail.subject,
            text: mail.text_body,
            html: mail.html_body,
        };
        let now = now();
        let (recorded, sent) = match mailer.send(&outgoing).await {
            Ok(()) => {
                tracing::info!(
                    mail_id = mail.id,
                    queued_for_s = now - mail.created_at.0,
                    "mail sent"
                );
                (db::outbox::delivered(db, mail.id).await, true)
            }
            Err(error) if error.permanent => {
                tracing::error!(mail_id = mail.id, %error, "mail refused for good; not retried");
                (
                    db::outbox::failed(db, mail.id, now, &error.message).await,
                    false,
                )
            }
            Err(error) => {
                let wait = retry_delay(mail.attempts);
                tracing::warn!(
                    mail_id = mail.id,
                    attempts = mail.attempts,
                    retry_in_s = wait,
                    %error,
                    "mail not sent; will retry"
                );
                (
                    db::outbox::retry_at(db, mail.id, now + wait, &error.message).await,
                    false,
                )
            }
        };
        if let Err(error) = recorded {
            // The lease runs out and the mail is tried again: sent twice at worst, never lost.
            tracing::warn!(mail_id = mail.id, %error, "cannot record a mail's delivery");
        }
        self.delivery.send_modify(|d| {
            if sent {
                d.sent += 1;
            } else {
                d.failed_attempts += 1;
            }
        });
    }
}

/// Seconds before the next attempt after `attempts` failed ones: 1, 2, 4, ... up to 5 minutes.
fn retry_delay(attempts: i64) -> i64 {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    (1_i64 << exponent).min(MAX_RETRY_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::{MAX_RETRY_SECONDS, retry_delay};

    #[test]
    fn retries_back_off_up_to_a_cap() {
        assert_eq!(retry_delay(1), 1);
        assert_eq!(retry_delay(2), 2);
        assert_eq!(retry_delay(5), 16);
        assert_eq!(retry_delay(40), MAX_RETRY_SECONDS);
    }
}
