//! Core events handed to the JS event loop. Core calls listeners on the tokio
//! worker that produced the event; the listener only queues it on a
//! threadsafe function (non-blocking) and returns.
//!
//! The queue is bounded (`MAX_QUEUED_EVENTS` per subscription): a JS thread
//! that is blocked or slower than the events must not grow memory without
//! limit. Past the bound new events are dropped, never waited for (that would
//! stall a tokio worker), and counted; the next event delivered carries the
//! count and index.js reports it as a process warning.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
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
    /// Events dropped for this subscription since the one before this, because
    /// the queue was full.
    pub dropped_before: f64,
}

/// Most events waiting for the JS thread, per subscription.
pub const MAX_QUEUED_EVENTS: usize = 10_000;

/// The JS callback, as a threadsafe function that is *weak* (unref'd): a
/// subscribed client never keeps the process alive.
pub type EventCallback =
    ThreadsafeFunction<NativeEvent, Undefined, NativeEvent, Status, false, true, MAX_QUEUED_EVENTS>;

/// A core listener that queues every event on `callback`, dropping (and
/// counting) what does not fit.
pub fn listener(callback: EventCallback) -> impl Fn(&secretkit::Event) + Send + Sync + 'static {
    let dropped = AtomicU64::new(0);
    move |event| {
        let mut js = to_js(event);
        let before = dropped.swap(0, Relaxed);
        js.dropped_before = before as f64;
        // `Closing` once Node is shutting down: the event has nowhere to go.
        if callback.call(js, ThreadsafeFunctionCallMode::NonBlocking) == Status::QueueFull {
            dropped.fetch_add(before + 1, Relaxed);
        }
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
        dropped_before: 0.0,
    }
}

pub fn epoch_ms(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}
