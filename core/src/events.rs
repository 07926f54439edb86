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
    /// A Vault lease (or the client's token) was renewed.
    Renewed,
    /// A leased secret was replaced by a new one before its lease ran out
    /// (max_ttl reached, lease revoked, or the parent token replaced).
    Rotated,
    /// A lease ran out before it could be renewed or replaced.
    Expired,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Refreshed => "refreshed",
            EventKind::Changed => "changed",
            EventKind::Error => "error",
            EventKind::Evicted => "evicted",
            EventKind::Renewed => "renewed",
            EventKind::Rotated => "rotated",
            EventKind::Expired => "expired",
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
    /// For lease events: the lease now in force, and the one it replaced.
    pub lease_id: Option<String>,
    pub old_lease_id: Option<String>,
    /// For rotations of credentials with a `username` field: new and old
    /// usernames (never passwords).
    pub username: Option<String>,
    pub old_username: Option<String>,
    /// For renewals: the lease's new duration in seconds.
    pub ttl_secs: Option<u64>,
}

impl Event {
    pub(crate) fn new(kind: EventKind, reference: String, at: SystemTime) -> Event {
        Event {
            kind,
            reference,
            old_version: None,
            new_version: None,
            error: None,
            at,
            lease_id: None,
            old_lease_id: None,
            username: None,
            old_username: None,
            ttl_secs: None,
        }
    }
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
        #[cfg(feature = "tracing")]
        trace(&event);
        let listeners = self.listeners.read().unwrap_or_else(|p| p.into_inner());
        for (_, listener) in listeners.iter() {
            listener(&event);
        }
    }
}

/// With the `tracing` feature every event is also a `tracing` event (target
/// `secretkit`): WARN for a failure (error, expired), INFO for a new value
/// (changed, rotated), DEBUG for the routine; its fields are the event's,
/// never a value.
#[cfg(feature = "tracing")]
fn trace(e: &Event) {
    macro_rules! at {
        ($level:expr) => {
            tracing::event!(
                target: "secretkit",
                $level,
                kind = e.kind.as_str(),
                reference = %e.reference,
                old_version = e.old_version.as_deref(),
                new_version = e.new_version.as_deref(),
                lease_id = e.lease_id.as_deref(),
                old_lease_id = e.old_lease_id.as_deref(),
                username = e.username.as_deref(),
                old_username = e.old_username.as_deref(),
                ttl_secs = e.ttl_secs,
                error = e.error.as_ref().map(|err| tracing::field::display(err)),
                "secretkit {}",
                e.kind.as_str()
            )
        };
    }
    match e.kind {
        EventKind::Error | EventKind::Expired => at!(tracing::Level::WARN),
        EventKind::Changed | EventKind::Rotated => at!(tracing::Level::INFO),
        _ => at!(tracing::Level::DEBUG),
    }
}
