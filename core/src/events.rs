//! The one event stream: what the cache (and later the lease manager) did,
//! for the application to log, count or react to. Events carry references and
//! version ids, never values.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// First value read for a key.
    Created,
    /// Re-read with the same version.
    Refreshed,
    /// Re-read with a new version (`old_version` → `new_version`).
    Changed,
    /// A read failed; a stale value may still be served.
    Error,
    /// Dropped to keep the cache within its size.
    Evicted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Refreshed => "refreshed",
            EventKind::Changed => "changed",
            EventKind::Error => "error",
            EventKind::Evicted => "evicted",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    /// The cache key as a reference (`scheme:path[?version=…&stage=…]`).
    pub reference: String,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    pub error: Option<Error>,
    pub at: SystemTime,
}

pub type Listener = Arc<dyn Fn(&Event) + Send + Sync>;

/// Listeners are called synchronously by whichever task produced the event,
/// so they must be quick and must not block (bindings hand events to their
/// own event loop).
#[derive(Default)]
pub(crate) struct Listeners {
    listeners: RwLock<Vec<(u64, Listener)>>,
}

impl Listeners {
    pub(crate) fn add(&self, id: u64, listener: Listener) {
        self.listeners
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, listener));
    }

    pub(crate) fn remove(&self, id: u64) {
        self.listeners
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(i, _)| *i != id);
    }

    pub(crate) fn emit(&self, event: Event) {
        let listeners = self.listeners.read().unwrap_or_else(|p| p.into_inner());
        for (_, listener) in listeners.iter() {
            listener(&event);
        }
    }
}
