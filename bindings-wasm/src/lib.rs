//! secretkit for edge runtimes (Node, Cloudflare workerd, Deno) through
//! wasm-bindgen. Thin: the runtime (fetch + timers) the core needs, type
//! conversion, error mapping, and delivering events and background work to
//! the JS event loop (background.rs). The exports are `Native*`; the idiomatic
//! JS API (`Client`, `Secret`, `SecretkitError`) is js/api.mjs on top.

mod audit;
mod auth;
mod background;
mod client;
mod config;
mod error;
mod hits;
pub mod runtime;
mod secret;

pub use client::WasmClient;
pub use secret::WasmSecret;

use wasm_bindgen::prelude::*;

/// The JSON form of a parsed reference, as a plain object.
#[wasm_bindgen(js_name = parseReference)]
pub fn parse_reference(reference: JsValue) -> Result<JsValue, JsValue> {
    let reference = error::reference_arg(&reference)?;
    let parsed = secretkit::Reference::parse(&reference).map_err(|e| error::to_js(&e))?;
    js_sys::JSON::parse(&parsed.to_json())
}
