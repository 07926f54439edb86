//! The core's runtime on the JS event loop: HTTP over the global `fetch`,
//! time over `Date.now()` and the global `setTimeout`.
//!
//! Why every operation is spawned: the core's `Transport` and `Clock`
//! return `Send` futures (one set of signatures for tokio and wasm), while
//! JS promises (`JsFuture`) are not `Send`. So the JS-side work runs as a
//! local task (`wasm_bindgen_futures::spawn_local`, the only executor there
//! is: wasm32 has no threads) and the core gets the receiving end of a
//! `futures::channel::oneshot`, which is `Send`. When the core drops that
//! receiver (a timeout won the race, or the read was abandoned) the task sees
//! `Sender::cancellation()` and aborts the fetch / clears the timer, so no
//! request or timer outlives its use and keeps a Node process or a workerd
//! request alive.
//!
//! The globals are imported without a namespace (`fetch`, `setTimeout`), so
//! they resolve on `globalThis` at call time: workerd and Deno have no
//! `window`, and `web_sys::window()` would be `None` there.

use std::pin::pin;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::channel::oneshot;
use futures::future::{select, Either};
use js_sys::{Promise, Uint8Array};
use secretkit::runtime::{
    BoxFuture, Clock, SleepFuture, Transport, TransportError, MAX_BODY_BYTES,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{AbortController, ReadableStreamDefaultReader, RequestInit, Response};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;

    /// Node returns a `Timeout` object, the others a number: keep it opaque.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, millis: f64) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// `Clock` over `Date.now()` and `setTimeout`.
#[derive(Clone, Copy, Default)]
pub struct JsClock;

impl Clock for JsClock {
    fn now(&self) -> SystemTime {
        // std's SystemTime::now() panics on wasm32-unknown-unknown.
        SystemTime::UNIX_EPOCH + Duration::from_millis(js_sys::Date::now() as u64)
    }

    fn sleep(&self, duration: Duration) -> SleepFuture {
        let (mut tx, rx) = oneshot::channel::<()>();
        spawn_local(async move {
            let mut handle = JsValue::UNDEFINED;
            let mut resolve_timer = None;
            let millis = duration.as_millis().min(i32::MAX as u128) as f64;
            let timer = Promise::new(&mut |resolve, _reject| {
                handle = set_timeout(&resolve, millis);
                resolve_timer = Some(resolve);
            });
            let fired = {
                let timer = pin!(JsFuture::from(timer));
                matches!(select(timer, tx.cancellation()).await, Either::Left(_))
            };
            if fired {
                let _ = tx.send(());
            } else if let Some(resolve) = resolve_timer {
                // Clear the timer, and settle its promise ourselves so the
                // JsFuture's callbacks run once and free themselves.
                clear_timeout(&handle);
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        });
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

/// `Transport` over the global `fetch`, each request bounded by `timeout`.
pub struct FetchTransport {
    pub timeout: Duration,
}

type HttpResult = Result<http::Response<Bytes>, TransportError>;

impl Transport for FetchTransport {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'static, HttpResult> {
        let (mut tx, rx) = oneshot::channel::<HttpResult>();
        let timeout = self.timeout;
        spawn_local(async move {
            let controller = AbortController::new().ok();
            let signal = controller.as_ref().map(|c| c.signal());
            let outcome = {
                let work = pin!(fetch(request, signal));
                let timer = JsClock.sleep(timeout);
                let stop = pin!(select(tx.cancellation(), timer));
                match select(work, stop).await {
                    Either::Left((result, _)) => Some(result),
                    Either::Right((Either::Right(_), _)) => Some(Err(TransportError::Timeout)),
                    Either::Right((Either::Left(_), _)) => None,
                }
            };
            match outcome {
                Some(Ok(response)) => {
                    let _ = tx.send(Ok(response));
                }
                other => {
                    // Timed out or abandoned: stop the request in flight.
                    if let Some(c) = controller {
                        c.abort();
                    }
                    if let Some(err) = other {
                        let _ = tx.send(err);
                    }
                }
            }
        });
        Box::pin(async move {
            rx.await.unwrap_or_else(|_| {
                Err(TransportError::Io(
                    "the request task ended without an answer".into(),
                ))
            })
        })
    }
}

/// Headers `fetch` computes itself (and some runtimes refuse to be given).
const FETCH_OWNED_HEADERS: [&str; 4] =
    ["host", "content-length", "connection", "transfer-encoding"];

async fn fetch(request: http::Request<Bytes>, signal: Option<web_sys::AbortSignal>) -> HttpResult {
    let (parts, body) = request.into_parts();
    let init = RequestInit::new();
    init.set_method(parts.method.as_str());
    let headers = web_sys::Headers::new().map_err(io_error)?;
    for (name, value) in &parts.headers {
        if FETCH_OWNED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let value = value
            .to_str()
            .map_err(|_| TransportError::Io(format!("header `{name}` is not ASCII")))?;
        headers.append(name.as_str(), value).map_err(io_error)?;
    }
    init.set_headers(&headers);
    // GET and HEAD requests may not carry a body at all, not even an empty one.
    if !body.is_empty() {
        init.set_body(&Uint8Array::from(&body[..]));
    }
    if let Some(signal) = &signal {
        init.set_signal(Some(signal));
    }
    // Never follow a redirect: it would carry the Vault token, the AWS
    // session token or a login body to whatever origin the answer names.
    // The 3xx comes back to the backend, which says so.
    init.set_redirect(web_sys::RequestRedirect::Manual);
    let promise = global_fetch(&parts.uri.to_string(), &init).map_err(io_error)?;
    // fetch rejects only when no response came back: refused, DNS, TLS, reset.
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(|e| TransportError::Connect(js_message(&e)))?
        .unchecked_into();
    if response.status() == 0 {
        // A browser-style runtime hides a manual redirect as an opaque
        // response with status 0.
        return Err(TransportError::Io(
            "the server redirected; redirects are not followed".into(),
        ));
    }
    let mut out = http::Response::builder().status(response.status());
    let mut declared_length = None;
    for entry in js_sys::try_iter(response.headers().as_ref())
        .map_err(io_error)?
        .into_iter()
        .flatten()
    {
        let pair: js_sys::Array = entry.map_err(io_error)?.unchecked_into();
        let (name, value) = (pair.get(0).as_string(), pair.get(1).as_string());
        if let (Some(name), Some(value)) = (name, value) {
            if name.eq_ignore_ascii_case("content-length") {
                declared_length = value.parse::<usize>().ok();
            }
            out = out.header(name, value);
        }
    }
    if declared_length.is_some_and(|n| n > MAX_BODY_BYTES) {
        if let Some(stream) = response.body() {
            let _ = stream.cancel();
        }
        return Err(TransportError::BodyTooLarge);
    }
    let body = read_body(&response).await?;
    out.body(body)
        .map_err(|e| TransportError::Io(e.to_string()))
}

/// The whole body, read chunk by chunk so an oversized one is refused
/// without buffering it.
async fn read_body(response: &Response) -> Result<Bytes, TransportError> {
    let Some(stream) = response.body() else {
        return Ok(Bytes::new());
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    // Grown in wiped buffers, never by a reallocation that leaves a copy.
    let mut body = zeroize::Zeroizing::new(Vec::new());
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(io_error)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map_err(io_error)?;
        if done.is_truthy() {
            return Ok(Bytes::from(std::mem::take(&mut *body)));
        }
        let value: Uint8Array = js_sys::Reflect::get(&chunk, &"value".into())
            .map_err(io_error)?
            .unchecked_into();
        let len = value.length() as usize;
        if body.len() + len > MAX_BODY_BYTES {
            let _ = reader.cancel();
            return Err(TransportError::BodyTooLarge);
        }
        let start = body.len();
        if start + len > body.capacity() {
            let wanted = (start + len).max(body.capacity() * 2).min(MAX_BODY_BYTES);
            let mut bigger = zeroize::Zeroizing::new(Vec::with_capacity(wanted));
            bigger.extend_from_slice(&body);
            body = bigger;
        }
        body.resize(start + len, 0);
        value.copy_to(&mut body[start..]);
    }
}

fn io_error(e: JsValue) -> TransportError {
    TransportError::Io(js_message(&e))
}

/// A JS error's message plus its `cause` (Node's fetch says only "fetch
/// failed"; the cause says "connect ECONNREFUSED ...").
fn js_message(e: &JsValue) -> String {
    let text = |v: &JsValue| {
        v.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| v.as_string())
    };
    let mut msg = text(e).unwrap_or_else(|| "unknown JavaScript error".into());
    if let Some(cause) = e.dyn_ref::<js_sys::Error>().map(|e| e.cause()) {
        if let Some(cause) = text(&cause) {
            msg.push_str(": ");
            msg.push_str(&cause);
        }
    }
    msg
}
