//! The secrets watchers follow (`Client::watch`). Natively the background
//! task re-reads each one at its refresh-ahead point even when no request
//! reads it, so a new value (a rotation's new AWSCURRENT, a parameter put by
//! an operator) is noticed within a second of that point and announced as
//! `changed`, instead of waiting for the next read. Leased Vault secrets are
//! the lifecycle's (renewed or replaced there). On wasm, where nothing runs
//! between requests, reads find due entries as before.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Client;
use crate::reference::{CacheKey, Reference};

#[derive(Default)]
pub(crate) struct Watched {
    /// Each watch's listener id and the secret it follows.
    by_id: Mutex<HashMap<u64, (CacheKey, Reference)>>,
}

impl Watched {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (CacheKey, Reference)>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn add(&self, id: u64, key: CacheKey, reference: Reference) {
        self.lock().insert(id, (key, reference));
    }

    pub(crate) fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Each watched secret once, however many watches follow it.
    fn secrets(&self) -> Vec<(CacheKey, Reference)> {
        let mut seen = HashMap::new();
        for (key, reference) in self.lock().values() {
            seen.entry(key.clone()).or_insert_with(|| reference.clone());
        }
        seen.into_iter().collect()
    }
}

impl Client {
    /// Start a background re-read of each watched secret that is due.
    pub(super) fn refresh_watched(&self) {
        let inner = &self.inner;
        let now = inner.rt.clock.now();
        for (key, mut reference) in inner.watched.secrets() {
            if let Some(ttl) = inner.cache.claim_watched(&key, now) {
                // Re-read with the `?ttl=` the value was read with, not the
                // watch's (which names the secret, not how long to keep it).
                reference.ttl = ttl;
                self.refresh_in_background(&reference, &key, None);
            }
        }
    }
}
