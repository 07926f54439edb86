//! One throttling-aware rate limiter per backend, shared by every key of a
//! client (FLEET.md has the model and the measurements).
//!
//! A backend's limit is shared by a whole fleet (SSM: 40 TPS per account
//! and region by default), so no client knows its share in advance. The
//! limiter therefore lets calls through freely until the backend throttles,
//! then holds that backend's calls to half the rate this client was
//! calling at (multiplicative decrease, as TCP and the AWS SDKs' adaptive
//! retry mode do), raising it again with every answer that is not a
//! throttle (additive increase), and stepping aside once it is well above
//! the rate that was throttled. A `Retry-After` on a throttling answer
//! pauses every call to that backend until then, not only the one retried.
//! Waits come out of the read's own budget (`timeout`): a read whose turn
//! comes too late fails as `throttled`, like the backend's answer would,
//! and a cached value is served stale meanwhile.
//!
//! The rates are measured in calls per read budget (`timeout`), so that a
//! throttled client can still make `MIN_CALLS` calls within one read's
//! budget, and so that the limiter keeps its shape when every duration is
//! scaled, as FLEET.md's simulation does.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::policy::later;
use crate::reference::Scheme;

/// The slowest a throttled backend is called: this many calls per read
/// budget (0.5 a second at the default 10 s, the AWS SDKs' adaptive retry
/// floor). Lower than what a client needs for its cold keys on purpose: a
/// throttled fleet of N clients still asks N × this of the backend, so the
/// floor is what bounds a throttled fleet's load (FLEET.md).
const MIN_CALLS: f64 = 5.0;
/// How fast the rate recovers: each answer that is not a throttle adds
/// RECOVERY × unit² / rate, so from a throttled rate r back to 4r takes
/// 7.5 (r / unit)² / RECOVERY answers (400 for r = 4/s at a 10 s budget).
const RECOVERY: f64 = 30.0;
/// The limiter steps aside above this many times the throttled rate.
const RECOVERED: f64 = 4.0;

/// One limiter per remote backend.
pub(crate) struct Limiters {
    ssm: Limiter,
    asm: Limiter,
    vault: Limiter,
}

impl Limiters {
    /// Limiters for reads with this budget.
    pub(crate) fn new(timeout: Duration) -> Limiters {
        let unit = 1.0 / timeout.as_secs_f64().max(0.001);
        let limiter = || Limiter {
            state: Mutex::default(),
            unit,
        };
        Limiters {
            ssm: limiter(),
            asm: limiter(),
            vault: limiter(),
        }
    }

    /// The limiter of a remote backend (`None` for `env:` and `file:`).
    pub(crate) fn of(&self, scheme: Scheme) -> Option<&Limiter> {
        match scheme {
            Scheme::Ssm => Some(&self.ssm),
            Scheme::Asm => Some(&self.asm),
            Scheme::Vault => Some(&self.vault),
            Scheme::Env | Scheme::File => None,
        }
    }
}

pub(crate) struct Limiter {
    state: Mutex<State>,
    /// One call per read budget, in calls per second.
    unit: f64,
}

#[derive(Default)]
struct State {
    /// Calls per second allowed, once the backend has throttled.
    rate: Option<f64>,
    /// The rate set at the last throttle (recovery is measured against it).
    throttled_at: f64,
    /// Calls that may start now; negative when calls already hold later turns.
    tokens: f64,
    updated: Option<SystemTime>,
    /// No call starts before this (a `Retry-After`).
    paused_until: Option<SystemTime>,
    /// Calls started in the current and the previous one-second window: the
    /// rate this client was calling at when a throttle comes.
    window: Option<SystemTime>,
    this_window: u32,
    last_window: u32,
}

impl Limiter {
    /// Takes this call's turn: how long to wait before making it (zero: now).
    /// A caller that cannot wait longer than `within` gets `Err(wait)` and
    /// no turn: a read that gives up must not push everyone's turn later.
    pub(crate) fn turn(&self, now: SystemTime, within: Duration) -> Result<Duration, Duration> {
        let mut s = self.lock();
        let paused = s
            .paused_until
            .and_then(|until| until.duration_since(now).ok())
            .unwrap_or_default();
        let Some(rate) = s.rate else {
            return if paused > within {
                Err(paused)
            } else {
                s.count_call(now);
                Ok(paused)
            };
        };
        s.refill(now, rate);
        let queued = if s.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - s.tokens) / rate)
        };
        let wait = queued.max(paused);
        if wait > within {
            return Err(wait);
        }
        s.tokens -= 1.0;
        s.count_call(now);
        Ok(wait)
    }

    /// What a call's answer says: a throttle halves the rate, any other
    /// answer (an error too) says the backend takes this rate.
    pub(crate) fn answered(&self, now: SystemTime, error: Option<&crate::error::Error>) {
        match error {
            Some(e) if e.kind() == crate::error::ErrorKind::Throttled => {
                self.throttled(now, e.retry_after())
            }
            _ => self.succeeded(),
        }
    }

    /// The backend throttled a call: halve the rate, and pause every call
    /// for `retry_after` when the answer gave one.
    pub(crate) fn throttled(&self, now: SystemTime, retry_after: Option<Duration>) {
        let mut s = self.lock();
        let min = MIN_CALLS * self.unit;
        let observed = f64::from(s.this_window.max(s.last_window));
        let rate = (s.rate.unwrap_or(observed).min(observed.max(min)) / 2.0).max(min);
        s.refill(now, rate);
        s.rate = Some(rate);
        s.throttled_at = rate;
        s.tokens = s.tokens.min(0.0);
        if let Some(wait) = retry_after {
            let until = later(now, wait);
            s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
        }
    }

    /// An answer that was not a throttle: raise the rate (by RECOVERY ×
    /// unit² / rate: about one unit per budget of calls at the rate), until
    /// the limiter steps aside.
    pub(crate) fn succeeded(&self) {
        let mut s = self.lock();
        if let Some(rate) = s.rate {
            let raised = rate + RECOVERY * self.unit * self.unit / rate;
            s.rate = (raised < s.throttled_at * RECOVERED).then_some(raised);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The rate in force (`None`: unlimited), for tests.
    #[cfg(test)]
    fn rate(&self) -> Option<f64> {
        self.lock().rate
    }
}

impl State {
    fn refill(&mut self, now: SystemTime, rate: f64) {
        let elapsed = self
            .updated
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default();
        // A second's worth of calls may burst after a quiet spell.
        self.tokens = (self.tokens + elapsed.as_secs_f64() * rate).min(rate.max(1.0));
        self.updated = Some(now);
    }

    fn count_call(&mut self, now: SystemTime) {
        let start = *self.window.get_or_insert(now);
        match now.duration_since(start).map(|d| d.as_secs()) {
            Ok(0) => {}
            Ok(1) => {
                self.last_window = self.this_window;
                self.this_window = 0;
                self.window = Some(later(start, Duration::from_secs(1)));
            }
            _ => {
                self.last_window = 0;
                self.this_window = 0;
                self.window = Some(now);
            }
        }
        self.this_window += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A limiter for reads with the default 10 s budget: at least 0.5 calls
    /// a second once throttled.
    fn limiter() -> Limiter {
        Limiters::new(Duration::from_secs(10)).ssm
    }

    const FOREVER: Duration = Duration::from_secs(3600);

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_000_000 + ms)
    }

    #[test]
    fn calls_go_freely_until_the_backend_throttles() {
        let l = limiter();
        for i in 0..100 {
            assert_eq!(l.turn(at(i), FOREVER).unwrap(), Duration::ZERO);
        }
        assert_eq!(l.rate(), None);
    }

    #[test]
    fn a_throttle_halves_the_rate_this_client_was_calling_at() {
        let l = limiter();
        for i in 0..40 {
            l.turn(at(i * 25), FOREVER).unwrap(); // 40 calls in one second
        }
        l.throttled(at(1000), None);
        assert_eq!(l.rate(), Some(20.0));
        // The next calls are spaced 50 ms apart.
        let waits: Vec<u128> = (0..4)
            .map(|_| l.turn(at(1000), FOREVER).unwrap().as_millis())
            .collect();
        assert_eq!(waits, [50, 100, 150, 200]);
        // A caller that cannot wait that long gets no turn, and takes none
        // from the others.
        assert_eq!(
            l.turn(at(1000), Duration::from_millis(100)),
            Err(Duration::from_millis(250))
        );
        assert_eq!(l.turn(at(1000), FOREVER), Ok(Duration::from_millis(250)));
        // A second throttle halves again, never below 5 calls per budget.
        l.throttled(at(1100), None);
        assert_eq!(l.rate(), Some(10.0));
        for _ in 0..10 {
            l.throttled(at(1200), None);
        }
        assert_eq!(l.rate(), Some(0.5));
    }

    #[test]
    fn retry_after_pauses_every_call_of_the_backend() {
        let l = limiter();
        l.turn(at(0), FOREVER).unwrap();
        l.throttled(at(0), Some(Duration::from_secs(3)));
        assert!(l.turn(at(1000), FOREVER).unwrap() >= Duration::from_secs(2));
        assert!(l.turn(at(3500), FOREVER).unwrap() < Duration::from_secs(2));
    }

    #[test]
    fn successes_raise_the_rate_until_the_limiter_steps_aside() {
        let l = limiter();
        for i in 0..8 {
            l.turn(at(i * 100), FOREVER).unwrap();
        }
        l.throttled(at(900), None);
        assert_eq!(l.rate(), Some(4.0));
        let mut steps = 0;
        while l.rate().is_some() {
            l.succeeded();
            steps += 1;
            assert!(steps < 1000, "never recovered");
        }
        // From 4 to 16 calls a second at +0.3/rate per answer: about 400.
        assert!((350..450).contains(&steps), "{steps}");
    }
}
