//! `Client` for JS: a newtype over the core client with one-line delegating
//! methods, plus the event queue and background-task tracking of
//! background.rs.
//!
//! `get` polls the core's `Client::get` once: a cache hit is answered
//! synchronously, without a promise, and a miss hands the same future on as
//! a promise. Repeated hits are answered by the JS layer inside the core's
//! windows (hits.rs); both paths drive the Vault lifecycle on wasm.
//!
//! The core's `ClientBuilder::build()` is async, but with explicit settings it
//! finishes on its first poll, so the constructor polls it once and `new
//! Client(config)` is ready at once (and config errors throw right there). If
//! a future core ever awaits during build, the pending build is kept and
//! every async method awaits it: `new Client(...)` then `await client.get(...)`
//! works either way.

use std::future::Future;
use std::sync::Arc;

use futures::future::{join_all, FutureExt, LocalBoxFuture, Shared};
use js_sys::{Array, Function, Object, Promise, Reflect};
use secretkit::{Client, Error, ErrorKind, Runtime, Stats};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::background::{Background, LocalSpawner};
use crate::error::{not_a_string, reference_arg, to_js};
use crate::runtime::{FetchTransport, JsClock};
use crate::secret::{lease_object, WasmSecret};

type Build = Shared<LocalBoxFuture<'static, Result<Client, Error>>>;

enum State {
    Ready(Client),
    Building(Build),
}

#[wasm_bindgen(js_name = NativeClient)]
pub struct WasmClient {
    state: State,
    pub(crate) background: Arc<Background>,
    pub(crate) slots: crate::hits::Slots,
    /// The audit identities reads pass, parsed (the last one remembered).
    pub(crate) identities: secretkit::LastIdentity,
}

#[wasm_bindgen(js_class = NativeClient)]
impl WasmClient {
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<WasmClient, JsValue> {
        let config = crate::config::parse(config)?;
        let runtime = Runtime {
            transport: Arc::new(FetchTransport {
                timeout: config.settings.timeout,
            }),
            clock: Arc::new(JsClock),
        };
        let background = Background::new();
        let mut builder = Client::builder()
            .runtime(runtime)
            .spawner(Arc::new(LocalSpawner(background.clone())))
            .settings(config.settings);
        if let Some(agent) = config.agent {
            builder = builder.agent(agent);
        }
        if let Some(aws) = config.aws {
            builder = builder.aws(aws);
        }
        if let Some(vault) = config.vault {
            builder = builder.vault(vault);
        }
        if let Some(auth) = config.vault_auth {
            builder = builder.vault_auth(auth);
        }
        if let Some(audit) = config.audit {
            builder = builder.audit(audit);
        }
        let listener = background.clone();
        let mut build = builder
            .build()
            .map(move |built| {
                let client = built?;
                client.subscribe(move |event| listener.queue(event));
                Ok(client)
            })
            .boxed_local();
        let state = match (&mut build).now_or_never() {
            Some(built) => State::Ready(built.map_err(|e| to_js(&e))?),
            None => State::Building(build.shared()),
        };
        Ok(WasmClient {
            state,
            background,
            slots: Default::default(),
            identities: Default::default(),
        })
    }

    /// Resolves once the client is built (at once unless the build awaits).
    pub fn ready(&self) -> Promise {
        self.operation(|_| async { Ok(JsValue::UNDEFINED) })
    }

    /// A cache hit at once, as a NativeSecret; otherwise a Promise of it.
    /// Throws the errors known at once (invalid reference, cached not-found).
    /// (The JS layer answers repeated hits itself: src/hits.rs.)
    /// `who`: the caller's audit identity as JSON (audited clients).
    pub fn get(&self, reference: JsValue, who: Option<String>) -> Result<JsValue, JsValue> {
        let reference = reference_arg(&reference)?;
        let who = crate::audit::identity(&self.identities, who)?;
        let Some(client) = self.client_now()?.cloned() else {
            let read = self.operation(move |client| async move {
                secret(crate::audit::as_who(client, who).get(&reference).await)
            });
            return Ok(read.into());
        };
        let client = crate::audit::as_who(client, who);
        let mut read = async move { client.get(&reference).await }.boxed_local();
        let Some(result) = (&mut read).now_or_never() else {
            let background = self.background.clone();
            let read = future_to_promise(async move {
                let result = read.await;
                background.deliver();
                secret(result)
            });
            return Ok(read.into());
        };
        // A read that fails before any I/O (e.g. AWS not configured) has
        // queued an error event.
        self.background.deliver();
        secret(result)
    }

    /// Read from the backend now, whatever the cache holds, and cache it.
    pub fn refresh(&self, reference: JsValue, who: Option<String>) -> Promise {
        let who = crate::audit::identity(&self.identities, who);
        self.operation(move |client| async move {
            let reference = reference_arg(&reference)?;
            let client = crate::audit::as_who(client, who?);
            secret(client.refresh(&reference).await)
        })
    }

    /// Resolves to an array holding, per reference, a NativeSecret or the
    /// native error object (the JS layer decides whether to throw).
    #[wasm_bindgen(js_name = getMany)]
    pub fn get_many(&self, references: JsValue, who: Option<String>) -> Promise {
        let who = crate::audit::identity(&self.identities, who);
        self.operation(move |client| async move {
            let client = crate::audit::as_who(client, who?);
            let references: Array = references.dyn_into().map_err(|_| {
                to_js(&Error::new(
                    ErrorKind::InvalidReference,
                    "getMany takes an array of references",
                ))
            })?;
            let given: Vec<Option<String>> = references.iter().map(|r| r.as_string()).collect();
            let strings: Vec<&str> = given.iter().flatten().map(String::as_str).collect();
            let mut answers = client.get_many(&strings).await.into_iter();
            let out: Array = given
                .iter()
                .map(|reference| match reference {
                    None => not_a_string(),
                    Some(_) => match answers.next() {
                        Some(Ok(s)) => WasmSecret(s).into(),
                        Some(Err(e)) => to_js(&e),
                        None => to_js(&Error::new(
                            ErrorKind::InvalidResponse,
                            "get_many left this reference out",
                        )),
                    },
                })
                .collect();
            Ok(out.into())
        })
    }

    /// Load every secret under an `ssm:` / `asm:` prefix; resolves to the count.
    pub fn prefetch(&self, prefix: JsValue) -> Promise {
        self.operation(move |client| async move {
            let prefix = reference_arg(&prefix)?;
            match client.prefetch(&prefix).await {
                Ok(loaded) => Ok(JsValue::from_f64(loaded as f64)),
                Err(e) => Err(to_js(&e)),
            }
        })
    }

    pub fn invalidate(&self, reference: JsValue) -> Result<(), JsValue> {
        let reference = reference_arg(&reference)?;
        match self.client_now()? {
            Some(client) => client.invalidate(&reference).map_err(|e| to_js(&e)),
            // Nothing is cached before the build is done; still check the reference.
            None => secretkit::Reference::parse(&reference)
                .map(drop)
                .map_err(|e| to_js(&e)),
        }
    }

    pub fn clear(&self) -> Result<(), JsValue> {
        if let Some(client) = self.client_now()? {
            client.clear();
        }
        Ok(())
    }

    /// `{ hits, misses, refreshes, staleServes, errors, backendCalls: { ssm, asm, vault, env, file } }`.
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        let stats = self.client_now()?.map(Client::stats).unwrap_or_default();
        Ok(stats_object(&stats))
    }

    /// `{ username, password: NativeSecret, lease, reference, watchId }`: the
    /// core's `database_credentials`; with `onChange` also `watch`ed (before
    /// the promise settles, so no rotation falls in between), else
    /// `watchId` is `null`.
    #[wasm_bindgen(js_name = databaseCredentials)]
    pub fn database_credentials(
        &self,
        mount: String,
        role: String,
        on_change: Option<Function>,
    ) -> Promise {
        let background = self.background.clone();
        self.operation(move |client| async move {
            let creds = client
                .database_credentials(&mount, &role)
                .await
                .map_err(|e| to_js(&e))?;
            let watch_id = match on_change {
                Some(callback) => background
                    .watch(&client, &creds.reference, callback)
                    .map(|id| JsValue::from_f64(id as f64))
                    .map_err(|e| to_js(&e))?,
                None => JsValue::NULL,
            };
            let out = Object::new();
            let fields = [
                ("username", JsValue::from_str(&creds.username)),
                ("password", WasmSecret(creds.password).into()),
                ("lease", lease_object(creds.lease.as_ref())),
                ("reference", JsValue::from_str(&creds.reference)),
                ("watchId", watch_id),
            ];
            for (key, value) in fields {
                // Setting a property on a fresh plain object cannot fail.
                let _ = Reflect::set(&out, &key.into(), &value);
            }
            Ok(out.into())
        })
    }

    /// Calls `callback` with each `changed` / `rotated` event of the secret
    /// `reference` names (any `#field`); returns the id for `unwatch`.
    pub fn watch(&self, reference: JsValue, callback: Function) -> Result<f64, JsValue> {
        let reference = reference_arg(&reference)?;
        let client = self.built()?;
        let id = self
            .background
            .watch(client, &reference, callback)
            .map_err(|e| to_js(&e))?;
        Ok(id as f64)
    }

    pub fn unwatch(&self, id: f64) -> Result<(), JsValue> {
        if let Some(client) = self.client_now()? {
            self.background.unwatch(client, id as u64);
        }
        Ok(())
    }

    /// Stops the lease work and revokes this client's Vault leases (with
    /// `revokeOnClose`); resolves to how many were revoked.
    pub fn close(&self) -> Promise {
        self.operation(|client| async move { Ok(JsValue::from_f64(client.close().await as f64)) })
    }

    /// The function events are handed to, as arrays; `null` stops queueing.
    #[wasm_bindgen(js_name = setEventHandler)]
    pub fn set_event_handler(&self, handler: Option<Function>) {
        self.background.set_handler(handler);
    }

    /// Resolves (never rejects) once every background task started so far
    /// has finished and its events were delivered.
    #[wasm_bindgen(js_name = backgroundWork)]
    pub fn background_work(&self) -> Promise {
        let pending = self.background.pending();
        future_to_promise(async move {
            join_all(pending).await;
            Ok(JsValue::UNDEFINED)
        })
    }
}

impl WasmClient {
    /// The client, or the error of a build that failed or is still pending.
    pub(crate) fn built(&self) -> Result<&Client, JsValue> {
        self.client_now()?.ok_or_else(|| {
            to_js(&Error::new(
                ErrorKind::Config,
                "the client is still being built: create it with `await Client.create(config)`",
            ))
        })
    }

    /// The client if it is built; `None` while a build is still pending.
    pub(crate) fn client_now(&self) -> Result<Option<&Client>, JsValue> {
        match &self.state {
            State::Ready(client) => Ok(Some(client)),
            State::Building(build) => match build.peek() {
                Some(Ok(client)) => Ok(Some(client)),
                Some(Err(e)) => Err(to_js(e)),
                None => Ok(None),
            },
        }
    }

    /// `op` on the built client, as a promise; the events it caused are
    /// delivered before the promise settles.
    fn operation<F, Fut>(&self, op: F) -> Promise
    where
        F: FnOnce(Client) -> Fut + 'static,
        Fut: Future<Output = Result<JsValue, JsValue>> + 'static,
    {
        let client = match &self.state {
            State::Ready(client) => futures::future::ready(Ok(client.clone())).boxed_local(),
            State::Building(build) => build.clone().boxed_local(),
        };
        let background = self.background.clone();
        future_to_promise(async move {
            let client = client.await.map_err(|e| to_js(&e))?;
            let result = op(client).await;
            background.deliver();
            result
        })
    }
}

fn secret(result: secretkit::Result<secretkit::Secret>) -> Result<JsValue, JsValue> {
    result.map(|s| WasmSecret(s).into()).map_err(|e| to_js(&e))
}

fn stats_object(stats: &Stats) -> JsValue {
    let object = |fields: &[(&str, JsValue)]| {
        let out = Object::new();
        for (key, value) in fields {
            // Setting a property on a fresh plain object cannot fail.
            let _ = Reflect::set(&out, &(*key).into(), value);
        }
        JsValue::from(out)
    };
    let n = |count: u64| JsValue::from_f64(count as f64);
    let calls = &stats.backend_calls;
    object(&[
        ("hits", n(stats.hits)),
        ("misses", n(stats.misses)),
        ("refreshes", n(stats.refreshes)),
        ("staleServes", n(stats.stale_serves)),
        ("errors", n(stats.errors)),
        (
            "backendCalls",
            object(&[
                ("ssm", n(calls.ssm)),
                ("asm", n(calls.asm)),
                ("vault", n(calls.vault)),
                ("env", n(calls.env)),
                ("file", n(calls.file)),
            ]),
        ),
    ])
}
