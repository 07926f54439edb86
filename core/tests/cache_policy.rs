//! The cache engine's rules on a test clock with a scripted Vault: single
//! flight, refresh ahead, stale if error with capped backoff, negative
//! caching, change detection, eviction, explicit control and stats.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secretkit::{Client, ClientSettings, ErrorKind, EventKind, ManualClock};

mod common;
use common::*;

/// A Vault whose secret's version can be bumped and which can be made to fail.
struct Knobs {
    version: AtomicU64,
    failing: AtomicBool,
}

fn knobbed() -> (Arc<ScriptedVault>, Arc<Knobs>) {
    let knobs = Arc::new(Knobs {
        version: AtomicU64::new(1),
        failing: AtomicBool::new(false),
    });
    let k = knobs.clone();
    let vault = scripted(move |_| {
        if k.failing.load(Ordering::SeqCst) {
            return json(503, r#"{"errors":["sealed"]}"#);
        }
        let v = k.version.load(Ordering::SeqCst);
        kv2(&format!(r#"{{"v":"{v}"}}"#), v)
    });
    (vault, knobs)
}

/// Let spawned background refreshes run (they finish in a few polls: the
/// scripted transport answers at once).
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

fn settings(ttl: u64) -> ClientSettings {
    ClientSettings {
        default_ttl: Duration::from_secs(ttl),
        ..exact_settings()
    }
}

/// TTL 100 s, refreshed ahead from 75 s: a hit's window is 75 s.
fn refresh_at_75_of_100() -> ClientSettings {
    ClientSettings {
        refresh_ahead: 0.75,
        ..settings(100)
    }
}

async fn version_of(c: &Client, reference: &str) -> String {
    c.get(reference)
        .await
        .unwrap()
        .version()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_cold_reads_make_one_backend_call() {
    let (vault, _) = knobbed();
    let open = vault.close_gate();
    let c = client(vault.clone(), ManualClock::new()).await;
    let readers: Vec<_> = (0..10_000)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get("vault:secret/cold#v").await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    open.send(()).unwrap();
    for r in readers {
        assert_eq!(r.await.unwrap().unwrap().reveal().unwrap(), "1");
    }
    assert_eq!(vault.reads(), 1);
    assert_eq!(c.stats().backend_calls.vault, 1);
}

#[tokio::test]
async fn a_read_late_in_the_ttl_refreshes_in_the_background_without_waiting() {
    let (vault, knobs) = knobbed();
    let clock = ManualClock::new();
    let c = client_with(
        vault.clone(),
        clock.clone(),
        ClientSettings {
            refresh_ahead: 0.75,
            ..settings(100)
        },
    )
    .await;
    let events = recorder(&c);
    assert_eq!(version_of(&c, "vault:secret/app").await, "1");
    clock.advance(Duration::from_secs(74));
    assert_eq!(version_of(&c, "vault:secret/app").await, "1");
    settle().await;
    assert_eq!(vault.reads(), 1, "not due before 75% of the TTL");

    clock.advance(Duration::from_secs(1));
    knobs.version.store(2, Ordering::SeqCst);
    let open = vault.close_gate();
    // The backend is now blocked: reads must still answer from the cache.
    for _ in 0..5 {
        assert_eq!(version_of(&c, "vault:secret/app").await, "1");
        settle().await;
    }
    assert_eq!(vault.reads(), 2, "exactly one background refresh");
    open.send(()).unwrap();
    settle().await;
    assert_eq!(version_of(&c, "vault:secret/app").await, "2");
    let changed: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::Changed)
        .cloned()
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].reference, "vault:secret/app");
    assert_eq!(changed[0].old_version.as_deref(), Some("1"));
    assert_eq!(changed[0].new_version.as_deref(), Some("2"));
    assert_eq!(c.stats().refreshes, 1);
}

#[tokio::test]
async fn stale_if_error_with_capped_backoff_until_max_stale() {
    let (vault, knobs) = knobbed();
    let clock = ManualClock::new();
    let c = client_with(
        vault.clone(),
        clock.clone(),
        ClientSettings {
            refresh_ahead: 0.75,
            max_stale: Duration::from_secs(1000),
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(40),
            ..settings(100)
        },
    )
    .await;
    let events = recorder(&c);
    c.get("vault:secret/app").await.unwrap();
    knobs.failing.store(true, Ordering::SeqCst);

    // One read a second from t=75 (refresh due) to t=1099 (last stale moment).
    let mut call_times = Vec::new();
    clock.advance(Duration::from_secs(74));
    for t in 75..1100u64 {
        clock.advance(Duration::from_secs(1));
        let before = vault.reads();
        let s = c.get("vault:secret/app#v").await.unwrap();
        assert_eq!(s.reveal().unwrap(), "1", "t={t}: the last good value");
        settle().await;
        if vault.reads() > before {
            call_times.push(t);
        }
    }
    // Retries at 75, then +10, +20, then every 40 s (the cap): never a hot loop.
    let mut expected = vec![75, 85, 105];
    expected.extend((145..1100).step_by(40));
    assert_eq!(call_times, expected);
    assert_eq!(count(&events, EventKind::Error), expected.len());
    assert!(c.stats().stale_serves > 900);

    // Past max_stale the failure reaches the caller.
    clock.advance(Duration::from_secs(1));
    let err = c.get("vault:secret/app").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.reference(), Some("vault:secret/app"));

    // And once the backend is back, reads recover.
    knobs.failing.store(false, Ordering::SeqCst);
    clock.advance(Duration::from_secs(60));
    assert_eq!(version_of(&c, "vault:secret/app").await, "1");
}

#[tokio::test]
async fn an_expired_entry_whose_foreground_read_fails_is_served_stale() {
    let (vault, knobs) = knobbed();
    let clock = ManualClock::new();
    let c = client_with(vault.clone(), clock.clone(), settings(100)).await;
    c.get("vault:secret/app").await.unwrap();
    knobs.failing.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(100));
    assert_eq!(version_of(&c, "vault:secret/app").await, "1");
    assert_eq!(c.stats().stale_serves, 1);

    let no_stale = client_with(
        vault,
        clock.clone(),
        ClientSettings {
            max_stale: Duration::ZERO,
            ..settings(100)
        },
    )
    .await;
    knobs.failing.store(false, Ordering::SeqCst);
    no_stale.get("vault:secret/app").await.unwrap();
    knobs.failing.store(true, Ordering::SeqCst);
    clock.advance(Duration::from_secs(100));
    assert!(
        no_stale.get("vault:secret/app").await.is_err(),
        "max_stale 0 turns it off"
    );
}

#[tokio::test]
async fn not_found_is_cached_briefly() {
    let vault = scripted(|_| json(404, r#"{"errors":[]}"#));
    let clock = ManualClock::new();
    let c = client(vault.clone(), clock.clone()).await;
    for _ in 0..5 {
        let err = c.get("vault:secret/typo").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.reference(), Some("vault:secret/typo"));
    }
    assert_eq!(vault.reads(), 1);
    clock.advance(Duration::from_secs(30));
    c.get("vault:secret/typo").await.unwrap_err();
    assert_eq!(vault.reads(), 2, "remembered for the 30 s default");
}

#[tokio::test]
async fn refresh_invalidate_clear_and_stats() {
    let (vault, knobs) = knobbed();
    let c = client(vault.clone(), ManualClock::new()).await;
    assert_eq!(version_of(&c, "vault:secret/app").await, "1");
    knobs.version.store(2, Ordering::SeqCst);
    assert_eq!(version_of(&c, "vault:secret/app").await, "1", "cached");
    let fresh = c.refresh("vault:secret/app#v").await.unwrap();
    assert_eq!(fresh.reveal().unwrap(), "2");
    assert_eq!(version_of(&c, "vault:secret/app").await, "2");
    assert_eq!(vault.reads(), 2);

    c.invalidate("vault:secret/app#anything").unwrap();
    c.get("vault:secret/app").await.unwrap();
    assert_eq!(vault.reads(), 3);
    c.clear();
    c.get("vault:secret/app").await.unwrap();
    assert_eq!(vault.reads(), 4);

    let stats = c.stats();
    assert_eq!(stats.hits, 2);
    assert_eq!(stats.misses, 3);
    assert_eq!(stats.backend_calls.vault, 4);
    assert_eq!(stats.backend_calls.ssm, 0);
    assert_eq!(stats.errors, 0);
}

#[tokio::test]
async fn the_least_recently_used_entry_is_evicted_with_an_event() {
    let (vault, _) = knobbed();
    let c = client_with(
        vault,
        ManualClock::new(),
        ClientSettings {
            max_entries: 2,
            ..exact_settings()
        },
    )
    .await;
    let events = recorder(&c);
    for path in ["a", "b", "a", "c"] {
        c.get(&format!("vault:secret/{path}")).await.unwrap();
    }
    let evicted: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::Evicted)
        .map(|e| e.reference.clone())
        .collect();
    assert_eq!(evicted, ["vault:secret/b"]);
    assert_eq!(count(&events, EventKind::Created), 3);
}

#[tokio::test]
async fn ttl_jitter_spreads_expiry_within_its_bounds() {
    let (vault, _) = knobbed();
    let clock = ManualClock::new();
    let c = client_with(
        vault.clone(),
        clock.clone(),
        ClientSettings {
            ttl_jitter: 0.1,
            ..settings(100)
        },
    )
    .await;
    let keys: Vec<String> = (0..200).map(|i| format!("vault:secret/k{i}")).collect();
    for k in &keys {
        c.get(k).await.unwrap();
    }
    let expired_by = |c: &Client| keys.iter().filter(|k| c.get_cached(k).is_none()).count();
    // A key's first value lives half to all of its TTL (the start-up
    // spread: a fleet deployed together does not come back together).
    clock.advance(Duration::from_secs(49));
    assert_eq!(expired_by(&c), 0, "none before half the TTL");
    clock.advance(Duration::from_secs(26));
    let at_75 = expired_by(&c);
    assert!(
        at_75 > 40 && at_75 < 160,
        "about half of the first values expired at 75% of the TTL: {at_75}"
    );
    clock.advance(Duration::from_secs(26));
    assert_eq!(expired_by(&c), 200, "every first value by the TTL");
    // Later values: the TTL ± 10%.
    for k in &keys {
        c.get(k).await.unwrap();
    }
    clock.advance(Duration::from_secs(89));
    assert_eq!(expired_by(&c), 0, "none before 90% of the TTL");
    clock.advance(Duration::from_secs(11));
    let at_100 = expired_by(&c);
    assert!(
        at_100 > 40 && at_100 < 160,
        "about half expired at the nominal TTL: {at_100}"
    );
    clock.advance(Duration::from_secs(11));
    assert_eq!(expired_by(&c), 200, "all by 110%");
}

#[tokio::test]
async fn a_window_names_the_read_a_hit_would_return_and_lasts_until_refresh_ahead() {
    let (vault, knobs) = knobbed();
    let clock = ManualClock::new();
    let c = client_with(vault, clock.clone(), refresh_at_75_of_100()).await;
    let whole = c.handle("vault:secret/app").unwrap();
    assert!(c.handle("not a reference").is_err());
    assert!(whole.window().is_none(), "a miss");
    let first = c.get("vault:secret/app#v").await.unwrap();
    let window = whole.window().unwrap().unwrap();
    assert_eq!(window.secret.serial(), first.serial());
    assert_eq!(window.valid_for, Duration::from_secs(75));
    let other = c.handle("vault:secret/app?ttl=9s#v").unwrap();
    let hit = other.window().unwrap().unwrap();
    assert_eq!(hit.secret.serial(), first.serial(), "one entry");
    assert_eq!(hit.secret.reveal().unwrap(), "1");
    let missing = c.handle("vault:secret/app#nope").unwrap();
    assert_eq!(
        missing.window().unwrap().unwrap_err().kind(),
        ErrorKind::NotFound,
        "the error get would give"
    );
    clock.advance(Duration::from_secs(75));
    assert_eq!(
        whole.window().unwrap().unwrap().valid_for,
        Duration::ZERO,
        "due for refresh: no repeat without asking"
    );
    knobs.version.store(2, Ordering::SeqCst);
    let second = c.refresh("vault:secret/app").await.unwrap();
    assert_ne!(second.serial(), first.serial());
    let window = whole.window().unwrap().unwrap();
    assert_eq!(window.secret.serial(), second.serial());
}

#[tokio::test]
async fn a_handle_repeats_its_answer_until_the_generation_or_the_window_moves() {
    let (vault, knobs) = knobbed();
    let clock = ManualClock::new();
    let c = client_with(vault.clone(), clock.clone(), refresh_at_75_of_100()).await;
    let mut h = c.handle("vault:secret/app#v").unwrap();
    assert!(h.get_cached().is_none(), "a miss");
    assert_eq!(h.get().await.unwrap().reveal().unwrap(), "1");
    let generation = c.generation();
    let seen = generation.get();
    for _ in 0..3 {
        assert_eq!(h.get_cached().unwrap().unwrap().reveal().unwrap(), "1");
    }
    assert_eq!(c.stats().hits, 3, "repeats are counted as hits");

    // Every change that can alter the answer moves the generation, and the
    // next read asks the cache again.
    knobs.version.store(2, Ordering::SeqCst);
    c.refresh("vault:secret/app").await.unwrap();
    assert_ne!(generation.get(), seen, "a store");
    assert_eq!(h.get_cached().unwrap().unwrap().reveal().unwrap(), "2");
    let seen = generation.get();
    c.invalidate("vault:secret/app").unwrap();
    assert_ne!(generation.get(), seen, "invalidate");
    assert!(h.get_cached().is_none());
    h.get().await.unwrap();
    let seen = generation.get();
    c.clear();
    assert_ne!(generation.get(), seen, "clear");
    assert!(h.get_cached().is_none());

    // Past the refresh-ahead point the read goes to the core, which starts
    // the background refresh exactly as for `Client::get`.
    h.get().await.unwrap();
    let reads = vault.reads();
    clock.advance(Duration::from_secs(74));
    h.get_cached().unwrap().unwrap();
    settle().await;
    assert_eq!(vault.reads(), reads, "inside the window");
    clock.advance(Duration::from_secs(1));
    h.get_cached().unwrap().unwrap();
    settle().await;
    assert_eq!(vault.reads(), reads + 1, "one background refresh");
    assert_eq!(c.stats().refreshes, 1);
}

#[tokio::test]
async fn windows_end_by_a_generation_bump_a_little_before_their_end() {
    let (vault, _) = knobbed();
    let clock = ManualClock::new();
    let c = client_with(vault, clock.clone(), refresh_at_75_of_100()).await;
    assert!(
        c.end_windows_by_generation(),
        "a native client runs the timer"
    );
    let h = c.handle("vault:secret/app").unwrap();
    h.get().await.unwrap();
    let generation = c.generation();
    let seen = generation.get();
    assert_eq!(
        h.window().unwrap().unwrap().valid_for,
        Duration::from_secs(75)
    );
    settle().await;
    clock.advance(Duration::from_millis(74_980));
    settle().await;
    assert_eq!(generation.get(), seen, "the window is still open");
    clock.advance(Duration::from_millis(10));
    settle().await;
    assert_ne!(generation.get(), seen, "ended 10 ms early by the timer");
    // Nothing is scheduled until a window is handed out again.
    let seen = generation.get();
    clock.advance(Duration::from_secs(3600));
    settle().await;
    assert_eq!(generation.get(), seen);
}

#[tokio::test]
async fn hits_a_binding_answered_itself_are_added_to_stats() {
    let (vault, _) = knobbed();
    let c = client(vault, ManualClock::new()).await;
    let h = c.handle("vault:secret/app").unwrap();
    h.get().await.unwrap();
    let before = c.stats().hits;
    h.record_hits(41);
    h.record_hits(0);
    assert_eq!(c.stats().hits, before + 41);
}

#[tokio::test]
async fn a_read_abandoned_by_its_host_is_not_joined_forever() {
    let (vault, _) = knobbed();
    let clock = ManualClock::new();
    let c = client(vault.clone(), clock.clone()).await;
    // A read that never completes (its host dropped the request's I/O)...
    let open = vault.close_gate();
    let stuck = c.clone();
    let abandoned = tokio::spawn(async move { stuck.get("vault:secret/app").await });
    settle().await;
    abandoned.abort();
    std::mem::forget(open);
    vault.open_gate();
    // ...is not joined once it is older than twice the request timeout.
    clock.advance(Duration::from_secs(11));
    assert_eq!(version_of(&c, "vault:secret/app").await, "1");
    assert_eq!(vault.reads(), 2);
}
