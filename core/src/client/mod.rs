//! `Client`: the one entry point. Parses references, serves them from the
//! cache, shares concurrent misses of one key (single flight) and dispatches
//! to the backend the scheme names.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{FutureExt, Shared};

mod batch;
mod lifecycle;
mod memo;

use lifecycle::Lifecycle;

use memo::{ParseMemo, Parsed};

use crate::backends::aws::{Aws, AwsSettings};
use crate::backends::local;
use crate::backends::vault::{Vault, VaultSettings};
#[cfg(not(target_arch = "wasm32"))]
use crate::backends::vault_auth::SecretSource;
use crate::backends::vault_auth::VaultAuth;
use crate::cache::{Cache, Lookup, Timing};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, Listeners};
use crate::policy::{backoff, Rng};
use crate::reference::{CacheKey, Reference, Scheme};
use crate::runtime::{BoxFuture, Runtime, Spawn};
use crate::secret::{Fetched, Secret};
use crate::stats::{Counters, Stats};

/// Largest secret value accepted from any backend (Secrets Manager's own
/// limit is 64 KiB, SSM's 8 KiB).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// Tunables, with the defaults a production service wants. Build with
/// `ClientSettings { field: value, ..Default::default() }`.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// How long a value is served from the cache (`?ttl=` overrides it).
    pub default_ttl: Duration,
    /// Each entry's TTL is moved by up to ± this fraction, so a fleet that
    /// started together does not refresh together.
    pub ttl_jitter: f64,
    /// A read after this fraction of the TTL refreshes the value in the
    /// background while readers keep the cached one (1.0 turns it off).
    pub refresh_ahead: f64,
    /// After a failed refresh, an expired value is still served for this long
    /// (zero turns stale serving off).
    pub max_stale: Duration,
    /// How long a not-found answer is remembered.
    pub negative_ttl: Duration,
    /// First retry delay after a failed refresh; doubles per failure.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Most cache entries kept; least recently used go first.
    pub max_entries: usize,
    /// Bound on each backend request.
    pub timeout: Duration,
    /// `close()` revokes the Vault leases this client holds.
    pub revoke_on_close: bool,
    /// Revoke a lease this long after its replacement was read; `None` lets
    /// it run out by itself (connections opened with it keep working).
    pub revoke_replaced_after: Option<Duration>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            default_ttl: Duration::from_secs(300),
            ttl_jitter: 0.1,
            refresh_ahead: 0.75,
            max_stale: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(30),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            max_entries: 1024,
            timeout: Duration::from_secs(10),
            revoke_on_close: true,
            revoke_replaced_after: None,
        }
    }
}

/// Where the AWS configuration comes from.
#[derive(Debug, Clone)]
enum AwsSource {
    None,
    Explicit(AwsSettings),
    #[cfg(not(target_arch = "wasm32"))]
    Environment,
}

/// Builds a `Client`. Natively `Client::from_env()` is the usual way in.
pub struct ClientBuilder {
    runtime: Option<Runtime>,
    vault_auth: VaultAuth,
    spawner: Option<Arc<dyn Spawn>>,
    aws: AwsSource,
    vault: Option<VaultSettings>,
    settings: ClientSettings,
}

impl ClientBuilder {
    /// The transport and clock to run on; natively the default is reqwest + tokio.
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Where background refreshes run; natively the tokio runtime `build`
    /// is called in.
    pub fn spawner(mut self, spawner: Arc<dyn Spawn>) -> Self {
        self.spawner = Some(spawner);
        self
    }

    pub fn aws(mut self, settings: AwsSettings) -> Self {
        self.aws = AwsSource::Explicit(settings);
        self
    }

    /// Use the standard AWS chain (AWS_* variables, profiles, instance metadata).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn aws_from_env(mut self) -> Self {
        self.aws = AwsSource::Environment;
        self
    }

    pub fn vault(mut self, settings: VaultSettings) -> Self {
        self.vault = Some(settings);
        self
    }

    /// How the Vault client logs in (default: `VaultSettings::token` as given).
    pub fn vault_auth(mut self, auth: VaultAuth) -> Self {
        self.vault_auth = auth;
        self
    }

    pub fn settings(mut self, settings: ClientSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Vault settings the way the CLI and agents take them: VAULT_ADDR /
    /// BAO_ADDR, VAULT_NAMESPACE, and the first auth method configured:
    /// - AppRole: VAULT_ROLE_ID[_FILE] + VAULT_SECRET_ID[_FILE]
    ///   (mount VAULT_APPROLE_MOUNT, default `approle`);
    /// - Kubernetes: VAULT_K8S_ROLE + the service-account token at
    ///   VAULT_K8S_JWT_FILE (default the pod's mounted token), mount
    ///   VAULT_K8S_MOUNT (default `kubernetes`);
    /// - JWT: VAULT_JWT_ROLE + VAULT_JWT[_FILE], mount VAULT_JWT_MOUNT (`jwt`);
    /// - a token file: VAULT_TOKEN_FILE (re-read at every re-login);
    /// - a token: VAULT_TOKEN / BAO_TOKEN, else ~/.vault-token as the CLI does.
    ///
    /// Login material from files and variables is re-read at every login.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn vault_from_env(mut self) -> Result<Self> {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        // `NAME` or `NAME_FILE`, as a source re-read at every login.
        let source = |name: &str| {
            let file = format!("{name}_FILE");
            if let Some(path) = var(&[&file]) {
                Some(SecretSource::File(path.into()))
            } else {
                var(&[name]).map(|_| SecretSource::Env(name.to_owned()))
            }
        };
        let Some(address) = var(&["VAULT_ADDR", "BAO_ADDR"]) else {
            return Ok(self);
        };
        let mount = |name: &str, default: &str| var(&[name]).unwrap_or_else(|| default.to_owned());
        let auth = if let Some(role_id) = source("VAULT_ROLE_ID") {
            let secret_id = source("VAULT_SECRET_ID").ok_or_else(|| {
                Error::config(
                    "VAULT_ROLE_ID is set but not VAULT_SECRET_ID or VAULT_SECRET_ID_FILE",
                )
            })?;
            Some(VaultAuth::AppRole {
                mount: mount("VAULT_APPROLE_MOUNT", "approle"),
                role_id,
                secret_id,
            })
        } else if let Some(role) = var(&["VAULT_K8S_ROLE"]) {
            let jwt = var(&["VAULT_K8S_JWT_FILE"]).unwrap_or_else(|| {
                "/var/run/secrets/kubernetes.io/serviceaccount/token".to_owned()
            });
            Some(VaultAuth::Kubernetes {
                mount: mount("VAULT_K8S_MOUNT", "kubernetes"),
                role,
                jwt: SecretSource::File(jwt.into()),
            })
        } else if let Some(role) = var(&["VAULT_JWT_ROLE"]) {
            let jwt = source("VAULT_JWT").ok_or_else(|| {
                Error::config("VAULT_JWT_ROLE is set but not VAULT_JWT or VAULT_JWT_FILE")
            })?;
            Some(VaultAuth::Jwt {
                mount: mount("VAULT_JWT_MOUNT", "jwt"),
                role,
                jwt,
            })
        } else {
            var(&["VAULT_TOKEN_FILE"]).map(|path| VaultAuth::TokenFile(path.into()))
        };
        let token = match &auth {
            Some(_) => String::new(),
            None => var(&["VAULT_TOKEN", "BAO_TOKEN"])
                .or_else(|| {
                    let home = std::env::var_os("HOME")?;
                    let path = std::path::Path::new(&home).join(".vault-token");
                    std::fs::read_to_string(path).ok().map(|t| t.trim().to_owned())
                })
                .ok_or_else(|| {
                    Error::config(
                        "VAULT_ADDR is set but no way to log in: set VAULT_TOKEN (or ~/.vault-token), \
                         VAULT_TOKEN_FILE, VAULT_ROLE_ID + VAULT_SECRET_ID, VAULT_K8S_ROLE or VAULT_JWT_ROLE",
                    )
                })?,
        };
        if let Some(auth) = auth {
            self.vault_auth = auth;
        }
        self.vault = Some(VaultSettings {
            address,
            token,
            namespace: var(&["VAULT_NAMESPACE", "BAO_NAMESPACE"]),
        });
        Ok(self)
    }

    pub async fn build(self) -> Result<Client> {
        let settings = self.settings;
        let rt = match self.runtime {
            Some(rt) => rt,
            #[cfg(not(target_arch = "wasm32"))]
            None => crate::runtime::native::runtime(settings.timeout)
                .map_err(|e| Error::config(format!("cannot start the HTTP client: {e}")))?,
            #[cfg(target_arch = "wasm32")]
            None => {
                return Err(Error::config(
                    "a runtime (transport and clock) is required on wasm",
                ))
            }
        };
        let aws = match &self.aws {
            AwsSource::None => None,
            AwsSource::Explicit(s) => Some(Aws::from_settings(s, &rt, settings.timeout)),
            #[cfg(not(target_arch = "wasm32"))]
            AwsSource::Environment => Some(Aws::from_env(&rt, settings.timeout).await),
        };
        let vault = match self.vault {
            Some(v) if v.token.is_empty() && matches!(self.vault_auth, VaultAuth::Token) => {
                return Err(Error::config("Vault is configured without a token"))
            }
            Some(v) => Some(Vault::new(
                v,
                self.vault_auth,
                rt.clone(),
                settings.timeout,
            )?),
            None => None,
        };
        #[cfg(not(target_arch = "wasm32"))]
        let spawner = self.spawner.or_else(|| {
            crate::runtime::native::TokioSpawner::current().map(|s| Arc::new(s) as Arc<dyn Spawn>)
        });
        #[cfg(target_arch = "wasm32")]
        let spawner = self.spawner;
        let seed = rt
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let client = Client {
            inner: Arc::new(Inner {
                cache: Cache::new(settings.max_entries),
                memo: ParseMemo::new(settings.max_entries.saturating_mul(4)),
                lifecycle: Lifecycle::default(),
                rng: Rng::new(seed),
                rt,
                spawner,
                aws,
                vault,
                settings,
                in_flight: Mutex::new(HashMap::new()),
                next_read: AtomicU64::new(1),
                counters: Counters::default(),
                listeners: Listeners::default(),
                next_listener: AtomicU64::new(1),
            }),
        };
        client.start_lifecycle();
        Ok(client)
    }
}

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
    cache: Cache,
    settings: ClientSettings,
    /// Backend reads under way, shared by every caller that misses the same key.
    in_flight: Mutex<HashMap<CacheKey, InFlight>>,
    next_read: AtomicU64,
}

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
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            runtime: None,
            vault_auth: VaultAuth::Token,
            spawner: None,
            aws: AwsSource::None,
            vault: None,
            settings: ClientSettings::default(),
        }
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

    /// The secret a reference names, from the cache when it is fresh.
    pub async fn get(&self, reference: &str) -> Result<Secret> {
        self.open()?;
        self.drive_lifecycle();
        let parsed = self.inner.memo.parse(reference)?;
        let fetched = self
            .fetched(&parsed.reference, &parsed.key)
            .await
            .map_err(|e| e.for_reference(reference))?;
        cut(&parsed, fetched)
    }

    /// A cache hit without awaiting anything, or `None` when the caller must
    /// use `get` (miss, expired, or an invalid reference, which `get` reports).
    /// Lets bindings answer hits synchronously, without a runtime round trip.
    /// A hit that is due for refresh starts the background refresh here too.
    pub fn get_cached(&self, reference: &str) -> Option<Result<Secret>> {
        if let Err(e) = self.open() {
            return Some(Err(e.for_reference(reference)));
        }
        self.drive_lifecycle();
        let parsed = self.inner.memo.parse(reference).ok()?;
        let result = match self.cached_answer(&parsed.reference, &parsed.key)? {
            Ok(fetched) => cut(&parsed, fetched),
            Err(e) => Err(e.for_reference(reference)),
        };
        Some(result)
    }

    /// The serial of the backend read a cache hit would answer with, or `None`
    /// when `get` is needed. A binding that kept the wrapper it built for that
    /// serial can hand it out again without building a new one. Counts as a
    /// hit and starts a due refresh, exactly like `get_cached`.
    pub fn cached_serial(&self, reference: &str) -> Option<u64> {
        self.open().ok()?;
        self.drive_lifecycle();
        let parsed = self.inner.memo.parse(reference).ok()?;
        match self.cached_answer(&parsed.reference, &parsed.key)? {
            Ok(fetched) => Some(fetched.serial),
            Err(_) => None,
        }
    }

    /// Read from the backend now, whatever the cache holds (e.g. after the
    /// database rejected a password), and cache the result.
    pub async fn refresh(&self, reference: &str) -> Result<Secret> {
        self.open()?;
        let parsed = self.inner.memo.parse(reference)?;
        let fetched = self
            .shared_fetch(&parsed.reference, parsed.key.clone())
            .await
            .map_err(|e| e.for_reference(reference))?;
        cut(&parsed, fetched)
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
        self.inner.close().await
    }

    /// Natively: one background task that wakes when lease or token work is
    /// due (at least once a second), holding only a weak reference so a
    /// dropped client stops it. On wasm reads drive the work instead.
    fn start_lifecycle(&self) {
        let (Some(spawner), Some(_)) = (&self.inner.spawner, &self.inner.vault) else {
            return;
        };
        if cfg!(target_arch = "wasm32") {
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
                    inner.run_due().await;
                    let now = inner.rt.clock.now();
                    inner
                        .lifecycle
                        .next_due()
                        .and_then(|at| at.duration_since(now).ok())
                        .unwrap_or(Duration::from_secs(1))
                        .min(Duration::from_secs(1))
                };
                clock.sleep(wait.max(Duration::from_millis(20))).await;
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

    /// Call `listener` for every event; returns an id for `unsubscribe`.
    pub fn subscribe(&self, listener: impl Fn(&Event) + Send + Sync + 'static) -> u64 {
        let id = self.inner.next_listener.fetch_add(1, Ordering::Relaxed);
        self.inner.listeners.add(id, Arc::new(listener));
        id
    }

    pub fn unsubscribe(&self, id: u64) {
        self.inner.listeners.remove(id);
    }

    /// Call `listener` whenever the secret a reference names gets a new value
    /// (`changed`, or `rotated` for a Vault lease), whatever its `#field` or
    /// `?ttl=`. Returns an id for `unsubscribe`.
    pub fn watch(
        &self,
        reference: &str,
        listener: impl Fn(&Event) + Send + Sync + 'static,
    ) -> Result<u64> {
        let key = self.inner.memo.parse(reference)?.key.to_string();
        Ok(self.subscribe(move |e| {
            if e.reference == key && matches!(e.kind, EventKind::Changed | EventKind::Rotated) {
                listener(e)
            }
        }))
    }

    /// The common case of dynamic secrets: database credentials for a role
    /// of the database engine at `mount` (usually `database`), read once and
    /// kept valid by the lifecycle. Pair with `watch` on the same reference
    /// (`DbCredentials::reference`) to hear about rotations.
    pub async fn database_credentials(&self, mount: &str, role: &str) -> Result<DbCredentials> {
        self.open()?;
        let reference = format!("vault:{}/creds/{role}", mount.trim_matches('/'));
        let user = self.inner.memo.parse(&format!("{reference}#username"))?;
        let pass = self.inner.memo.parse(&format!("{reference}#password"))?;
        // One read for both fields: a rotation cannot pair one lease's
        // username with another's password.
        let fetched = self
            .fetched(&user.reference, &user.key)
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
    fn cached_answer(&self, r: &Reference, key: &CacheKey) -> Option<Result<Arc<Fetched>>> {
        let inner = &self.inner;
        match inner.cache.lookup(key, inner.rt.clock.now()) {
            Lookup::Fresh { value, refresh } => {
                Counters::bump(&inner.counters.hits);
                if refresh {
                    self.refresh_in_background(r, key);
                }
                Some(Ok(value))
            }
            Lookup::Stale { value, refresh } => {
                Counters::bump(&inner.counters.stale_serves);
                if refresh {
                    self.refresh_in_background(r, key);
                }
                Some(Ok(value))
            }
            Lookup::NotFound(e) => {
                Counters::bump(&inner.counters.hits);
                Some(Err(e))
            }
            Lookup::Miss => None,
        }
    }

    async fn fetched(&self, r: &Reference, key: &CacheKey) -> Result<Arc<Fetched>> {
        if let Some(answer) = self.cached_answer(r, key) {
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
                if let Lookup::Fresh { value, refresh } = self.inner.cache.lookup(key, now) {
                    drop(in_flight);
                    if refresh {
                        self.refresh_in_background(r, key);
                    }
                    return Ok(value);
                }
            }
            self.join_locked(&mut in_flight, r, key, now)
        };
        let result = read.await;
        self.inner.or_stale(key, result)
    }

    fn refresh_in_background(&self, r: &Reference, key: &CacheKey) {
        let Some(spawner) = &self.inner.spawner else {
            self.inner.cache.refresh_abandoned(key);
            return;
        };
        Counters::bump(&self.inner.counters.refreshes);
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
            if now < f.started + inner.settings.timeout * 2 {
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

/// One backend read whose result lands in the cache and the event stream; it
/// removes itself from `in_flight` when done, whoever is polling it.
fn start_fetch(inner: Arc<Inner>, r: Reference, key: CacheKey, id: u64) -> SharedFetch {
    let fut: BoxFuture<'static, Result<Arc<Fetched>>> = Box::pin(async move {
        inner.counters.backend_call(r.scheme);
        let result = fetch(&inner, &r).await.map(Arc::new);
        match &result {
            Ok(value) => {
                inner.stored(&key, r.ttl, value.clone());
                inner.track_lease(&key, &r, value);
            }
            Err(error) => inner.failed(&key, error),
        }
        let mut in_flight = inner.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if in_flight.get(&key).is_some_and(|f| f.id == id) {
            in_flight.remove(&key);
        }
        drop(in_flight);
        result
    });
    fut.shared()
}

impl Inner {
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
            let end = start + Duration::from_secs(lease.duration_secs);
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
                ttl = ttl.min(hint.mul_f64(0.85));
            }
            let ttl = self.rng.jitter(ttl, s.ttl_jitter);
            if ttl.is_zero() {
                return;
            }
            Timing {
                refresh_at: start + ttl.mul_f64(s.refresh_ahead.clamp(0.0, 1.0)),
                expires_at: start + ttl,
                stale_until: start + ttl + s.max_stale,
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
        let evicted = self
            .cache
            .record_failure(key, error, retry_in, now, now + s.negative_ttl);
        let mut event = self.event(EventKind::Error, key);
        event.error = Some(error.clone().for_reference(&key.to_string()));
        self.emit(event);
        if let Some(evicted) = evicted {
            self.emit(self.event(EventKind::Evicted, &evicted));
        }
    }

    fn event(&self, kind: EventKind, key: &CacheKey) -> Event {
        Event::new(kind, key.to_string(), self.rt.clock.now())
    }

    fn emit(&self, event: Event) {
        self.listeners.emit(event);
    }
}

/// Read from the backend the scheme names.
async fn fetch(inner: &Inner, r: &Reference) -> Result<Fetched> {
    let now = inner.rt.clock.now();
    let fetched = match r.scheme {
        Scheme::Ssm => aws(inner)?.ssm(r, now).await?,
        Scheme::Asm => aws(inner)?.asm(r, now).await?,
        Scheme::Vault => {
            inner
                .vault
                .as_ref()
                .ok_or_else(|| {
                    Error::config("Vault is not configured (set VAULT_ADDR and VAULT_TOKEN)")
                })?
                .read(r, now)
                .await?
        }
        Scheme::Env => local::env(r, now)?,
        Scheme::File => local::file(r, now)?,
    };
    if fetched.value.len() > MAX_VALUE_BYTES {
        return Err(Error::invalid_response(format!(
            "the value is {} bytes, over the limit of {MAX_VALUE_BYTES}",
            fetched.value.len()
        )));
    }
    Ok(fetched)
}

fn aws(inner: &Inner) -> Result<&Aws> {
    inner
        .aws
        .as_ref()
        .ok_or_else(|| Error::config("AWS is not configured for this client"))
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
