//! The cache-hit fast path: one cheap native call per hit.
//!
//! Measured here (napi-rs 3.16, Node 20): a `#[napi]` method on `&self` costs
//! ~300 ns before it does anything (napi-rs's per-call borrow bookkeeping for
//! the class instance, plus argument scopes), and a string argument ~100 ns
//! more; core's `cached_serial` itself is well under 100 ns. A function made
//! with `Env::create_function_from_closure` skips that bookkeeping, so the hit
//! path is three such closures over one client:
//!
//! - `open(reference) -> slot`: remember a reference string, return its number;
//! - `serial(slot) -> number | null`: core `cached_serial` of that reference
//!   (counts the hit and starts a due refresh, exactly like `get`);
//! - `reset()`: forget every slot.
//!
//! index.js opens a slot per memoized reference and resets the slots whenever
//! it clears its memo, so a slot number is never reused while the memo holds it.

use std::cell::RefCell;
use std::rc::Rc;

use napi::bindgen_prelude::{Object, Undefined};
use napi::{Env, Result};

use crate::serial;

pub fn hit_path<'e>(env: &'e Env, client: &secretkit::Client) -> Result<Object<'e>> {
    // The functions live on the JS thread only, hence Rc/RefCell.
    let slots: Rc<RefCell<Vec<String>>> = Rc::default();

    let table = slots.clone();
    let open = env.create_function_from_closure::<String, u32, _>("open", move |ctx| {
        let reference: String = ctx.get(0)?;
        let mut table = table.borrow_mut();
        table.push(reference);
        Ok(u32::try_from(table.len() - 1).unwrap_or(u32::MAX))
    })?;

    let table = slots.clone();
    let client = client.clone();
    let serial_of =
        env.create_function_from_closure::<u32, Option<f64>, _>("serial", move |ctx| {
            let slot: u32 = ctx.get(0)?;
            let table = table.borrow();
            let reference = table.get(slot as usize);
            Ok(reference.and_then(|r| client.cached_serial(r)).map(serial))
        })?;

    let reset =
        env.create_function_from_closure::<Undefined, Undefined, _>("reset", move |_| {
            slots.borrow_mut().clear();
            Ok(())
        })?;

    let mut path = Object::new(env)?;
    path.set("open", open)?;
    path.set("serial", serial_of)?;
    path.set("reset", reset)?;
    Ok(path)
}
