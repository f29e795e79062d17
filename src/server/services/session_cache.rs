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
//!
//! Memory is bounded by `SESSION_CACHE_SIZE` entries, however many sessions exist: sessions
//! not used for longest go first (see [`Entries`]).

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::broadcast;
use tracing::Instrument;

use crate::server::db::{self, Db, users::User};

/// The longest an entry is trusted without reading the database again.
pub const MAX_AGE: Duration = Duration::from_secs(60);
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

/// The entries, in two generations, for a bound on memory that keeps what is in use: new
/// entries go into `recent`; when it holds half the capacity it becomes `older` and the
/// previous `older` is dropped. An entry found in `older` moves back to `recent`, so a session
/// making requests stays, and one idle for two turns goes (a database read brings it back).
/// Least recently used out first, at O(1) per request and no list to maintain.
struct Entries {
    recent: HashMap<String, Entry>,
    older: HashMap<String, Entry>,
    /// Entries per generation: half the capacity, at least one.
    turn_at: usize,
    /// No entries at all (`SESSION_CACHE_SIZE=0`).
    off: bool,
}

impl Entries {
    fn new(capacity: usize) -> Self {
        Self {
            recent: HashMap::new(),
            older: HashMap::new(),
            turn_at: (capacity / 2).max(1),
            off: capacity == 0,
        }
    }

    fn insert(&mut self, session_id: String, entry: Entry) {
        if self.off {
            return;
        }
        self.recent.insert(session_id, entry);
        if self.recent.len() >= self.turn_at {
            self.older = std::mem::take(&mut self.recent);
        }
    }

    fn remove(&mut self, session_id: &str) {
        self.recent.remove(session_id);
        self.older.remove(session_id);
    }

    fn retain(&mut self, keep: impl Fn(&Entry) -> bool) {
        self.recent.retain(|_, e| keep(e));
        self.older.retain(|_, e| keep(e));
    }

    fn clear(&mut self) {
        self.recent.clear();
        self.older.clear();
    }
}

/// An entry of this session and user, still young enough to trust.
fn usable(entry: Option<&Entry>, user_id: i64) -> Option<&Entry> {
    entry.filter(|e| e.user.id == user_id && e.cached_at.elapsed() < MAX_AGE)
}

/// The cache. Cheap to clone (shared).
#[derive(Clone)]
pub struct SessionCache {
    inner: Arc<Inner>,
}

struct Inner {
    entries: RwLock<Entries>,
    /// Bumped by every change, so a read that raced a change is not cached.
    generation: AtomicU64,
    misses: AtomicU64,
    changes: broadcast::Sender<Change>,
}

/// A point in the change history, taken before a database read.
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

impl SessionCache {
    /// A cache of at most `capacity` sessions that hears of no change but those applied to
    /// it: for a process that makes changes and serves nobody (the command line).
    pub fn unshared(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                entries: RwLock::new(Entries::new(capacity)),
                generation: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                changes: broadcast::channel(1024).0,
            }),
        }
    }

    /// A cache of at most `capacity` sessions for this database, listening for its
    /// announcements before returning, so nothing announced after this call is missed.
    ///
    /// # Errors
    /// The error connecting the listener.
    pub async fn start(db: &Db, capacity: usize) -> Result<Self, db::DbError> {
        let mut listener = db::notify::listen(db, CHANNEL).await?;
        let cache = Self::unshared(capacity);
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
        }.instrument(tracing::info_span!("session_changes")));
        Ok(cache)
    }

    pub fn generation(&self) -> Generation {
        Generation(self.inner.generation.load(Ordering::SeqCst))
    }

    /// The cached user of a live session, if cached recently.
    pub fn get(&self, session_id: &str, user_id: i64) -> Option<User> {
        let hit = self.lookup(session_id, user_id);
        if hit.is_none() {
            self.inner.misses.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    fn lookup(&self, session_id: &str, user_id: i64) -> Option<User> {
        {
            let entries = self.inner.entries.read().ok()?;
            if let Some(entry) = usable(entries.recent.get(session_id), user_id) {
                return Some(entry.user.clone());
            }
            usable(entries.older.get(session_id), user_id)?;
        }
        // Used again: back into the recent generation (a change meanwhile may have removed it).
        let mut entries = self.inner.entries.write().ok()?;
        let entry = entries.older.remove(session_id)?;
        let user = usable(Some(&entry), user_id).map(|e| e.user.clone());
        entries.insert(session_id.to_string(), entry);
        user
    }

    /// Caches a session read from the database, unless something changed since `read_at`.
    pub fn put(&self, read_at: Generation, session_id: &str, user: User) {
        let Ok(mut entries) = self.inner.entries.write() else {
            return;
        };
        if self.inner.generation.load(Ordering::SeqCst) != read_at.0 {
            return;
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
                Change::Session(sid) => entries.remove(sid),
                Change::User(id) => entries.retain(|e| e.user.id != *id),
                Change::All => entries.clear(),
            }
        }
        let _ = self.inner.changes.send(change.clone());
    }

    /// Every change applied from now on, wherever it came from.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// Sessions held.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.inner
            .entries
            .read()
            .map_or(0, |e| e.recent.len() + e.older.len())
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
        let cache = SessionCache::unshared(16);
        let before = cache.generation();
        cache.apply(&Change::Session("s1".into()));
        cache.put(before, "s1", user(1));
        assert!(cache.get("s1", 1).is_none());
        cache.put(cache.generation(), "s1", user(1));
        assert_eq!(cache.get("s1", 1).map(|u| u.id), Some(1));
        assert!(cache.get("s1", 2).is_none(), "the token's user must match");
    }

    #[test]
    fn the_cache_keeps_at_most_its_capacity_and_what_is_in_use() {
        let cache = SessionCache::unshared(4);
        cache.put(cache.generation(), "a", user(1));
        cache.put(cache.generation(), "b", user(2));
        assert!(cache.get("a", 1).is_some(), "a is used again");
        cache.put(cache.generation(), "c", user(3));
        assert!(cache.get("b", 2).is_none(), "b went unused for two turns");
        assert!(cache.get("a", 1).is_some() && cache.get("c", 3).is_some());
        for n in 0..1000 {
            cache.put(cache.generation(), &format!("s{n}"), user(n));
        }
        assert!(cache.held() <= 4, "{} entries", cache.held());
        let off = SessionCache::unshared(0);
        off.put(off.generation(), "a", user(1));
        assert!(
            off.get("a", 1).is_none(),
            "SESSION_CACHE_SIZE=0 caches nothing"
        );
    }

    #[test]
    fn a_user_change_drops_every_session_of_that_user_only() {
        let cache = SessionCache::unshared(16);
        cache.put(cache.generation(), "a", user(1));
        cache.put(cache.generation(), "b", user(1));
        cache.put(cache.generation(), "c", user(2));
        cache.apply(&Change::User(1));
        assert!(cache.get("a", 1).is_none() && cache.get("b", 1).is_none());
        assert!(cache.get("c", 2).is_some());
    }
}
