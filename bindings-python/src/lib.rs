//! `secretkit._native`: the pyo3 module behind the `secretkit` Python package.
//!
//! Thin by design: it converts types, maps errors and schedules the core's
//! futures on one tokio runtime per process (`fork.rs` says why per process). The idiomatic surface (the
//! exception classes, `parse_reference` returning a dict, the async event
//! iterator) lives in `python/secretkit/`.

mod audit;
mod bridge;
mod client;
mod db;
mod errors;
mod events;
mod fork;
mod memo;
mod rotation;
mod secret;
mod settings;
mod vault;

use std::future::Future;
use std::pin::pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;
use secretkit::{ErrorKind, Reference};

/// The runtime every blocking call, every `*_async` miss and every
/// background refresh of this process runs on, and the pid that built it.
/// Only ever taken with the GIL held, so no other thread can hold it when
/// the process forks (`os.fork` runs with the GIL).
static RUNTIME: Mutex<Option<(u32, &'static tokio::runtime::Runtime)>> = Mutex::new(None);

/// This process's runtime, built on first use and again in a forked child.
/// Costs a `getpid` (the slow paths it serves cost microseconds anyway), so
/// it notices forks that bypassed `os.fork` too.
fn runtime() -> Result<&'static tokio::runtime::Runtime, secretkit::Error> {
    let pid = fork::pid();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((built_in, rt)) = *slot {
        if built_in == pid {
            return Ok(rt);
        }
    }
    // None yet, or the parent's, whose worker threads do not exist in this
    // process. The parent's stays leaked: dropping a runtime waits for its
    // threads (forever, here) and would deregister the parent's sockets from
    // an epoll instance the parent still shares with us.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("secretkit")
        .enable_all()
        .build()
        .map_err(|e| {
            secretkit::Error::new(ErrorKind::Config, format!("cannot start tokio: {e}"))
        })?;
    let rt: &'static tokio::runtime::Runtime = Box::leak(Box::new(rt));
    *slot = Some((pid, rt));
    Ok(rt)
}

/// Run a core future to completion with the GIL released, so other Python
/// threads keep running while we wait on the network. On the main thread we
/// take the GIL back every 100 ms to run signal handlers, so Ctrl-C
/// interrupts a wait; other threads never run them, so they just park (ten
/// thousand waiting threads must not wake a hundred thousand times a second).
fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    // block_on inside a runtime worker would panic; say so instead.
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(errors::to_py(secretkit::Error::new(
            ErrorKind::Config,
            "a blocking secretkit call was made from inside the tokio runtime; use get_async",
        )));
    }
    let rt = runtime().map_err(errors::to_py)?;
    if !on_main_thread(py)? {
        return Ok(py.detach(|| rt.block_on(fut)));
    }
    let mut fut = pin!(fut);
    loop {
        // The timer must be created inside the runtime, hence the async block.
        let waited = py.detach(|| {
            rt.block_on(async { tokio::time::timeout(SIGNAL_CHECK, fut.as_mut()).await })
        });
        match waited {
            Ok(output) => return Ok(output),
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Python runs signal handlers only on the main thread.
fn on_main_thread(py: Python<'_>) -> PyResult<bool> {
    static MAIN_THREAD: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static CURRENT_THREAD: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    // Looked up each time: after os.fork() the forking thread is the main one.
    let main = MAIN_THREAD
        .import(py, "threading", "main_thread")?
        .call0()?;
    let current = CURRENT_THREAD
        .import(py, "threading", "current_thread")?
        .call0()?;
    Ok(main.is(&current))
}

/// The JSON form of a parsed reference (the Python layer turns it into a dict).
#[pyfunction]
fn parse_reference_json(reference: &Bound<'_, PyAny>) -> PyResult<String> {
    let reference: String = reference.extract()?;
    Reference::parse(&reference)
        .map(|r| r.to_json())
        .map_err(errors::to_py)
}

#[pymodule(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    fork::init();
    runtime().map_err(errors::to_py)?;
    m.add_class::<client::Client>()?;
    m.add_class::<secret::Secret>()?;
    m.add_class::<events::Event>()?;
    m.add_class::<db::DbCredentials>()?;
    m.add_class::<audit::Identity>()?;
    m.add_function(wrap_pyfunction!(audit::identity_var, m)?)?;
    m.add_function(wrap_pyfunction!(rotation::rotate, m)?)?;
    m.add_function(wrap_pyfunction!(parse_reference_json, m)?)?;
    m.add_function(wrap_pyfunction!(bridge::shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(fork::after_fork_hook, m)?)?;
    // (kind, code) for every core error kind, so tests can check that the
    // Python exception classes match the core exactly.
    let kinds = ErrorKind::ALL.map(|k| (k.as_str(), k.code()));
    m.add("ERROR_KINDS", PyTuple::new(m.py(), kinds)?)?;
    Ok(())
}
