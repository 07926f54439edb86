//! `Handle`: one reference, parsed once, read again and again, and the
//! *window* that lets a binding answer repeated hits on its own side of the
//! language boundary while every cache rule stays here.
//!
//! A hit from the core comes with how long the same answer may be repeated
//! without asking again (`Window::valid_for`: up to the refresh-ahead point,
//! which is never after expiry, and on wasm up to the next lease work), and
//! the client's `Generation`, which every change that could alter that
//! answer sooner bumps (see `cache::Generation`). So a repeat is "same
//! generation and not past the deadline": one atomic load and one clock
//! read, no hashing, no lock. Past the window the read comes here again,
//! where refresh-ahead, stale-if-error and lease work happen exactly as for
//! `Client::get`.
//!
//! Hits answered that way are counted where they are served and added to
//! the core's counters with `Handle::record_hits` (a binding does it on its
//! next slow-path call for that reference and before `stats()`), so stats
//! stay exact when read. See ARCHITECTURE.md, "The hit path".

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::memo::Parsed;
use super::Client;
use crate::audit::{Identity, Outcome};
use crate::cache::Generation;
use crate::error::Result;
use crate::secret::Secret;

/// A reference parsed once. Cheap to clone; `get_cached` remembers its last
/// answer per `Handle` value (hence `&mut self`: no lock on a repeat).
#[derive(Clone)]
pub struct Handle {
    client: Client,
    parsed: Arc<Parsed>,
    last: Option<Repeat>,
}

/// The last answer of `get_cached` and what makes it still the answer.
#[derive(Clone)]
struct Repeat {
    secret: Secret,
    until: SystemTime,
    generation: u32,
}

/// A cache hit as the core answered it, for a binding that repeats it.
#[derive(Debug, Clone)]
pub struct Window {
    /// What `get` would answer now.
    pub secret: Secret,
    /// How long the binding may answer this same `secret` again, measured on
    /// its own monotonic clock from now, while the generation is unchanged.
    pub valid_for: Duration,
}

impl Client {
    /// A handle for repeated reads of `reference`; fails on an invalid one.
    pub fn handle(&self, reference: &str) -> Result<Handle> {
        Ok(Handle {
            client: self.clone(),
            parsed: self.inner.memo.parse(reference)?,
            last: None,
        })
    }

    /// The counter a binding compares before repeating an answer.
    pub fn generation(&self) -> Arc<Generation> {
        self.inner.cache.generation().clone()
    }

    /// From now on, end every window `Handle::window` hands out by bumping
    /// the generation (a little before the window's end, by a background
    /// timer), so that a binding may repeat an answer while the generation
    /// is unchanged without reading a clock. `false` where no background
    /// task can run (wasm, a client without a runtime): compare the clock.
    /// Audited clients have no windows to end: `false` as well.
    pub fn end_windows_by_generation(&self) -> bool {
        let inner = &self.inner;
        if inner.audit.is_some() {
            return false;
        }
        inner.windows.start(
            &inner.rt.clock,
            inner.spawner.as_ref(),
            inner.cache.generation(),
        )
    }
}

impl Handle {
    /// This handle, its reads attributed to `identity` in the audit trail.
    pub fn with_identity(mut self, identity: Identity) -> Handle {
        self.client = self.client.with_identity(identity);
        self.last = None;
        self
    }

    /// The reference as the application wrote it.
    pub fn reference(&self) -> &str {
        &self.parsed.name
    }

    /// The client's generation counter (`Client::generation`).
    pub fn generation(&self) -> Arc<Generation> {
        self.client.generation()
    }

    /// `Client::get` of this reference, without parsing it again.
    pub async fn get(&self) -> Result<Secret> {
        self.client
            .open()
            .map_err(|e| e.for_reference(&self.parsed.name))?;
        self.client.read(&self.parsed).await
    }

    /// `Client::get_cached` of this reference; while the last answer's
    /// window lasts, the same `Secret` again for an atomic load and a clock
    /// read (counted as a hit).
    pub fn get_cached(&mut self) -> Option<Result<Secret>> {
        let inner = &self.client.inner;
        let generation = inner.cache.generation().get();
        // Audited, every hit goes to the core (`until` is then now).
        if let Some(last) = &self.last {
            if last.generation == generation && inner.rt.clock.now() < last.until {
                inner
                    .counters
                    .outcome(self.parsed.reference.scheme, Outcome::Hit, 1);
                return Some(Ok(last.secret.clone()));
            }
        }
        let (answer, until) = self
            .client
            .cached(&self.parsed, self.client.identity.as_ref())?;
        self.last = match &answer {
            Ok(secret) => Some(Repeat {
                secret: secret.clone(),
                until,
                generation,
            }),
            Err(_) => None,
        };
        Some(answer)
    }

    /// `get_cached` with its window: `None` when the binding must `get` (a
    /// miss, an expired value), the error `get` would give (a remembered
    /// not-found, a closed client, a missing `#field`), or the hit. Counts
    /// the hit and starts a due refresh, exactly like `get_cached`. Read the
    /// generation *before* calling this, and repeat the answer only while it
    /// still holds that value: a change that lands during the call then
    /// sends the next read here rather than being missed.
    ///
    /// Audited (`Client::audited`), the window is always empty: each hit
    /// must come here to be recorded with its caller.
    pub fn window(&self) -> Option<Result<Window>> {
        self.window_as(self.client.identity.as_ref())
    }

    /// `window`, the hit attributed to `identity` in the audit trail.
    pub fn window_as(&self, identity: Option<&Identity>) -> Option<Result<Window>> {
        let (answer, until) = self.client.cached(&self.parsed, identity)?;
        let now = self.client.inner.rt.clock.now();
        self.client.inner.windows.schedule(until, now);
        Some(answer.map(|secret| Window {
            secret,
            valid_for: until.duration_since(now).unwrap_or_default(),
        }))
    }

    /// Add `hits` a binding answered from a window to the client's stats,
    /// and count them as uses of this reference's cache entry (LRU).
    pub fn record_hits(&self, hits: u64) {
        if hits == 0 {
            return;
        }
        let inner = &self.client.inner;
        let scheme = self.parsed.reference.scheme;
        inner.counters.outcome(scheme, Outcome::Hit, hits);
        if let Some(audit) = &inner.audit {
            audit.hits(&self.parsed.name, scheme, hits, inner.rt.clock.now());
        }
        inner.cache.touch(&self.parsed.key);
    }
}
