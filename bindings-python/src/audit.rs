//! The access audit trail in Python: the `audit_*` / `on_audit` options,
//! the caller's `Identity` (a `contextvars.ContextVar` that
//! `secretkit.audit_identity(...)` sets), and the records as dicts.
//!
//! Python sinks (`on_audit=`, `audit_log=True`) are fed like event
//! callbacks: the core hands each flushed batch to a closure that only
//! queues it for the "secretkit-events" thread (events.rs), which calls
//! Python with the GIL. The JSON-lines file (`audit_file=`) is written by
//! the core itself. At exit every audited client of this process is
//! flushed before the events thread stops (`flush_all`, from `_shutdown`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};
use secretkit::{AuditRecord, AuditSettings, Fsync};

use crate::events::{self, Dispatch};
use crate::settings::config;

/// The keyword options that turn auditing on (see `Client` in _native.pyi).
pub const OPTIONS: &[&str] = &[
    "audit_file",
    "audit_interval",
    "audit_fsync",
    "audit_log",
    "on_audit",
];

/// Who is reading, for the audit trail: `Identity(service="api", user="u1",
/// request_id="r-9")`. Immutable; set it for a block of code with
/// `secretkit.audit_identity(...)`.
#[pyclass(frozen, name = "Identity", module = "secretkit")]
pub struct Identity(pub secretkit::Identity);

#[pymethods]
impl Identity {
    #[new]
    #[pyo3(signature = (**fields))]
    fn new(fields: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut pairs = Vec::new();
        for (k, v) in fields.into_iter().flat_map(|d| d.iter()) {
            pairs.push((k.extract::<String>()?, v.str()?.to_string()));
        }
        Ok(Identity(secretkit::Identity::new(pairs)))
    }

    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.0.fields() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let fields: Vec<String> = self.0.fields().map(|(k, v)| format!("{k}={v:?}")).collect();
        format!("Identity({})", fields.join(", "))
    }
}

static VAR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The `ContextVar` holding the current `Identity` (or None).
#[pyfunction]
pub fn identity_var(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    let var = VAR.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("default", py.None())?;
        let var = py
            .import("contextvars")?
            .getattr("ContextVar")?
            .call(("secretkit_identity",), Some(&kwargs))?;
        Ok(var.unbind())
    })?;
    Ok(var.bind(py))
}

/// The identity of the code running now (read only by audited clients).
pub fn current(py: Python<'_>) -> PyResult<Option<secretkit::Identity>> {
    // The bound `get` of the variable, looked up once: this is on the hit path.
    static GET: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let get = GET.get_or_try_init(py, || {
        Ok::<_, PyErr>(identity_var(py)?.getattr("get")?.unbind())
    })?;
    let value = get.bind(py).call0()?;
    if value.is_none() {
        return Ok(None);
    }
    let identity = value.cast_into::<Identity>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err("the audit identity must be a secretkit.Identity")
    })?;
    Ok(Some(identity.get().0.clone()))
}

/// The audit options of a client, kept in its recipe (a forked child builds
/// its own core client, with its own file handle and queue).
pub struct Options {
    file: Option<std::path::PathBuf>,
    interval: Duration,
    fsync: Fsync,
    sink: Option<Arc<Sink>>,
}

/// Where Python records go: a callback and/or the `secretkit.audit` logger.
pub struct Sink {
    callback: Option<Py<PyAny>>,
    log: bool,
    /// Batches dropped because the events thread's queue was full.
    dropped: AtomicU64,
}

/// The audit options among the keyword options; `None` when auditing is off.
pub fn options(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Option<Options>> {
    let Some(kwargs) = kwargs else {
        return Ok(None);
    };
    let get = |name: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(kwargs.get_item(name)?.filter(|v| !v.is_none()))
    };
    let file: Option<std::path::PathBuf> = get("audit_file")?.map(|v| v.extract()).transpose()?;
    let log = get("audit_log")?
        .map(|v| v.extract())
        .transpose()?
        .unwrap_or(false);
    let callback = get("on_audit")?.map(|c| {
        if c.is_callable() {
            Ok(c.unbind())
        } else {
            Err(pyo3::exceptions::PyTypeError::new_err(
                "on_audit must be callable",
            ))
        }
    });
    let callback = callback.transpose()?;
    if file.is_none() && !log && callback.is_none() {
        return Ok(None);
    }
    let interval = match get("audit_interval")? {
        Some(v) => Duration::try_from_secs_f64(v.extract()?)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| config("audit_interval must be a positive number of seconds".into()))?,
        None => Duration::from_secs(1),
    };
    let fsync = match get("audit_fsync")?.map(|v| v.extract()).transpose()? {
        Some(false) => Fsync::Never,
        _ => Fsync::EveryFlush,
    };
    let sink = (log || callback.is_some()).then(|| {
        Arc::new(Sink {
            callback,
            log,
            dropped: AtomicU64::new(0),
        })
    });
    Ok(Some(Options {
        file,
        interval,
        fsync,
        sink,
    }))
}

impl Options {
    /// The core settings; Python sinks get batches through the events queue
    /// (starting its thread, which may release the GIL: hold no lock).
    pub fn settings(&self, py: Python<'_>) -> PyResult<AuditSettings> {
        let callback = match &self.sink {
            Some(sink) => {
                let queue = events::queue(py)?;
                let sink = sink.clone();
                Some(Arc::new(move |records: &[AuditRecord]| {
                    let sent = queue.try_send(Dispatch::Audit(sink.clone(), records.to_vec()));
                    if sent.is_err() {
                        sink.dropped.fetch_add(records.len() as u64, Relaxed);
                    }
                }) as secretkit::AuditCallback)
            }
            None => None,
        };
        Ok(AuditSettings {
            file: self.file.clone(),
            fsync: self.fsync,
            interval: self.interval,
            callback,
            keep: false,
        })
    }
}

impl Sink {
    /// On the events thread: the batch as a list of dicts to the callback
    /// and/or `secretkit._logging.log_audit`.
    pub fn deliver(&self, py: Python<'_>, records: &[AuditRecord]) {
        let delivered = (|| -> PyResult<()> {
            let list = PyList::empty(py);
            for r in records {
                list.append(record(py, r)?)?;
            }
            let dropped = self.dropped.swap(0, Relaxed);
            let logging = py.import("secretkit._logging")?;
            if dropped > 0 {
                logging.call_method1("audit_dropped", (dropped,))?;
            }
            if self.log {
                logging.call_method1("log_audit", (&list,))?;
            }
            if let Some(callback) = &self.callback {
                callback.call1(py, (list,))?;
            }
            Ok(())
        })();
        if let Err(err) = delivered {
            err.write_unraisable(py, None);
        }
    }
}

/// One record as a dict: time/first/last as Unix seconds, the identity as
/// a dict, absent fields as None. Never a value.
fn record<'py>(py: Python<'py>, r: &AuditRecord) -> PyResult<Bound<'py, PyDict>> {
    let secs = |t: std::time::SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let d = PyDict::new(py);
    d.set_item("time", secs(r.last))?;
    d.set_item("reference", &r.reference)?;
    d.set_item("backend", r.backend)?;
    d.set_item("outcome", r.outcome.as_str())?;
    d.set_item("count", r.count)?;
    d.set_item("first", secs(r.first))?;
    d.set_item("last", secs(r.last))?;
    d.set_item("version", &r.version)?;
    d.set_item("lease_id", &r.lease_id)?;
    d.set_item("error", r.error)?;
    let identity = match &r.identity {
        Some(id) => {
            let fields = PyDict::new(py);
            for (k, v) in id.fields() {
                fields.set_item(k, v)?;
            }
            Some(fields)
        }
        None => None,
    };
    d.set_item("identity", identity)?;
    Ok(d)
}

/// Audited core clients of this process, flushed at exit. Touched only
/// with the GIL held (build, rebuild, exit), like the events queue.
static AUDITED: Mutex<Vec<(u32, secretkit::WeakClient)>> = Mutex::new(Vec::new());

pub fn register(pid: u32, core: &secretkit::Client) {
    let mut all = AUDITED.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|(_, weak)| weak.upgrade().is_some());
    all.push((pid, core.downgrade()));
}

/// At exit, before the events thread stops: flush this process's audited
/// clients (a forked child's copies of its parent's are not its records).
pub fn flush_all(py: Python<'_>) {
    let pid = crate::fork::pid();
    let clients: Vec<secretkit::Client> = AUDITED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(p, _)| *p == pid)
        .filter_map(|(_, weak)| weak.upgrade())
        .collect();
    py.detach(|| {
        for client in clients {
            client.flush_audit();
        }
    });
}
