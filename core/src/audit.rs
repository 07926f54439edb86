//! The access audit trail: who read which secret, when, and what the cache
//! answered — never a value. Opt in with `ClientBuilder::audit`.
//!
//! Every miss, stale serve, error, denial, forced or background refresh and
//! lease renewal/rotation/expiry is one record; hits are aggregated per
//! (reference, identity) and written as one record per flush interval with
//! their count and first/last times, so auditing a hot reference costs a
//! hash-map update, not a write. Records are flushed every `interval` (a
//! background task natively; on wasm the binding pulls them), by
//! `Client::flush_audit`, and by `close`. See ARCHITECTURE.md, "The hit path
//! and the audit trail".

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustc_hash::FxHashMap as HashMap;

use crate::error::{Error, ErrorKind};
use crate::reference::Scheme;
use crate::secret::Fetched;

/// Who is reading, as the application says: for example `service`, `user`,
/// `request_id`. Cheap to clone; compared by content, hashed once (a hit
/// of an audited client hashes it to find its aggregate).
#[derive(Clone)]
pub struct Identity(Arc<Fields>);

struct Fields {
    map: BTreeMap<String, String>,
    hash: u64,
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || (self.0.hash == other.0.hash && self.0.map == other.0.map)
    }
}

impl Eq for Identity {}

impl std::hash::Hash for Identity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

impl Identity {
    pub fn new<K: Into<String>, V: Into<String>>(fields: impl IntoIterator<Item = (K, V)>) -> Self {
        let map = fields
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Identity::from_map(map)
    }

    fn from_map(map: BTreeMap<String, String>) -> Self {
        use std::hash::{Hash, Hasher};
        let mut hasher = rustc_hash::FxHasher::default();
        map.hash(&mut hasher);
        let hash = hasher.finish();
        Identity(Arc::new(Fields { map, hash }))
    }

    /// From a JSON object of string fields (how the JS bindings pass it).
    pub fn from_json(text: &str) -> crate::Result<Identity> {
        let fields: BTreeMap<String, String> = serde_json::from_str(text).map_err(|_| {
            Error::config("an audit identity is an object whose fields are strings")
        })?;
        Ok(Identity::from_map(fields))
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Parses identities from their JSON text, remembering the last one: the
/// JS bindings pass the identity with each read, and a request's reads
/// repeat the same text.
#[derive(Default)]
pub struct LastIdentity(Mutex<Option<(String, Identity)>>);

impl LastIdentity {
    pub fn parse(&self, text: &str) -> crate::Result<Identity> {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((seen, identity)) = last.as_ref() {
            if seen == text {
                return Ok(identity.clone());
            }
        }
        let identity = Identity::from_json(text)?;
        *last = Some((text.to_owned(), identity.clone()));
        Ok(identity)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.map.iter()).finish()
    }
}

/// What the cache answered, or what the lease lifecycle did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Answered from a fresh cache entry (aggregated: see `AuditRecord::count`).
    Hit,
    /// Read from the backend while the caller waited.
    Miss,
    /// Answered with an expired value because the backend failed.
    Stale,
    /// The read failed (not found, unavailable, invalid, …).
    Error,
    /// The backend refused: the caller's credentials may not read it.
    Denied,
    /// Re-read ahead of expiry in the background, or forced by `refresh`.
    Refresh,
    /// A Vault lease was renewed.
    Renewed,
    /// A Vault lease was replaced by a new one.
    Rotated,
    /// A Vault lease ran out before it could be renewed or replaced.
    Expired,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Hit,
        Outcome::Miss,
        Outcome::Stale,
        Outcome::Error,
        Outcome::Denied,
        Outcome::Refresh,
        Outcome::Renewed,
        Outcome::Rotated,
        Outcome::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Stale => "stale",
            Outcome::Error => "error",
            Outcome::Denied => "denied",
            Outcome::Refresh => "refresh",
            Outcome::Renewed => "renewed",
            Outcome::Rotated => "rotated",
            Outcome::Expired => "expired",
        }
    }

    pub(crate) fn of_error(error: &Error) -> Outcome {
        match error.kind() {
            ErrorKind::AccessDenied => Outcome::Denied,
            _ => Outcome::Error,
        }
    }
}

/// One line of the audit trail. Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The reference as the application wrote it (with its `#field`), or
    /// the cache key for lease work.
    pub reference: String,
    /// `ssm`, `asm`, `vault`, `env` or `file`.
    pub backend: &'static str,
    pub outcome: Outcome,
    /// How many accesses this record stands for (more than 1 only for hits).
    pub count: u64,
    pub first: SystemTime,
    pub last: SystemTime,
    /// The version (or Vault KV version) answered, when the backend has one.
    pub version: Option<String>,
    /// The Vault lease answered or acted on.
    pub lease_id: Option<String>,
    pub identity: Option<Identity>,
    /// For errors and denials: the error kind (`not_found`, …).
    pub error: Option<&'static str>,
}

impl AuditRecord {
    /// The record as one JSON object (one line of the JSON-lines file).
    pub fn to_json(&self) -> String {
        let mut o = serde_json::Map::new();
        o.insert("time".into(), rfc3339(self.last).into());
        o.insert("reference".into(), self.reference.clone().into());
        o.insert("backend".into(), self.backend.into());
        o.insert("outcome".into(), self.outcome.as_str().into());
        o.insert("count".into(), self.count.into());
        o.insert("first".into(), rfc3339(self.first).into());
        o.insert("last".into(), rfc3339(self.last).into());
        if let Some(v) = &self.version {
            o.insert("version".into(), v.clone().into());
        }
        if let Some(l) = &self.lease_id {
            o.insert("lease_id".into(), l.clone().into());
        }
        if let Some(id) = &self.identity {
            let fields = id.fields().map(|(k, v)| (k.to_owned(), v.into()));
            o.insert(
                "identity".into(),
                fields.collect::<serde_json::Map<_, _>>().into(),
            );
        }
        if let Some(e) = self.error {
            o.insert("error".into(), e.into());
        }
        serde_json::Value::Object(o).to_string()
    }
}

/// Called with each flushed batch; must be quick (it runs on the flushing
/// thread, with no secretkit lock held).
pub type AuditCallback = Arc<dyn Fn(&[AuditRecord]) + Send + Sync>;

/// When the JSON-lines file is synced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// After every flush (at most once per `interval`): a machine crash
    /// loses at most the last interval.
    EveryFlush,
    /// Never explicitly: written with one `write` per flush, so a process
    /// crash loses nothing written, a machine crash what the OS had not synced.
    Never,
}

/// Where the audit trail goes. Build with
/// `AuditSettings { file: Some(path), ..Default::default() }`.
#[derive(Clone)]
pub struct AuditSettings {
    /// Append each record as a JSON line to this file (created 0600).
    pub file: Option<std::path::PathBuf>,
    pub fsync: Fsync,
    /// Most time between an access and its record reaching the sinks.
    pub interval: Duration,
    pub callback: Option<AuditCallback>,
    /// Keep flushed records for `Client::take_audit` (bindings hand them to
    /// their own sinks: Python `logging`, JS callbacks). Bounded.
    pub keep: bool,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            file: None,
            fsync: Fsync::EveryFlush,
            interval: Duration::from_secs(1),
            callback: None,
            keep: false,
        }
    }
}

/// Records kept for `take_audit` beyond this are dropped (and counted): a
/// binding that stopped pulling must not grow memory without bound.
const KEPT_MAX: usize = 100_000;

/// Hits of one (reference, identity) since the last flush.
struct Hits {
    backend: &'static str,
    count: u64,
    first: SystemTime,
    last: SystemTime,
    version: Option<String>,
    lease_id: Option<String>,
}

#[derive(Default)]
struct State {
    hits: HashMap<(Arc<str>, Option<Identity>), Hits>,
    /// Individual records and finished hit aggregates, in order.
    pending: Vec<AuditRecord>,
    kept: Vec<AuditRecord>,
    dropped: u64,
}

pub(crate) struct Audit {
    settings: AuditSettings,
    state: Mutex<State>,
    /// Serialises flushes, so file lines keep their order.
    file: Mutex<Option<std::fs::File>>,
}

impl Audit {
    pub(crate) fn new(settings: AuditSettings) -> crate::Result<Audit> {
        let file = match &settings.file {
            Some(path) => Some(open_append(path)?),
            None => None,
        };
        Ok(Audit {
            settings,
            state: Mutex::new(State::default()),
            file: Mutex::new(file),
        })
    }

    pub(crate) fn interval(&self) -> Duration {
        self.settings.interval
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A cache hit: one more on its aggregate. A new version or lease
    /// closes the aggregate, so each record names one version.
    pub(crate) fn hit(
        &self,
        name: &Arc<str>,
        scheme: Scheme,
        value: &Fetched,
        identity: Option<&Identity>,
        now: SystemTime,
    ) {
        let lease_id = value.lease.as_ref().map(|l| l.id.as_str());
        let mut state = self.lock();
        let state = &mut *state;
        let key = (name.clone(), identity.cloned());
        if let Some(h) = state.hits.get_mut(&key) {
            if h.version.as_deref() == value.version.as_deref() && h.lease_id.as_deref() == lease_id
            {
                h.count += 1;
                h.last = now;
                return;
            }
            let done = state.hits.remove(&key).expect("just found");
            state
                .pending
                .push(done.record(key.0.to_string(), key.1.clone()));
        }
        state.hits.insert(
            key,
            Hits {
                backend: scheme.as_str(),
                count: 1,
                first: now,
                last: now,
                version: value.version.clone(),
                lease_id: lease_id.map(str::to_owned),
            },
        );
    }

    /// Hits a binding answered on its side (see `Handle::record_hits`),
    /// folded in with the version they were answered with.
    pub(crate) fn hits(&self, name: &Arc<str>, scheme: Scheme, count: u64, now: SystemTime) {
        let mut state = self.lock();
        let key = (name.clone(), None);
        let h = state.hits.entry(key).or_insert(Hits {
            backend: scheme.as_str(),
            count: 0,
            first: now,
            last: now,
            version: None,
            lease_id: None,
        });
        h.count += count;
        h.last = now;
    }

    /// One access or lease action, recorded individually.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn one(
        &self,
        reference: &str,
        scheme: Scheme,
        outcome: Outcome,
        value: Option<&Fetched>,
        error: Option<&Error>,
        identity: Option<&Identity>,
        now: SystemTime,
    ) {
        let record = AuditRecord {
            reference: reference.to_owned(),
            backend: scheme.as_str(),
            outcome,
            count: 1,
            first: now,
            last: now,
            version: value.and_then(|v| v.version.clone()),
            lease_id: value.and_then(|v| v.lease.as_ref().map(|l| l.id.clone())),
            identity: identity.cloned(),
            error: error.map(|e| e.kind().as_str()),
        };
        self.lock().pending.push(record);
    }

    /// A lease action of the lifecycle, from its event.
    pub(crate) fn lease(&self, event: &crate::Event, scheme: Scheme, outcome: Outcome) {
        let record = AuditRecord {
            reference: event.reference.clone(),
            backend: scheme.as_str(),
            outcome,
            count: 1,
            first: event.at,
            last: event.at,
            version: None,
            lease_id: event
                .lease_id
                .clone()
                .or_else(|| event.old_lease_id.clone()),
            identity: None,
            error: event.error.as_ref().map(|e| e.kind().as_str()),
        };
        self.lock().pending.push(record);
    }

    /// Hand everything recorded so far to the sinks: the file (one write,
    /// then fsync per the policy), the callback, and the kept records.
    /// Returns how many records were flushed.
    pub(crate) fn flush(&self) -> usize {
        // The file lock is held across take-and-write so that two flushes
        // cannot write their batches out of order.
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let records = {
            let mut state = self.lock();
            let state = &mut *state;
            let mut records = std::mem::take(&mut state.pending);
            records.extend(
                state
                    .hits
                    .drain()
                    .map(|((name, identity), h)| h.record(name.to_string(), identity)),
            );
            records
        };
        if records.is_empty() {
            return 0;
        }
        if let Some(f) = file.as_mut() {
            let mut lines = String::new();
            for r in &records {
                lines.push_str(&r.to_json());
                lines.push('\n');
            }
            use std::io::Write;
            // A failed write cannot fail the reads it records; it is
            // reported on stderr once per flush, naming no value.
            let written = f.write_all(lines.as_bytes()).and_then(|()| {
                if self.settings.fsync == Fsync::EveryFlush {
                    f.sync_data()
                } else {
                    Ok(())
                }
            });
            if let Err(e) = written {
                eprintln!("secretkit: the audit file could not be written: {e}");
            }
        }
        drop(file);
        if let Some(callback) = &self.settings.callback {
            callback(&records);
        }
        let n = records.len();
        if self.settings.keep {
            let mut state = self.lock();
            let room = KEPT_MAX.saturating_sub(state.kept.len());
            state.dropped += n.saturating_sub(room) as u64;
            state.kept.extend(records.into_iter().take(room));
        }
        n
    }

    /// Flush, then hand over the kept records (and how many were dropped
    /// because nobody took them in time).
    pub(crate) fn take(&self) -> (Vec<AuditRecord>, u64) {
        self.flush();
        let mut state = self.lock();
        (
            std::mem::take(&mut state.kept),
            std::mem::take(&mut state.dropped),
        )
    }
}

impl Hits {
    fn record(self, reference: String, identity: Option<Identity>) -> AuditRecord {
        AuditRecord {
            reference,
            backend: self.backend,
            outcome: Outcome::Hit,
            count: self.count,
            first: self.first,
            last: self.last,
            version: self.version,
            lease_id: self.lease_id,
            identity,
            error: None,
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn open_append(path: &std::path::Path) -> crate::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| {
        Error::config(format!(
            "the audit file {} cannot be opened for appending: {e}",
            path.display()
        ))
    })
}

#[cfg(target_arch = "wasm32")]
fn open_append(_: &std::path::Path) -> crate::Result<std::fs::File> {
    Err(Error::config(
        "an audit file needs a file system; use a callback on wasm",
    ))
}

/// `2026-12-07T13:44:06.123Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_796_651_046_123);
        assert_eq!(rfc3339(t), "2026-12-07T13:44:06.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn hits_aggregate_per_reference_and_identity_and_version() {
        let audit = Audit::new(AuditSettings {
            keep: true,
            ..Default::default()
        })
        .unwrap();
        let name: Arc<str> = "ssm:/a".into();
        let t = UNIX_EPOCH + Duration::from_secs(1);
        let v1 = Fetched::new(b"one".to_vec(), Some("1".into()), t);
        let v2 = Fetched::new(b"two".to_vec(), Some("2".into()), t);
        let alice = Identity::new([("user", "alice")]);
        for _ in 0..3 {
            audit.hit(&name, Scheme::Ssm, &v1, Some(&alice), t);
        }
        audit.hit(&name, Scheme::Ssm, &v1, None, t);
        audit.hit(&name, Scheme::Ssm, &v2, Some(&alice), t);
        let (mut records, dropped) = audit.take();
        assert_eq!(dropped, 0);
        records.sort_by_key(|r| (r.identity.is_none(), r.version.clone()));
        let summary: Vec<_> = records
            .iter()
            .map(|r| (r.count, r.version.as_deref(), r.identity.is_some()))
            .collect();
        assert_eq!(
            summary,
            [
                (3, Some("1"), true),
                (1, Some("2"), true),
                (1, Some("1"), false)
            ]
        );
        for r in &records {
            let line = r.to_json();
            assert!(!line.contains("one") && !line.contains("two"), "{line}");
        }
        assert!(audit.take().0.is_empty(), "a flush empties the aggregates");
    }
}
