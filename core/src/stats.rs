//! Counters a service can export: how the cache is doing and how many calls
//! each backend received.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::reference::Scheme;

/// A snapshot of the client's counters since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Reads answered from a fresh cache entry.
    pub hits: u64,
    /// Reads that had to wait for the backend.
    pub misses: u64,
    /// Background refreshes started before expiry, or retries of a stale entry.
    pub refreshes: u64,
    /// Reads answered with an expired value because the backend failed.
    pub stale_serves: u64,
    /// Reads that failed, after any retries: one per `error` event. Retried
    /// attempts show in `backend_calls`, not here.
    pub errors: u64,
    /// Calls made to each backend (a batch call counts once).
    pub backend_calls: BackendCalls,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendCalls {
    pub ssm: u64,
    pub asm: u64,
    pub vault: u64,
    pub env: u64,
    pub file: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub refreshes: AtomicU64,
    pub stale_serves: AtomicU64,
    pub errors: AtomicU64,
    calls: [AtomicU64; 5],
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn backend_call(&self, scheme: Scheme) {
        self.calls[scheme as usize].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let call = |s: Scheme| self.calls[s as usize].load(Relaxed);
        Stats {
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            refreshes: self.refreshes.load(Relaxed),
            stale_serves: self.stale_serves.load(Relaxed),
            errors: self.errors.load(Relaxed),
            backend_calls: BackendCalls {
                ssm: call(Scheme::Ssm),
                asm: call(Scheme::Asm),
                vault: call(Scheme::Vault),
                env: call(Scheme::Env),
                file: call(Scheme::File),
            },
        }
    }
}
