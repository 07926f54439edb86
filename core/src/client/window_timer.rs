//! Ends hit windows by moving the generation, so that a binding may repeat
//! an answer on the generation alone, without reading a clock on each hit
//! (Node: a clock read costs about as much as the rest of the hit).
//!
//! Natively only, where the client has a background runtime: one task sleeps
//! until the earliest end of a window handed out since the last bump
//! (`SLACK` early, so timer latency cannot carry a repeat past the
//! refresh-ahead point, which may be the expiry), then bumps. A bump ends
//! every window, so only the earliest end is kept. The task holds neither
//! the client nor the sender: dropping the client ends it.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use futures::channel::mpsc::{unbounded, UnboundedSender};
use futures::future::{select, Either};
use futures::StreamExt;

use crate::cache::Generation;
use crate::runtime::{Clock, Spawn};

/// Windows end this much before the time the core gave.
const SLACK: Duration = Duration::from_millis(10);
/// With no window open the task still wakes now and then (it costs nothing).
const IDLE: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(crate) struct WindowTimer {
    /// The earliest window end (less `SLACK`) not yet ended by a bump.
    next: Arc<Mutex<Option<SystemTime>>>,
    /// Wakes the task when an earlier end is scheduled; set once it runs.
    wake: OnceLock<UnboundedSender<()>>,
}

impl WindowTimer {
    /// Start the task, once; whether it runs.
    pub(crate) fn start(
        &self,
        clock: &Arc<dyn Clock>,
        spawner: Option<&Arc<dyn Spawn>>,
        generation: &Arc<Generation>,
    ) -> bool {
        if cfg!(target_arch = "wasm32") {
            return false;
        }
        let Some(spawner) = spawner else {
            return false;
        };
        self.wake.get_or_init(|| {
            let (tx, rx) = unbounded();
            let task = run(self.next.clone(), rx, clock.clone(), generation.clone());
            spawner.spawn(Box::pin(task));
            tx
        });
        true
    }

    /// A window handed out ends at `until` (nothing to do for an empty one,
    /// which a binding does not repeat, or before the task runs).
    pub(crate) fn schedule(&self, until: SystemTime, now: SystemTime) {
        let Some(wake) = self.wake.get() else {
            return;
        };
        if until <= now {
            return;
        }
        let end = until.checked_sub(SLACK).unwrap_or(now);
        let mut next = lock(&self.next);
        if next.is_none_or(|at| end < at) {
            *next = Some(end);
            drop(next);
            let _ = wake.unbounded_send(());
        }
    }
}

fn lock(next: &Mutex<Option<SystemTime>>) -> std::sync::MutexGuard<'_, Option<SystemTime>> {
    next.lock().unwrap_or_else(|p| p.into_inner())
}

async fn run(
    next: Arc<Mutex<Option<SystemTime>>>,
    mut wake: futures::channel::mpsc::UnboundedReceiver<()>,
    clock: Arc<dyn Clock>,
    generation: Arc<Generation>,
) {
    loop {
        let now = clock.now();
        let wait = {
            let mut at = lock(&next);
            match *at {
                Some(end) if end <= now => {
                    // Clear before bumping: a window scheduled in between is
                    // either ended by this bump or stays scheduled.
                    *at = None;
                    drop(at);
                    generation.bump();
                    continue;
                }
                Some(end) => end.duration_since(now).unwrap_or_default(),
                None => IDLE,
            }
        };
        if let Either::Right((None, _)) = select(clock.sleep(wait), wake.next()).await {
            return; // the client was dropped
        }
    }
}
