//! The cache-hit fast path. Most hits never call into native code: index.js
//! repeats the `Secret` it already holds while the client's generation is
//! unchanged (core `Handle::window`; ARCHITECTURE.md, "The hit path"). The
//! core ends each window it gives by moving the generation from a timer
//! (`Client::end_windows_by_generation`), so a hit reads no clock: in Node a
//! `performance.now()` costs about as much as the rest of the hit. Past the
//! window a hit makes one cheap call here.
//!
//! Measured (napi-rs 3.16, Node 20): a `#[napi]` method on `&self` costs
//! ~300 ns before it does anything (napi-rs's per-call borrow bookkeeping for
//! the class instance, plus argument scopes), and a string argument ~100 ns
//! more. A function made with `Env::create_function_from_closure` skips that
//! bookkeeping, so the calls are such closures over one client:
//!
//! - `open(reference) -> slot`: a core `Handle` for a reference, by number;
//! - `window(slot, serial, hits, who?) -> ms | NativeSecret | null`: adds
//!   `hits` answered in JS to the core's stats, then asks the core for a hit
//!   (counted, and a due refresh started, exactly like `getCached`; audited,
//!   recorded under the identity `who`, see audit.rs). If the hit is of read
//!   `serial`, how many milliseconds JS may repeat it; if it is of another
//!   read, its `NativeSecret`; `null` on a miss (JS must `get`); throws the
//!   error `get` would (a remembered not-found);
//! - `record(slot, hits)`: adds `hits` to the stats (before `stats()`);
//! - `reset()`: forget every slot;
//! - `generation`: a `Uint32Array` of one element over the core's generation
//!   counter itself (an external buffer: no copy, no call to read it), or
//!   `null` where the runtime refuses external buffers (Electron) or the
//!   core cannot run the timer, in which case nothing may be repeated and
//!   every hit takes `window`.
//!
//! index.js opens a slot per memoized reference and resets the slots whenever
//! it clears its memo, so a slot number is never reused while the memo holds it.

use std::cell::RefCell;
use std::rc::Rc;

use napi::bindgen_prelude::{Null, Object, Uint32ArraySlice, Undefined};
use napi::{Either, Env, Result};

use crate::error::to_napi;
use crate::secret::Secret;

type Slots = Rc<RefCell<Vec<secretkit::Handle>>>;

pub fn hit_path<'e>(env: &'e Env, client: &secretkit::Client) -> Result<Object<'e>> {
    // The functions live on the JS thread only, hence Rc/RefCell.
    let slots: Slots = Rc::default();

    let (table, core) = (slots.clone(), client.clone());
    let open = env.create_function_from_closure::<String, u32, _>("open", move |ctx| {
        let handle = core.handle(&ctx.get::<String>(0)?).map_err(to_napi)?;
        let mut table = table.borrow_mut();
        table.push(handle);
        Ok(u32::try_from(table.len() - 1).unwrap_or(u32::MAX))
    })?;

    let table = slots.clone();
    let identities = crate::audit::Identities::default();
    let window = env
        .create_function_from_closure::<(u32, f64, f64, Option<String>), Option<Either<f64, Secret>>, _>(
            "window",
            move |ctx| {
                let (slot, serial, hits) = (ctx.get::<u32>(0)?, ctx.get::<f64>(1)?, ctx.get(2)?);
                let who = identities.get(ctx.get::<Option<String>>(3)?)?;
                let table = table.borrow();
                let Some(handle) = table.get(slot as usize) else {
                    return Ok(None);
                };
                handle.record_hits(count(hits));
                let Some(hit) = handle.window_as(who.as_ref()) else {
                    return Ok(None);
                };
                let hit = hit.map_err(to_napi)?;
                Ok(Some(if crate::serial(hit.secret.serial()) == serial {
                    Either::A(hit.valid_for.as_secs_f64() * 1000.0)
                } else {
                    Either::B(Secret::from(hit.secret))
                }))
            },
        )?;

    let table = slots.clone();
    let record =
        env.create_function_from_closure::<(u32, f64), Undefined, _>("record", move |ctx| {
            let (slot, hits) = (ctx.get::<u32>(0)?, ctx.get::<f64>(1)?);
            if let Some(handle) = table.borrow().get(slot as usize) {
                handle.record_hits(count(hits));
            }
            Ok(())
        })?;

    let reset =
        env.create_function_from_closure::<Undefined, Undefined, _>("reset", move |_| {
            slots.borrow_mut().clear();
            Ok(())
        })?;

    let mut path = Object::new(env)?;
    path.set("open", open)?;
    path.set("window", window)?;
    path.set("record", record)?;
    path.set("reset", reset)?;
    path.set("generation", generation(env, client)?)?;
    Ok(path)
}

/// A hit count from JS (a non-negative integer number).
fn count(hits: f64) -> u64 {
    if hits.is_finite() && hits > 0.0 {
        hits as u64
    } else {
        0
    }
}

/// The core's generation counter as a one-element `Uint32Array` over the
/// counter's own memory; the buffer holds an `Arc` to it until collected.
/// JS only reads it (the core bumps it from any thread; an aligned 32-bit
/// load sees either value). `null` if the runtime copied it instead.
// The one unsafe block of the bindings: sharing memory is the point.
#[allow(unsafe_code)]
fn generation<'e>(
    env: &'e Env,
    client: &secretkit::Client,
) -> Result<Either<Uint32ArraySlice<'e>, Null>> {
    if !client.end_windows_by_generation() {
        return Ok(Either::B(Null));
    }
    let counter = client.generation();
    let ptr = counter.as_ptr().cast_mut();
    // SAFETY: `ptr` points at one u32 inside the `Generation` the `Arc` keeps
    // alive until the finalizer drops it; JS never writes through the view.
    let view = unsafe { Uint32ArraySlice::from_external(env, ptr, 1, counter, |_, c| drop(c)) }?;
    if view.as_ptr() != ptr.cast_const() {
        return Ok(Either::B(Null));
    }
    Ok(Either::A(view))
}
