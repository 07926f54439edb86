//! Fork safety: a child process works as if it had imported the module itself.
//!
//! `fork()` (gunicorn --preload, Celery's prefork pool, uWSGI, multiprocessing
//! with the "fork" start method) copies memory but only the calling thread.
//! The parent's tokio workers, its event dispatcher thread and any tokio
//! thread that was about to enter Python are gone in the child, while the
//! memory that points at them is still there: a read would wait forever on a
//! runtime no thread drives (and Ctrl-C could not interrupt it, the timer of
//! the wait being one of the things nobody drives).
//!
//! So everything that holds threads is per process, and keyed by the pid
//! that built it:
//! - the tokio runtime (`crate::runtime`): a child builds its own and leaks
//!   the parent's (dropping it would join threads that do not exist here);
//! - the event dispatcher (`events::after_fork_in_child`) and the exit gate
//!   (`bridge::after_fork_in_child`) start over;
//! - each `Client` builds a new core client on first use in a new process
//!   (`client.rs`): the parent's holds the parent's runtime handle, HTTP
//!   connections whose sockets the parent still uses, and its leases.
//!
//! How a fork is noticed: `os.register_at_fork(after_in_child=...)` (in
//! `secretkit/__init__.py`) calls `_after_fork_in_child`, which refreshes the
//! cached pid. The cache-hit path compares against that cached pid (one
//! atomic load): `getpid()` is a real system call (glibc stopped caching it
//! in 2.25), measured at ~250 ns on the development machine, more than the
//! whole hit. Every other path (anything that waits on the runtime) asks the
//! system with `pid()`, so a fork that bypasses `os.fork` (a C extension
//! calling `fork()`, uWSGI without `py-call-osafterfork`) is noticed at the
//! next read that misses the memo, and cache hits answered before then come
//! from the parent's copy of the cache.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use pyo3::prelude::*;

/// This process's pid as last seen (0 before the module is initialized).
static PID: AtomicU32 = AtomicU32::new(0);

/// At import: remember which process we are.
pub fn init() {
    PID.store(std::process::id(), SeqCst);
}

/// The pid as last seen: one atomic load, for the cache-hit path.
#[inline]
pub fn cached_pid() -> u32 {
    PID.load(SeqCst)
}

/// The pid now (a system call). When it differs from the one last seen, this
/// is a child that nobody told about the fork: reset what the hook resets.
pub fn pid() -> u32 {
    let now = std::process::id();
    let seen = PID.swap(now, SeqCst);
    if seen != now && seen != 0 {
        after_fork_in_child();
    }
    now
}

/// What a child must not inherit. Runs with the GIL held in the only thread
/// the child has.
fn after_fork_in_child() {
    crate::bridge::after_fork_in_child();
    crate::events::after_fork_in_child();
}

/// Registered with `os.register_at_fork(after_in_child=...)` at import.
#[pyfunction]
#[pyo3(name = "_after_fork_in_child")]
pub fn after_fork_hook() {
    pid();
}
