//! The one Rust-side error conversion. A secretkit error crosses to JS as a
//! napi error whose message is `ERROR_TAG` + JSON {code, kind, reference,
//! message}; index.js turns exactly that into a SecretkitError.

use napi::{Error, Status};

/// Must match ERROR_TAG in index.js.
const ERROR_TAG: &str = "secretkit-error:";

pub fn to_napi(e: secretkit::Error) -> Error {
    let body = serde_json::json!({
        "code": e.kind().code(),
        "kind": e.kind().as_str(),
        "reference": e.reference(),
        "message": e.message(),
    });
    Error::new(Status::GenericFailure, format!("{ERROR_TAG}{body}"))
}

/// A bad option passed by the caller, reported like a core config error.
pub fn config_error(message: String) -> Error {
    to_napi(secretkit::Error::new(secretkit::ErrorKind::Config, message))
}
