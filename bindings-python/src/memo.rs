//! The fast hit path: per reference string, the `Secret` object last handed
//! out and the serial of the backend read behind it. While the core says a
//! hit would answer with that same read (`Client::cached_serial`), the same
//! object is handed out again: one dict lookup and one native call, no
//! string conversion, no new object. Freshness, refresh and stats stay in
//! the core; this only remembers which Python object wraps which read.
//!
//! Each entry also holds the core client that made the read and the pid of
//! the process it was made in, so a hit touches no lock of the binding's
//! `Client`: after a fork the pid comparison (against the cached pid, one
//! atomic load) sends the first read to the slow path, which builds the
//! child's own core client and clears this memo.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::bridge::Ready;
use crate::fork;
use crate::secret::Secret;

/// Most references remembered; past this the memo starts over.
const CAPACITY: usize = 4096;

/// A `Secret` and what the core needs to check it is still the answer.
#[pyclass(frozen, module = "secretkit")]
struct Entry {
    reference: String,
    serial: u64,
    secret: Py<Secret>,
    /// The same secret as a completed awaitable, for `get_async` hits.
    ready: Py<Ready>,
    /// The core client that made the read, and the process it belongs to.
    core: secretkit::Client,
    pid: u32,
}

/// What a memo hit hands out.
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

    /// The remembered `Secret`, if the core would answer `reference` with the
    /// same backend read. Counts a hit in the core, exactly like a read.
    pub fn hit(
        &self,
        py: Python<'_>,
        reference: &Bound<'_, PyString>,
        want: Hit,
    ) -> PyResult<Option<Py<PyAny>>> {
        let Some(entry) = self.0.bind(py).get_item(reference)? else {
            return Ok(None);
        };
        let entry = entry.cast_into::<Entry>()?;
        let entry = entry.get();
        if entry.pid != fork::cached_pid()
            || entry.core.cached_serial(&entry.reference) != Some(entry.serial)
        {
            return Ok(None);
        }
        Ok(Some(match want {
            Hit::Secret => entry.secret.clone_ref(py).into_any(),
            Hit::Ready => entry.ready.clone_ref(py).into_any(),
        }))
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
        let serial = secret.serial();
        let secret = Py::new(py, Secret(secret))?;
        let ready = Py::new(py, Ready::value(secret.clone_ref(py).into_any()))?;
        let memo = self.0.bind(py);
        if memo.len() >= CAPACITY {
            memo.clear();
        }
        let entry = Entry {
            reference: text.to_owned(),
            serial,
            secret: secret.clone_ref(py),
            ready,
            core: core.clone(),
            pid,
        };
        memo.set_item(reference, entry)?;
        Ok(secret)
    }

    /// Forget everything (after `invalidate` / `clear`, so dropped values are
    /// not kept alive here).
    pub fn clear(&self, py: Python<'_>) {
        self.0.bind(py).clear();
    }

    pub fn dict(&self) -> &Py<PyDict> {
        &self.0
    }
}
