//! Client options as JS passes them (seconds and fractions as numbers),
//! checked and turned into `secretkit::ClientSettings`. Unset options keep
//! core's defaults.

use std::time::Duration;

use napi::bindgen_prelude::{Either, Null};
use napi::Result;
use napi_derive::napi;

use crate::error::config_error;

/// Cache and request tunables: durations in seconds, fractions in 0..=1.
#[napi(object)]
#[derive(Default)]
pub struct Tunables {
    pub default_ttl: Option<f64>,
    pub ttl_jitter: Option<f64>,
    pub refresh_ahead: Option<f64>,
    pub max_stale: Option<f64>,
    pub negative_ttl: Option<f64>,
    pub retry_base: Option<f64>,
    pub retry_max: Option<f64>,
    pub max_entries: Option<f64>,
    pub timeout: Option<f64>,
    /// `close()` revokes the client's Vault leases (default true).
    pub revoke_on_close: Option<bool>,
    /// Revoke a replaced lease this many seconds after its replacement was
    /// read; `null` (the default) lets it run out by itself.
    pub revoke_replaced_after: Option<Either<f64, Null>>,
    /// Plain http to hosts that are not loopback (default false).
    pub allow_http: Option<bool>,
    /// `env:` and `file:` references (default true); turn off when
    /// references come from untrusted input.
    pub allow_local: Option<bool>,
    /// Tries per read when the backend fails transiently and nothing cached
    /// can answer, the first included (1 to 10, default 3).
    pub read_attempts: Option<f64>,
    /// The access audit trail (off when absent): see src/audit.rs.
    pub audit: Option<crate::audit::AuditOptions>,
}

pub fn settings(t: &Tunables) -> Result<secretkit::ClientSettings> {
    let mut s = secretkit::ClientSettings::default();
    let secs = [
        ("defaultTtl", t.default_ttl, &mut s.default_ttl),
        ("maxStale", t.max_stale, &mut s.max_stale),
        ("negativeTtl", t.negative_ttl, &mut s.negative_ttl),
        ("retryBase", t.retry_base, &mut s.retry_base),
        ("retryMax", t.retry_max, &mut s.retry_max),
        ("timeout", t.timeout, &mut s.timeout),
    ];
    for (name, value, slot) in secs {
        if let Some(v) = value {
            *slot = seconds(name, v)?;
        }
    }
    let fractions = [
        ("ttlJitter", t.ttl_jitter, &mut s.ttl_jitter),
        ("refreshAhead", t.refresh_ahead, &mut s.refresh_ahead),
    ];
    for (name, value, slot) in fractions {
        if let Some(v) = value {
            *slot = fraction(name, v)?;
        }
    }
    if let Some(n) = t.max_entries {
        // f64 so that -1 or 2.5 is reported instead of wrapping to a u32.
        if !(n >= 1.0 && n.fract() == 0.0 && n <= u32::MAX as f64) {
            return Err(config_error(format!(
                "maxEntries must be a positive integer, got {n}"
            )));
        }
        s.max_entries = n as usize;
    }
    if let Some(revoke) = t.revoke_on_close {
        s.revoke_on_close = revoke;
    }
    if let Some(allow) = t.allow_http {
        s.allow_http = allow;
    }
    if let Some(allow) = t.allow_local {
        s.allow_local = allow;
    }
    if let Some(n) = t.read_attempts {
        if !(n.fract() == 0.0 && (1.0..=10.0).contains(&n)) {
            return Err(config_error(format!(
                "readAttempts must be an integer from 1 to 10, got {n}"
            )));
        }
        s.read_attempts = n as u32;
    }
    if let Some(Either::A(v)) = t.revoke_replaced_after {
        s.revoke_replaced_after = Some(seconds("revokeReplacedAfter", v)?);
    }
    Ok(s)
}

fn seconds(name: &str, secs: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        config_error(format!(
            "{name} must be a non-negative number of seconds, got {secs}"
        ))
    })
}

fn fraction(name: &str, value: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(config_error(format!(
            "{name} must be a number from 0 to 1, got {value}"
        )))
    }
}
