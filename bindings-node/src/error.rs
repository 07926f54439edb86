//! The one Rust-side error conversion. A secretkit error crosses to JS either
//! thrown, as a napi error whose message is `ERROR_TAG` + JSON {code, kind,
//! reference, message}, or as data (`ErrorInfo`, in events and settled
//! getMany results); index.js turns both into a SecretkitError.

use napi::{Error, Status};
use napi_derive::napi;

/// Must match ERROR_TAG in index.js.
const ERROR_TAG: &str = "secretkit-error:";

/// A secretkit error as plain data; never carries a secret value.
#[napi(object)]
pub struct ErrorInfo {
    pub code: String,
    pub kind: String,
    pub reference: Option<String>,
    pub message: String,
}

pub fn info(e: &secretkit::Error) -> ErrorInfo {
    ErrorInfo {
        code: e.kind().code().to_owned(),
        kind: e.kind().as_str().to_owned(),
        reference: e.reference().map(str::to_owned),
        message: e.message().to_owned(),
    }
}

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
