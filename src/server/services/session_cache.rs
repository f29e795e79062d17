//! Which sessions are live, without a database read per request: each instance keeps the
//! sessions it has seen (with their user) in memory, and every change that ends a session or
//! alters a user removes the affected entries: at once on the instance that made it, and on
//! every instance (this one included) when the database announces it ([`db::notify`]: its
//! own triggers, so changes made by the CLI or by SQL typed by hand count too).
//!
//! Worst case, a revoked access token still passes: on the instance that revoked it, never;
//! on another instance, for the announcement's delivery time, milliseconds on PostgreSQL
//! (NOTIFY) and at most [`db::notify::POLL_INTERVAL`] plus a read on SQLite (its change log).
//! An instance that may have missed announcements (its listening connection dropped, or it
//! did not read the log for minutes) clears its whole cache, and no entry is trusted for
//! longer than [`MAX_AGE`] in any case (that also covers a row deleted by hand, which
//! announces nothing).

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::broadcast;

use crate::server::db::{self, Db, users::User};

/// The longest an entry is trusted without reading the database again.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Entries kept at most; past it the cache starts over (a burst of new sessions costs one
/// read each, never unbounded memory).
const CAPACITY: usize = 100_000;
/// The PostgreSQL channel the database announces changes on (named in the migrations).
const CHANNEL: &str = "latchkey_sessions";

/// Something that makes cached sessions stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// One session ended.
    Session(String),
    /// A user changed: deactivated, edited, logged out everywhere, password changed.
    User(i64),
    /// Anything may have changed (announcements may have been lost).
    All,
}

impl Change {
    /// A payload as the database's triggers write it.
    fn decode(payload: &str) -> Self {
        match payload.split_once(':') {
            Some(("s", sid)) => Self::Session(sid.to_string()),
            Some(("u", id)) => id.parse().map_or(Self::All, Self::User),
            _ => Self::All,
        }
    }
}

struct Entry {
    user: User,
    cached_at: Instant,
}

/// The cache. Cheap to clone (shared).
#[derive(Clone)]
pub struct SessionCache {
    inner: Arc<Inner>,
}

struct Inner {
    entries: RwLock<HashMap<String, Entry>>,
    /// Bumped by every change, so a read that raced a change is not cached.
    generation: AtomicU64,
    misses: AtomicU64,
    changes: broadcast::Sender<Change>,
}

/// A point in the change history, taken before a database read.
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

impl SessionCache {
    /// A cache that hears of no change but those applied to it: for a process that makes
    /// changes and serves nobody (the command line).
    pub fn unshared() -> Self {
        Self {
            inner: Arc::new(Inner {
                entries: RwLock::new(HashMap::new()),
                generation: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                changes: broadcast::channel(1024).0,
            }),
        }
    }

    /// A cache for this database, listening for its announcements before returning, so
    /// nothing announced after this call is missed.
    ///
    /// # Errors
    /// The error connecting the listener.
    pub async fn start(db: &Db) -> Result<Self, db::DbError> {
        let mut listener = db::notify::listen(db, CHANNEL).await?;
        let cache = Self::unshared();
        let weak = Arc::downgrade(&cache.inner);
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                let received = listener.next().await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let cache = Self { inner };
                match received {
                    Ok(Some(payload)) => {
                        failing = false;
                        cache.apply(&Change::decode(&payload));
                    }
                    // Whatever was announced meanwhile may be lost: forget everything.
                    Ok(None) => cache.apply(&Change::All),
                    Err(error) => {
                        // Once per outage, not once per retry.
                        if !failing {
                            tracing::warn!(%error, "session change listener lost the database; retrying every second");
                        }
                        failing = true;
                        cache.apply(&Change::All);
                        drop(cache);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(cache)
    }

    pub fn generation(&self) -> Generation {
        Generation(self.inner.generation.load(Ordering::SeqCst))
    }

    /// The cached user of a live session, if cached recently.
    pub fn get(&self, session_id: &str, user_id: i64) -> Option<User> {
        let entries = self.inner.entries.read().ok()?;
        let hit = entries
            .get(session_id)
            .filter(|e| e.user.id == user_id && e.cached_at.elapsed() < MAX_AGE)
            .map(|e| e.user.clone());
        if hit.is_none() {
            self.inner.misses.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Caches a session read from the database, unless something changed since `read_at`.
    pub fn put(&self, read_at: Generation, session_id: &str, user: User) {
        let Ok(mut entries) = self.inner.entries.write() else {
            return;
        };
        if self.inner.generation.load(Ordering::SeqCst) != read_at.0 {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.cached_at.elapsed() < MAX_AGE);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            session_id.to_string(),
            Entry {
                user,
                cached_at: Instant::now(),
            },
        );
    }

    /// Applies a change: one made here, at once (the database's announcement of it follows),
    /// or one announced.
    pub fn apply(&self, change: &Change) {
        if let Ok(mut entries) = self.inner.entries.write() {
            self.inner.generation.fetch_add(1, Ordering::SeqCst);
            match change {
                Change::Session(sid) => {
                    entries.remove(sid);
                }
                Change::User(id) => entries.retain(|_, e| e.user.id != *id),
                Change::All => entries.clear(),
            }
        }
        let _ = self.inner.changes.send(change.clone());
    }

    /// Every change applied from now on, wherever it came from.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// How many look-ups went to the database.
    pub fn misses(&self) -> u64 {
        self.inner.misses.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::{Change, SessionCache};
    use crate::server::db::users::User;

    fn user(id: i64) -> User {
        User {
            id,
            username: format!("u{id}"),
            email: format!("u{id}@example.com"),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            email_verified: false,
            is_staff: false,
            is_superuser: false,
            date_joined: 0,
            last_login: None,
        }
    }

    #[test]
    fn payloads_read_as_the_triggers_write_them() {
        assert_eq!(Change::decode("s:abc"), Change::Session("abc".into()));
        assert_eq!(Change::decode("u:7"), Change::User(7));
        assert_eq!(Change::decode("*"), Change::All);
        assert_eq!(
            Change::decode("u:nonsense"),
            Change::All,
            "unreadable: forget everything"
        );
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_cached() {
        let cache = SessionCache::unshared();
        let before = cache.generation();
        cache.apply(&Change::Session("s1".into()));
        cache.put(before, "s1", user(1));
        assert!(cache.get("s1", 1).is_none());
        cache.put(cache.generation(), "s1", user(1));
        assert_eq!(cache.get("s1", 1).map(|u| u.id), Some(1));
        assert!(cache.get("s1", 2).is_none(), "the token's user must match");
    }

    #[test]
    fn a_user_change_drops_every_session_of_that_user_only() {
        let cache = SessionCache::unshared();
        cache.put(cache.generation(), "a", user(1));
        cache.put(cache.generation(), "b", user(1));
        cache.put(cache.generation(), "c", user(2));
        cache.apply(&Change::User(1));
        assert!(cache.get("a", 1).is_none() && cache.get("b", 1).is_none());
        assert!(cache.get("c", 2).is_some());
    }
}
