//! Core errors become the exception classes defined in `secretkit/errors.py`.

use pyo3::PyErr;
use secretkit::{Error, ErrorKind};

mod classes {
    pyo3::import_exception!(secretkit.errors, NotFoundError);
    pyo3::import_exception!(secretkit.errors, AccessDeniedError);
    pyo3::import_exception!(secretkit.errors, ThrottledError);
    pyo3::import_exception!(secretkit.errors, UnavailableError);
    pyo3::import_exception!(secretkit.errors, TimeoutError);
    pyo3::import_exception!(secretkit.errors, InvalidReferenceError);
    pyo3::import_exception!(secretkit.errors, InvalidResponseError);
    pyo3::import_exception!(secretkit.errors, AuthError);
    pyo3::import_exception!(secretkit.errors, LeaseExpiredError);
    pyo3::import_exception!(secretkit.errors, ConfigError);
}

/// The exception for a core error: `Class(message, reference)`. Lazy, so it
/// can be built on a tokio worker without the GIL.
pub fn to_py(e: Error) -> PyErr {
    use classes::*;
    let args = (e.message().to_owned(), e.reference().map(str::to_owned));
    match e.kind() {
        ErrorKind::NotFound => PyErr::new::<NotFoundError, _>(args),
        ErrorKind::AccessDenied => PyErr::new::<AccessDeniedError, _>(args),
        ErrorKind::Throttled => PyErr::new::<ThrottledError, _>(args),
        ErrorKind::Unavailable => PyErr::new::<UnavailableError, _>(args),
        ErrorKind::Timeout => PyErr::new::<TimeoutError, _>(args),
        ErrorKind::InvalidReference => PyErr::new::<InvalidReferenceError, _>(args),
        ErrorKind::InvalidResponse => PyErr::new::<InvalidResponseError, _>(args),
        ErrorKind::Auth => PyErr::new::<AuthError, _>(args),
        ErrorKind::LeaseExpired => PyErr::new::<LeaseExpiredError, _>(args),
        ErrorKind::Config => PyErr::new::<ConfigError, _>(args),
    }
}
