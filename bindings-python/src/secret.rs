//! `Secret`: the core value type, redacted in every formatting path.

use std::time::UNIX_EPOCH;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::errors::to_py;

#[pyclass(frozen, name = "Secret", module = "secretkit")]
pub struct Secret(pub secretkit::Secret);

const NO_COPY: &str =
    "a Secret cannot be pickled or copied; call reveal() and handle the value explicitly";

#[pymethods]
impl Secret {
    /// The plain value as text; InvalidResponseError for binary values.
    fn reveal(&self) -> PyResult<&str> {
        self.0.reveal().map_err(to_py)
    }

    /// The plain value as bytes.
    fn reveal_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.reveal_bytes())
    }

    #[getter]
    fn reference(&self) -> &str {
        self.0.reference()
    }

    #[getter]
    fn version(&self) -> Option<&str> {
        self.0.version()
    }

    /// Seconds since the Unix epoch when the backend read happened.
    #[getter]
    fn fetched_at(&self) -> f64 {
        match self.0.fetched_at().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs_f64(),
            Err(before) => -before.duration().as_secs_f64(),
        }
    }

    /// `None`, or `{"id": str, "duration": int seconds, "renewable": bool}`.
    #[getter]
    fn lease<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        lease_dict(py, self.0.lease())
    }

    fn __repr__(&self) -> String {
        self.0.redacted()
    }

    fn __str__(&self) -> String {
        self.0.redacted()
    }

    /// Format specs (`f"{s:>60}"`) apply to the redacted text.
    fn __format__<'py>(
        &self,
        py: Python<'py>,
        spec: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        PyString::new(py, &self.0.redacted()).call_method1("__format__", (spec,))
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
}

/// A lease as Python sees it: `{"id", "duration" (seconds), "renewable"}`.
pub fn lease_dict<'py>(
    py: Python<'py>,
    lease: Option<&secretkit::Lease>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let Some(lease) = lease else {
        return Ok(None);
    };
    let dict = PyDict::new(py);
    dict.set_item("id", &lease.id)?;
    dict.set_item("duration", lease.duration_secs)?;
    dict.set_item("renewable", lease.renewable)?;
    Ok(Some(dict))
}
