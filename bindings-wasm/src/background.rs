//! Events and background work on the JS event loop.
//!
//! Why a queue: the core calls its listeners synchronously, on whatever task
//! produced the event, and wants them `Send + Sync`; a JS function
//! (`js_sys::Function`) is neither, and the workspace denies the `unsafe` it
//! would take to pretend otherwise. So the core listener only pushes a copy of
//! the event into a `Mutex<Vec<Event>>` (`Send`), and the binding delivers the
//! queue to JS (`deliver`) when an operation's promise is about to settle and
//! when a background task finishes. That covers every event: they come from
//! backend reads, which run inside an operation or a background task (wasm32
//! has one thread and no other executor). The JS handler of each client
//! (and each `watch` callback) lives in a thread-local map keyed by client
//! id, which is what lets the `Send` spawner reach it.
//!
//! Why a spawner that tracks: refresh ahead, and the Vault lease work a read
//! finds due (the core's `drive_lifecycle`), start tasks the caller does not
//! await. An edge runtime ends a request's work when its response is sent
//! unless told to wait (`ctx.waitUntil`), so `backgroundWork()` hands out a
//! promise for every task started so far.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::channel::oneshot;
use futures::future::{FutureExt, Shared};
use js_sys::{Array, Date, Function, Object, Reflect};
use secretkit::{BoxFuture, Client, Event, Spawn};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;

use crate::error::to_js;

type Done = Shared<oneshot::Receiver<()>>;

/// Who a queued event is for: the client's handler, or one `watch` callback.
enum Target {
    All,
    Watch(u64),
}

/// What a client shares with the core's listener and spawner (all `Send`).
pub struct Background {
    client: u32,
    /// A JS handler is set: only then are events for it queued.
    listening: AtomicBool,
    events: Mutex<Vec<(Target, Event)>>,
    next_watch: AtomicU64,
    /// Background tasks not finished yet, by task number.
    tasks: Mutex<(u64, Vec<(u64, Done)>)>,
}

thread_local! {
    /// Client id → its JS event handler (called with an array of events).
    static HANDLERS: RefCell<HashMap<u32, Function>> = RefCell::new(HashMap::new());
    /// (client id, watch id) → the `watch` callback (called with one event)
    /// and the core listener id to unsubscribe.
    static WATCHERS: RefCell<HashMap<(u32, u64), (Function, u64)>> = RefCell::new(HashMap::new());
}

static NEXT_CLIENT: AtomicU32 = AtomicU32::new(1);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Background {
    pub fn new() -> Arc<Background> {
        Arc::new(Background {
            client: NEXT_CLIENT.fetch_add(1, Ordering::Relaxed),
            listening: AtomicBool::new(false),
            events: Mutex::new(Vec::new()),
            next_watch: AtomicU64::new(1),
            tasks: Mutex::new((0, Vec::new())),
        })
    }

    /// The core listener's body: keep the event for `deliver`.
    pub fn queue(&self, event: &Event) {
        if self.listening.load(Ordering::Relaxed) {
            lock(&self.events).push((Target::All, event.clone()));
        }
    }

    /// The core's `watch` on `reference`, delivered to `callback` through the
    /// queue like every other event; returns the id for `unwatch`.
    pub fn watch(
        self: &Arc<Self>,
        client: &Client,
        reference: &str,
        callback: Function,
    ) -> secretkit::Result<u64> {
        let id = self.next_watch.fetch_add(1, Ordering::Relaxed);
        let background = self.clone();
        let listener = client.watch(reference, move |event| {
            lock(&background.events).push((Target::Watch(id), event.clone()));
        })?;
        WATCHERS.with_borrow_mut(|w| w.insert((self.client, id), (callback, listener)));
        Ok(id)
    }

    /// Stop a `watch`; unknown ids (already stopped) are ignored.
    pub fn unwatch(&self, client: &Client, id: u64) {
        if let Some((_, listener)) = WATCHERS.with_borrow_mut(|w| w.remove(&(self.client, id))) {
            client.unsubscribe(listener);
        }
    }

    /// Set (or with `None` remove) the JS function events are delivered to.
    pub fn set_handler(&self, handler: Option<Function>) {
        self.listening.store(handler.is_some(), Ordering::Relaxed);
        HANDLERS.with_borrow_mut(|handlers| match handler {
            Some(f) => drop(handlers.insert(self.client, f)),
            None => drop(handlers.remove(&self.client)),
        });
        if !self.listening.load(Ordering::Relaxed) {
            lock(&self.events).retain(|(target, _)| matches!(target, Target::Watch(_)));
        }
    }

    /// Hand the queued events to the JS handler. The handler (js/api.mjs)
    /// calls each callback in a try/catch, so a throwing callback cannot
    /// leave the client half way; its Result is ignored for the same reason.
    /// `watch` callbacks get their events after the handler got the batch.
    pub fn deliver(&self) {
        let events = std::mem::take(&mut *lock(&self.events));
        if events.is_empty() {
            return;
        }
        // Functions are cloned out of the maps first: a callback may set or
        // remove handlers and watches.
        let batch: Array = events
            .iter()
            .filter(|(target, _)| matches!(target, Target::All))
            .map(|(_, event)| event_object(event))
            .collect();
        if batch.length() > 0 {
            if let Some(handler) = HANDLERS.with_borrow(|h| h.get(&self.client).cloned()) {
                let _ = handler.call1(&JsValue::UNDEFINED, &batch);
            }
        }
        for (target, event) in &events {
            let Target::Watch(id) = target else { continue };
            let callback =
                WATCHERS.with_borrow(|w| w.get(&(self.client, *id)).map(|e| e.0.clone()));
            if let Some(callback) = callback {
                let _ = callback.call1(&JsValue::UNDEFINED, &event_object(event));
            }
        }
    }

    /// Futures that complete as each task started so far finishes.
    pub fn pending(&self) -> Vec<Done> {
        lock(&self.tasks).1.iter().map(|(_, d)| d.clone()).collect()
    }

    fn track(&self, done: Done) -> u64 {
        let mut tasks = lock(&self.tasks);
        tasks.0 += 1;
        let id = tasks.0;
        tasks.1.push((id, done));
        id
    }

    fn untrack(&self, id: u64) {
        lock(&self.tasks).1.retain(|(i, _)| *i != id);
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // try_with: nothing to do once the thread's storage is gone.
        let _ = HANDLERS.try_with(|h| h.borrow_mut().remove(&self.client));
        let _ = WATCHERS.try_with(|w| w.borrow_mut().retain(|(c, _), _| *c != self.client));
    }
}

/// The core's `Spawn`: runs each task on the JS event loop and tracks it
/// until it has finished and its events are delivered.
pub struct LocalSpawner(pub Arc<Background>);

impl Spawn for LocalSpawner {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        let (finished, done) = oneshot::channel::<()>();
        let background = self.0.clone();
        let id = background.track(done.shared());
        spawn_local(async move {
            task.await;
            background.untrack(id);
            background.deliver();
            drop(finished);
        });
    }
}

/// `{ kind, reference, oldVersion, newVersion, error, at, leaseId,
/// oldLeaseId, username, oldUsername, ttlSecs }` (absent ones `null`);
/// `error` is the native error object, which js/api.mjs turns into a
/// SecretkitError.
fn event_object(event: &Event) -> JsValue {
    let out = Object::new();
    let text = |v: &Option<String>| v.as_deref().map_or(JsValue::NULL, JsValue::from_str);
    let millis = event
        .at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64);
    let fields = [
        ("kind", JsValue::from_str(event.kind.as_str())),
        ("reference", JsValue::from_str(&event.reference)),
        ("oldVersion", text(&event.old_version)),
        ("newVersion", text(&event.new_version)),
        ("error", event.error.as_ref().map_or(JsValue::NULL, to_js)),
        ("at", Date::new(&JsValue::from_f64(millis)).into()),
        ("leaseId", text(&event.lease_id)),
        ("oldLeaseId", text(&event.old_lease_id)),
        ("username", text(&event.username)),
        ("oldUsername", text(&event.old_username)),
        (
            "ttlSecs",
            event
                .ttl_secs
                .map_or(JsValue::NULL, |s| JsValue::from_f64(s as f64)),
        ),
    ];
    for (key, value) in fields {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&out, &key.into(), &value);
    }
    out.into()
}
