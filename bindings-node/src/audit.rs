//! The access audit trail in Node: the `audit` option, the caller's
//! identity (index.js keeps it in an `AsyncLocalStorage` as a canonical JSON
//! string and passes it with each read), and the records index.js takes on
//! a timer, at close and at exit for its own sinks (callback, diagnostics
//! channel). The JSON-lines file is written by the core itself.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use napi::Result;
use napi_derive::napi;

use crate::error::config_error;

/// `audit: { file, interval, fsync }`; `keep` is set by index.js when it
/// has sinks of its own to feed.
#[napi(object)]
#[derive(Default)]
pub struct AuditOptions {
    /// Append each record as a JSON line to this file (created 0600).
    pub file: Option<String>,
    /// Most seconds between an access and its record (default 1).
    pub interval: Option<f64>,
    /// fsync the file after each flush (default true).
    pub fsync: Option<bool>,
    pub keep: Option<bool>,
}

pub fn settings(a: &AuditOptions) -> Result<secretkit::AuditSettings> {
    let interval = match a.interval {
        None => Duration::from_secs(1),
        Some(s) => Duration::try_from_secs_f64(s)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                config_error("audit.interval must be a positive number of seconds".into())
            })?,
    };
    Ok(secretkit::AuditSettings {
        file: a.file.clone().map(Into::into),
        fsync: if a.fsync == Some(false) {
            secretkit::Fsync::Never
        } else {
            secretkit::Fsync::EveryFlush
        },
        interval,
        callback: None,
        keep: a.keep.unwrap_or(false),
    })
}

/// One audit record; times in milliseconds since the Unix epoch. Never a value.
#[napi(object, object_from_js = false)]
pub struct AuditRecord {
    pub time: f64,
    pub reference: String,
    pub backend: String,
    /// hit, miss, stale, error, denied, refresh, renewed, rotated, expired.
    pub outcome: String,
    /// How many accesses the record stands for (hits are aggregated).
    pub count: f64,
    pub first: f64,
    pub last: f64,
    pub version: Option<String>,
    pub lease_id: Option<String>,
    pub error: Option<String>,
    pub identity: Option<BTreeMap<String, String>>,
}

impl From<secretkit::AuditRecord> for AuditRecord {
    fn from(r: secretkit::AuditRecord) -> Self {
        let ms = |t: std::time::SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        AuditRecord {
            time: ms(r.last),
            reference: r.reference,
            backend: r.backend.to_owned(),
            outcome: r.outcome.as_str().to_owned(),
            count: r.count as f64,
            first: ms(r.first),
            last: ms(r.last),
            version: r.version,
            lease_id: r.lease_id,
            error: r.error.map(str::to_owned),
            identity: r.identity.map(|id| {
                id.fields()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            }),
        }
    }
}

/// The identities index.js passes, parsed (the last one remembered).
#[derive(Default)]
pub struct Identities(secretkit::LastIdentity);

impl Identities {
    /// `core` attributed to the identity `who` (JSON object of strings).
    pub fn client(
        &self,
        core: &secretkit::Client,
        who: Option<String>,
    ) -> Result<secretkit::Client> {
        Ok(match self.get(who)? {
            Some(identity) => core.with_identity(identity),
            None => core.clone(),
        })
    }

    /// The identity `who` names, parsed unless it is the last one seen.
    pub fn get(&self, who: Option<String>) -> Result<Option<secretkit::Identity>> {
        who.map(|text| self.0.parse(&text).map_err(crate::error::to_napi))
            .transpose()
    }
}
