//! `Client`: the core client plus two binding-side tables, the `Secret`
//! memo of the fast hit path and the subscribed callbacks. Every method
//! delegates to the core; blocking ones release the GIL, `*_async` ones run
//! on tokio and complete an asyncio future.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};
use secretkit::{ClientBuilder, Stats};

use crate::block_on;
use crate::bridge::{awaitable, Deliver, Ready};
use crate::db::DbCredentials;
use crate::errors::to_py;
use crate::events::{listener, Listener, Subscription};
use crate::memo::{Hit, SecretMemo};
use crate::secret::Secret;
use crate::settings::{aws_settings, client_settings};
use crate::vault::vault_settings;

#[pyclass(frozen, name = "Client", module = "secretkit")]
pub struct Client {
    core: secretkit::Client,
    memo: SecretMemo,
    subscriptions: Mutex<HashMap<u64, Arc<Subscription>>>,
    /// Set by `close`: core's `database_credentials` does not check it yet
    /// (its other reads do), and a lease read after close would be neither
    /// renewed nor revoked.
    closed: AtomicBool,
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
        let mut builder = secretkit::Client::builder().settings(client_settings(options)?);
        if let Some(aws) = aws {
            builder = builder.aws(aws_settings(aws)?);
        }
        if let Some(vault) = vault {
            let (settings, auth) = vault_settings(vault)?;
            builder = builder.vault(settings).vault_auth(auth);
        }
        build(py, builder)
    }

    /// A client configured like the CLIs: AWS's standard chain and VAULT_* /
    /// BAO_* (a token, or AppRole, Kubernetes, JWT or token-file login).
    #[staticmethod]
    #[pyo3(signature = (**options))]
    fn from_env(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let builder = secretkit::Client::builder()
            .settings(client_settings(options)?)
            .aws_from_env()
            .vault_from_env()
            .map_err(to_py)?;
        build(py, builder)
    }

    /// Blocking read. A cache hit is answered right here, holding the GIL and
    /// without touching tokio; a miss waits with the GIL released.
    fn get(&self, py: Python<'_>, reference: &Bound<'_, PyString>) -> PyResult<Py<PyAny>> {
        if let Some(secret) = self.memo.hit(py, &self.core, reference, Hit::Secret)? {
            return Ok(secret);
        }
        let text = reference.to_cow()?;
        let secret = match self.core.get_cached(&text) {
            Some(hit) => hit,
            None => block_on(py, self.core.get(&text))?,
        };
        let secret = self
            .memo
            .keep(py, reference, &text, secret.map_err(to_py)?)?;
        Ok(secret.into_any())
    }

    /// Awaitable read. A hit is an already-complete awaitable; a miss runs on
    /// tokio and completes an asyncio future (cancelling it stops the wait).
    fn get_async<'py>(
        &self,
        py: Python<'py>,
        reference: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(ready) = self.memo.hit(py, &self.core, reference, Hit::Ready)? {
            return Ok(ready.into_bound(py));
        }
        let text = reference.to_cow()?;
        if let Some(hit) = self.core.get_cached(&text) {
            let ready = match hit {
                Ok(secret) => {
                    Ready::value(self.memo.keep(py, reference, &text, secret)?.into_any())
                }
                Err(e) => Ready::error(py, to_py(e)),
            };
            return Ok(Bound::new(py, ready)?.into_any());
        }
        let (core, text) = (self.core.clone(), text.into_owned());
        awaitable(py, async move { secret(core.get(&text).await) })
    }

    /// Read from the backend now, whatever the cache holds, and cache it.
    fn refresh(&self, py: Python<'_>, reference: String) -> PyResult<Secret> {
        block_on(py, self.core.refresh(&reference))?
            .map(Secret)
            .map_err(to_py)
    }

    fn refresh_async<'py>(
        &self,
        py: Python<'py>,
        reference: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
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
        let results = block_on(py, get_many(&self.core, references))?;
        many(py, results, return_exceptions)
    }

    #[pyo3(signature = (references, *, return_exceptions=false))]
    fn get_many_async<'py>(
        &self,
        py: Python<'py>,
        references: Vec<String>,
        return_exceptions: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fut = get_many(&self.core, references);
        awaitable(py, async move {
            let results = fut.await;
            Box::new(move |py: Python<'_>| many(py, results, return_exceptions)) as Deliver
        })
    }

    /// Load every secret under an `ssm:/prefix/` or `asm:prefix/` into the
    /// cache; returns how many were loaded.
    fn prefetch(&self, py: Python<'_>, prefix: String) -> PyResult<usize> {
        block_on(py, self.core.prefetch(&prefix))?.map_err(to_py)
    }

    fn prefetch_async<'py>(&self, py: Python<'py>, prefix: String) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core.clone();
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

    /// Counters since the client was built.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, self.core.stats())
    }

    /// Call `callback(event)` for every cache event, on the "secretkit-events"
    /// thread; returns the id for `unsubscribe`.
    fn subscribe(&self, py: Python<'_>, callback: Bound<'_, PyAny>) -> PyResult<u64> {
        let core = &self.core;
        self.listen(py, callable(callback)?, |l| Ok(core.subscribe(l)))
    }

    /// Call `callback(event)` whenever the secret `reference` names gets a
    /// new value (`changed`, or `rotated` for a Vault lease), whatever its
    /// `#field`; delivered like `subscribe`. Returns the id for `unsubscribe`.
    fn watch(&self, py: Python<'_>, reference: &str, callback: Bound<'_, PyAny>) -> PyResult<u64> {
        self.watch_with(py, reference, callable(callback)?)
    }

    /// Stop calling a callback; unknown ids are ignored.
    pub fn unsubscribe(&self, id: u64) {
        self.core.unsubscribe(id);
        // Taken out first: the callback is released with the lock free.
        let subscription = self.subs().remove(&id);
        if let Some(subscription) = subscription {
            subscription.cancel();
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
        let result = block_on(py, slf.get().core.database_credentials(mount, role))?;
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
        let (client, core) = (slf.clone().unbind(), slf.get().core.clone());
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
    fn close(&self, py: Python<'_>) -> PyResult<usize> {
        self.closing(py);
        block_on(py, self.core.close())
    }

    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.closing(py);
        let core = self.core.clone();
        awaitable(py, async move {
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
        self.closing(py);
        let core = self.core.clone();
        awaitable(py, async move {
            core.close().await;
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
        self.memo.clear(py);
        self.core.invalidate(reference).map_err(to_py)
    }

    fn clear(&self, py: Python<'_>) {
        self.memo.clear(py);
        self.core.clear()
    }

    /// Callbacks may refer back to the client (a bound method, a closure):
    /// let the garbage collector see them so such cycles can be collected.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(self.memo.dict())?;
        if let Ok(subscriptions) = self.subscriptions.try_lock() {
            for subscription in subscriptions.values() {
                visit.call(subscription.callback())?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let ids: Vec<u64> = self.subs().keys().copied().collect();
        for id in ids {
            self.unsubscribe(id);
        }
    }
}

impl Client {
    /// What `close` does before the core closes: refuse new credentials and
    /// drop the remembered `Secret`s.
    fn closing(&self, py: Python<'_>) {
        self.closed.store(true, SeqCst);
        self.memo.clear(py);
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

    fn subs(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Subscription>>> {
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register `callback` with the core through `register` (subscribe or
    /// watch) and remember it for `unsubscribe` and the garbage collector.
    fn listen(
        &self,
        py: Python<'_>,
        callback: Py<PyAny>,
        register: impl FnOnce(Listener) -> secretkit::Result<u64>,
    ) -> PyResult<u64> {
        let subscription = Subscription::new(callback);
        let id = register(listener(py, subscription.clone())?).map_err(to_py)?;
        self.subs().insert(id, subscription);
        Ok(id)
    }

    fn watch_with(&self, py: Python<'_>, reference: &str, callback: Py<PyAny>) -> PyResult<u64> {
        let core = &self.core;
        self.listen(py, callback, |l| core.watch(reference, l))
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

/// `build()` runs inside our runtime, so the core captures its handle for
/// background refreshes.
fn build(py: Python<'_>, builder: ClientBuilder) -> PyResult<Client> {
    let core = block_on(py, builder.build())?.map_err(to_py)?;
    Ok(Client {
        core,
        memo: SecretMemo::new(py),
        subscriptions: Mutex::default(),
        closed: AtomicBool::new(false),
    })
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
