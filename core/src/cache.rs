//! The value cache: one entry per `CacheKey`, on the client's clock, bounded
//! with least-recently-used eviction. An entry knows when it should be
//! refreshed ahead of expiry, when it expires, how long it may still be
//! served stale after a failed refresh, and when the next retry is allowed.
//!
//! Hand-written rather than moka: expiry must follow the `Clock` trait (a test
//! clock natively, `Date.now()` on wasm, where `std::time::Instant` panics),
//! and refresh-ahead / stale-if-error need entry state moka does not expose.

use rustc_hash::FxHashMap as HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorKind};
use crate::policy::later;
use crate::reference::CacheKey;
use crate::secret::Fetched;

/// When an entry's value is fresh, due for refresh, stale and gone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub refresh_at: SystemTime,
    pub expires_at: SystemTime,
    /// Last moment an expired value may be served while refreshes fail.
    pub stale_until: SystemTime,
    /// The `?ttl=` the value was read with, reused when it is refreshed.
    pub ttl: Option<Duration>,
}

struct Held {
    value: Arc<Fetched>,
    timing: Timing,
    /// A refresh is under way; no other read starts one.
    refreshing: bool,
    /// Failed refreshes since the last success.
    failures: u32,
    /// No refresh is started before this (backoff after failures).
    retry_at: SystemTime,
}

enum Slot {
    Value(Held),
    /// A not-found answer, remembered briefly so a typo cannot hammer the backend.
    Missing {
        error: Error,
        until: SystemTime,
    },
}

struct Entry {
    slot: Slot,
    /// Logical time of the last read, for LRU eviction.
    last_used: u64,
}

/// A counter bumped after every change that can alter an answer before the
/// moment `Lookup::Fresh::until` promised: a store (a refresh, a rotation, a
/// batch refresh of a key not yet due, or `#a` and `#b` of one key), a
/// removal, a clear, an eviction, a lease's expiry moved by a renewal.
/// Bindings read it without a call (Node through an external buffer, WASM
/// through linear memory) and repeat an answer only while it is unchanged.
#[derive(Debug, Default)]
pub struct Generation(AtomicU32);

impl Generation {
    /// The current generation; it wraps, so compare it only for equality.
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::Acquire)
    }

    /// Its address, for a binding that reads it from memory it shares with
    /// another language (it stays valid while this `Generation` lives).
    pub fn as_ptr(&self) -> *const u32 {
        self.0.as_ptr()
    }

    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// What a read finds.
pub(crate) enum Lookup {
    /// A fresh value; `refresh` asks the caller to start a background refresh
    /// (granted to exactly one reader per due entry). `until` is how long the
    /// same answer may be repeated without looking again, provided the
    /// generation does not change: the refresh-ahead point (never later than
    /// expiry), or `now` once a refresh is due.
    Fresh {
        value: Arc<Fetched>,
        refresh: bool,
        until: SystemTime,
    },
    /// An expired value kept because refreshes failed, within `max_stale`.
    Stale { value: Arc<Fetched>, refresh: bool },
    /// A remembered not-found answer.
    NotFound(Error),
    /// Nothing usable: the caller must wait for the backend.
    Miss,
}

pub(crate) struct Cache {
    state: Mutex<State>,
    capacity: usize,
    generation: Arc<Generation>,
}

#[derive(Default)]
struct State {
    entries: HashMap<CacheKey, Entry>,
    tick: u64,
}

impl State {
    fn touch(&mut self, key: &CacheKey) -> Option<&mut Entry> {
        self.tick += 1;
        let tick = self.tick;
        let entry = self.entries.get_mut(key)?;
        entry.last_used = tick;
        Some(entry)
    }
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Cache {
        Cache {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            generation: Arc::default(),
        }
    }

    pub(crate) fn generation(&self) -> &Arc<Generation> {
        &self.generation
    }

    /// Mark `key` used (for LRU) by hits a binding answered on its own side.
    pub(crate) fn touch(&self, key: &CacheKey) {
        self.lock().touch(key);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation is a single step, so a panic elsewhere cannot leave
        // the map half-changed: keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lookup(&self, key: &CacheKey, now: SystemTime) -> Lookup {
        let mut state = self.lock();
        let Some(entry) = state.touch(key) else {
            return Lookup::Miss;
        };
        match &mut entry.slot {
            Slot::Missing { error, until } if now < *until => Lookup::NotFound(error.clone()),
            Slot::Missing { .. } => Lookup::Miss,
            Slot::Value(held) => {
                let may_refresh = !held.refreshing && now >= held.retry_at;
                if now < held.timing.expires_at {
                    let due = now >= held.timing.refresh_at;
                    let refresh = may_refresh && due;
                    held.refreshing |= refresh;
                    Lookup::Fresh {
                        value: held.value.clone(),
                        refresh,
                        until: if due { now } else { held.timing.refresh_at },
                    }
                } else if held.failures > 0 && now < held.timing.stale_until {
                    held.refreshing |= may_refresh;
                    Lookup::Stale {
                        value: held.value.clone(),
                        refresh: may_refresh,
                    }
                } else {
                    Lookup::Miss
                }
            }
        }
    }

    /// Store a new value; returns the value it replaced (for change
    /// detection) and the key evicted to make room, if any.
    pub(crate) fn store(
        &self,
        key: CacheKey,
        value: Arc<Fetched>,
        timing: Timing,
    ) -> (Option<Arc<Fetched>>, Option<CacheKey>) {
        let mut state = self.lock();
        let evicted = self.make_room(&mut state, &key);
        let last_used = state.tick;
        let held = Held {
            value,
            timing,
            refreshing: false,
            failures: 0,
            retry_at: SystemTime::UNIX_EPOCH,
        };
        let old = state.entries.insert(
            key,
            Entry {
                slot: Slot::Value(held),
                last_used,
            },
        );
        drop(state);
        self.generation.bump();
        let old_value = old.and_then(|e| match e.slot {
            Slot::Value(h) => Some(h.value),
            Slot::Missing { .. } => None,
        });
        (old_value, evicted)
    }

    /// Record a failed read. With a value held, count the failure and set the
    /// next retry time; without one, remember a not-found answer until
    /// `negative_until`. Returns the evicted key, if remembering evicted one.
    pub(crate) fn record_failure(
        &self,
        key: &CacheKey,
        error: &Error,
        retry_in: impl FnOnce(u32) -> Duration,
        now: SystemTime,
        negative_until: SystemTime,
    ) -> Option<CacheKey> {
        let mut state = self.lock();
        if let Some(Entry {
            slot: Slot::Value(held),
            ..
        }) = state.entries.get_mut(key)
        {
            held.failures = held.failures.saturating_add(1);
            held.retry_at = later(now, retry_in(held.failures));
            held.refreshing = false;
            return None;
        }
        if error.kind() != ErrorKind::NotFound || negative_until <= now {
            return None;
        }
        let evicted = self.make_room(&mut state, key);
        let last_used = state.tick;
        state.entries.insert(
            key.clone(),
            Entry {
                slot: Slot::Missing {
                    error: error.clone(),
                    until: negative_until,
                },
                last_used,
            },
        );
        drop(state);
        if evicted.is_some() {
            self.generation.bump();
        }
        evicted
    }

    /// The held value if it may still be served (fresh, or stale within its
    /// window) — the fallback when a foreground read fails.
    pub(crate) fn servable(&self, key: &CacheKey, now: SystemTime) -> Option<Arc<Fetched>> {
        match &self.lock().entries.get(key)?.slot {
            Slot::Value(held) if now < held.timing.stale_until => Some(held.value.clone()),
            _ => None,
        }
    }

    /// Move the expiry of a leased entry after a renewal (which may also
    /// shorten it, when the lease reaches its max TTL).
    pub(crate) fn extend(&self, key: &CacheKey, expires_at: SystemTime) {
        if let Some(Entry {
            slot: Slot::Value(held),
            ..
        }) = self.lock().entries.get_mut(key)
        {
            held.timing.expires_at = expires_at;
            held.timing.refresh_at = expires_at;
            held.timing.stale_until = expires_at;
        }
        self.generation.bump();
    }

    /// Claim up to `limit` other entries of `scheme` that are due for a
    /// refresh now or within the next half of their refresh-ahead window, so
    /// one batch call refreshes keys that come due together. Only plain keys
    /// (no version, stage or SSM selector) can be batched. Claimed entries
    /// are marked refreshing; returns their keys and `?ttl=`.
    pub(crate) fn claim_due(
        &self,
        scheme: crate::reference::Scheme,
        except: &CacheKey,
        now: SystemTime,
        limit: usize,
    ) -> Vec<(CacheKey, Option<Duration>)> {
        let mut state = self.lock();
        let mut claimed = Vec::new();
        for (key, entry) in state.entries.iter_mut() {
            if claimed.len() >= limit {
                break;
            }
            let Slot::Value(held) = &mut entry.slot else {
                continue;
            };
            let plain = key.version.is_none() && key.stage.is_none() && !key.path.contains(':');
            let t = held.timing;
            let window = t
                .expires_at
                .duration_since(t.refresh_at)
                .unwrap_or_default();
            let due = later(now, window / 2) >= t.refresh_at && now < t.expires_at;
            if key.scheme == scheme
                && key != except
                && plain
                && due
                && !held.refreshing
                && now >= held.retry_at
            {
                held.refreshing = true;
                claimed.push((key.clone(), t.ttl));
            }
        }
        claimed
    }

    /// For a watched key (`Client::watch`): claim a background re-read
    /// (the entry is marked refreshing) when its value is due for refresh
    /// and no refresh or backoff is under way; returns the `?ttl=` to re-read
    /// it with. Leased values are left to the lease lifecycle, and keys not
    /// held (never read, evicted) wait for a reader.
    pub(crate) fn claim_watched(
        &self,
        key: &CacheKey,
        now: SystemTime,
    ) -> Option<Option<Duration>> {
        let mut state = self.lock();
        let Slot::Value(held) = &mut state.entries.get_mut(key)?.slot else {
            return None;
        };
        let due = now >= held.timing.refresh_at && now >= held.retry_at;
        if !due || held.refreshing || held.value.lease.is_some() {
            return None;
        }
        held.refreshing = true;
        Some(held.timing.ttl)
    }

    /// Allow a new refresh of `key` (a background refresh could not start).
    pub(crate) fn refresh_abandoned(&self, key: &CacheKey) {
        if let Some(Entry {
            slot: Slot::Value(held),
            ..
        }) = self.lock().entries.get_mut(key)
        {
            held.refreshing = false;
        }
    }

    /// Evict the least recently used entry if `key` is new and the cache is full.
    fn make_room(&self, state: &mut State, key: &CacheKey) -> Option<CacheKey> {
        state.tick += 1;
        if state.entries.contains_key(key) || state.entries.len() < self.capacity {
            return None;
        }
        // O(n) over a bounded map (default 1024): cheap next to the backend
        // call that produced the value being inserted.
        let oldest = state
            .entries
            .iter()
            .min_by_key(|(_, e)| e.last_used)
            .map(|(k, _)| k.clone())?;
        state.entries.remove(&oldest);
        Some(oldest)
    }

    pub(crate) fn remove(&self, key: &CacheKey) {
        self.lock().entries.remove(key);
        self.generation.bump();
    }

    pub(crate) fn clear(&self) {
        self.lock().entries.clear();
        self.generation.bump();
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether an entry (fresh, stale or failed) exists for `key`.
    pub(crate) fn contains(&self, key: &CacheKey) -> bool {
        self.lock().entries.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Reference;

    fn key(s: &str) -> CacheKey {
        Reference::parse(s).unwrap().cache_key()
    }

    fn value() -> Arc<Fetched> {
        Arc::new(Fetched::new(b"v".to_vec(), None, SystemTime::UNIX_EPOCH))
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// fetched at 0, refresh from 75, expires at 100, stale until 200
    fn timing() -> Timing {
        Timing {
            refresh_at: at(75),
            expires_at: at(100),
            stale_until: at(200),
            ttl: None,
        }
    }

    fn is_fresh(l: &Lookup, wants_refresh: bool) -> bool {
        matches!(l, Lookup::Fresh { refresh, .. } if *refresh == wants_refresh)
    }

    #[test]
    fn fresh_then_one_reader_is_asked_to_refresh_then_expired() {
        let cache = Cache::new(8);
        cache.store(key("env:A"), value(), timing());
        assert!(is_fresh(&cache.lookup(&key("env:A"), at(74)), false));
        assert!(is_fresh(&cache.lookup(&key("env:A"), at(75)), true));
        assert!(
            is_fresh(&cache.lookup(&key("env:A"), at(76)), false),
            "only one refresher"
        );
        assert!(matches!(cache.lookup(&key("env:A"), at(100)), Lookup::Miss));
    }

    #[test]
    fn after_a_failure_the_value_is_served_stale_with_backoff_until_max_stale() {
        let cache = Cache::new(8);
        let k = key("env:A");
        cache.store(k.clone(), value(), timing());
        let err = Error::new(ErrorKind::Unavailable, "down");
        assert!(is_fresh(&cache.lookup(&k, at(80)), true));
        cache.record_failure(
            &k,
            &err,
            |n| Duration::from_secs(10 * n as u64),
            at(80),
            at(110),
        );
        assert!(
            is_fresh(&cache.lookup(&k, at(85)), false),
            "backing off until 90"
        );
        assert!(is_fresh(&cache.lookup(&k, at(90)), true));
        cache.record_failure(
            &k,
            &err,
            |n| Duration::from_secs(10 * n as u64),
            at(90),
            at(120),
        );
        // Expired at 100, but refreshes failed: stale, retry due at 110.
        assert!(matches!(
            cache.lookup(&k, at(105)),
            Lookup::Stale { refresh: false, .. }
        ));
        assert!(matches!(
            cache.lookup(&k, at(110)),
            Lookup::Stale { refresh: true, .. }
        ));
        assert!(cache.servable(&k, at(199)).is_some());
        assert!(
            matches!(cache.lookup(&k, at(200)), Lookup::Miss),
            "max_stale passed"
        );
        assert!(cache.servable(&k, at(200)).is_none());
    }

    #[test]
    fn not_found_is_remembered_briefly() {
        let cache = Cache::new(8);
        let k = key("env:NOPE");
        let err = Error::new(ErrorKind::NotFound, "missing");
        cache.record_failure(&k, &err, |_| Duration::ZERO, at(0), at(30));
        assert!(matches!(cache.lookup(&k, at(29)), Lookup::NotFound(_)));
        assert!(matches!(cache.lookup(&k, at(30)), Lookup::Miss));
        let other = Error::new(ErrorKind::Unavailable, "down");
        cache.record_failure(&key("env:B"), &other, |_| Duration::ZERO, at(0), at(30));
        assert!(
            matches!(cache.lookup(&key("env:B"), at(1)), Lookup::Miss),
            "only not-found is remembered"
        );
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let cache = Cache::new(2);
        cache.store(key("env:A"), value(), timing());
        cache.store(key("env:B"), value(), timing());
        assert!(is_fresh(&cache.lookup(&key("env:A"), at(1)), false)); // B is now the oldest
        let (_, evicted) = cache.store(key("env:C"), value(), timing());
        assert_eq!(evicted, Some(key("env:B")));
        assert_eq!(cache.len(), 2);
        assert!(matches!(cache.lookup(&key("env:B"), at(1)), Lookup::Miss));
    }

    #[test]
    fn every_change_that_can_alter_an_answer_moves_the_generation() {
        let cache = Cache::new(1);
        let g = cache.generation().clone();
        let mut seen = g.get();
        let mut moved = |what: &str| {
            assert_ne!(g.get(), seen, "{what}");
            seen = g.get();
        };
        cache.store(key("env:A"), value(), timing());
        moved("store");
        assert!(matches!(
            cache.lookup(&key("env:A"), at(1)),
            Lookup::Fresh { until, .. } if until == at(75)
        ));
        cache.extend(&key("env:A"), at(50));
        moved("a renewal, which may shorten the lease");
        let missing = Error::new(ErrorKind::NotFound, "missing");
        cache.record_failure(&key("env:B"), &missing, |_| Duration::ZERO, at(0), at(30));
        moved("an eviction to remember a not-found answer");
        cache.remove(&key("env:B"));
        moved("remove");
        cache.clear();
        moved("clear");
    }
}
