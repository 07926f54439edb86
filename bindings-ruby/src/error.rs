//! The one error conversion: every secretkit error crosses as
//! `NativeError::Failed` with its kind, stable code and reference;
//! lib/secretkit.rb raises the matching `Secretkit::Error` subclass.

/// A secretkit error as data; never carries a secret value.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum NativeError {
    #[error("{message}")]
    Failed {
        /// `not_found`, `access_denied`, … (core `ErrorKind::as_str`).
        kind: String,
        /// The stable `SECRETKIT_*` code (core `ErrorKind::code`).
        code: String,
        reference: Option<String>,
        message: String,
    },
}

impl From<secretkit::Error> for NativeError {
    fn from(e: secretkit::Error) -> Self {
        NativeError::Failed {
            kind: e.kind().as_str().to_owned(),
            code: e.kind().code().to_owned(),
            reference: e.reference().map(str::to_owned),
            message: e.message().to_owned(),
        }
    }
}

/// A bad option given by the caller, reported like a core config error.
pub fn config_error(message: String) -> NativeError {
    secretkit::Error::new(secretkit::ErrorKind::Config, message).into()
}
