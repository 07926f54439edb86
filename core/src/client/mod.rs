//! `Client`: the one entry point. Parses references, serves them from the
//! cache, shares concurrent misses of one key (single flight) and dispatches
//! to the backend the scheme names.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::future::Shared;

mod batch;
mod builder;
mod handle;
mod lifecycle;
pub(super) mod limiter;
mod memo;
mod read;
mod settings;
mod watched;
mod window_timer;

pub use builder::ClientBuilder;
pub use handle::{Handle, Window};
pub use settings::ClientSettings;

use lifecycle::Lifecycle;
use memo::{ParseMemo, Parsed};
use read::start_fetch;
use watched::Watched;

use crate::audit::{Audit, AuditRecord, Identity, Outcome};
use crate::backends::agent::Agent;
use crate::backends::aws::Aws;
use crate::backends::vault::{Revoke, Vault};
use crate::cache::{Cache, Lookup, Timing};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, Listeners};
use crate::policy::{backoff, later, scale, Rng};
use crate::reference::{CacheKey, Reference};
use crate::runtime::{BoxFuture, Runtime, Spawn};
use crate::secret::{Fetched, Secret};
use crate::stats::{Counters, Metrics, Stats};

/// Largest secret value accepted from any backend (Secrets Manager's own
/// limit is 64 KiB, SSM's 8 KiB).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

type SharedFetch = Shared<BoxFuture<'static, Result<Arc<Fetched>>>>;

/// A backend read under way, shared by every caller that misses its key.
struct InFlight {
    id: u64,
    started: std::time::SystemTime,
    read: SharedFetch,
}

struct Inner {
    rt: Runtime,
    lifecycle: Lifecycle,
    memo: ParseMemo,
    spawner: Option<Arc<dyn Spawn>>,
    rng: Rng,
    counters: Counters,
    listeners: Listeners,
    next_listener: AtomicU64,
    aws: Option<Aws>,
    vault: Option<Vault>,
    /// A `secretkit agent` that remote references are read through instead.
    agent: Option<Agent>,
    /// Backend calls slowed down after throttling (limiter.rs).
    limiters: limiter::Limiters,
    cache: Cache,
    /// Ends hit windows by generation bumps (see `window_timer`).
    windows: window_timer::WindowTimer,
    settings: ClientSettings,
    /// Backend reads under way, shared by every caller that misses the same key.
    in_flight: Mutex<HashMap<CacheKey, InFlight>>,
    next_read: AtomicU64,
    /// The access audit trail, when the application turned it on.
    audit: Option<Audit>,
    /// The secrets `watch` follows, re-read by the background task when due.
    watched: Watched,
    /// The native background task runs (started once: with Vault, or at
    /// the first `watch`).
    background: AtomicBool,
}

/// A key's first TTL is drawn from [FIRST_TTL_SPREAD, 1] × its TTL.
const FIRST_TTL_SPREAD: f64 = 0.5;

/// Database credentials from Vault's database engine.
#[derive(Debug, Clone)]
pub struct DbCredentials {
    /// Usernames are not secret (they appear in logs and `pg_stat_activity`).
    pub username: String,
    pub password: Secret,
    pub lease: Option<crate::secret::Lease>,
    /// `vault:<mount>/creds/<role>`, for `watch`.
    pub reference: String,
}

/// Reads secrets. Cheap to clone: clones share one cache and one set of backends.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Who reads through this clone, for the audit trail (`with_identity`).
    identity: Option<Identity>,
}

/// A client that does not keep it alive (`Client::downgrade`): for a
/// binding's registry of clients to flush at process exit.
#[derive(Clone)]
pub struct WeakClient(std::sync::Weak<Inner>, Option<Identity>);

impl WeakClient {
    pub fn upgrade(&self) -> Option<Client> {
        Some(Client {
            inner: self.0.upgrade()?,
            identity: self.1.clone(),
        })
    }
}

impl Client {
    pub fn downgrade(&self) -> WeakClient {
        WeakClient(Arc::downgrade(&self.inner), self.identity.clone())
    }

    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured the way the CLIs are: AWS's standard chain and
    /// VAULT_* / BAO_* variables.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn from_env() -> Result<Client> {
        Client::builder()
            .aws_from_env()
            .vault_from_env()?
            .build()
            .await
    }

    /// A clone whose reads the audit trail attributes to `identity` (the
    /// service, user or request the application names). Shares everything
    /// else with this client.
    pub fn with_identity(&self, identity: Identity) -> Client {
        Client {
            inner: self.inner.clone(),
            identity: Some(identity),
        }
    }

    /// The secret a reference names, from the cache when it is fresh.
    pub async fn get(&self, reference: &str) -> Result<Secret> {
        self.open().map_err(|e| e.for_reference(reference))?;
        let parsed = self.inner.memo.parse(reference)?;
        self.read(&parsed).await
    }

    /// A cache hit without awaiting anything, or `None` when the caller must
    /// use `get` (miss, expired, or an invalid reference, which `get` reports).
    /// Lets bindings answer hits synchronously, without a runtime round trip.
    /// A hit that is due for refresh starts the background refresh here too.
    /// A `Handle` answers repeated hits of one reference faster.
    pub fn get_cached(&self, reference: &str) -> Option<Result<Secret>> {
        let parsed = match self.open() {
            Ok(()) => self.inner.memo.parse(reference).ok()?,
            Err(e) => return Some(Err(e.for_reference(reference))),
        };
        self.cached(&parsed, self.identity.as_ref())
            .map(|(answer, _)| answer)
    }

    /// `get` of a parsed reference, the client known open.
    async fn read(&self, parsed: &Parsed) -> Result<Secret> {
        self.drive_lifecycle();
        let fetched = self
            .fetched(parsed, self.identity.as_ref())
            .await
            .map_err(|e| e.for_reference(&parsed.name))?;
        cut(parsed, fetched)
    }

    /// `get_cached` of a parsed reference, with until when its answer may be
    /// repeated (see `cached_answer_until`).
    fn cached(
        &self,
        parsed: &Parsed,
        identity: Option<&Identity>,
    ) -> Option<(Result<Secret>, SystemTime)> {
        if let Err(e) = self.open() {
            return Some((
                Err(e.for_reference(&parsed.name)),
                self.inner.rt.clock.now(),
            ));
        }
        self.drive_lifecycle();
        let (answer, until) = self.cached_answer_until(parsed, identity)?;
        let answer = match answer {
            Ok(fetched) => cut(parsed, fetched),
            Err(e) => Err(e.for_reference(&parsed.name)),
        };
        Some((answer, until))
    }

    /// Read from the backend now, whatever the cache holds (e.g. after the
    /// database rejected a password), and cache the result.
    pub async fn refresh(&self, reference: &str) -> Result<Secret> {
        self.open().map_err(|e| e.for_reference(reference))?;
        let parsed = self.inner.memo.parse(reference)?;
        let result = self
            .shared_fetch(&parsed.reference, parsed.key.clone())
            .await;
        let outcome = match &result {
            Ok(_) => Outcome::Refresh,
            Err(e) => Outcome::of_error(e),
        };
        let value = result.as_ref().ok().map(|v| &**v);
        let error = result.as_ref().err();
        self.inner
            .note(&parsed, outcome, value, error, self.identity.as_ref());
        cut(&parsed, result.map_err(|e| e.for_reference(reference))?)
    }

    /// Drop the cached value of a reference (any `#field` of it).
    pub fn invalidate(&self, reference: &str) -> Result<()> {
        let parsed = Reference::parse(reference)?;
        self.inner.cache.remove(&parsed.cache_key());
        Ok(())
    }

    /// Drop every cached value.
    pub fn clear(&self) {
        self.inner.cache.clear();
    }

    /// After `close()` a client reads nothing more: a new lease would be
    /// neither renewed nor revoked.
    fn open(&self) -> Result<()> {
        if self.inner.lifecycle.is_closed() {
            return Err(Error::config("the client is closed"));
        }
        Ok(())
    }

    /// Stop renewing, and revoke the Vault leases this client holds (unless
    /// `revoke_on_close` is off). Returns how many leases were revoked.
    pub async fn close(&self) -> usize {
        let revoked = self.inner.close().await;
        self.flush_audit();
        revoked
    }

    /// Write what the audit trail holds to its sinks now (a binding does it
    /// at process exit); returns how many records were written.
    pub fn flush_audit(&self) -> usize {
        self.inner.audit.as_ref().map_or(0, Audit::flush)
    }

    /// Flush, then take the records kept for the caller
    /// (`AuditSettings::keep`), with how many were dropped because nobody
    /// took them in time.
    pub fn take_audit(&self) -> (Vec<AuditRecord>, u64) {
        self.inner
            .audit
            .as_ref()
            .map_or((Vec::new(), 0), Audit::take)
    }

    /// Whether the audit trail is on: bindings then send every hit here,
    /// with the caller's identity, instead of repeating it on their side.
    pub fn audited(&self) -> bool {
        self.inner.audit.is_some()
    }

    /// Natively: flush the audit trail every `interval` from a background
    /// task holding only a weak reference (a dropped client stops it).
    fn start_audit_flush(&self) {
        let (Some(spawner), Some(audit)) = (&self.inner.spawner, &self.inner.audit) else {
            return;
        };
        if cfg!(target_arch = "wasm32") {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let clock = self.inner.rt.clock.clone();
        let interval = audit.interval();
        spawner.spawn(Box::pin(async move {
            loop {
                clock.sleep(interval).await;
                let Some(inner) = weak.upgrade() else { return };
                if let Some(audit) = &inner.audit {
                    audit.flush();
                }
                if inner.lifecycle.is_closed() {
                    return;
                }
            }
        }));
    }

    /// Natively: one background task that wakes when lease or token work is
    /// due (at least once a second) and re-reads watched secrets that are
    /// due, holding only a weak reference so a dropped client stops it.
    /// Started once, when there is such work: with Vault configured, or at
    /// the first `watch`. On wasm reads drive the work instead.
    fn start_background(&self) {
        let Some(spawner) = &self.inner.spawner else {
            return;
        };
        if cfg!(target_arch = "wasm32") || self.inner.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let clock = self.inner.rt.clock.clone();
        spawner.spawn(Box::pin(async move {
            loop {
                let wait = {
                    let Some(inner) = weak.upgrade() else { return };
                    if inner.lifecycle.is_closed() {
                        return;
                    }
                    Client {
                        inner: inner.clone(),
                        identity: None,
                    }
                    .refresh_watched();
                    // A bug in one round must not end renewals for good.
                    let round = std::panic::AssertUnwindSafe(inner.run_due());
                    let _ = futures::FutureExt::catch_unwind(round).await;
                    inner.lifecycle.sleep_until_due(inner.rt.clock.now())
                };
                clock.sleep(wait).await;
            }
        }));
    }

    /// On wasm, where no timer runs between requests, a read hands due
    /// lease work to the spawner (which the host keeps alive with waitUntil).
    fn drive_lifecycle(&self) {
        if !cfg!(target_arch = "wasm32") {
            return;
        }
        let Some(spawner) = &self.inner.spawner else {
            return;
        };
        let due = self
            .inner
            .lifecycle
            .next_due()
            .is_some_and(|at| at <= self.inner.rt.clock.now());
        if due {
            let inner = self.inner.clone();
            spawner.spawn(Box::pin(async move { inner.run_due().await }));
        }
    }

    /// Counters since the client was built.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// What an operator exports: reads by backend and outcome, backend read
    /// latency, cache size and the time left on each lease.
    pub fn metrics(&self) -> Metrics {
        let inner = &self.inner;
        let mut m = inner.counters.metrics();
        m.cache_entries = inner.cache.len();
        let now = inner.rt.clock.now();
        m.leases = inner
            .lifecycle
            .expiries()
            .into_iter()
            .map(|(reference, at)| (reference, at.duration_since(now).unwrap_or_default()))
            .collect();
        m
    }

    /// Call `listener` for every event; returns an id for `unsubscribe`.
    pub fn subscribe(&self, listener: impl Fn(&Event) + Send + Sync + 'static) -> u64 {
        let id = self.inner.next_listener.fetch_add(1, Ordering::Relaxed);
        self.inner.listeners.add(id, Arc::new(listener));
        id
    }

    pub fn unsubscribe(&self, id: u64) {
        self.inner.listeners.remove(id);
        self.inner.watched.remove(id);
    }

    /// Call `listener` whenever the secret a reference names gets a new value
    /// (`changed`, or `rotated` for a Vault lease), whatever its `#field` or
    /// `?ttl=`. Natively a watched secret is re-read at its refresh-ahead
    /// point even when nobody reads it (see `watched`), so a change reaches
    /// the listener without waiting for a read. Returns an id for
    /// `unsubscribe`.
    pub fn watch(
        &self,
        reference: &str,
        listener: impl Fn(&Event) + Send + Sync + 'static,
    ) -> Result<u64> {
        let parsed = self.inner.memo.parse(reference)?;
        let key = parsed.key.to_string();
        let id = self.subscribe(move |e| {
            if e.reference == key && matches!(e.kind, EventKind::Changed | EventKind::Rotated) {
                listener(e)
            }
        });
        let (key, reference) = (parsed.key.clone(), parsed.reference.clone());
        self.inner.watched.add(id, key, reference);
        self.start_background();
        Ok(id)
    }

    /// Revoke Vault leases now, as an operator does after a leak: one lease
    /// by id, or every lease under a path (`how`). Goes to Vault with this
    /// client's token, never through an agent.
    pub async fn revoke(&self, target: &str, how: Revoke) -> Result<()> {
        self.open()?;
        let target = target.trim_matches('/');
        let shown = format!("vault:{target}");
        let vault = self.inner.vault.as_ref().ok_or_else(|| {
            Error::config("Vault is not configured (set VAULT_ADDR and VAULT_TOKEN)")
                .for_reference(&shown)
        })?;
        // A prefix is a path like a reference's: no `..`, `%`, `?` or `#`.
        let target = match how {
            Revoke::Lease if !target.is_empty() && !target.contains(['?', '#', '%']) => target,
            Revoke::Lease => {
                return Err(Error::invalid_reference("not a lease id").for_reference(&shown))
            }
            Revoke::Prefix | Revoke::Force => {
                let r = Reference::parse(&shown)?;
                if r.version.is_some() || r.ttl.is_some() || r.field.is_some() {
                    return Err(Error::invalid_reference(
                        "a prefix to revoke is a path, without `?` or `#`",
                    )
                    .for_reference(&shown));
                }
                target
            }
        };
        vault
            .revoke(target, how)
            .await
            .map_err(|e| e.for_reference(&shown))
    }

    /// The common case of dynamic secrets: database credentials for a role
    /// of the database engine at `mount` (usually `database`), read once and
    /// kept valid by the lifecycle. Pair with `watch` on the same reference
    /// (`DbCredentials::reference`) to hear about rotations.
    pub async fn database_credentials(&self, mount: &str, role: &str) -> Result<DbCredentials> {
        self.open()?;
        // Neither part may change the reference's meaning (`?`, `#`) or
        // reach another path (`/` in the role; `..` is refused by the parse).
        let mount = mount.trim_matches('/');
        if role.is_empty() || role.contains(['/', '?', '#']) || mount.contains(['?', '#']) {
            return Err(Error::invalid_reference(
                "database_credentials takes a mount path and a role name without `/`, `?` or `#`",
            )
            .for_reference(&format!("vault:{mount}/creds/{role}")));
        }
        let reference = format!("vault:{mount}/creds/{role}");
        let user = self.inner.memo.parse(&format!("{reference}#username"))?;
        let pass = self.inner.memo.parse(&format!("{reference}#password"))?;
        // One read for both fields: a rotation cannot pair one lease's
        // username with another's password.
        let fetched = self
            .fetched(&user, self.identity.as_ref())
            .await
            .map_err(|e| e.for_reference(&reference))?;
        let username = cut(&user, fetched.clone())?;
        let password = cut(&pass, fetched)?;
        Ok(DbCredentials {
            username: username.reveal()?.to_owned(),
            lease: password.lease().cloned(),
            password,
            reference,
        })
    }

    /// The cache's answer, if it has one; starts a due background refresh.
    fn cached_answer(
        &self,
        p: &Parsed,
        identity: Option<&Identity>,
    ) -> Option<Result<Arc<Fetched>>> {
        self.cached_answer_until(p, identity)
            .map(|(answer, _)| answer)
    }

    /// The cache's answer and until when it may be repeated without asking
    /// again (see `Handle`): the refresh-ahead point of a fresh value, capped
    /// on wasm by the next lease work (which only reads drive there); `now`
    /// for anything else.
    fn cached_answer_until(
        &self,
        p: &Parsed,
        identity: Option<&Identity>,
    ) -> Option<(Result<Arc<Fetched>>, SystemTime)> {
        let inner = &self.inner;
        let (r, key) = (&p.reference, &p.key);
        let now = inner.rt.clock.now();
        match inner.cache.lookup(key, now) {
            Lookup::Fresh {
                value,
                refresh,
                until,
            } => {
                inner.counters.outcome(r.scheme, Outcome::Hit, 1);
                if let Some(audit) = &inner.audit {
                    audit.hit(&p.name, r.scheme, &value, identity, now);
                }
                if refresh {
                    self.refresh_in_background(r, key, identity);
                }
                let until = if inner.audit.is_some() {
                    // Audited, every hit comes here to be recorded with
                    // its caller: nothing is repeated on the binding's side.
                    now
                } else if cfg!(target_arch = "wasm32") {
                    // Lease work is driven by reads there: end the window
                    // when it is due.
                    inner
                        .lifecycle
                        .next_due()
                        .map_or(until, |due| until.min(due))
                } else {
                    until
                };
                Some((Ok(value), until))
            }
            Lookup::Stale { value, refresh } => {
                Counters::bump(&inner.counters.stale_serves);
                inner.note(p, Outcome::Stale, Some(&value), None, identity);
                if refresh {
                    self.refresh_in_background(r, key, identity);
                }
                Some((Ok(value), now))
            }
            Lookup::NotFound(e) => {
                Counters::bump(&inner.counters.negative_hits);
                inner.note(p, Outcome::of_error(&e), None, Some(&e), identity);
                Some((Err(e), now))
            }
            Lookup::Miss => None,
        }
    }

    async fn fetched(&self, p: &Parsed, identity: Option<&Identity>) -> Result<Arc<Fetched>> {
        let (r, key) = (&p.reference, &p.key);
        if let Some(answer) = self.cached_answer(p, identity) {
            return answer;
        }
        Counters::bump(&self.inner.counters.misses);
        let read = {
            let now = self.inner.rt.clock.now();
            let mut in_flight = self.inner.in_flight();
            if !in_flight.contains_key(key) {
                // A read may have completed between our cache check and
                // this lock: look again before starting a second backend
                // call. Lock order: in_flight, then cache (a completing read
                // takes them one after the other, never nested).
                if let Lookup::Fresh { value, refresh, .. } = self.inner.cache.lookup(key, now) {
                    drop(in_flight);
                    self.inner
                        .note(p, Outcome::Miss, Some(&value), None, identity);
                    if refresh {
                        self.refresh_in_background(r, key, identity);
                    }
                    return Ok(value);
                }
            }
            self.join_locked(&mut in_flight, r, key, now)
        };
        let result = read.await;
        let failed = result.is_err();
        let answer = self.inner.or_stale(key, result);
        let outcome = match &answer {
            Ok(_) if failed => Outcome::Stale,
            Ok(_) => Outcome::Miss,
            Err(e) => Outcome::of_error(e),
        };
        let value = answer.as_ref().ok().map(|v| &**v);
        self.inner
            .note(p, outcome, value, answer.as_ref().err(), identity);
        answer
    }

    /// Start a background re-read of a due entry; recorded as a refresh on
    /// behalf of `identity`, whose read found it due.
    fn refresh_in_background(&self, r: &Reference, key: &CacheKey, identity: Option<&Identity>) {
        let Some(spawner) = &self.inner.spawner else {
            self.inner.cache.refresh_abandoned(key);
            return;
        };
        Counters::bump(&self.inner.counters.refreshes);
        self.inner.note_key(key, Outcome::Refresh, identity);
        if let Some(batch) = self.batch_refresh(r, key) {
            spawner.spawn(batch);
            return;
        }
        let read = self.shared_fetch(r, key.clone());
        spawner.spawn(Box::pin(async move {
            // The outcome lands in the cache and the event stream.
            let _ = read.await;
        }));
    }

    /// Join the backend read under way for `key`, or start one.
    /// A read older than twice the request timeout is not joined: on the
    /// edge a host may drop a request's pending work (its fetch and the timer
    /// that would time it out), and joining that read would wait forever.
    fn shared_fetch(&self, r: &Reference, key: CacheKey) -> SharedFetch {
        let now = self.inner.rt.clock.now();
        let mut in_flight = self.inner.in_flight();
        self.join_locked(&mut in_flight, r, &key, now)
    }

    fn join_locked(
        &self,
        in_flight: &mut HashMap<CacheKey, InFlight>,
        r: &Reference,
        key: &CacheKey,
        now: std::time::SystemTime,
    ) -> SharedFetch {
        let inner = &self.inner;
        if let Some(f) = in_flight.get(key) {
            if now < later(f.started, inner.settings.timeout.saturating_mul(2)) {
                return f.read.clone();
            }
        }
        let key = key.clone();
        let id = inner.next_read.fetch_add(1, Ordering::Relaxed);
        let read = start_fetch(inner.clone(), r.clone(), key.clone(), id);
        in_flight.insert(
            key,
            InFlight {
                id,
                started: now,
                read: read.clone(),
            },
        );
        read
    }
}

impl Inner {
    /// Count an access (or lease action) for the metrics and record it in
    /// the audit trail. Hits are counted where they are served instead
    /// (aggregated: see `cached_answer_until`).
    fn note(
        &self,
        p: &Parsed,
        outcome: Outcome,
        value: Option<&Fetched>,
        error: Option<&Error>,
        identity: Option<&Identity>,
    ) {
        let scheme = p.reference.scheme;
        self.counters.outcome(scheme, outcome, 1);
        if let Some(audit) = &self.audit {
            let now = self.rt.clock.now();
            audit.one(&p.name, scheme, outcome, value, error, identity, now);
        }
    }

    /// `note` of work on a cache key no reference names (background refresh).
    fn note_key(&self, key: &CacheKey, outcome: Outcome, identity: Option<&Identity>) {
        self.counters.outcome(key.scheme, outcome, 1);
        if let Some(audit) = &self.audit {
            let now = self.rt.clock.now();
            let reference = key.to_string();
            audit.one(&reference, key.scheme, outcome, None, None, identity, now);
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, InFlight>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stale if error: an expired value within `max_stale` beats a failure.
    fn or_stale(&self, key: &CacheKey, result: Result<Arc<Fetched>>) -> Result<Arc<Fetched>> {
        let Err(error) = result else {
            return result;
        };
        match self.cache.servable(key, self.rt.clock.now()) {
            Some(value) => {
                Counters::bump(&self.counters.stale_serves);
                Ok(value)
            }
            None => Err(error),
        }
    }

    /// Cache a value read from the backend and tell the listeners.
    fn stored(&self, key: &CacheKey, ttl: Option<Duration>, value: Arc<Fetched>) {
        let s = &self.settings;
        let start = value.fetched_at;
        let timing = if let Some(lease) = &value.lease {
            // A leased value lives as long as its lease, whatever the TTL:
            // the lifecycle renews or replaces it, and an expired lease is
            // never served (stale credentials do not log in).
            let end = later(start, Duration::from_secs(lease.duration_secs));
            Timing {
                refresh_at: end,
                expires_at: end,
                stale_until: end,
                ttl,
            }
        } else {
            let requested = ttl;
            let mut ttl = ttl.unwrap_or(s.default_ttl);
            if let Some(hint) = value.ttl_hint.filter(|h| !h.is_zero()) {
                // Re-read values with their own TTL before it runs out.
                ttl = ttl.min(scale(hint, 0.85));
            }
            let ttl = if s.ttl_jitter > 0.0 && !self.cache.contains(key) {
                // A key's first value: its TTL anywhere from half to all of
                // it, so a fleet deployed together (every instance reading
                // within seconds) spreads its second wave of reads over half
                // a TTL instead of ± the jitter (FLEET.md, "start-up spread").
                scale(
                    ttl,
                    FIRST_TTL_SPREAD + (1.0 - FIRST_TTL_SPREAD) * self.rng.unit(),
                )
            } else {
                self.rng.jitter(ttl, s.ttl_jitter)
            };
            if ttl.is_zero() {
                return;
            }
            Timing {
                refresh_at: later(start, scale(ttl, s.refresh_ahead.clamp(0.0, 1.0))),
                expires_at: later(start, ttl),
                stale_until: if value.stale_ok {
                    later(later(start, ttl), s.max_stale)
                } else {
                    later(start, ttl)
                },
                ttl: requested,
            }
        };
        let new_version = value.version.clone();
        let (old, evicted) = self.cache.store(key.clone(), value.clone(), timing);
        let kind = match &old {
            None => EventKind::Created,
            Some(old) if old.version != new_version || old.value != value.value => {
                EventKind::Changed
            }
            Some(_) => EventKind::Refreshed,
        };
        // A new lease replacing a tracked one is reported once, as `rotated`
        // (by `track_lease`, with lease ids and usernames).
        let rotation = value.lease.is_some() && (old.is_some() || self.lifecycle.knows(key));
        if !rotation {
            let mut event = self.event(kind, key);
            event.old_version = old.and_then(|o| o.version.clone());
            event.new_version = new_version;
            self.emit(event);
        }
        if let Some(evicted) = evicted {
            self.emit(self.event(EventKind::Evicted, &evicted));
        }
    }

    /// Record a failed read (backoff, negative cache) and tell the listeners.
    fn failed(&self, key: &CacheKey, error: &Error) {
        Counters::bump(&self.counters.errors);
        let s = &self.settings;
        let now = self.rt.clock.now();
        let retry_in = |failures| {
            self.rng
                .jitter(backoff(failures, s.retry_base, s.retry_max), s.ttl_jitter)
        };
        let evicted =
            self.cache
                .record_failure(key, error, retry_in, now, later(now, s.negative_ttl));
        let mut event = self.event(EventKind::Error, key);
        event.error = Some(error.clone().for_reference(&key.to_string()));
        self.emit(event);
        if let Some(evicted) = evicted {
            self.emit(self.event(EventKind::Evicted, &evicted));
        }
    }

    fn event(&self, kind: EventKind, key: &CacheKey) -> Event {
        Event::new(kind, key.to_string(), self.rt.clock.wall())
    }

    fn emit(&self, event: Event) {
        let outcome = match event.kind {
            EventKind::Renewed => Some(Outcome::Renewed),
            EventKind::Rotated => Some(Outcome::Rotated),
            EventKind::Expired => Some(Outcome::Expired),
            _ => None,
        };
        if let Some(outcome) = outcome {
            let scheme = Reference::parse(&event.reference)
                .map(|r| r.scheme)
                .unwrap_or(crate::reference::Scheme::Vault);
            self.counters.outcome(scheme, outcome, 1);
            if let Some(audit) = &self.audit {
                audit.lease(&event, scheme, outcome);
            }
        }
        self.listeners.emit(event);
    }
}

/// The secret a reference asks for: the whole value, or one `#field` of it.
fn cut(parsed: &Parsed, fetched: Arc<Fetched>) -> Result<Secret> {
    match &parsed.reference.field {
        None => Ok(Secret::whole(parsed.name.clone(), fetched)),
        Some(field) => {
            let value = fetched
                .field(field)
                .map_err(|e| e.for_reference(&parsed.name))?;
            Ok(Secret::field(parsed.name.clone(), fetched, value))
        }
    }
}
