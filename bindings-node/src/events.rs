//! Core events handed to the JS event loop. Core calls listeners on the tokio
//! worker that produced the event; the listener only queues it on a
//! threadsafe function (non-blocking, unbounded queue) and returns.

use std::time::{SystemTime, UNIX_EPOCH};

use napi::bindgen_prelude::Undefined;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use crate::error::{info, ErrorInfo};

/// One core event; index.js turns it into the public event object.
#[napi(object)]
pub struct NativeEvent {
    pub kind: String,
    pub reference: String,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    pub lease_id: Option<String>,
    pub old_lease_id: Option<String>,
    /// Usernames of rotated credentials (never passwords).
    pub username: Option<String>,
    pub old_username: Option<String>,
    /// For renewals: the lease's new duration in seconds.
    pub ttl_secs: Option<f64>,
    pub error: Option<ErrorInfo>,
    /// Milliseconds since the epoch.
    pub at_ms: f64,
}

/// The JS callback, as a threadsafe function that is *weak* (unref'd): a
/// subscribed client never keeps the process alive.
pub type EventCallback =
    ThreadsafeFunction<NativeEvent, Undefined, NativeEvent, Status, false, true>;

/// A core listener that queues every event on `callback`.
pub fn listener(callback: EventCallback) -> impl Fn(&secretkit::Event) + Send + Sync + 'static {
    move |event| {
        // `Closing` once Node is shutting down: the event has nowhere to go.
        let _ = callback.call(to_js(event), ThreadsafeFunctionCallMode::NonBlocking);
    }
}

fn to_js(event: &secretkit::Event) -> NativeEvent {
    NativeEvent {
        kind: event.kind.as_str().to_owned(),
        reference: event.reference.clone(),
        old_version: event.old_version.clone(),
        new_version: event.new_version.clone(),
        lease_id: event.lease_id.clone(),
        old_lease_id: event.old_lease_id.clone(),
        username: event.username.clone(),
        old_username: event.old_username.clone(),
        ttl_secs: event.ttl_secs.map(|s| s as f64),
        error: event.error.as_ref().map(info),
        at_ms: epoch_ms(event.at),
    }
}

pub fn epoch_ms(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}
