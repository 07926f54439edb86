//! One tokio runtime per process, for reads and the core's background work.
//!
//! Keyed by the pid that built it: after `fork()` (Puma's cluster mode,
//! Unicorn, Resque, Spring) the child has none of the parent's threads, so
//! it builds its own runtime and leaks the parent's (dropping it would wait
//! for threads that do not exist here). lib/secretkit.rb builds a new native
//! client in the child for the same reason.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use crate::error::config_error;
use crate::Result;

static RUNTIME: Mutex<Option<(u32, Arc<tokio::runtime::Runtime>)>> = Mutex::new(None);

fn runtime() -> Result<Arc<tokio::runtime::Runtime>> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((built_by, rt)) = slot.as_ref() {
        if *built_by == pid {
            return Ok(rt.clone());
        }
    }
    if let Some((_, parent)) = slot.take() {
        std::mem::forget(parent);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("secretkit")
        .build()
        .map_err(|e| config_error(format!("cannot start the secretkit runtime: {e}")))?;
    let rt = Arc::new(rt);
    *slot = Some((pid, rt.clone()));
    Ok(rt)
}

/// Block the calling (Ruby) thread on `future`, driven by the runtime.
pub fn block_on<T>(future: impl Future<Output = secretkit::Result<T>>) -> Result<T> {
    Ok(runtime()?.block_on(future)?)
}

/// Run `future` on the runtime; the returned future (which uniffi's Ruby side
/// polls) only waits for it. A panic in the task is an error, not a crash.
pub async fn run<T: Send + 'static>(
    future: impl Future<Output = secretkit::Result<T>> + Send + 'static,
) -> Result<T> {
    match runtime()?.spawn(future).await {
        Ok(answer) => Ok(answer?),
        // A panic is a bug in secretkit; its text could quote anything, so
        // it is not passed on.
        Err(_) => Err(secretkit::Error::new(
            secretkit::ErrorKind::Unavailable,
            "an internal error in secretkit ended the call (a bug; please report it)",
        )
        .into()),
    }
}

/// A value that belongs to the process that made it: dropped normally there,
/// leaked in a forked child. The parent's client and event streams reach the
/// child by `fork()` with locks its threads may have held and sockets the
/// parent still uses; dropping them in the child could wait forever on such
/// a lock or close what the parent is using.
pub struct ProcessLocal<T> {
    value: ManuallyDrop<T>,
    pid: u32,
}

impl<T> ProcessLocal<T> {
    pub fn new(value: T) -> Self {
        ProcessLocal {
            value: ManuallyDrop::new(value),
            pid: std::process::id(),
        }
    }
}

impl<T> Deref for ProcessLocal<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Drop for ProcessLocal<T> {
    fn drop(&mut self) {
        if self.pid == std::process::id() {
            // SAFETY: dropped once, here, and never used again.
            unsafe { ManuallyDrop::drop(&mut self.value) }
        }
    }
}
