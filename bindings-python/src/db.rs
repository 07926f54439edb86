//! `DbCredentials`: what `Client.database_credentials` returns. A frozen
//! snapshot of one lease's username and password; with `on_change` it also
//! holds the watch that reports rotations, which `unwatch()` ends.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::{PyTraverseError, PyVisit};

use crate::client::Client;
use crate::secret::{lease_dict, Secret};

const NO_COPY: &str = "DbCredentials hold a Secret and cannot be pickled or copied";

#[pyclass(frozen, name = "DbCredentials", module = "secretkit")]
pub struct DbCredentials {
    /// Usernames are not secret (they show in logs and pg_stat_activity).
    #[pyo3(get)]
    username: String,
    #[pyo3(get)]
    password: Py<Secret>,
    lease: Option<secretkit::Lease>,
    /// `vault:<mount>/creds/<role>`, for `watch`.
    #[pyo3(get)]
    reference: String,
    /// The client and the id of the `on_change` watch.
    watch: Option<(Py<Client>, u64)>,
}

impl DbCredentials {
    pub fn new(
        py: Python<'_>,
        creds: secretkit::DbCredentials,
        watch: Option<(Py<Client>, u64)>,
    ) -> PyResult<DbCredentials> {
        Ok(DbCredentials {
            username: creds.username,
            password: Py::new(py, Secret(creds.password))?,
            lease: creds.lease,
            reference: creds.reference,
            watch,
        })
    }
}

#[pymethods]
impl DbCredentials {
    /// `None`, or `{"id": str, "duration": int seconds, "renewable": bool}`.
    #[getter]
    fn lease<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        lease_dict(py, self.lease.as_ref())
    }

    /// Stop calling `on_change`; a no-op without one, or the second time.
    fn unwatch(&self) {
        if let Some((client, id)) = &self.watch {
            client.get().unsubscribe(*id);
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "DbCredentials(username={}, password={}, reference={})",
            self.username.clone().into_pyobject(py)?.repr()?,
            self.password.get().0.redacted(),
            self.reference.clone().into_pyobject(py)?.repr()?,
        ))
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(NO_COPY))
    }

    fn __reduce_ex__(&self, _protocol: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err(NO_COPY))
    }

    fn __copy__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(NO_COPY))
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err(NO_COPY))
    }

    /// The client holds the `on_change` callback, which may hold these
    /// credentials (a pool): let the collector see the cycle.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some((client, _)) = &self.watch {
            visit.call(client)?;
        }
        Ok(())
    }
}
