//! The value cache: entries keyed by `CacheKey`, expiring on the client's
//! clock, bounded in size with least-recently-used eviction.
//!
//! Hand-written rather than moka: expiry must follow the `Clock` trait (a test
//! clock natively, `Date.now()` on wasm, where `std::time::Instant` panics),
//! and refresh-ahead / stale-if-error need entry state moka does not expose.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::reference::CacheKey;
use crate::secret::Fetched;

struct Entry {
    value: Arc<Fetched>,
    expires_at: SystemTime,
    /// Logical time of the last read, for LRU eviction.
    last_used: u64,
}

pub(crate) struct Cache {
    state: Mutex<State>,
    capacity: usize,
}

#[derive(Default)]
struct State {
    entries: HashMap<CacheKey, Entry>,
    tick: u64,
}

impl Cache {
    pub(crate) fn new(capacity: usize) -> Cache {
        Cache {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the map consistent
        // (every mutation is a single insert/remove), so keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live value for `key`, if any.
    pub(crate) fn get(&self, key: &CacheKey, now: SystemTime) -> Option<Arc<Fetched>> {
        let mut state = self.lock();
        state.tick += 1;
        let tick = state.tick;
        let entry = state.entries.get_mut(key)?;
        if entry.expires_at <= now {
            return None;
        }
        entry.last_used = tick;
        Some(entry.value.clone())
    }

    pub(crate) fn insert(&self, key: CacheKey, value: Arc<Fetched>, expires_at: SystemTime) {
        let mut state = self.lock();
        state.tick += 1;
        let last_used = state.tick;
        if !state.entries.contains_key(&key) && state.entries.len() >= self.capacity {
            // O(n) over a bounded map (default 1024): cheap next to the
            // backend call that produced the value being inserted.
            let oldest = state
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                state.entries.remove(&oldest);
            }
        }
        state.entries.insert(
            key,
            Entry {
                value,
                expires_at,
                last_used,
            },
        );
    }

    pub(crate) fn remove(&self, key: &CacheKey) {
        self.lock().entries.remove(key);
    }

    pub(crate) fn clear(&self) {
        self.lock().entries.clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Reference;
    use std::time::Duration;

    fn key(s: &str) -> CacheKey {
        Reference::parse(s).unwrap().cache_key()
    }

    fn value() -> Arc<Fetched> {
        Arc::new(Fetched::new(b"v".to_vec(), None, SystemTime::UNIX_EPOCH))
    }

    #[test]
    fn expires_on_the_clock() {
        let cache = Cache::new(8);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        cache.insert(key("env:A"), value(), t0 + Duration::from_secs(300));
        assert!(cache.get(&key("env:A"), t0 + Duration::from_secs(299)).is_some());
        assert!(cache.get(&key("env:A"), t0 + Duration::from_secs(300)).is_none());
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let cache = Cache::new(2);
        let t0 = SystemTime::UNIX_EPOCH;
        let later = t0 + Duration::from_secs(60);
        cache.insert(key("env:A"), value(), later);
        cache.insert(key("env:B"), value(), later);
        assert!(cache.get(&key("env:A"), t0).is_some()); // B is now the oldest
        cache.insert(key("env:C"), value(), later);
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key("env:B"), t0).is_none());
        assert!(cache.get(&key("env:A"), t0).is_some());
        assert!(cache.get(&key("env:C"), t0).is_some());
    }
}
