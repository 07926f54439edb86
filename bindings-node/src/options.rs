//! Client options as JS passes them (seconds and fractions as numbers),
//! handed to the core's checks (`secretkit::options`). Unset options keep
//! core's defaults.

use napi::bindgen_prelude::{Either, Null};
use napi::Result;
use napi_derive::napi;

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

/// Checked by the core (`secretkit::options`), the same rules for every
/// binding, with names as JS spells them.
pub fn settings(t: &Tunables) -> Result<secretkit::ClientSettings> {
    let revoke_replaced_after = match t.revoke_replaced_after {
        Some(Either::A(v)) => Some(v),
        _ => None,
    };
    let tunables = secretkit::options::Tunables {
        default_ttl: t.default_ttl,
        ttl_jitter: t.ttl_jitter,
        refresh_ahead: t.refresh_ahead,
        max_stale: t.max_stale,
        negative_ttl: t.negative_ttl,
        retry_base: t.retry_base,
        retry_max: t.retry_max,
        max_entries: t.max_entries,
        timeout: t.timeout,
        read_attempts: t.read_attempts,
        revoke_on_close: t.revoke_on_close,
        revoke_replaced_after,
        allow_http: t.allow_http,
        allow_local: t.allow_local,
    };
    tunables
        .settings(secretkit::options::Naming::Camel)
        .map_err(crate::error::to_napi)
}
