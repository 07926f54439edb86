//! `Client` for JS: a newtype over the core client with one-line delegating
//! methods.
//!
//! The core's `ClientBuilder::build()` is async, but with explicit settings it
//! finishes on its first poll, so the constructor polls it once and `new
//! Client(config)` is ready at once (and config errors throw right there). If
//! a future core ever awaits during build, the pending build is kept and
//! `get` / `ready` await it: `new Client(...)` then `await client.get(...)`
//! works either way.

use std::sync::Arc;

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use js_sys::Promise;
use secretkit::{Client, Runtime};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{reference_arg, to_js};
use crate::runtime::{FetchTransport, JsClock};
use crate::secret::WasmSecret;

type Build = Shared<LocalBoxFuture<'static, Result<Client, secretkit::Error>>>;

enum State {
    Ready(Client),
    Building(Build),
}

#[wasm_bindgen(js_name = NativeClient)]
pub struct WasmClient {
    state: State,
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
        let mut builder = Client::builder().runtime(runtime).settings(config.settings);
        if let Some(aws) = config.aws {
            builder = builder.aws(aws);
        }
        if let Some(vault) = config.vault {
            builder = builder.vault(vault);
        }
        let mut build = builder.build().boxed_local();
        let state = match (&mut build).now_or_never() {
            Some(built) => State::Ready(built.map_err(|e| to_js(&e))?),
            None => State::Building(build.shared()),
        };
        Ok(WasmClient { state })
    }

    /// Resolves once the client is built (at once unless the build awaits).
    pub fn ready(&self) -> Promise {
        let client = self.client_later();
        future_to_promise(async move {
            client.await.map_err(|e| to_js(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// A fresh cache hit, or `undefined` when `get` must ask the backend.
    #[wasm_bindgen(js_name = getCached)]
    pub fn get_cached(&self, reference: JsValue) -> Result<Option<WasmSecret>, JsValue> {
        let reference = reference_arg(&reference)?;
        let Some(client) = self.client_now()? else {
            return Ok(None);
        };
        match client.get_cached(&reference) {
            Some(hit) => hit.map(|s| Some(WasmSecret(s))).map_err(|e| to_js(&e)),
            None => Ok(None),
        }
    }

    pub fn get(&self, reference: JsValue) -> Promise {
        let client = self.client_later();
        future_to_promise(async move {
            let reference = reference_arg(&reference)?;
            let client = client.await.map_err(|e| to_js(&e))?;
            match client.get(&reference).await {
                Ok(secret) => Ok(WasmSecret(secret).into()),
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
}

impl WasmClient {
    /// The client if it is built; `None` while a build is still pending.
    fn client_now(&self) -> Result<Option<&Client>, JsValue> {
        match &self.state {
            State::Ready(client) => Ok(Some(client)),
            State::Building(build) => match build.peek() {
                Some(Ok(client)) => Ok(Some(client)),
                Some(Err(e)) => Err(to_js(e)),
                None => Ok(None),
            },
        }
    }

    /// The client once built, as a future that owns what it needs.
    fn client_later(&self) -> LocalBoxFuture<'static, Result<Client, secretkit::Error>> {
        match &self.state {
            State::Ready(client) => futures::future::ready(Ok(client.clone())).boxed_local(),
            State::Building(build) => build.clone().boxed_local(),
        }
    }
}
