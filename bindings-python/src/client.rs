//! `Client`: the core client plus two binding-side tables, the `Secret`
//! memo of the fast hit path and the subscribed callbacks. Every method
//! delegates to the core; blocking ones release the GIL, `*_async` ones run
//! on tokio and complete an asyncio future.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use pyo3::{PyTraverseError, PyVisit};
use secretkit::{ClientBuilder, Stats};

use crate::block_on;
use crate::bridge::{awaitable, Deliver, Ready};
use crate::errors::to_py;
use crate::events::{listener, Subscription};
use crate::memo::{Hit, SecretMemo};
use crate::secret::Secret;
use crate::settings::{aws_settings, client_settings, vault_settings};

#[pyclass(frozen, name = "Client", module = "secretkit")]
pub struct Client {
    core: secretkit::Client,
    memo: SecretMemo,
    subscriptions: Mutex<HashMap<u64, Arc<Subscription>>>,
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
            builder = builder.vault(vault_settings(vault)?);
        }
        build(py, builder)
    }

    /// A client configured like the CLIs: AWS's standard chain and VAULT_* / BAO_*.
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
        block_on(py, prefetch(&self.core, prefix)?)?.map_err(to_py)
    }

    fn prefetch_async<'py>(&self, py: Python<'py>, prefix: String) -> PyResult<Bound<'py, PyAny>> {
        let task = prefetch(&self.core, prefix)?;
        awaitable(py, async move {
            let loaded = task.await;
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
        if !callback.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "callback must be callable",
            ));
        }
        let subscription = Subscription::new(callback.unbind());
        let id = self.core.subscribe(listener(py, subscription.clone())?);
        self.subs().insert(id, subscription);
        Ok(id)
    }

    /// Stop calling a callback; unknown ids are ignored.
    fn unsubscribe(&self, id: u64) {
        self.core.unsubscribe(id);
        if let Some(subscription) = self.subs().remove(&id) {
            subscription.cancel();
        }
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

    fn invalidate(&self, py: Python<'_>, reference: String) -> PyResult<()> {
        self.memo.clear(py);
        self.core.invalidate(&reference).map_err(to_py)
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
    fn subs(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Subscription>>> {
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `build()` runs inside our runtime, so the core captures its handle for
/// background refreshes.
fn build(py: Python<'_>, builder: ClientBuilder) -> PyResult<Client> {
    let core = block_on(py, builder.build())?.map_err(to_py)?;
    Ok(Client {
        core,
        memo: SecretMemo::new(py),
        subscriptions: Mutex::default(),
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

/// `Client::prefetch`'s future is not `Send` (the core holds a `&dyn Fn()`
/// across an await), so it runs on one of the runtime's blocking threads.
fn prefetch(
    core: &secretkit::Client,
    prefix: String,
) -> PyResult<impl Future<Output = secretkit::Result<usize>> + Send + 'static> {
    let rt = crate::runtime().map_err(to_py)?;
    let (core, handle) = (core.clone(), rt.handle().clone());
    let task = rt.spawn_blocking(move || handle.block_on(core.prefetch(&prefix)));
    Ok(async move {
        task.await.unwrap_or_else(|e| {
            Err(secretkit::Error::new(
                secretkit::ErrorKind::Config,
                format!("prefetch stopped: {e}"),
            ))
        })
    })
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
