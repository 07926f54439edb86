//! One error type for every backend and every binding.
//!
//! An error names the reference it is about and says what went wrong. It never
//! carries a secret value: messages are built from backend error codes, HTTP
//! statuses and our own text, never from response bodies that hold values.

use std::fmt;

/// What kind of failure this is; each binding maps these to its own idiom
/// (an exception class in Python, an `Error` with a `code` in JS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    NotFound,
    AccessDenied,
    Throttled,
    Unavailable,
    Timeout,
    InvalidReference,
    InvalidResponse,
    Auth,
    LeaseExpired,
    Config,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::NotFound,
        ErrorKind::AccessDenied,
        ErrorKind::Throttled,
        ErrorKind::Unavailable,
        ErrorKind::Timeout,
        ErrorKind::InvalidReference,
        ErrorKind::InvalidResponse,
        ErrorKind::Auth,
        ErrorKind::LeaseExpired,
        ErrorKind::Config,
    ];

    /// The snake_case name used in test vectors and in Python's `err.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::InvalidReference => "invalid_reference",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::Auth => "auth",
            ErrorKind::LeaseExpired => "lease_expired",
            ErrorKind::Config => "config",
        }
    }

    /// The SCREAMING_CASE code used as `err.code` in JavaScript.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::AccessDenied => "ACCESS_DENIED",
            ErrorKind::Throttled => "THROTTLED",
            ErrorKind::Unavailable => "UNAVAILABLE",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::InvalidReference => "INVALID_REFERENCE",
            ErrorKind::InvalidResponse => "INVALID_RESPONSE",
            ErrorKind::Auth => "AUTH",
            ErrorKind::LeaseExpired => "LEASE_EXPIRED",
            ErrorKind::Config => "CONFIG",
        }
    }

    /// Whether retrying later can help (used by callers deciding to back off).
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled | ErrorKind::Unavailable | ErrorKind::Timeout
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secretkit failure: a kind, the reference it concerns (when there is one)
/// and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    reference: Option<String>,
    message: String,
    /// How long the server asked us to wait (HTTP `Retry-After`).
    retry_after: Option<std::time::Duration>,
}

/// Longest message kept: a server's error text (Vault joins its `errors`
/// list, AWS sends a message) can be megabytes of junk; logs need a line.
pub const MAX_MESSAGE_LEN: usize = 1024;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_MESSAGE_LEN {
            let mut cut = MAX_MESSAGE_LEN;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("… (truncated)");
        }
        Error {
            kind,
            reference: None,
            message,
            retry_after: None,
        }
    }

    /// The wait a server asked for before retrying, if it gave one.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    pub(crate) fn with_retry_after(mut self, wait: Option<std::time::Duration>) -> Self {
        self.retry_after = wait;
        self
    }

    /// Attach the reference this error concerns (kept if one is already set).
    pub fn for_reference(mut self, reference: &str) -> Self {
        if self.reference.is_none() {
            self.reference = Some(reference.to_owned());
        }
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    pub(crate) fn invalid_reference(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidReference, message)
    }

    pub(crate) fn invalid_response(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidResponse, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reference {
            Some(r) => write!(f, "{} ({}): {}", self.kind, r, self.message),
            None => write!(f, "{}: {}", self.kind, self.message),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
