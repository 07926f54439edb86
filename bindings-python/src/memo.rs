//! The fast hit path: per reference string, the `Secret` object last handed
//! out, and until when it may be handed out again without asking the core
//! (core `Handle::window`; ARCHITECTURE.md, "The hit path"): while the core
//! client's generation is the one seen when the window was given and the
//! monotonic clock is before its end. A hit inside the window is one dict
//! lookup, an atomic load and a clock read: no string conversion, no lock, no
//! new object (`get_async` hands out a done future, made once per window). Past it, one call to the core (which counts the hit, starts a
//! due refresh, and gives the next window). Freshness, refresh and stats stay
//! in the core; hits answered here are counted per entry and added to the
//! core's stats on the next call to the core for that entry, before
//! `stats()` and when the memo is cleared.
//!
//! Each entry also holds the core handle that made the read and the pid of
//! the process it was made in, so a hit touches no lock of the binding's
//! `Client`: after a fork the pid comparison (against the cached pid, one
//! atomic load) sends the first read to the slow path, which builds the
//! child's own core client and clears this memo.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::bridge::{ready_future, Ready};
use crate::errors::to_py;
use crate::fork;
use crate::secret::Secret;

/// Most references remembered; past this the memo starts over.
const CAPACITY: usize = 4096;

/// A `Secret` and what says it is still the answer.
#[pyclass(frozen, module = "secretkit")]
struct Entry {
    handle: secretkit::Handle,
    generation: Arc<secretkit::Generation>,
    serial: u64,
    secret: Py<Secret>,
    /// The same secret as a done `ReadyFuture`, for `get_async` hits: made
    /// at the first one (importing asyncio, which `get` never needs).
    ready: OnceLock<Py<PyAny>>,
    /// The process the read belongs to.
    pid: u32,
    /// The window: the generation it was given in and its end, in `now_ns`.
    seen: AtomicU32,
    until: AtomicU64,
    /// Hits answered from the window, not yet added to the core's stats.
    hits: AtomicU64,
}

impl Entry {
    fn new(
        py: Python<'_>,
        handle: secretkit::Handle,
        pid: u32,
        secret: secretkit::Secret,
    ) -> PyResult<Entry> {
        let serial = secret.serial();
        let secret = Py::new(py, Secret(secret))?;
        Ok(Entry {
            generation: handle.generation(),
            handle,
            serial,
            secret,
            ready: OnceLock::new(),
            pid,
            seen: AtomicU32::new(0),
            // No window until the core gives one (on the next read).
            until: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        })
    }

    fn record_hits(&self) {
        self.handle.record_hits(self.hits.swap(0, Relaxed));
    }

    fn hand_out(&self, py: Python<'_>, want: Hit) -> PyResult<Py<PyAny>> {
        match want {
            Hit::Secret => Ok(self.secret.clone_ref(py).into_any()),
            Hit::Ready => self.awaitable(py),
        }
    }

    /// `get_async`'s answer: a done future, awaited through CPython's fast
    /// path (`_ready.py`), made once per window.
    fn awaitable(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if let Some(ready) = self.ready.get() {
            return Ok(ready.clone_ref(py));
        }
        let ready = ready_future(py, self.secret.bind(py).as_any())?;
        Ok(self.ready.get_or_init(|| ready).clone_ref(py))
    }
}

/// Nanoseconds on this process's monotonic clock (never 0 after the first
/// call, so a new entry's `until` of 0 is always passed).
fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

/// What a memo hit hands out.
#[derive(Clone, Copy)]
pub enum Hit {
    Secret,
    Ready,
}

/// Keyed by the Python `str` itself, so a hit reuses its cached hash.
pub struct SecretMemo(Py<PyDict>);

impl SecretMemo {
    pub fn new(py: Python<'_>) -> SecretMemo {
        SecretMemo(PyDict::new(py).unbind())
    }

    /// The remembered `Secret`, if the core would answer `reference` with it
    /// (or with a newer read, which replaces it here); `None` when the caller
    /// must read. Raises what `get` would for a remembered not-found answer.
    pub fn hit(
        &self,
        py: Python<'_>,
        reference: &Bound<'_, PyString>,
        want: Hit,
        who: Option<&secretkit::Identity>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let Some(entry) = self.0.bind(py).get_item(reference)? else {
            return Ok(None);
        };
        let entry = entry.cast_into::<Entry>()?;
        let e = entry.get();
        if e.pid != fork::cached_pid() {
            return Ok(None);
        }
        // Read before asking the core: a change during the call then sends
        // the next read to the core again instead of being missed.
        let generation = e.generation.get();
        let now = now_ns();
        if e.seen.load(Relaxed) == generation && now < e.until.load(Relaxed) {
            e.hits.fetch_add(1, Relaxed);
            return e.hand_out(py, want).map(Some);
        }
        e.record_hits();
        // Audited, the window is empty: every hit comes here with `who`.
        let Some(window) = e.handle.window_as(who) else {
            return Ok(None);
        };
        let window = match window {
            Ok(window) => window,
            // As `get` raises and `get_async`'s awaitable raises when awaited.
            Err(e) => {
                return match want {
                    Hit::Secret => Err(to_py(e)),
                    Hit::Ready => Ok(Some(Py::new(py, Ready::error(py, to_py(e)))?.into_any())),
                }
            }
        };
        let valid_for = u64::try_from(window.valid_for.as_nanos()).unwrap_or(u64::MAX);
        let current = if window.secret.serial() == e.serial {
            entry
        } else {
            // A newer read: it replaces the entry (and opens its window).
            let renewed = Entry::new(py, e.handle.clone(), e.pid, window.secret)?;
            let renewed = Bound::new(py, renewed)?;
            self.0.bind(py).set_item(reference, &renewed)?;
            renewed
        };
        let current = current.get();
        current.seen.store(generation, Relaxed);
        current.until.store(now.saturating_add(valid_for), Relaxed);
        current.hand_out(py, want).map(Some)
    }

    /// Wrap `secret`, which `core` (of process `pid`) read, and remember it
    /// for `reference`.
    pub fn keep(
        &self,
        py: Python<'_>,
        (core, pid): (&secretkit::Client, u32),
        reference: &Bound<'_, PyString>,
        text: &str,
        secret: secretkit::Secret,
    ) -> PyResult<Py<Secret>> {
        let handle = core.handle(text).map_err(to_py)?;
        let entry = Entry::new(py, handle, pid, secret)?;
        let secret = entry.secret.clone_ref(py);
        let memo = self.0.bind(py);
        if memo.len() >= CAPACITY {
            self.clear(py);
        } else if let Some(old) = memo.get_item(reference)? {
            if let Ok(old) = old.cast_into::<Entry>() {
                old.get().record_hits();
            }
        }
        memo.set_item(reference, entry)?;
        Ok(secret)
    }

    /// Add the hits answered here to the core's stats (before `stats()`).
    pub fn record_hits(&self, py: Python<'_>) {
        for (_, entry) in self.0.bind(py).iter() {
            if let Ok(entry) = entry.cast_into::<Entry>() {
                entry.get().record_hits();
            }
        }
    }

    /// Forget everything (after `invalidate` / `clear`, so dropped values are
    /// not kept alive here), its hits counted first.
    pub fn clear(&self, py: Python<'_>) {
        self.record_hits(py);
        self.0.bind(py).clear();
    }

    pub fn dict(&self) -> &Py<PyDict> {
        &self.0
    }
}
