//! The cache-hit path of js/api.mjs: most hits never call into the module.
//! The JS layer repeats the `Secret` it holds while the client's generation
//! (read from linear memory through a `Uint32Array`) is unchanged and
//! `performance.now()` is before the end of the window the core gave (core
//! `Handle::window`; ARCHITECTURE.md, "The hit path"). On wasm the window
//! also ends when Vault lease work is due, because only reads drive it here;
//! no timer ends windows (nothing runs between requests on the edge), hence
//! the clock comparison. Past the window a hit makes one call here.

use std::cell::RefCell;

use secretkit::Handle;
use wasm_bindgen::prelude::*;

use crate::client::WasmClient;
use crate::error::{reference_arg, to_js};
use crate::secret::WasmSecret;

/// Core handles by slot number; js/api.mjs opens one per memoized reference
/// and resets them whenever it clears its memo.
#[derive(Default)]
pub struct Slots(RefCell<Vec<Handle>>);

#[wasm_bindgen(js_class = NativeClient)]
impl WasmClient {
    /// A slot for `reference` (the JS layer opens it after a read succeeded).
    #[wasm_bindgen(js_name = openSlot)]
    pub fn open_slot(&self, reference: JsValue) -> Result<u32, JsValue> {
        let reference = reference_arg(&reference)?;
        let client = self.built()?;
        let handle = client.handle(&reference).map_err(|e| to_js(&e))?;
        let mut slots = self.slots.0.borrow_mut();
        slots.push(handle);
        Ok(u32::try_from(slots.len() - 1).unwrap_or(u32::MAX))
    }

    /// Adds `hits` answered in JS to the stats, then asks the core for a hit
    /// (counted; a due refresh or lease work started, exactly like `get`):
    /// the window in milliseconds if the hit is of read `serial`, the
    /// NativeSecret if it is of another read, `null` on a miss; throws what
    /// `get` would (a remembered not-found). Audited, the hit is recorded
    /// under the identity `who` (JSON) and its window is always empty.
    pub fn window(
        &self,
        slot: u32,
        serial: f64,
        hits: f64,
        who: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let who = crate::audit::identity(&self.identities, who)?;
        let slots = self.slots.0.borrow();
        let Some(handle) = slots.get(slot as usize) else {
            return Ok(JsValue::NULL);
        };
        handle.record_hits(count(hits));
        let hit = handle.window_as(who.as_ref());
        // A read can queue events (an error, a lease replaced by due work).
        self.background.deliver();
        let Some(hit) = hit else {
            return Ok(JsValue::NULL);
        };
        let hit = hit.map_err(|e| to_js(&e))?;
        Ok(if hit.secret.serial() as f64 == serial {
            JsValue::from_f64(hit.valid_for.as_secs_f64() * 1000.0)
        } else {
            WasmSecret(hit.secret).into()
        })
    }

    /// Adds `hits` answered in JS to the stats (before `stats()`).
    #[wasm_bindgen(js_name = recordHits)]
    pub fn record_hits(&self, slot: u32, hits: f64) {
        if let Some(handle) = self.slots.0.borrow().get(slot as usize) {
            handle.record_hits(count(hits));
        }
    }

    #[wasm_bindgen(js_name = resetSlots)]
    pub fn reset_slots(&self) {
        self.slots.0.borrow_mut().clear();
    }

    /// Where the client's generation counter lives in linear memory (a
    /// 4-aligned byte offset), for a `Uint32Array` over `wasmMemory().buffer`.
    #[wasm_bindgen(js_name = generationAddress)]
    pub fn generation_address(&self) -> Result<u32, JsValue> {
        let generation = self.built()?.generation();
        // The client's cache holds this counter as long as the client lives.
        Ok(generation.as_ptr() as usize as u32)
    }
}

/// The module's linear memory (its `buffer` is replaced when it grows).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// A hit count from JS (a non-negative integer number).
fn count(hits: f64) -> u64 {
    if hits.is_finite() && hits > 0.0 {
        hits as u64
    } else {
        0
    }
}
