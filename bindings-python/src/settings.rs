//! Keyword options and the `aws=` dict, turned into core settings (the
//! `vault=` dict is in `vault.rs`).
//! Every problem is a `ConfigError` (bad values) or a `TypeError` (unknown
//! names, wrong types) before any client exists.

use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
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
/// numbers; `None` keeps the default).
pub fn client_settings(options: Option<&Bound<'_, PyDict>>) -> PyResult<ClientSettings> {
    let mut s = ClientSettings::default();
    let Some(options) = options else {
        return Ok(s);
    };
    only_keys(options, "option", OPTIONS)?;
    for (key, value) in options.iter() {
        if value.is_none() {
            continue;
        }
        let name: String = key.extract()?;
        if crate::audit::OPTIONS.contains(&name.as_str()) {
            continue;
        }
        match name.as_str() {
            "default_ttl" => s.default_ttl = seconds(&name, value.extract()?)?,
            "max_stale" => s.max_stale = seconds(&name, value.extract()?)?,
            "negative_ttl" => s.negative_ttl = seconds(&name, value.extract()?)?,
            "retry_base" => s.retry_base = seconds(&name, value.extract()?)?,
            "retry_max" => s.retry_max = seconds(&name, value.extract()?)?,
            "timeout" => s.timeout = positive_seconds(&name, value.extract()?)?,
            "ttl_jitter" => s.ttl_jitter = fraction(&name, value.extract()?)?,
            "refresh_ahead" => s.refresh_ahead = fraction(&name, value.extract()?)?,
            "max_entries" => s.max_entries = count(&name, value.extract()?)?,
            "revoke_on_close" => s.revoke_on_close = value.extract()?,
            "allow_http" => s.allow_http = value.extract()?,
            "allow_local" => s.allow_local = value.extract()?,
            "read_attempts" => s.read_attempts = attempts(&name, value.extract()?)?,
            "revoke_replaced_after" => {
                s.revoke_replaced_after = Some(seconds(&name, value.extract()?)?)
            }
            _ => unreachable!("only_keys checked the names"),
        }
    }
    Ok(s)
}

pub fn config(message: String) -> PyErr {
    to_py(Error::new(secretkit::ErrorKind::Config, message))
}

fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| config(format!("{name} must be a non-negative number of seconds")))
}

/// A zero timeout would fail every request at once.
fn positive_seconds(name: &str, value: f64) -> PyResult<Duration> {
    match seconds(name, value)? {
        d if d.is_zero() => Err(config(format!(
            "{name} must be a positive number of seconds"
        ))),
        d => Ok(d),
    }
}

fn fraction(name: &str, value: f64) -> PyResult<f64> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(config(format!("{name} must be a fraction between 0 and 1")))
    }
}

/// The core keeps four parsed references per entry, so bound the count well
/// below overflow.
fn count(name: &str, value: i64) -> PyResult<usize> {
    const MAX: i64 = 1 << 40;
    if (1..=MAX).contains(&value) {
        Ok(value as usize)
    } else {
        Err(config(format!("{name} must be an integer from 1 to {MAX}")))
    }
}

/// Tries per read (the first one included); the core refuses more than 10.
fn attempts(name: &str, value: i64) -> PyResult<u32> {
    u32::try_from(value).map_err(|_| config(format!("{name} must be an integer from 1 to 10")))
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
