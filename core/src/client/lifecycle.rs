//! The Vault lifecycle: every leased read is tracked and renewed at about two
//! thirds of its lease; when a renewal comes back shorter than asked (max_ttl
//! is near), the lease was revoked, or the token that owned it was replaced,
//! a replacement is read while the old lease is still valid and a `rotated`
//! event carries old and new lease ids and usernames. The client's token is
//! renewed the same way and, when it cannot be renewed any more, the client
//! logs in again and replaces the leases the old token owned.
//!
//! The arithmetic and the bookkeeping are here; `run_due` performs what is
//! due. Natively a background task calls it (holding only a weak reference,
//! so a dropped client stops it); on wasm, where no timer may outlive a
//! request, reads call it through the client's spawner.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use super::{Client, Inner};
use crate::error::{Error, ErrorKind};
use crate::events::EventKind;
use crate::policy::{backoff, later, scale};
use crate::reference::{CacheKey, Reference};
use crate::secret::{Fetched, Lease};

/// Renew at this fraction of a lease or token TTL.
const RENEW_AT: f64 = 2.0 / 3.0;
/// Never schedule lease work closer together than this.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Retries stop this long before expiry: past it, a renewal cannot help.
const EXPIRY_MARGIN: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Renew,
    Replace,
}

struct Tracked {
    reference: Reference,
    lease: Lease,
    username: Option<String>,
    /// What each renewal asks for: the lease's first duration.
    increment: Duration,
    expires_at: SystemTime,
    next_at: SystemTime,
    action: Action,
    failures: u32,
    busy: bool,
    /// The Vault login generation whose token read this lease.
    token_generation: u64,
}

#[derive(Default)]
struct State {
    leases: HashMap<CacheKey, Tracked>,
    token_failures: u32,
    token_retry_at: Option<SystemTime>,
    token_busy: bool,
    /// Replaced leases and when to revoke them (with `revoke_replaced_after`).
    retiring: Vec<(String, SystemTime)>,
    /// Leases that ran out (lease id, username): the next read of the key
    /// is reported as a rotation, so a watcher hears about it either way.
    ended: HashMap<CacheKey, (String, Option<String>)>,
    closed: bool,
}

#[derive(Default)]
pub(crate) struct Lifecycle {
    state: Mutex<State>,
}

impl Lifecycle {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Whether `key` holds, or held until it ran out, a tracked lease.
    pub(crate) fn knows(&self, key: &CacheKey) -> bool {
        let state = self.lock();
        state.leases.contains_key(key) || state.ended.contains_key(key)
    }

    /// When something is next due, if anything is tracked.
    /// Each lease held (its cache key as a reference) and when it expires.
    pub(crate) fn expiries(&self) -> Vec<(String, SystemTime)> {
        let state = self.lock();
        state
            .leases
            .iter()
            .map(|(key, t)| (key.to_string(), t.expires_at))
            .collect()
    }

    pub(crate) fn next_due(&self) -> Option<SystemTime> {
        let state = self.lock();
        let leases = state.leases.values().filter(|t| !t.busy).map(|t| t.next_at);
        let retiring = state.retiring.iter().map(|(_, at)| *at);
        leases.chain(retiring).chain(state.token_retry_at).min()
    }

    /// How long the native background task sleeps before its next round:
    /// until the next due work, at most `POLL` (so work added meanwhile is
    /// not missed), at least `MIN_SLEEP` (no busy loop).
    pub(crate) fn sleep_until_due(&self, now: SystemTime) -> Duration {
        sleep_until(self.next_due(), now)
    }
}

/// The background task's longest sleep between rounds.
const POLL: Duration = Duration::from_secs(1);
/// The background task's shortest sleep between rounds.
const MIN_SLEEP: Duration = Duration::from_millis(20);

/// Work that is already due runs after `MIN_SLEEP`, not after a whole `POLL`:
/// a renewal that came back shorter than asked schedules its replacement at
/// once, and with a grant of a second or less a `POLL` of delay let the
/// lease expire before it was replaced.
fn sleep_until(due: Option<SystemTime>, now: SystemTime) -> Duration {
    let wait = match due {
        Some(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        None => POLL,
    };
    wait.clamp(MIN_SLEEP, POLL)
}

/// The username of a credential, for rotation events (never the password).
fn username_of(value: &Fetched) -> Option<String> {
    let name = value.field("username").ok()?;
    String::from_utf8(name.to_vec()).ok()
}

impl Inner {
    /// Track a leased read; when it replaces a tracked lease of the same key,
    /// that is a rotation. After `close()` nothing is tracked: the lease id
    /// is returned for the caller to revoke.
    pub(super) fn track_lease(
        &self,
        key: &CacheKey,
        reference: &Reference,
        value: &Fetched,
    ) -> Option<String> {
        let lease = value.lease.clone()?;
        let now = self.rt.clock.now();
        let duration = Duration::from_secs(lease.duration_secs);
        let tracked = Tracked {
            reference: reference.clone(),
            username: username_of(value),
            increment: duration,
            expires_at: later(value.fetched_at, duration),
            next_at: self.renew_point(now, duration, lease.renewable),
            action: if lease.renewable {
                Action::Renew
            } else {
                Action::Replace
            },
            lease,
            failures: 0,
            busy: false,
            token_generation: self.vault.as_ref().map_or(0, |v| v.generation()),
        };
        let mut state = self.lifecycle.lock();
        if state.closed {
            return Some(tracked.lease.id);
        }
        let new_id = tracked.lease.id.clone();
        let new_username = tracked.username.clone();
        let replaced = state.leases.insert(key.clone(), tracked);
        let ended = state.ended.remove(key);
        let (old_id, old_username) = match (replaced, ended) {
            (Some(old), _) if old.lease.id != new_id => {
                if let Some(grace) = self.settings.revoke_replaced_after {
                    state
                        .retiring
                        .push((old.lease.id.clone(), later(now, grace)));
                }
                (old.lease.id, old.username)
            }
            (Some(_), _) => return None,
            (None, Some(ended)) => ended,
            (None, None) => return None,
        };
        let mut event = self.event(EventKind::Rotated, key);
        event.lease_id = Some(new_id);
        event.old_lease_id = Some(old_id);
        event.username = new_username;
        event.old_username = old_username;
        drop(state);
        self.emit(event);
        None
    }

    /// When to act on a lease of `duration` granted at `now`: renew at two
    /// thirds (jittered); a lease that cannot be renewed is replaced at 85 %.
    fn renew_point(&self, now: SystemTime, duration: Duration, renewable: bool) -> SystemTime {
        let fraction = if renewable { RENEW_AT } else { 0.85 };
        let at = self
            .rng
            .jitter(scale(duration, fraction), self.settings.ttl_jitter / 2.0);
        later(now, at.max(MIN_INTERVAL.min(duration / 2)))
    }

    /// Do whatever lease and token work is due now.
    pub(crate) async fn run_due(self: &Arc<Inner>) {
        let Some(vault) = self.vault.clone() else {
            return;
        };
        if self.lifecycle.is_closed() {
            return;
        }
        self.token_work(&vault).await;
        let now = self.rt.clock.now();
        self.replace_orphans(vault.generation(), now);
        let due: Vec<(CacheKey, Reference, Action, String, Duration, SystemTime)> = {
            let mut state = self.lifecycle.lock();
            state
                .leases
                .iter_mut()
                .filter(|(_, t)| !t.busy && t.next_at <= now)
                .map(|(k, t)| {
                    t.busy = true;
                    (
                        k.clone(),
                        t.reference.clone(),
                        t.action,
                        t.lease.id.clone(),
                        t.increment,
                        t.expires_at,
                    )
                })
                .collect()
        };
        for (key, reference, action, lease_id, increment, expires_at) in due {
            if now >= expires_at {
                self.expired(&key);
                continue;
            }
            match action {
                Action::Renew => self.renew(&vault, &key, &lease_id, increment).await,
                Action::Replace => self.replace(&key, &reference).await,
            }
        }
        let retiring: Vec<String> = {
            let mut state = self.lifecycle.lock();
            let (due, later): (Vec<_>, Vec<_>) =
                state.retiring.drain(..).partition(|(_, at)| *at <= now);
            state.retiring = later;
            due.into_iter().map(|(id, _)| id).collect()
        };
        for id in retiring {
            // Best effort: a lease that already ran out is fine too.
            let _ = vault.revoke_lease(&id).await;
        }
    }

    async fn renew(
        &self,
        vault: &crate::backends::vault::Vault,
        key: &CacheKey,
        lease_id: &str,
        increment: Duration,
    ) {
        Counters::bump(&self.counters.refreshes);
        self.counters.backend_call(crate::reference::Scheme::Vault);
        let result = vault.renew_lease(lease_id, increment).await;
        let now = self.rt.clock.now();
        let mut state = self.lifecycle.lock();
        let Some(t) = state.leases.get_mut(key).filter(|t| t.lease.id == lease_id) else {
            return;
        };
        t.busy = false;
        match result {
            Ok(renewal) => {
                t.failures = 0;
                t.expires_at = later(now, renewal.duration);
                self.cache.extend(key, t.expires_at);
                // Shorter than asked: max_ttl is near. Read the replacement
                // now, while the old lease still has `duration` to run.
                let truncated = renewal.duration + MIN_INTERVAL < t.increment || !renewal.renewable;
                if truncated {
                    t.action = Action::Replace;
                    t.next_at = now;
                } else {
                    t.next_at = self.renew_point(now, renewal.duration, true);
                }
                let mut event = self.event(EventKind::Renewed, key);
                event.lease_id = Some(lease_id.to_owned());
                event.username = t.username.clone();
                event.ttl_secs = Some(renewal.duration.as_secs());
                drop(state);
                self.emit(event);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::LeaseExpired | ErrorKind::AccessDenied | ErrorKind::Auth
                ) =>
            {
                // Revoked behind our back (or our token lost access): replace at once.
                t.action = Action::Replace;
                t.next_at = now;
                drop(state);
                self.lease_error(key, e);
            }
            Err(e) => {
                t.failures += 1;
                t.next_at = self.retry_point(now, t.failures, t.expires_at);
                drop(state);
                self.lease_error(key, e);
            }
        }
    }

    async fn replace(self: &Arc<Inner>, key: &CacheKey, reference: &Reference) {
        let client = Client {
            inner: self.clone(),
            identity: None,
        };
        // The read goes through the single-flight path; `stored` then calls
        // `track_lease`, which swaps the tracked lease and emits `rotated`.
        let result = client.shared_fetch(reference, key.clone()).await;
        let now = self.rt.clock.now();
        let mut state = self.lifecycle.lock();
        let Some(t) = state.leases.get_mut(key) else {
            return;
        };
        t.busy = false;
        if let Err(e) = result {
            t.failures += 1;
            t.next_at = self.retry_point(now, t.failures, t.expires_at);
            drop(state);
            self.lease_error(key, e);
        }
    }

    /// Leases read with a token that has since been replaced (a re-login by
    /// the lifecycle or by a read refused with an expired token) die with
    /// that token: replace them now, each once per login.
    fn replace_orphans(&self, generation: u64, now: SystemTime) {
        let mut state = self.lifecycle.lock();
        for t in state.leases.values_mut() {
            if t.token_generation < generation && !t.busy {
                t.token_generation = generation;
                t.action = Action::Replace;
                t.next_at = now;
            }
        }
    }

    /// Next retry after `failures` failures: capped exponential backoff with
    /// jitter, never past expiry: when the backoff would overshoot, one last
    /// try just before expiry, and after that nothing until the lease ends
    /// (no retry burst at the deadline).
    fn retry_point(&self, now: SystemTime, failures: u32, expires_at: SystemTime) -> SystemTime {
        let wait = self.retry_wait(failures);
        let last = expires_at.checked_sub(EXPIRY_MARGIN).unwrap_or(expires_at);
        if later(now, wait) <= last {
            later(now, wait)
        } else if last > later(now, EXPIRY_MARGIN / 2) {
            last
        } else {
            expires_at
        }
    }

    /// The token's next retry: like a lease's while it is valid; once it has
    /// expired (or its expiry is unknown), plain capped backoff — never a
    /// deadline in the past, which would retry every tick.
    fn token_retry_point(
        &self,
        now: SystemTime,
        failures: u32,
        expires_at: Option<SystemTime>,
    ) -> SystemTime {
        match expires_at {
            Some(at) if now < at => self.retry_point(now, failures, at),
            _ => later(now, self.retry_wait(failures)),
        }
    }

    fn retry_wait(&self, failures: u32) -> Duration {
        let s = &self.settings;
        self.rng
            .jitter(backoff(failures, s.retry_base, s.retry_max), s.ttl_jitter)
    }

    fn lease_error(&self, key: &CacheKey, error: Error) {
        Counters::bump(&self.counters.errors);
        let mut event = self.event(EventKind::Error, key);
        event.error = Some(error.for_reference(&key.to_string()));
        self.emit(event);
    }

    fn expired(&self, key: &CacheKey) {
        let old = {
            let mut state = self.lifecycle.lock();
            let old = state.leases.remove(key);
            if let Some(t) = &old {
                if state.ended.len() >= 1024 {
                    state.ended.clear();
                }
                state
                    .ended
                    .insert(key.clone(), (t.lease.id.clone(), t.username.clone()));
            }
            old
        };
        self.cache.remove(key);
        let mut event = self.event(EventKind::Expired, key);
        event.lease_id = old.as_ref().map(|t| t.lease.id.clone());
        event.username = old.and_then(|t| t.username);
        self.emit(event);
    }

    /// Renew the token at two thirds of its TTL; when it cannot be renewed
    /// (or comes back short: max TTL near) log in again if the auth method
    /// allows (`replace_orphans` then replaces the leases the old token
    /// owned — Vault revokes a token's leases with it). A fixed token's TTL
    /// is looked up first; a lookup that fails for any reason but a refusal
    /// is retried with backoff, so a Vault that was down at start-up does
    /// not turn renewal off for good.
    async fn token_work(&self, vault: &crate::backends::vault::Vault) {
        let now = self.rt.clock.now();
        let Some(info) = vault.token_info() else {
            return;
        };
        let expires_at =
            (info.known && !info.ttl.is_zero()).then(|| later(info.obtained_at, info.ttl));
        {
            let mut state = self.lifecycle.lock();
            let due = match state.token_retry_at {
                Some(at) => now >= at,
                None if !info.known => true,
                None => {
                    !info.ttl.is_zero() && now >= later(info.obtained_at, scale(info.ttl, RENEW_AT))
                }
            };
            if state.token_busy || !due {
                return;
            }
            state.token_busy = true;
        }
        let short = |granted: Duration| granted + MIN_INTERVAL < info.requested;
        let outcome = if !info.known {
            vault.lookup_token().await.map(|_| false)
        } else if info.renewable {
            match vault.renew_token().await {
                Ok(renewed) if !short(renewed.ttl) => Ok(true),
                Ok(_) | Err(_) if vault.can_login() => vault.login().await.map(|_| true),
                Ok(_) => Ok(true),
                Err(e) => Err(e),
            }
        } else if vault.can_login() {
            vault.login().await.map(|_| true)
        } else {
            Err(Error::new(
                ErrorKind::Auth,
                "the Vault token cannot be renewed and will expire",
            ))
        };
        let token_key = CacheKey {
            scheme: crate::reference::Scheme::Vault,
            path: "auth/token/self".into(),
            version: None,
            stage: None,
        };
        let mut state = self.lifecycle.lock();
        state.token_busy = false;
        match outcome {
            Ok(renewed) => {
                state.token_failures = 0;
                state.token_retry_at = None;
                drop(state);
                if renewed {
                    self.emit(self.event(EventKind::Renewed, &token_key));
                }
            }
            Err(e) => {
                state.token_failures += 1;
                let failures = state.token_failures;
                state.token_retry_at = Some(self.token_retry_point(now, failures, expires_at));
                drop(state);
                self.lease_error(&token_key, e);
            }
        }
    }

    /// Stop the lifecycle, drop every cached value and revoke the leases
    /// this client holds (when `revoke_on_close`), all at once under one
    /// deadline (the request timeout), not one timeout per lease. Returns
    /// how many were revoked.
    pub(super) async fn close(&self) -> usize {
        let ids: Vec<String> = {
            let mut guard = self.lifecycle.lock();
            let state = &mut *guard;
            state.closed = true;
            let leases = state.leases.drain().map(|(_, t)| t.lease.id);
            let retiring = state.retiring.drain(..).map(|(id, _)| id);
            leases.chain(retiring).collect()
        };
        self.cache.clear();
        let Some(vault) = self.vault.clone() else {
            return 0;
        };
        if !self.settings.revoke_on_close || ids.is_empty() {
            return 0;
        }
        let revokes = ids.iter().map(|id| vault.revoke_lease(id));
        let all = futures::future::join_all(revokes);
        match crate::runtime::with_timeout(&*self.rt.clock, self.settings.timeout, all).await {
            Some(results) => results.iter().filter(|r| r.is_ok()).count(),
            None => 0,
        }
    }
}

use crate::stats::Counters;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_work_runs_after_the_floor_not_a_whole_poll() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        // Already due (a renewal that came back shorter than asked): soon.
        let past = now - Duration::from_millis(300);
        assert_eq!(sleep_until(Some(past), now), MIN_SLEEP);
        assert_eq!(sleep_until(Some(now), now), MIN_SLEEP);
        // Due within the poll interval: exactly then.
        let soon = now + Duration::from_millis(400);
        assert_eq!(sleep_until(Some(soon), now), Duration::from_millis(400));
        // Far away or nothing tracked: poll.
        assert_eq!(sleep_until(Some(now + Duration::from_secs(90)), now), POLL);
        assert_eq!(sleep_until(None, now), POLL);
    }
}
