//! The access audit trail on the edge: no file and no timer, so the core
//! keeps the records and js/api.mjs takes them (in `backgroundWork()`, once
//! the audit interval has passed, and at `close()`/`flushAudit()`) for its
//! `onRecords` callback. The caller's identity comes with each read as JSON.

use secretkit::{Client, Identity, LastIdentity};
use wasm_bindgen::prelude::*;

use crate::client::WasmClient;
use crate::error::to_js;

/// The identity a JS read passed, parsed (a config error if malformed).
pub fn identity(last: &LastIdentity, who: Option<String>) -> Result<Option<Identity>, JsValue> {
    who.map(|text| last.parse(&text).map_err(|e| to_js(&e)))
        .transpose()
}

/// `client`, its reads attributed to `who`.
pub fn as_who(client: Client, who: Option<Identity>) -> Client {
    match who {
        Some(who) => client.with_identity(who),
        None => client,
    }
}

#[wasm_bindgen(js_class = NativeClient)]
impl WasmClient {
    /// Whether the audit trail is on (js/api.mjs then memoizes nothing).
    pub fn audited(&self) -> Result<bool, JsValue> {
        Ok(self.client_now()?.is_some_and(Client::audited))
    }

    /// The records since the last take, each a JSON object as text (the
    /// core's JSON-lines form); js/api.mjs parses them.
    #[wasm_bindgen(js_name = takeAudit)]
    pub fn take_audit(&self) -> Result<Vec<String>, JsValue> {
        let Some(client) = self.client_now()? else {
            return Ok(Vec::new());
        };
        Ok(client.take_audit().0.iter().map(|r| r.to_json()).collect())
    }

    /// Reads by backend and outcome, backend read latency, cache size and
    /// lease TTLs, in the Prometheus text exposition format.
    #[wasm_bindgen(js_name = metricsText)]
    pub fn metrics_text(&self) -> Result<String, JsValue> {
        Ok(self
            .client_now()?
            .map(|c| c.metrics().to_prometheus())
            .unwrap_or_default())
    }
}
