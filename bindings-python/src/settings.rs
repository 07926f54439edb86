//! Keyword options and the `aws=` dict, turned into core settings (the
//! `vault=` dict is in `vault.rs`).
//! Every problem is a `ConfigError` (bad values) or a `TypeError` (unknown
//! names, wrong types) before any client exists.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use secretkit::options::{Naming, Tunables};
use secretkit::{AwsSettings, ClientSettings, Error};

use crate::errors::to_py;

/// The keyword options `Client(...)` and `Client.from_env(...)` accept.
pub const OPTIONS: &[&str] = &[
    "default_ttl",
    "ttl_jitter",
    "refresh_ahead",
    "max_stale",
    "negative_ttl",
    "retry_base",
    "retry_max",
    "max_entries",
    "timeout",
    "revoke_on_close",
    "revoke_replaced_after",
    "allow_http",
    "allow_local",
    "read_attempts",
    // audit.rs reads these.
    "audit_file",
    "audit_interval",
    "audit_fsync",
    "audit_log",
    "on_audit",
];

/// Core defaults, overridden by the options given (seconds and fractions as
/// numbers; `None` keeps the default), checked by the core
/// (`secretkit::options`), the same rules for every binding.
pub fn client_settings(options: Option<&Bound<'_, PyDict>>) -> PyResult<ClientSettings> {
    let mut t = Tunables::default();
    if let Some(options) = options {
        only_keys(options, "option", OPTIONS)?;
        for (key, value) in options.iter() {
            if value.is_none() {
                continue;
            }
            let name: String = key.extract()?;
            let number = || -> PyResult<Option<f64>> { Ok(Some(value.extract()?)) };
            // Counts as integers: 2.5 entries is a TypeError, as in Python.
            let count = || -> PyResult<Option<f64>> { Ok(Some(value.extract::<i64>()? as f64)) };
            match name.as_str() {
                "default_ttl" => t.default_ttl = number()?,
                "max_stale" => t.max_stale = number()?,
                "negative_ttl" => t.negative_ttl = number()?,
                "retry_base" => t.retry_base = number()?,
                "retry_max" => t.retry_max = number()?,
                "timeout" => t.timeout = number()?,
                "ttl_jitter" => t.ttl_jitter = number()?,
                "refresh_ahead" => t.refresh_ahead = number()?,
                "revoke_replaced_after" => t.revoke_replaced_after = number()?,
                "max_entries" => t.max_entries = count()?,
                "read_attempts" => t.read_attempts = count()?,
                "revoke_on_close" => t.revoke_on_close = Some(value.extract()?),
                "allow_http" => t.allow_http = Some(value.extract()?),
                "allow_local" => t.allow_local = Some(value.extract()?),
                // The audit options (audit.rs reads them); only_keys refused the rest.
                _ => debug_assert!(crate::audit::OPTIONS.contains(&name.as_str())),
            }
        }
    }
    t.settings(Naming::Snake).map_err(to_py)
}

pub fn config(message: String) -> PyErr {
    to_py(Error::new(secretkit::ErrorKind::Config, message))
}

/// A typo such as `endpont=` must not silently send requests to real AWS.
pub fn only_keys(dict: &Bound<'_, PyDict>, what: &str, allowed: &[&str]) -> PyResult<()> {
    for key in dict.keys() {
        let key: String = key.extract()?;
        if !allowed.contains(&key.as_str()) {
            return Err(PyTypeError::new_err(format!(
                "unknown {what} {key:?}; expected some of {allowed:?}"
            )));
        }
    }
    Ok(())
}

#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct AwsArgs {
    region: String,
    access_key_id: String,
    secret_access_key: String,
    #[pyo3(default)]
    session_token: Option<String>,
    #[pyo3(default)]
    endpoint: Option<String>,
}

pub fn aws_settings(dict: &Bound<'_, PyDict>) -> PyResult<AwsSettings> {
    only_keys(
        dict,
        "aws setting",
        &[
            "region",
            "access_key_id",
            "secret_access_key",
            "session_token",
            "endpoint",
        ],
    )?;
    let a: AwsArgs = dict.extract()?;
    Ok(AwsSettings {
        region: a.region,
        access_key_id: a.access_key_id,
        secret_access_key: a.secret_access_key,
        session_token: a.session_token,
        endpoint: a.endpoint,
    })
}
