//! `Client`: the core client plus two binding-side tables, the `Secret`
//! memo of the fast hit path and the subscribed callbacks. Every method
//! delegates to the core; blocking ones release the GIL, `*_async` ones run
//! on tokio and complete an asyncio future.
//!
//! Fork: the core client belongs to the process that built it (its
//! background work runs on that process's runtime, its HTTP connections are
//! sockets the parent keeps using, its leases are the parent's to renew and
//! revoke). So the binding keeps what the client was built from (`Recipe`),
//! and the first use in a new process builds a fresh core client from it:
//! an empty cache, no leases (closing it revokes only what this process
//! read), the subscriptions and watches re-attached, the memo cleared. The
//! parent's core client is leaked in the child, never dropped: its drop
//! could wait on locks that vanished threads held, or release resources the
//! parent still uses. See `fork.rs`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};
use secretkit::{AwsSettings, ClientBuilder, ClientSettings, Stats, VaultAuth, VaultSettings};

use crate::audit;
use crate::block_on;
use crate::bridge::{awaitable, Deliver, Ready};
use crate::db::DbCredentials;
use crate::errors::to_py;
use crate::events::{self, listener, Queue, Subscription};
use crate::fork;
use crate::memo::{Hit, SecretMemo};
use crate::secret::Secret;
use crate::settings::{aws_settings, client_settings};
use crate::vault::vault_settings;

#[pyclass(frozen, name = "Client", module = "secretkit")]
pub struct Client {
    /// What the core client is built from, again in each forked child.
    recipe: Recipe,
    /// The core client of the process in `Built::pid`. The cache-hit path
    /// does not take this lock (memo entries carry their core client).
    built: Mutex<Built>,
    memo: SecretMemo,
    subscriptions: Mutex<Subscriptions>,
    /// Set by `close`: core's `database_credentials` does not check it yet
    /// (its other reads do), and a lease read after close would be neither
    /// renewed nor revoked.
    closed: AtomicBool,
    /// The audit trail is on: reads pass the caller's `Identity` (audit.rs).
    audited: bool,
}

#[pymethods]
impl Client {
    /// A client with explicit AWS and/or Vault settings (plain dicts) and
    /// the keyword options listed in `settings::OPTIONS`.
    #[new]
    #[pyo3(signature = (aws=None, vault=None, **options))]
    fn new(
        py: Python<'_>,
        aws: Option<&Bound<'_, PyDict>>,
        vault: Option<&Bound<'_, PyDict>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let recipe = Recipe {
            settings: client_settings(options)?,
            audit: audit::options(options)?,
            backends: Backends::Given {
                aws: aws.map(aws_settings).transpose()?.map(Box::new),
                vault: vault.map(vault_settings).transpose()?.map(Box::new),
            },
        };
        build(py, recipe)
    }

    /// A client configured like the CLIs: AWS's standard chain and VAULT_* /
    /// BAO_* (a token, or AppRole, Kubernetes, JWT or token-file login).
    #[staticmethod]
    #[pyo3(signature = (**options))]
    fn from_env(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let recipe = Recipe {
            settings: client_settings(options)?,
            audit: audit::options(options)?,
            backends: Backends::FromEnv,
        };
        build(py, recipe)
    }

    /// Blocking read. A cache hit is answered right here, holding the GIL and
    /// without touching tokio; a miss waits with the GIL released.
    fn get(&self, py: Python<'_>, reference: &Bound<'_, PyString>) -> PyResult<Py<PyAny>> {
        let who = self.identity(py)?;
        if let Some(secret) = self.memo.hit(py, reference, Hit::Secret, who.as_ref())? {
            return Ok(secret);
        }
        let text = reference.to_cow()?;
        let (core, pid) = self.core(py)?;
        let core = as_identity(core, who);
        let secret = match core.get_cached(&text) {
            Some(hit) => hit,
            None => block_on(py, core.get(&text))?,
        };
        let secret = self
            .memo
            .keep(py, (&core, pid), reference, &text, secret.map_err(to_py)?)?;
        Ok(secret.into_any())
    }

    /// Awaitable read. A hit is an already-complete awaitable; a miss runs on
    /// tokio and completes an asyncio future (cancelling it stops the wait).
    fn get_async<'py>(
        &self,
        py: Python<'py>,
        reference: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let who = self.identity(py)?;
        if let Some(ready) = self.memo.hit(py, reference, Hit::Ready, who.as_ref())? {
            return Ok(ready.into_bound(py));
        }
        let text = reference.to_cow()?;
        let (core, pid) = self.core(py)?;
        let core = as_identity(core, who);
        if let Some(hit) = core.get_cached(&text) {
            let ready = match hit {
                Ok(secret) => Ready::value(
                    self.memo
                        .keep(py, (&core, pid), reference, &text, secret)?
                        .into_any(),
                ),
                Err(e) => Ready::error(py, to_py(e)),
            };
            return Ok(Bound::new(py, ready)?.into_any());
        }
        let text = text.into_owned();
        awaitable(py, async move { secret(core.get(&text).await) })
    }

    /// Read from the backend now, whatever the cache holds, and cache it.
    fn refresh(&self, py: Python<'_>, reference: String) -> PyResult<Secret> {
        let (core, _) = self.core(py)?;
        let core = as_identity(core, self.identity(py)?);
        block_on(py, core.refresh(&reference))?
            .map(Secret)
            .map_err(to_py)
    }

    fn refresh_async<'py>(
        &self,
        py: Python<'py>,
        reference: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (core, _) = self.core(py)?;
        let core = as_identity(core, self.identity(py)?);
        awaitable(py, async move { secret(core.refresh(&reference).await) })
    }

    /// Many reads with as few backend calls as the batch APIs allow. Like
    /// `asyncio.gather`: raises the first error, or with
    /// `return_exceptions=True` puts the errors in the list.
    #[pyo3(signature = (references, *, return_exceptions=false))]
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        references: Vec<String>,
        return_exceptions: bool,
    ) -> PyResult<Py<PyAny>> {
        let core = as_identity(self.core(py)?.0, self.identity(py)?);
        let results = block_on(py, get_many(&core, references))?;
        many(py, results, return_exceptions)
    }

    #[pyo3(signature = (references, *, return_exceptions=false))]
    fn get_many_async<'py>(
        &self,
        py: Python<'py>,
        references: Vec<String>,
        return_exceptions: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = as_identity(self.core(py)?.0, self.identity(py)?);
        let fut = get_many(&core, references);
        awaitable(py, async move {
            let results = fut.await;
            Box::new(move |py: Python<'_>| many(py, results, return_exceptions)) as Deliver
        })
    }

    /// Load every secret under an `ssm:/prefix/` or `asm:prefix/` into the
    /// cache; returns how many were loaded.
    fn prefetch(&self, py: Python<'_>, prefix: String) -> PyResult<usize> {
        let (core, _) = self.core(py)?;
        block_on(py, core.prefetch(&prefix))?.map_err(to_py)
    }

    fn prefetch_async<'py>(&self, py: Python<'py>, prefix: String) -> PyResult<Bound<'py, PyAny>> {
        let (core, _) = self.core(py)?;
        awaitable(py, async move {
            let loaded = core.prefetch(&prefix).await;
            Box::new(move |py: Python<'_>| {
                Ok(loaded
                    .map_err(to_py)?
                    .into_pyobject(py)?
                    .into_any()
                    .unbind())
            }) as Deliver
        })
    }

    /// Counters since the client was built (in a forked child: since the
    /// child's own core client was built, at its first use there).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (core, _) = self.core(py)?;
        self.memo.record_hits(py);
        stats_dict(py, core.stats())
    }

    /// What an operator exports: `reads` [(backend, outcome, count)],
    /// `backend_calls` {backend: n}, `latency` {backend: {"buckets":
    /// [(le_seconds, cumulative)], "sum": s, "count": n}}, `cache_entries`,
    /// `leases` {reference: seconds left}. `secretkit.prometheus` renders it.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (core, _) = self.core(py)?;
        self.memo.record_hits(py);
        metrics_dict(py, core.metrics())
    }

    /// The Prometheus text exposition of `metrics()`.
    fn metrics_text(&self, py: Python<'_>) -> PyResult<String> {
        let (core, _) = self.core(py)?;
        self.memo.record_hits(py);
        Ok(core.metrics().to_prometheus())
    }

    /// Hand the audit records held so far to the sinks now; returns how
    /// many. (They go every `audit_interval` by themselves, and at exit.)
    fn flush_audit(&self, py: Python<'_>) -> PyResult<usize> {
        let (core, _) = self.core(py)?;
        self.memo.record_hits(py);
        Ok(py.detach(|| core.flush_audit()))
    }

    /// Call `callback(event)` for every cache event, on the "secretkit-events"
    /// thread; returns the id for `unsubscribe`.
    fn subscribe(&self, py: Python<'_>, callback: Bound<'_, PyAny>) -> PyResult<u64> {
        self.listen(py, callable(callback)?, Filter::All)
    }

    /// Call `callback(event)` whenever the secret `reference` names gets a
    /// new value (`changed`, or `rotated` for a Vault lease), whatever its
    /// `#field`; delivered like `subscribe`. Returns the id for `unsubscribe`.
    fn watch(&self, py: Python<'_>, reference: &str, callback: Bound<'_, PyAny>) -> PyResult<u64> {
        self.watch_with(py, reference, callable(callback)?)
    }

    /// Stop calling a callback; unknown ids are ignored.
    pub fn unsubscribe(&self, id: u64) {
        // Taken out first: the callback is released with the lock free.
        let removed = self.subs().map.remove(&id);
        let Some(sub) = removed else { return };
        sub.subscription.cancel();
        // A core client of another process (the parent's, not yet replaced
        // here) is never used again: nothing to detach from.
        let core = {
            let built = self.built();
            (built.pid == fork::pid()).then(|| built.core.clone())
        };
        if let Some(core) = core {
            core.unsubscribe(sub.core_id);
        }
    }

    /// Database credentials for `role` of the database engine at `mount`,
    /// kept valid by the client's lease lifecycle. With `on_change`, that is
    /// called with the `rotated` event each time the lease is replaced (read
    /// the new credentials then); `unwatch()` on the result stops it.
    #[pyo3(signature = (role, *, mount="database", on_change=None))]
    fn database_credentials(
        slf: &Bound<'_, Self>,
        role: &str,
        mount: &str,
        on_change: Option<Bound<'_, PyAny>>,
    ) -> PyResult<DbCredentials> {
        let py = slf.py();
        let on_change = on_change
            .filter(|c| !c.is_none())
            .map(callable)
            .transpose()?;
        slf.get().open()?;
        let (core, _) = slf.get().core(py)?;
        let result = block_on(py, core.database_credentials(mount, role))?;
        credentials(py, slf.clone().unbind(), result, on_change)
    }

    #[pyo3(signature = (role, *, mount="database".to_owned(), on_change=None))]
    fn database_credentials_async<'py>(
        slf: &Bound<'py, Self>,
        role: String,
        mount: String,
        on_change: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let on_change = on_change
            .filter(|c| !c.is_none())
            .map(callable)
            .transpose()?;
        slf.get().open()?;
        let (client, (core, _)) = (slf.clone().unbind(), slf.get().core(py)?);
        awaitable(py, async move {
            let result = core.database_credentials(&mount, &role).await;
            Box::new(move |py: Python<'_>| {
                Ok(Py::new(py, credentials(py, client, result, on_change)?)?.into_any())
            }) as Deliver
        })
    }

    /// Stop renewing and revoke the Vault leases this client holds (unless
    /// `revoke_on_close=False`); returns how many were revoked. Reads after
    /// this raise ConfigError. Closing twice is fine (the second returns 0).
    /// In a forked child that has not used the client yet, closing builds
    /// nothing and revokes nothing (the leases are the parent's): it returns 0.
    fn close(&self, py: Python<'_>) -> PyResult<usize> {
        let Some(core) = self.closing(py) else {
            return Ok(0);
        };
        block_on(py, core.close())
    }

    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = self.closing(py);
        awaitable(py, async move {
            let Some(core) = core else {
                return Box::new(|py: Python<'_>| Ok(0usize.into_pyobject(py)?.into_any().unbind()))
                    as Deliver;
            };
            let revoked = core.close().await;
            Box::new(move |py: Python<'_>| Ok(revoked.into_pyobject(py)?.into_any().unbind()))
                as Deliver
        })
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// Closes; never swallows the exception (returns None).
    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close(py).map(drop)
    }

    fn __aenter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let ready = Ready::value(slf.clone().into_any().unbind());
        Ok(Bound::new(slf.py(), ready)?.into_any())
    }

    #[pyo3(signature = (*_exc_info))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc_info: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.closing(py);
        awaitable(py, async move {
            if let Some(core) = core {
                core.close().await;
            }
            // None, not the count: a true value would swallow the exception.
            Box::new(|py: Python<'_>| Ok(py.None())) as Deliver
        })
    }

    /// An async iterator over the events from now on (`async for event in
    /// client.events()`); closing it unsubscribes.
    fn events<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let stream = slf
            .py()
            .import("secretkit._events")?
            .getattr("EventStream")?;
        stream.call1((slf,))
    }

    fn invalidate(&self, py: Python<'_>, reference: &str) -> PyResult<()> {
        let (core, _) = self.core(py)?;
        self.memo.clear(py);
        core.invalidate(reference).map_err(to_py)
    }

    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        let (core, _) = self.core(py)?;
        self.memo.clear(py);
        core.clear();
        Ok(())
    }

    /// Callbacks may refer back to the client (a bound method, a closure):
    /// let the garbage collector see them so such cycles can be collected.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(self.memo.dict())?;
        if let Ok(subscriptions) = self.subscriptions.try_lock() {
            for sub in subscriptions.map.values() {
                visit.call(sub.subscription.callback())?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let ids: Vec<u64> = self.subs().map.keys().copied().collect();
        for id in ids {
            self.unsubscribe(id);
        }
    }
}

impl Client {
    /// The caller's `Identity` for the audit trail; not looked up (None)
    /// when auditing is off, so reads pay nothing for it.
    fn identity(&self, py: Python<'_>) -> PyResult<Option<secretkit::Identity>> {
        if self.audited {
            audit::current(py)
        } else {
            Ok(None)
        }
    }

    /// What `close` does before the core closes: refuse new credentials and
    /// drop the remembered `Secret`s. The core client to close: none in a
    /// forked child that has not built its own (the one it holds is the
    /// parent's, whose leases the parent renews and revokes).
    fn closing(&self, py: Python<'_>) -> Option<secretkit::Client> {
        self.closed.store(true, SeqCst);
        self.memo.clear(py);
        let built = self.built();
        (built.pid == fork::pid()).then(|| built.core.clone())
    }

    fn open(&self) -> PyResult<()> {
        if self.closed.load(SeqCst) {
            return Err(to_py(secretkit::Error::new(
                secretkit::ErrorKind::Config,
                "the client is closed",
            )));
        }
        Ok(())
    }

    fn built(&self) -> MutexGuard<'_, Built> {
        self.built.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn subs(&self) -> MutexGuard<'_, Subscriptions> {
        self.subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// This process's core client and pid: the one built here, or, on the
    /// first use after a fork, a new one. Asks the system for the pid (the
    /// cache-hit path does not come here), so a fork that bypassed `os.fork`
    /// is noticed too.
    fn core(&self, py: Python<'_>) -> PyResult<(secretkit::Client, u32)> {
        let pid = fork::pid();
        {
            let built = self.built();
            if built.pid == pid {
                return Ok((built.core.clone(), pid));
            }
        }
        self.rebuild(py, pid).map(|core| (core, pid))
    }

    /// A forked child's own core client, built from the recipe, with the
    /// subscriptions re-attached. The build waits with the GIL released and
    /// no lock held, so two threads may build at once: the first to finish
    /// wins and the other's client (which holds nothing yet) is dropped.
    fn rebuild(&self, py: Python<'_>, pid: u32) -> PyResult<secretkit::Client> {
        let fresh = block_on(py, self.recipe.builder(py)?.build())?.map_err(to_py)?;
        if self.audited {
            audit::register(pid, &fresh);
        }
        if self.closed.load(SeqCst) {
            // Closed before the fork: stays closed (reads raise ConfigError).
            block_on(py, fresh.close())?;
        }
        // The event thread starts only if there are callbacks to re-attach
        // (starting it may release the GIL, so not under the locks).
        let mut queue: Option<Queue> = None;
        let (mut subs, mut built) = loop {
            let (subs, built) = (self.subs(), self.built());
            if queue.is_some() || subs.map.is_empty() || built.pid == pid {
                break (subs, built);
            }
            drop((built, subs));
            queue = Some(events::queue(py)?);
        };
        if built.pid == pid {
            return Ok(built.core.clone()); // another thread's won
        }
        for sub in subs.map.values_mut() {
            if let Some(queue) = &queue {
                sub.core_id = sub.attach(&fresh, queue).map_err(to_py)?;
            }
        }
        let parent = std::mem::replace(
            &mut *built,
            Built {
                pid,
                core: fresh.clone(),
            },
        );
        std::mem::forget(parent);
        drop((built, subs));
        // Its entries wrap the parent's reads (and hold its core client).
        self.memo.clear(py);
        Ok(fresh)
    }

    /// Register `callback` with the core (every event, or the `watch`ed
    /// secret's changes) and remember it for `unsubscribe`, the garbage
    /// collector and a forked child's rebuilt core client. The id is the
    /// binding's own, the same in parent and child.
    fn listen(&self, py: Python<'_>, callback: Py<PyAny>, filter: Filter) -> PyResult<u64> {
        // Once `core` returns, it is this process's core client for good
        // (a rebuild needs another fork, which this thread would not survive).
        let (core, _) = self.core(py)?;
        let queue = events::queue(py)?; // may release the GIL: before the lock
        let mut sub = Sub {
            subscription: Subscription::new(callback),
            filter,
            core_id: 0,
        };
        sub.core_id = sub.attach(&core, &queue).map_err(to_py)?;
        let mut subs = self.subs();
        subs.next_id += 1;
        let id = subs.next_id;
        subs.map.insert(id, sub);
        Ok(id)
    }

    fn watch_with(&self, py: Python<'_>, reference: &str, callback: Py<PyAny>) -> PyResult<u64> {
        self.listen(py, callback, Filter::Watch(reference.to_owned()))
    }
}

impl Drop for Client {
    /// Dropped in a forked child before first use: the core client is the
    /// parent's. Leak it (one strong count that is never given back, so the
    /// memo entries that hold it cannot free it either).
    fn drop(&mut self) {
        let built = self.built.get_mut().unwrap_or_else(PoisonError::into_inner);
        if built.pid != std::process::id() {
            std::mem::forget(built.core.clone());
        }
    }
}

/// The core client and the process it was built in.
struct Built {
    pid: u32,
    core: secretkit::Client,
}

/// What a `Client` was built from: the `ClientBuilder` inputs, kept so a
/// forked child can build its own core client the same way.
struct Recipe {
    settings: ClientSettings,
    audit: Option<audit::Options>,
    backends: Backends,
}

enum Backends {
    /// `Client(aws=..., vault=...)`.
    Given {
        aws: Option<Box<AwsSettings>>,
        vault: Option<Box<(VaultSettings, VaultAuth)>>,
    },
    /// `Client.from_env`: the environment is read again in the child, as a
    /// freshly imported module would.
    FromEnv,
}

impl Recipe {
    fn builder(&self, py: Python<'_>) -> PyResult<ClientBuilder> {
        let mut builder = secretkit::Client::builder().settings(self.settings.clone());
        if let Some(audit) = &self.audit {
            builder = builder.audit(audit.settings(py)?);
        }
        Ok(match &self.backends {
            Backends::Given { aws, vault } => {
                let mut builder = builder;
                if let Some(aws) = aws {
                    builder = builder.aws(AwsSettings::clone(aws));
                }
                if let Some(vault) = vault {
                    let (settings, auth) = &**vault;
                    builder = builder.vault(settings.clone()).vault_auth(auth.clone());
                }
                builder
            }
            Backends::FromEnv => builder.aws_from_env().vault_from_env().map_err(to_py)?,
        })
    }
}

/// The subscribed callbacks by the ids `subscribe` / `watch` returned.
#[derive(Default)]
struct Subscriptions {
    next_id: u64,
    map: HashMap<u64, Sub>,
}

struct Sub {
    subscription: Arc<Subscription>,
    filter: Filter,
    /// Its id in the current core client.
    core_id: u64,
}

/// Which events a subscription gets.
enum Filter {
    /// `subscribe`: every event.
    All,
    /// `watch(reference, ...)`: new values of that secret.
    Watch(String),
    /// The logging subscription: what operators watch (a new value, a
    /// failure), not the routine (created, refreshed, evicted, renewed),
    /// which would be most of the events and share the bounded queue.
    Notable,
}

impl Sub {
    fn attach(&self, core: &secretkit::Client, queue: &Queue) -> secretkit::Result<u64> {
        let listener = listener(queue, self.subscription.clone());
        match &self.filter {
            Filter::All => Ok(core.subscribe(listener)),
            Filter::Watch(reference) => core.watch(reference, listener),
            Filter::Notable => Ok(core.subscribe(Box::new(move |event: &secretkit::Event| {
                use secretkit::EventKind::*;
                if matches!(event.kind, Changed | Rotated | Error | Expired) {
                    listener(event)
                }
            }))),
        }
    }
}

fn callable(callback: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    if !callback.is_callable() {
        return Err(PyTypeError::new_err("callback must be callable"));
    }
    Ok(callback.unbind())
}

/// The Python object for a `database_credentials` result, watching the
/// reference for rotations when there is an `on_change`.
fn credentials(
    py: Python<'_>,
    client: Py<Client>,
    result: secretkit::Result<secretkit::DbCredentials>,
    on_change: Option<Py<PyAny>>,
) -> PyResult<DbCredentials> {
    let creds = result.map_err(to_py)?;
    let watch = match on_change {
        Some(callback) => {
            let id = client.get().watch_with(py, &creds.reference, callback)?;
            Some((client, id))
        }
        None => None,
    };
    DbCredentials::new(py, creds, watch)
}

/// `build()` runs inside this process's runtime, so the core captures its
/// handle for background refreshes.
fn build(py: Python<'_>, recipe: Recipe) -> PyResult<Client> {
    let core = block_on(py, recipe.builder(py)?.build())?.map_err(to_py)?;
    let audited = recipe.audit.is_some();
    if audited {
        audit::register(fork::pid(), &core);
    }
    let client = Client {
        audited,
        recipe,
        built: Mutex::new(Built {
            pid: fork::pid(),
            core,
        }),
        memo: SecretMemo::new(py),
        subscriptions: Mutex::default(),
        closed: AtomicBool::new(false),
    };
    // Every client's notable events go to the standard `logging` logger
    // "secretkit" (secretkit/_logging.py), as a subscription like any other:
    // delivered on the events thread, re-attached after a fork. It takes
    // the first subscription id.
    let log_event = py.import("secretkit._logging")?.getattr("log_event")?;
    client.listen(py, log_event.unbind(), Filter::Notable)?;
    Ok(client)
}

/// `core`, its reads attributed to `who` in the audit trail.
fn as_identity(core: secretkit::Client, who: Option<secretkit::Identity>) -> secretkit::Client {
    match who {
        Some(who) => core.with_identity(who),
        None => core,
    }
}

fn metrics_dict(py: Python<'_>, m: secretkit::Metrics) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    let reads: Vec<(&str, &str, u64)> = m
        .reads
        .iter()
        .map(|(b, o, n)| (*b, o.as_str(), *n))
        .collect();
    d.set_item("reads", reads)?;
    d.set_item(
        "backend_calls",
        m.backend_calls.into_iter().collect::<HashMap<_, _>>(),
    )?;
    let latency = PyDict::new(py);
    for h in &m.latency {
        let mut cumulative = 0;
        let buckets: Vec<(f64, u64)> = h
            .counts
            .iter()
            .enumerate()
            .map(|(i, n)| {
                cumulative += n;
                let le = secretkit::LATENCY_BOUNDS
                    .get(i)
                    .copied()
                    .unwrap_or(f64::INFINITY);
                (le, cumulative)
            })
            .collect();
        let one = PyDict::new(py);
        one.set_item("buckets", buckets)?;
        one.set_item("sum", h.sum_seconds)?;
        one.set_item("count", h.count())?;
        latency.set_item(h.backend, one)?;
    }
    d.set_item("latency", latency)?;
    d.set_item("cache_entries", m.cache_entries)?;
    let leases: HashMap<String, f64> = m
        .leases
        .into_iter()
        .map(|(r, left)| (r, left.as_secs_f64()))
        .collect();
    d.set_item("leases", leases)?;
    Ok(d)
}

/// An owned future for `get_many`, so the async form can move it to tokio.
fn get_many(
    core: &secretkit::Client,
    references: Vec<String>,
) -> impl Future<Output = Vec<secretkit::Result<secretkit::Secret>>> + Send + 'static {
    let core = core.clone();
    async move {
        let refs: Vec<&str> = references.iter().map(String::as_str).collect();
        core.get_many(&refs).await
    }
}

fn secret(result: secretkit::Result<secretkit::Secret>) -> Deliver {
    Box::new(move |py: Python<'_>| Ok(Py::new(py, Secret(result.map_err(to_py)?))?.into_any()))
}

fn many(
    py: Python<'_>,
    results: Vec<secretkit::Result<secretkit::Secret>>,
    return_exceptions: bool,
) -> PyResult<Py<PyAny>> {
    let list = PyList::empty(py);
    for result in results {
        match result {
            Ok(s) => list.append(Secret(s))?,
            Err(e) if return_exceptions => list.append(to_py(e).into_value(py))?,
            Err(e) => return Err(to_py(e)),
        }
    }
    Ok(list.into_any().unbind())
}

fn stats_dict(py: Python<'_>, s: Stats) -> PyResult<Bound<'_, PyDict>> {
    let calls = PyDict::new(py);
    let b = s.backend_calls;
    for (name, n) in [
        ("ssm", b.ssm),
        ("asm", b.asm),
        ("vault", b.vault),
        ("env", b.env),
        ("file", b.file),
    ] {
        calls.set_item(name, n)?;
    }
    let dict = PyDict::new(py);
    dict.set_item("hits", s.hits)?;
    dict.set_item("misses", s.misses)?;
    dict.set_item("refreshes", s.refreshes)?;
    dict.set_item("stale_serves", s.stale_serves)?;
    dict.set_item("errors", s.errors)?;
    dict.set_item("backend_calls", calls)?;
    Ok(dict)
}
