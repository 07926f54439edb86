//! Core events delivered to Python callbacks.
//!
//! The core calls listeners on whatever tokio worker produced the event,
//! sometimes while it still holds a lock. Our listener only queues the event
//! on a channel; one daemon `threading.Thread` ("secretkit-events") takes
//! events off it and calls the callbacks with the GIL, in order. A callback
//! that raises is reported through `sys.unraisablehook` and the others go on.
//!
//! The channel is bounded (`MAX_QUEUED_EVENTS`): callbacks slower than the
//! events, or one that blocks, must not grow memory without limit. Past the
//! bound new events are dropped, never waited for (that would stall a tokio
//! worker), and counted per subscription; before its next event is delivered
//! the count is logged as a warning on the `secretkit` logger.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple};

use crate::errors::to_py;

/// One cache event. Events name references and versions, never values.
#[pyclass(frozen, get_all, name = "Event", module = "secretkit")]
pub struct Event {
    /// "created", "refreshed", "changed", "error", "evicted", or for Vault
    /// leases "renewed", "rotated", "expired".
    kind: &'static str,
    /// The cache key as a reference (`scheme:path[?version=…&stage=…]`).
    reference: String,
    old_version: Option<String>,
    new_version: Option<String>,
    /// The `SecretkitError` of an `error` event, else None.
    error: Option<Py<PyAny>>,
    /// Seconds since the Unix epoch.
    at: f64,
    /// Lease events: the lease now in force and the one it replaced.
    lease_id: Option<String>,
    old_lease_id: Option<String>,
    /// Rotations of credentials with a username: new and old usernames
    /// (never passwords).
    username: Option<String>,
    old_username: Option<String>,
    /// Renewals: the lease's new duration in seconds.
    ttl_secs: Option<u64>,
}

#[pymethods]
impl Event {
    /// Python-style: `Event(kind='changed', reference='ssm:/x', old_version='1', new_version='2')`,
    /// plus the lease fields that are set.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let repr =
            |v: Option<&str>| -> PyResult<String> { Ok(v.into_pyobject(py)?.repr()?.to_string()) };
        let mut text = format!(
            "Event(kind={}, reference={}, old_version={}, new_version={}",
            repr(Some(self.kind))?,
            repr(Some(&self.reference))?,
            repr(self.old_version.as_deref())?,
            repr(self.new_version.as_deref())?,
        );
        for (name, value) in [
            ("lease_id", &self.lease_id),
            ("old_lease_id", &self.old_lease_id),
            ("username", &self.username),
            ("old_username", &self.old_username),
        ] {
            if value.is_some() {
                text += &format!(", {name}={}", repr(value.as_deref())?);
            }
        }
        if let Some(ttl) = self.ttl_secs {
            text += &format!(", ttl_secs={ttl}");
        }
        text.push(')');
        Ok(text)
    }
}

impl Event {
    fn new(py: Python<'_>, e: &secretkit::Event) -> Event {
        Event {
            kind: e.kind.as_str(),
            reference: e.reference.clone(),
            old_version: e.old_version.clone(),
            new_version: e.new_version.clone(),
            error: e
                .error
                .clone()
                .map(|err| to_py(err).into_value(py).into_any()),
            at: e
                .at
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            lease_id: e.lease_id.clone(),
            old_lease_id: e.old_lease_id.clone(),
            username: e.username.clone(),
            old_username: e.old_username.clone(),
            ttl_secs: e.ttl_secs,
        }
    }
}

/// A subscribed callback; `active` turns false on unsubscribe so events
/// already queued for it are dropped.
pub struct Subscription {
    callback: Py<PyAny>,
    active: AtomicBool,
    /// Events dropped for this subscription since the last one delivered.
    dropped: AtomicU64,
}

/// Most events waiting for the dispatcher thread.
pub const MAX_QUEUED_EVENTS: usize = 10_000;

impl Subscription {
    pub fn new(callback: Py<PyAny>) -> Arc<Subscription> {
        Arc::new(Subscription {
            callback,
            active: AtomicBool::new(true),
            dropped: AtomicU64::new(0),
        })
    }

    pub fn cancel(&self) {
        self.active.store(false, Relaxed);
    }

    pub fn callback(&self) -> &Py<PyAny> {
        &self.callback
    }

    fn deliver(&self, py: Python<'_>, event: &secretkit::Event) {
        if !self.active.load(Relaxed) {
            return;
        }
        let callback = self.callback.bind(py);
        let dropped = self.dropped.swap(0, Relaxed);
        if dropped > 0 {
            let logged =
                py.import("logging").and_then(|logging| {
                    logging.call_method1("getLogger", ("secretkit",))?.call_method1(
                    "warning",
                    (
                        "%d secretkit events were dropped: more than %d waited for the callbacks",
                        dropped,
                        MAX_QUEUED_EVENTS,
                    ),
                )
                });
            if let Err(err) = logged {
                err.write_unraisable(py, Some(callback));
            }
        }
        let called = Bound::new(py, Event::new(py, event)).and_then(|e| callback.call1((e,)));
        if let Err(err) = called {
            err.write_unraisable(py, Some(callback));
        }
    }
}

pub enum Dispatch {
    Event(Arc<Subscription>, Box<secretkit::Event>),
    /// A flushed batch of audit records for the Python sinks (audit.rs).
    Audit(Arc<crate::audit::Sink>, Vec<secretkit::AuditRecord>),
    Stop,
}

/// Where listeners queue events for the dispatcher thread.
pub type Queue = SyncSender<Dispatch>;

/// The channel to the dispatcher thread, once it is running, and the thread.
/// Both are taken only with the GIL held and never across a call into
/// Python, so no other thread holds them when `os.fork` runs.
static QUEUE: Mutex<Option<Queue>> = Mutex::new(None);
static THREAD: Mutex<Option<Py<PyAny>>> = Mutex::new(None);

pub type Listener = Box<dyn Fn(&secretkit::Event) + Send + Sync>;

/// The core listener for one subscription: queue the event, nothing more.
pub fn listener(queue: &Queue, subscription: Arc<Subscription>) -> Listener {
    let sender = queue.clone();
    Box::new(move |event: &secretkit::Event| {
        let sent = sender.try_send(Dispatch::Event(
            subscription.clone(),
            Box::new(event.clone()),
        ));
        // Disconnected: the dispatcher stopped at interpreter exit.
        if let Err(TrySendError::Full(_)) = sent {
            subscription.dropped.fetch_add(1, Relaxed);
        }
    })
}

/// The queue of the dispatcher thread, starting the thread on first use (in
/// this process: see `after_fork_in_child`). Starting a thread runs Python
/// code that releases the GIL, so no lock is held meanwhile: a thread that
/// holds the GIL and waits for the lock would deadlock us, and a fork from
/// another thread would leave the lock held in the child forever.
pub fn queue(py: Python<'_>) -> PyResult<Queue> {
    if let Some(sender) = QUEUE.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        return Ok(sender.clone());
    }
    let (sender, receiver) = sync_channel(MAX_QUEUED_EVENTS);
    if crate::bridge::closing() {
        return Ok(sender); // at exit: events have nowhere to go
    }
    let receiver = Mutex::new(Some(receiver));
    let run = PyCFunction::new_closure(py, None, None, move |args: &Bound<'_, PyTuple>, _| {
        if let Some(receiver) = receiver.lock().unwrap_or_else(|p| p.into_inner()).take() {
            run(args.py(), receiver);
        }
    })?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("target", run)?;
    kwargs.set_item("name", "secretkit-events")?;
    kwargs.set_item("daemon", true)?;
    let thread = py
        .import("threading")?
        .getattr("Thread")?
        .call((), Some(&kwargs))?;
    thread.call_method0("start")?;
    let mut queue = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(started) = queue.as_ref() {
        // Another thread started one meanwhile: ours stops at once.
        let _ = sender.send(Dispatch::Stop);
        return Ok(started.clone());
    }
    *queue = Some(sender.clone());
    *THREAD.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread.unbind());
    Ok(sender)
}

/// In a forked child the dispatcher thread does not exist: events sent to
/// its channel would pile up unread. Forget the channel (dropping the sender
/// could wait on a lock a vanished parent thread held) and the thread; the
/// next subscription (or a client rebuilt for this process) starts a new one.
pub fn after_fork_in_child() {
    std::mem::forget(QUEUE.lock().unwrap_or_else(|p| p.into_inner()).take());
    std::mem::forget(THREAD.lock().unwrap_or_else(|p| p.into_inner()).take());
}

/// The dispatcher thread's body: wait without the GIL, deliver with it.
fn run(py: Python<'_>, mut receiver: Receiver<Dispatch>) {
    loop {
        // The receiver travels into the GIL-free closure and back (it is not Sync).
        let (back, next) = py.detach(move || {
            let next = receiver.recv();
            (receiver, next)
        });
        receiver = back;
        match next {
            Ok(Dispatch::Event(subscription, event)) => subscription.deliver(py, &event),
            Ok(Dispatch::Audit(sink, records)) => sink.deliver(py, &records),
            Ok(Dispatch::Stop) | Err(_) => return,
        }
    }
}

/// At exit: let the dispatcher finish what is queued and stop, so no thread
/// is waiting inside Rust when the interpreter finalizes.
pub fn stop_dispatcher(py: Python<'_>) -> PyResult<()> {
    let sender = QUEUE.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(sender) = sender {
        // Without the GIL, so a full queue can drain meanwhile; a callback
        // that never returns cannot hold up the exit past 2 s.
        py.detach(move || {
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut stop = Dispatch::Stop;
            while let Err(TrySendError::Full(back)) = sender.try_send(stop) {
                if Instant::now() >= deadline {
                    break;
                }
                stop = back;
                std::thread::sleep(Duration::from_millis(5));
            }
        });
    }
    let thread = THREAD.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(thread) = thread {
        thread.call_method1(py, "join", (2.0,))?;
    }
    Ok(())
}
