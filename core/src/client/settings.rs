//! `ClientSettings`: the tunables, their production defaults and their limits.

use std::time::Duration;

use crate::error::{Error, Result};

/// Tunables, with the defaults a production service wants. Build with
/// `ClientSettings { field: value, ..Default::default() }`.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// How long a value is served from the cache (`?ttl=` overrides it).
    pub default_ttl: Duration,
    /// Each entry's TTL is moved by up to ± this fraction, so a fleet that
    /// started together does not refresh together.
    pub ttl_jitter: f64,
    /// A read after this fraction of the TTL refreshes the value in the
    /// background while readers keep the cached one (1.0 turns it off).
    pub refresh_ahead: f64,
    /// After a failed refresh, an expired value is still served for this long
    /// (zero turns stale serving off).
    pub max_stale: Duration,
    /// How long a not-found answer is remembered.
    pub negative_ttl: Duration,
    /// First retry delay after a failed refresh; doubles per failure.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Most cache entries kept; least recently used go first.
    pub max_entries: usize,
    /// Bound on each read, retries included.
    pub timeout: Duration,
    /// Attempts a read makes when the backend fails transiently (throttled,
    /// unavailable, timed out) and the cache has nothing to serve; 1 makes
    /// one attempt. The AWS SDK's own retries are off: this is the only
    /// retry layer.
    pub read_attempts: u32,
    /// `close()` revokes the Vault leases this client holds.
    pub revoke_on_close: bool,
    /// Revoke a lease this long after its replacement was read; `None` lets
    /// it run out by itself (connections opened with it keep working).
    pub revoke_replaced_after: Option<Duration>,
    /// Plain http to a host that is not loopback (a Vault address, an AWS
    /// endpoint). Off: tokens and secrets would cross the network in clear.
    pub allow_http: bool,
    /// `env:` and `file:` references. Turn off when references come from
    /// input the application does not control: they would read the
    /// process environment and any file the process can open.
    pub allow_local: bool,
    /// `get_many` and refresh-ahead read SSM and Secrets Manager keys in
    /// batch calls (GetParameters, BatchGetSecretValue). Off only to
    /// measure what batching saves (FLEET.md).
    pub batch: bool,
}

impl ClientSettings {
    /// Refuse settings whose arithmetic could overflow or make no sense, with
    /// an error naming the setting (rather than a panic later, in a read).
    pub fn validate(&self) -> Result<()> {
        use crate::reference::MAX_DURATION;
        let durations = [
            ("default_ttl", self.default_ttl, MAX_DURATION),
            ("max_stale", self.max_stale, MAX_DURATION),
            ("negative_ttl", self.negative_ttl, MAX_DURATION),
            ("retry_base", self.retry_base, MAX_DURATION),
            ("retry_max", self.retry_max, MAX_DURATION),
            ("timeout", self.timeout, Duration::from_secs(3600)),
        ];
        for (name, value, max) in durations {
            if value > max {
                return Err(Error::config(format!(
                    "{name} is {} s, over the limit of {} s",
                    value.as_secs(),
                    max.as_secs()
                )));
            }
        }
        if let Some(after) = self.revoke_replaced_after.filter(|d| *d > MAX_DURATION) {
            return Err(Error::config(format!(
                "revoke_replaced_after is {} s, over the limit of {} s",
                after.as_secs(),
                MAX_DURATION.as_secs()
            )));
        }
        if !(1..=10).contains(&self.read_attempts) {
            return Err(Error::config(format!(
                "read_attempts must be from 1 to 10, got {}",
                self.read_attempts
            )));
        }
        if self.timeout.is_zero() {
            return Err(Error::config("timeout must be more than zero"));
        }
        for (name, value) in [
            ("ttl_jitter", self.ttl_jitter),
            ("refresh_ahead", self.refresh_ahead),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(Error::config(format!(
                    "{name} must be between 0 and 1, got {value}"
                )));
            }
        }
        Ok(())
    }
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            default_ttl: Duration::from_secs(300),
            ttl_jitter: 0.1,
            refresh_ahead: 0.75,
            max_stale: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(30),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            max_entries: 1024,
            timeout: Duration::from_secs(10),
            read_attempts: 3,
            revoke_on_close: true,
            revoke_replaced_after: None,
            allow_http: false,
            allow_local: true,
            batch: true,
        }
    }
}
