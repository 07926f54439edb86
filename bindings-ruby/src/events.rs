//! Events for Ruby to pull. A core listener runs on whatever thread made the
//! event (often a runtime thread); calling into Ruby from there would need
//! the GVL. Instead each subscription queues events (bounded: when Ruby does
//! not keep up, the newest are dropped and counted in the next event's
//! `dropped_before`), and a Ruby thread awaits `EventStream::next`, which
//! releases the GVL while it waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use tokio::sync::mpsc;

use crate::error::NativeError;
use crate::runtime::ProcessLocal;
use crate::Result;

/// Most events waiting for Ruby, per subscription.
pub const MAX_QUEUED_EVENTS: usize = 10_000;

/// A core `Event` as data; names references, versions, lease ids and
/// usernames, never a value.
#[derive(uniffi::Record)]
pub struct NativeEvent {
    pub kind: String,
    pub reference: String,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    pub lease_id: Option<String>,
    pub old_lease_id: Option<String>,
    pub username: Option<String>,
    pub old_username: Option<String>,
    /// For renewals: the lease's new duration in seconds.
    pub ttl_secs: Option<u64>,
    pub error: Option<NativeError>,
    /// Seconds since the epoch.
    pub at: f64,
    /// Events dropped (queue full) since the one before this.
    pub dropped_before: u64,
}

/// Leaked, not dropped, in a forked child (`runtime::ProcessLocal`).
#[derive(uniffi::Object)]
pub struct EventStream {
    inner: ProcessLocal<Stream>,
}

struct Stream {
    client: secretkit::Client,
    id: u64,
    queue: tokio::sync::Mutex<mpsc::Receiver<NativeEvent>>,
    dropped: Arc<AtomicU64>,
    /// Taken by `close`: dropping it ends `next`.
    closer: Mutex<Option<mpsc::Sender<NativeEvent>>>,
}

/// What a subscription's listener needs: the queue's sender and the count.
type Sink = (mpsc::Sender<NativeEvent>, Arc<AtomicU64>);

fn sink() -> (Sink, mpsc::Receiver<NativeEvent>) {
    let (tx, rx) = mpsc::channel(MAX_QUEUED_EVENTS);
    ((tx, Arc::new(AtomicU64::new(0))), rx)
}

fn listener((tx, dropped): Sink) -> impl Fn(&secretkit::Event) + Send + Sync + 'static {
    move |event| {
        let mut e = to_ruby(event);
        e.dropped_before = dropped.swap(0, Ordering::Relaxed);
        if let Err(mpsc::error::TrySendError::Full(e)) = tx.try_send(e) {
            dropped.fetch_add(1 + e.dropped_before, Ordering::Relaxed);
        }
    }
}

impl EventStream {
    pub fn subscribe(client: &secretkit::Client) -> Arc<EventStream> {
        let (sink, rx) = sink();
        let closer = sink.0.clone();
        let dropped = sink.1.clone();
        let id = client.subscribe(listener(sink));
        Self::new(client, id, rx, dropped, closer)
    }

    pub fn watch(client: &secretkit::Client, reference: &str) -> Result<Arc<EventStream>> {
        let (sink, rx) = sink();
        let closer = sink.0.clone();
        let dropped = sink.1.clone();
        let id = client.watch(reference, listener(sink))?;
        Ok(Self::new(client, id, rx, dropped, closer))
    }

    fn new(
        client: &secretkit::Client,
        id: u64,
        rx: mpsc::Receiver<NativeEvent>,
        dropped: Arc<AtomicU64>,
        closer: mpsc::Sender<NativeEvent>,
    ) -> Arc<EventStream> {
        Arc::new(EventStream {
            inner: ProcessLocal::new(Stream {
                client: client.clone(),
                id,
                queue: tokio::sync::Mutex::new(rx),
                dropped,
                closer: Mutex::new(Some(closer)),
            }),
        })
    }
}

#[uniffi::export]
impl EventStream {
    /// The next event; `None` once the stream is closed and drained.
    pub async fn next(&self) -> Option<NativeEvent> {
        self.inner.queue.lock().await.recv().await
    }

    /// Stop listening; a waiting `next` ends with `None`.
    pub fn close(&self) {
        let stream = &self.inner;
        stream.client.unsubscribe(stream.id);
        stream
            .closer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    /// Events dropped because the queue was full and not yet reported.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.client.unsubscribe(self.id);
    }
}

fn to_ruby(event: &secretkit::Event) -> NativeEvent {
    NativeEvent {
        kind: event.kind.as_str().to_owned(),
        reference: event.reference.clone(),
        old_version: event.old_version.clone(),
        new_version: event.new_version.clone(),
        lease_id: event.lease_id.clone(),
        old_lease_id: event.old_lease_id.clone(),
        username: event.username.clone(),
        old_username: event.old_username.clone(),
        ttl_secs: event.ttl_secs,
        error: event.error.clone().map(NativeError::from),
        at: event
            .at
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
        dropped_before: 0,
    }
}
