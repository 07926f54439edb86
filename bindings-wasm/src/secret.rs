//! `Secret` for JS. The value leaves wasm memory only through `reveal` /
//! `revealBytes`, copied straight into a JS string / Uint8Array so no
//! un-zeroized Rust copy is left behind; every other path shows the redacted form.

use js_sys::{JsString, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::error::to_js;

#[wasm_bindgen(js_name = NativeSecret)]
pub struct WasmSecret(pub(crate) secretkit::Secret);

#[wasm_bindgen(js_class = NativeSecret)]
impl WasmSecret {
    pub fn reveal(&self) -> Result<JsString, JsValue> {
        self.0.reveal().map(JsString::from).map_err(|e| to_js(&e))
    }

    #[wasm_bindgen(js_name = revealBytes)]
    pub fn reveal_bytes(&self) -> Uint8Array {
        Uint8Array::from(self.0.reveal_bytes())
    }

    #[wasm_bindgen(getter)]
    pub fn reference(&self) -> String {
        self.0.reference().to_owned()
    }

    #[wasm_bindgen(getter)]
    pub fn version(&self) -> Option<String> {
        self.0.version().map(str::to_owned)
    }

    /// Milliseconds since the epoch (the JS layer makes it a `Date`).
    #[wasm_bindgen(getter = fetchedAtMillis)]
    pub fn fetched_at_millis(&self) -> f64 {
        self.0
            .fetched_at()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64)
    }

    /// `{ id, duration, renewable }` (duration in seconds) or `null`.
    #[wasm_bindgen(getter)]
    pub fn lease(&self) -> JsValue {
        lease_object(self.0.lease())
    }

    /// Which backend read the value came from (js/api.mjs reuses the Secret
    /// of an unchanged cache hit). Exact: serials stay far below 2^53.
    #[wasm_bindgen(getter)]
    pub fn serial(&self) -> f64 {
        self.0.serial() as f64
    }

    /// `Secret(<ref>, <redacted>)`.
    pub fn redacted(&self) -> String {
        self.0.redacted()
    }
}

/// `{ id, duration, renewable }` (duration in seconds) or `null`.
pub fn lease_object(lease: Option<&secretkit::Lease>) -> JsValue {
    let Some(lease) = lease else {
        return JsValue::NULL;
    };
    let out = Object::new();
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(&out, &"id".into(), &lease.id.as_str().into());
    let _ = Reflect::set(
        &out,
        &"duration".into(),
        &(lease.duration_secs as f64).into(),
    );
    let _ = Reflect::set(&out, &"renewable".into(), &lease.renewable.into());
    out.into()
}
