//! Counters a service can export: how the cache is doing and how many calls
//! each backend received.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::audit::Outcome;
use crate::reference::Scheme;

const SCHEMES: [Scheme; 5] = [
    Scheme::Ssm,
    Scheme::Asm,
    Scheme::Vault,
    Scheme::Env,
    Scheme::File,
];

/// Upper bounds (seconds) of the backend read latency histogram's buckets,
/// the last one being +Inf: from a local file to a throttled cross-region
/// call with retries.
pub const LATENCY_BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A snapshot of the client's counters since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Reads answered from a fresh cache entry.
    pub hits: u64,
    /// Reads that had to wait for the backend.
    pub misses: u64,
    /// Background refreshes started before expiry, or retries of a stale entry.
    pub refreshes: u64,
    /// Reads answered with an expired value because the backend failed.
    pub stale_serves: u64,
    /// Reads that failed, after any retries: one per `error` event. Retried
    /// attempts show in `backend_calls`, not here.
    pub errors: u64,
    /// Calls made to each backend (a batch call counts once).
    pub backend_calls: BackendCalls,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendCalls {
    pub ssm: u64,
    pub asm: u64,
    pub vault: u64,
    pub env: u64,
    pub file: u64,
}

/// What an operator exports (`Client::metrics`): reads by backend and
/// outcome, backend read latency, cache size and the time left on each
/// Vault lease. `to_prometheus` renders the text exposition format.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// (backend, outcome, count) for every pair seen at least once; the
    /// outcomes are the audit trail's (`hit`, `miss`, `stale`, `error`,
    /// `denied`, `refresh`, `renewed`, `rotated`, `expired`).
    pub reads: Vec<(&'static str, Outcome, u64)>,
    /// Backend calls per backend (a batch call counts once).
    pub backend_calls: Vec<(&'static str, u64)>,
    /// Backend read latency (retries included), per backend that was read.
    pub latency: Vec<Histogram>,
    /// Values in the cache now.
    pub cache_entries: usize,
    /// Vault leases held now: (reference, time left until expiry).
    pub leases: Vec<(String, Duration)>,
}

/// A latency histogram: `counts[i]` reads took at most `LATENCY_BOUNDS[i]`
/// seconds and more than the bound before; the last count is above them all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    pub backend: &'static str,
    pub counts: Vec<u64>,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

impl Metrics {
    /// The Prometheus text exposition format (version 0.0.4), metric names
    /// prefixed `secretkit_`. References are label values; no value ever is.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let o = &mut out;
        let _ = writeln!(
            o,
            "# HELP secretkit_reads_total Accesses and lease actions by backend and outcome."
        );
        let _ = writeln!(o, "# TYPE secretkit_reads_total counter");
        for (backend, outcome, n) in &self.reads {
            let _ = writeln!(
                o,
                "secretkit_reads_total{{backend=\"{backend}\",outcome=\"{}\"}} {n}",
                outcome.as_str()
            );
        }
        let _ = writeln!(
            o,
            "# HELP secretkit_backend_calls_total Calls made to each backend."
        );
        let _ = writeln!(o, "# TYPE secretkit_backend_calls_total counter");
        for (backend, n) in &self.backend_calls {
            let _ = writeln!(
                o,
                "secretkit_backend_calls_total{{backend=\"{backend}\"}} {n}"
            );
        }
        let _ = writeln!(
            o,
            "# HELP secretkit_backend_read_seconds Backend read latency, retries included."
        );
        let _ = writeln!(o, "# TYPE secretkit_backend_read_seconds histogram");
        for h in &self.latency {
            let b = h.backend;
            let mut cumulative = 0;
            for (i, n) in h.counts.iter().enumerate() {
                cumulative += n;
                let le = LATENCY_BOUNDS
                    .get(i)
                    .map_or("+Inf".to_owned(), |b| b.to_string());
                let _ = writeln!(o, "secretkit_backend_read_seconds_bucket{{backend=\"{b}\",le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(
                o,
                "secretkit_backend_read_seconds_sum{{backend=\"{b}\"}} {}",
                h.sum_seconds
            );
            let _ = writeln!(
                o,
                "secretkit_backend_read_seconds_count{{backend=\"{b}\"}} {cumulative}"
            );
        }
        let _ = writeln!(o, "# HELP secretkit_cache_entries Values in the cache.");
        let _ = writeln!(o, "# TYPE secretkit_cache_entries gauge");
        let _ = writeln!(o, "secretkit_cache_entries {}", self.cache_entries);
        let _ = writeln!(
            o,
            "# HELP secretkit_lease_ttl_seconds Time left on each Vault lease held."
        );
        let _ = writeln!(o, "# TYPE secretkit_lease_ttl_seconds gauge");
        for (reference, left) in &self.leases {
            let reference = reference.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                o,
                "secretkit_lease_ttl_seconds{{reference=\"{reference}\"}} {}",
                left.as_secs_f64()
            );
        }
        out
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    /// Hits on a remembered not-found (counted as errors in `outcomes`).
    /// Other hits are the `Hit` outcomes, so a hit bumps one counter.
    pub negative_hits: AtomicU64,
    pub misses: AtomicU64,
    pub refreshes: AtomicU64,
    pub stale_serves: AtomicU64,
    pub errors: AtomicU64,
    calls: [AtomicU64; 5],
    outcomes: [[AtomicU64; Outcome::ALL.len()]; 5],
    latency: [[AtomicU64; LATENCY_BOUNDS.len() + 1]; 5],
    latency_micros: [AtomicU64; 5],
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn backend_call(&self, scheme: Scheme) {
        self.calls[scheme as usize].fetch_add(1, Relaxed);
    }

    pub(crate) fn outcome(&self, scheme: Scheme, outcome: Outcome, n: u64) {
        self.outcomes[scheme as usize][outcome as usize].fetch_add(n, Relaxed);
    }

    pub(crate) fn latency(&self, scheme: Scheme, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = LATENCY_BOUNDS.iter().position(|b| secs <= *b);
        let bucket = bucket.unwrap_or(LATENCY_BOUNDS.len());
        self.latency[scheme as usize][bucket].fetch_add(1, Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros[scheme as usize].fetch_add(micros, Relaxed);
    }

    /// Reads, calls and latency; the client adds cache size and leases.
    pub(crate) fn metrics(&self) -> Metrics {
        let mut m = Metrics::default();
        for s in SCHEMES {
            let i = s as usize;
            for o in Outcome::ALL {
                let n = self.outcomes[i][o as usize].load(Relaxed);
                if n > 0 {
                    m.reads.push((s.as_str(), o, n));
                }
            }
            let calls = self.calls[i].load(Relaxed);
            if calls > 0 {
                m.backend_calls.push((s.as_str(), calls));
            }
            let counts: Vec<u64> = self.latency[i].iter().map(|c| c.load(Relaxed)).collect();
            if counts.iter().any(|c| *c > 0) {
                m.latency.push(Histogram {
                    backend: s.as_str(),
                    counts,
                    sum_seconds: self.latency_micros[i].load(Relaxed) as f64 / 1e6,
                });
            }
        }
        m
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let call = |s: Scheme| self.calls[s as usize].load(Relaxed);
        Stats {
            hits: self.negative_hits.load(Relaxed)
                + SCHEMES
                    .iter()
                    .map(|s| self.outcomes[*s as usize][Outcome::Hit as usize].load(Relaxed))
                    .sum::<u64>(),
            misses: self.misses.load(Relaxed),
            refreshes: self.refreshes.load(Relaxed),
            stale_serves: self.stale_serves.load(Relaxed),
            errors: self.errors.load(Relaxed),
            backend_calls: BackendCalls {
                ssm: call(Scheme::Ssm),
                asm: call(Scheme::Asm),
                vault: call(Scheme::Vault),
                env: call(Scheme::Env),
                file: call(Scheme::File),
            },
        }
    }
}
