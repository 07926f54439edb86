//! `env:NAME` and `file:/path`: local development and mounted secrets
//! (Kubernetes / Docker secret files). Native only: edge runtimes have
//! neither an environment nor a filesystem.

use std::time::SystemTime;

#[cfg(not(target_arch = "wasm32"))]
use crate::error::ErrorKind;
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::secret::Fetched;

/// Largest secret file read; mounted secrets are small, and reading a huge
/// file by mistake should fail rather than fill memory.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn env(r: &Reference, now: SystemTime) -> Result<Fetched> {
    use std::os::unix::ffi::OsStringExt;
    match std::env::var_os(&r.path) {
        Some(v) => Ok(Fetched::new(v.into_vec(), None, now)),
        None => Err(Error::not_found("environment variable is not set")),
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn file(r: &Reference, now: SystemTime) -> Result<Fetched> {
    use std::io::Read;
    let io_error = |e: std::io::Error| {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::AccessDenied,
            _ => ErrorKind::Unavailable,
        };
        Error::new(kind, format!("cannot read the file: {e}"))
    };
    // Only regular files (or links to them): opening a FIFO or a device
    // could block forever or read without end.
    let meta = std::fs::metadata(&r.path).map_err(io_error)?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidReference,
            "not a regular file (a FIFO, device or directory cannot hold a secret)",
        ));
    }
    let f = std::fs::File::open(&r.path).map_err(io_error)?;
    let mut value = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut value)
        .map_err(io_error)?;
    if value.len() as u64 > MAX_FILE_BYTES {
        zeroize::Zeroize::zeroize(&mut value);
        return Err(Error::invalid_response(format!(
            "the file is larger than {MAX_FILE_BYTES} bytes"
        )));
    }
    Ok(Fetched::new(value, None, now))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn env(_: &Reference, _: SystemTime) -> Result<Fetched> {
    Err(Error::config(
        "env: references are not available on the edge (no process environment)",
    ))
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn file(_: &Reference, _: SystemTime) -> Result<Fetched> {
    Err(Error::config(
        "file: references are not available on the edge (no filesystem)",
    ))
}
