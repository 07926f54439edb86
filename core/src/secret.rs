//! The secret value type: redacted in every formatting path, zeroized on drop,
//! plain only through an explicit `reveal()`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// What every formatting path of every binding prints instead of a value.
pub const REDACTED: &str = "<redacted>";

/// A Vault lease attached to a value (dynamic secrets such as database creds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub id: String,
    /// Lease duration in seconds as the server granted it.
    pub duration_secs: u64,
    pub renewable: bool,
}

/// What a backend returned for one read: the raw value and its metadata.
/// Shared (behind an `Arc`) by the cache and every `Secret` cut from it.
pub struct Fetched {
    pub(crate) value: Zeroizing<Vec<u8>>,
    pub(crate) version: Option<String>,
    pub(crate) fetched_at: SystemTime,
    pub(crate) lease: Option<Lease>,
    /// When to read again at the latest, for values without a lease that
    /// still carry a TTL (static database roles, KV v1 with `ttl`).
    pub(crate) ttl_hint: Option<std::time::Duration>,
    /// May be served past expiry when a refresh fails (stale-if-error).
    /// Off for a value whose lease someone else holds (an agent's).
    pub(crate) stale_ok: bool,
    /// `#field` values already cut from `value`, so a hit does not re-parse JSON.
    fields: Mutex<HashMap<String, Arc<Zeroizing<Vec<u8>>>>>,
    /// Unique per backend read in this process: lets a binding keep the
    /// wrapper it made for a read and know when a newer read replaced it.
    pub(crate) serial: u64,
}

static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

impl Fetched {
    pub fn new(value: Vec<u8>, version: Option<String>, fetched_at: SystemTime) -> Self {
        Fetched {
            value: Zeroizing::new(value),
            version,
            fetched_at,
            lease: None,
            ttl_hint: None,
            stale_ok: true,
            fields: Mutex::new(HashMap::new()),
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// One field of a JSON object value, cut once and then shared.
    pub(crate) fn field(&self, name: &str) -> Result<Arc<Zeroizing<Vec<u8>>>> {
        let mut fields = self.fields.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(value) = fields.get(name) {
            return Ok(value.clone());
        }
        let value = Arc::new(crate::json::select_field(&self.value, name)?);
        fields.insert(name.to_owned(), value.clone());
        Ok(value)
    }

    pub fn with_lease(mut self, lease: Option<Lease>) -> Self {
        self.lease = lease;
        self
    }

    pub fn with_ttl_hint(mut self, ttl: Option<std::time::Duration>) -> Self {
        self.ttl_hint = ttl;
        self
    }

    pub(crate) fn with_stale(mut self, ok: bool) -> Self {
        self.stale_ok = ok;
        self
    }
}

impl fmt::Debug for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetched")
            .field("value", &REDACTED)
            .field("version", &self.version)
            .field("lease", &self.lease)
            .finish()
    }
}

/// A secret handed to the application. Cheap to clone; the bytes are zeroized
/// when the last clone (and the cache entry) is gone.
#[derive(Clone)]
pub struct Secret {
    reference: Arc<str>,
    source: Arc<Fetched>,
    /// Set when the reference picked a `#field`; otherwise the whole value
    /// is the source's buffer, shared rather than copied.
    field_value: Option<Arc<Zeroizing<Vec<u8>>>>,
}

impl Secret {
    /// The whole value of a fetched secret.
    pub(crate) fn whole(reference: Arc<str>, source: Arc<Fetched>) -> Secret {
        Secret {
            reference,
            source,
            field_value: None,
        }
    }

    /// One field of a fetched secret (already extracted by the caller).
    pub(crate) fn field(
        reference: Arc<str>,
        source: Arc<Fetched>,
        value: Arc<Zeroizing<Vec<u8>>>,
    ) -> Secret {
        Secret {
            reference,
            source,
            field_value: Some(value),
        }
    }

    fn value(&self) -> &[u8] {
        match &self.field_value {
            Some(v) => v,
            None => &self.source.value,
        }
    }

    /// The plain value as text. The one way to the value; fails (naming the
    /// reference) for binary secrets that are not UTF-8 — use `reveal_bytes`.
    pub fn reveal(&self) -> Result<&str> {
        std::str::from_utf8(self.value()).map_err(|_| {
            Error::invalid_response("the value is binary, not UTF-8 text; use reveal_bytes()")
                .for_reference(&self.reference)
        })
    }

    /// The plain value as bytes.
    pub fn reveal_bytes(&self) -> &[u8] {
        self.value()
    }

    /// The reference as the application wrote it.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The backend's version id (SSM version, Secrets Manager VersionId, KV v2 version).
    pub fn version(&self) -> Option<&str> {
        self.source.version.as_deref()
    }

    /// When the backend read that produced this value happened.
    pub fn fetched_at(&self) -> SystemTime {
        self.source.fetched_at
    }

    /// Which backend read this value came from (see `Handle::window`).
    pub fn serial(&self) -> u64 {
        self.source.serial
    }

    pub fn lease(&self) -> Option<&Lease> {
        self.source.lease.as_ref()
    }

    /// The redacted form every binding prints for `repr`, `toString`, `inspect`.
    pub fn redacted(&self) -> String {
        format!("Secret({}, {REDACTED})", self.reference)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("reference", &&*self.reference)
            .field("value", &REDACTED)
            .field("version", &self.version())
            .finish()
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let fetched = Arc::new(Fetched::new(
            b"hunter2".to_vec(),
            Some("3".into()),
            SystemTime::UNIX_EPOCH,
        ));
        let s = Secret::whole("env:PW".into(), fetched);
        for shown in [
            format!("{s}"),
            format!("{s:?}"),
            format!("{s:#?}"),
            s.redacted(),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("env:PW"), "{shown}");
        }
        assert_eq!(s.reveal().unwrap(), "hunter2");
        assert_eq!(s.version(), Some("3"));
    }

    #[test]
    fn binary_values_reveal_as_bytes_only() {
        let fetched = Arc::new(Fetched::new(vec![0xff, 0x00], None, SystemTime::UNIX_EPOCH));
        let s = Secret::whole("asm:bin".into(), fetched);
        let err = s.reveal().unwrap_err();
        assert_eq!(err.reference(), Some("asm:bin"));
        assert_eq!(s.reveal_bytes(), &[0xff, 0x00]);
    }
}
