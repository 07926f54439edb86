//! Fault injection against the real servers (issue 7): a fault proxy
//! (`faults/proxy.rs`) between the client and the moto / OpenBao that
//! tests/servers.py started (`--fixtures`), and dedicated OpenBao dev
//! servers with a TLS listener started here. For each fault: what the
//! readers saw (the value, or a typed error naming the reference and never
//! a value), the requests the proxy saw, and that a cached value is served
//! through the fault. RELIABILITY.md has the table of measured results.
//!
//! `cargo test -p secretkit --test real_faults -- --nocapture` prints them.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;
use common::{aws_settings, count, recorder, var};

#[path = "faults/openbao.rs"]
mod openbao;
#[path = "faults/proxy.rs"]
mod proxy;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openbao::{vault_api, Bao, BAO_TOKEN};
use proxy::{Fault, Proxy, Recorder, ALWAYS};
use secretkit::runtime::native::ReqwestTransport;
use secretkit::{
    Client, ClientSettings, Error, ErrorKind, EventKind, ManualClock, Runtime, TlsSettings,
    VaultAuth, VaultSettings,
};

// The fixtures tests/servers.py seeds (tests/fixtures.md).
const SSM: &str = "ssm:/prod/myapp/db-password";
const SSM_VALUE: &str = "s3cureP@ssw0rd!";
const ASM: &str = "asm:prod/myapp/db-credentials#username";
const ASM_VALUE: &str = "app_user";
const VAULT: &str = "vault:secret/myapp/config#api_key";
const VAULT_VALUE: &str = "sk-abc123";
/// The KV v2 data path the Vault fixture is read from.
const VAULT_DATA: &str = "/v1/secret/data/myapp/config";

fn expected(reference: &str) -> &'static str {
    if reference.starts_with("ssm:") {
        SSM_VALUE
    } else if reference.starts_with("asm:") {
        ASM_VALUE
    } else {
        VAULT_VALUE
    }
}

/// Exact counts: no TTL jitter, no refresh ahead; three attempts per read.
fn settings() -> ClientSettings {
    ClientSettings {
        ttl_jitter: 0.0,
        refresh_ahead: 1.0,
        timeout: Duration::from_secs(5),
        retry_base: Duration::from_millis(500),
        retry_max: Duration::from_secs(2),
        read_attempts: 3,
        ..ClientSettings::default()
    }
}

fn vault_settings(address: String) -> VaultSettings {
    VaultSettings {
        address,
        token: var("VAULT_TOKEN"),
        namespace: None,
        tls: Default::default(),
    }
}

struct Proxies {
    aws: Proxy,
    vault: Proxy,
}

async fn proxies() -> Proxies {
    assert_eq!(
        var("SK_FIXTURES"),
        "1",
        "servers were seeded without --fixtures"
    );
    Proxies {
        aws: Proxy::start(&var("AWS_ENDPOINT_URL")).await,
        vault: Proxy::start(&var("VAULT_ADDR")).await,
    }
}

/// A client whose AWS and Vault requests go through the proxies.
async fn client(p: &Proxies, settings: ClientSettings) -> Client {
    Client::builder()
        .aws(aws_settings(p.aws.url()))
        .vault(vault_settings(p.vault.url()))
        .settings(settings)
        .build()
        .await
        .unwrap()
}

async fn value(c: &Client, reference: &str) -> String {
    let s = c
        .get(reference)
        .await
        .unwrap_or_else(|e| panic!("{reference}: {e}"));
    s.reveal().unwrap().to_owned()
}

/// The read must fail; its error names the reference and no secret value.
async fn failure(c: &Client, reference: &str) -> Error {
    let err = match c.get(reference).await {
        Ok(_) => panic!("{reference} was read, a failure was expected"),
        Err(e) => e,
    };
    assert_eq!(err.reference(), Some(reference), "{err}");
    for secret in [SSM_VALUE, ASM_VALUE, VAULT_VALUE] {
        assert!(!err.to_string().contains(secret), "{err}");
    }
    err
}

/// Poll `done` (bounded) until it holds.
async fn until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// Latency.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_under_the_timeout_costs_one_request_that_every_reader_shares() {
    let p = proxies().await;
    let latency = Duration::from_millis(500);
    p.aws.inject("", Fault::Latency(latency), ALWAYS);
    p.vault.inject(VAULT_DATA, Fault::Latency(latency), ALWAYS);
    let c = client(&p, settings()).await;
    let started = Instant::now();
    let readers: Vec<_> = (0..60)
        .map(|i| {
            let c = c.clone();
            let reference = [SSM, ASM, VAULT][i % 3];
            tokio::spawn(async move { (reference, value(&c, reference).await) })
        })
        .collect();
    for reader in readers {
        let (reference, got) = reader.await.unwrap();
        assert_eq!(got, expected(reference));
    }
    let took = started.elapsed();
    println!(
        "latency {latency:?}: 60 readers in {took:?}; requests GetParameter {}, GetSecretValue {}, Vault data {}",
        p.aws.requests("GetParameter"),
        p.aws.requests("GetSecretValue"),
        p.vault.requests(VAULT_DATA)
    );
    assert!(took >= latency, "the latency was injected: {took:?}");
    assert_eq!(p.aws.requests("GetParameter"), 1);
    assert_eq!(p.aws.requests("GetSecretValue"), 1);
    assert_eq!(p.vault.requests(VAULT_DATA), 1);
}

#[tokio::test]
async fn latency_over_the_timeout_fails_with_timeout_within_the_budget() {
    let p = proxies().await;
    p.aws
        .inject("", Fault::Latency(Duration::from_secs(4)), ALWAYS);
    p.vault
        .inject(VAULT_DATA, Fault::Latency(Duration::from_secs(4)), ALWAYS);
    let c = client(
        &p,
        ClientSettings {
            timeout: Duration::from_secs(1),
            ..settings()
        },
    )
    .await;
    for (reference, requests) in [
        (
            SSM,
            Box::new(|| p.aws.requests("GetParameter")) as Box<dyn Fn() -> usize>,
        ),
        (VAULT, Box::new(|| p.vault.requests(VAULT_DATA))),
    ] {
        let started = Instant::now();
        let err = failure(&c, reference).await;
        let took = started.elapsed();
        println!(
            "latency 4 s, timeout 1 s: {reference} → {err} after {took:?}, {} request(s)",
            requests()
        );
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        // The budget bounds the read, retries included: one attempt fits.
        assert_eq!(requests(), 1, "{reference}");
        assert!(took < Duration::from_secs(3), "{reference}: {took:?}");
    }
}

// Connection reset mid-body.

#[tokio::test]
async fn a_reset_mid_body_is_retried_and_never_yields_a_partial_value() {
    let p = proxies().await;
    p.aws.inject("GetParameter", Fault::ResetAfter(8), 1);
    p.vault.inject(VAULT_DATA, Fault::ResetAfter(8), 1);
    p.aws.inject("GetSecretValue", Fault::ResetAfter(8), ALWAYS);
    let c = client(&p, settings()).await;
    assert_eq!(value(&c, SSM).await, SSM_VALUE);
    assert_eq!(value(&c, VAULT).await, VAULT_VALUE);
    let err = failure(&c, ASM).await;
    println!(
        "reset after 8 body bytes: GetParameter {} requests, Vault data {}, GetSecretValue (always reset) {} → {err}",
        p.aws.requests("GetParameter"),
        p.vault.requests(VAULT_DATA),
        p.aws.requests("GetSecretValue")
    );
    assert_eq!(p.aws.requests("GetParameter"), 2);
    assert_eq!(p.vault.requests(VAULT_DATA), 2);
    // A broken body is a transport failure (retried), not a malformed answer.
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(p.aws.requests("GetSecretValue"), 3);
}

// Trickled bodies.

#[tokio::test]
async fn trickled_answers_arrive_whole_or_time_out_within_the_budget() {
    let p = proxies().await;
    let slow = Fault::Trickle {
        bytes: 16,
        every: Duration::from_millis(10),
    };
    p.aws.inject("GetParameter", slow.clone(), ALWAYS);
    p.vault.inject(VAULT_DATA, slow, ALWAYS);
    let c = client(&p, settings()).await;
    let started = Instant::now();
    assert_eq!(value(&c, SSM).await, SSM_VALUE);
    assert_eq!(value(&c, VAULT).await, VAULT_VALUE);
    let took = started.elapsed();
    assert_eq!(p.aws.requests("GetParameter"), 1);
    assert_eq!(p.vault.requests(VAULT_DATA), 1);
    // Each answer is hundreds of bytes: dozens of 10 ms pauses.
    assert!(took >= Duration::from_millis(300), "trickled: {took:?}");

    // Slower than the budget: 2 bytes every 100 ms.
    p.aws.inject(
        "GetSecretValue",
        Fault::Trickle {
            bytes: 2,
            every: Duration::from_millis(100),
        },
        ALWAYS,
    );
    let c = client(
        &p,
        ClientSettings {
            timeout: Duration::from_secs(1),
            ..settings()
        },
    )
    .await;
    let started = Instant::now();
    let err = failure(&c, ASM).await;
    let stalled = started.elapsed();
    println!(
        "trickle 16 B / 10 ms: SSM + Vault whole in {took:?}, 1 request each; \
         2 B / 100 ms with a 1 s timeout: {err} after {stalled:?}, {} request(s)",
        p.aws.requests("GetSecretValue")
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(p.aws.requests("GetSecretValue"), 1);
    assert!(stalled < Duration::from_secs(3), "{stalled:?}");
}

// 5xx storms.

#[tokio::test]
async fn a_5xx_storm_is_ridden_out_within_read_attempts_and_reported_after_them() {
    let p = proxies().await;
    // Two 503s, then the server: the third attempt reads the value.
    p.aws.inject("GetParameter", Fault::status(503), 2);
    p.vault.inject(VAULT_DATA, Fault::status(503), 2);
    let c = client(&p, settings()).await;
    assert_eq!(value(&c, SSM).await, SSM_VALUE);
    assert_eq!(value(&c, VAULT).await, VAULT_VALUE);
    assert_eq!(p.aws.requests("GetParameter"), 3);
    assert_eq!(p.aws.forwarded("GetParameter"), 1);
    assert_eq!(p.vault.requests(VAULT_DATA), 3);
    assert_eq!(p.vault.forwarded(VAULT_DATA), 1);

    // A storm longer than read_attempts: `unavailable` after exactly three.
    p.aws.inject("GetSecretValue", Fault::status(503), ALWAYS);
    p.vault.inject(VAULT_DATA, Fault::status(503), ALWAYS);
    let cold = client(&p, settings()).await;
    let asm = failure(&cold, ASM).await;
    let vault = failure(&cold, VAULT).await;
    println!(
        "503 ×2: 3 requests each, value read; 503 always: GetSecretValue {} requests → {asm}; Vault {} → {vault}",
        p.aws.requests("GetSecretValue"),
        p.vault.requests(VAULT_DATA) - 3
    );
    assert_eq!(asm.kind(), ErrorKind::Unavailable, "{asm}");
    assert_eq!(vault.kind(), ErrorKind::Unavailable, "{vault}");
    assert_eq!(p.aws.requests("GetSecretValue"), 3);
    assert_eq!(p.vault.requests(VAULT_DATA), 3 + 3);
}

// Throttling.

#[tokio::test]
async fn aws_throttling_is_retried_then_reported_as_throttled() {
    let p = proxies().await;
    // A burst of two, in the body shape, then the server.
    p.aws.inject("GetParameter", Fault::aws_throttling(), 2);
    let c = client(&p, settings()).await;
    assert_eq!(value(&c, SSM).await, SSM_VALUE);
    assert_eq!(p.aws.requests("GetParameter"), 3);
    assert_eq!(p.aws.forwarded("GetParameter"), 1);

    // A storm, each shape: `throttled` after exactly three attempts.
    p.aws
        .inject("GetParameter", Fault::aws_throttling(), ALWAYS);
    p.aws
        .inject("GetSecretValue", Fault::aws_throttling_in_headers(), ALWAYS);
    let cold = client(&p, settings()).await;
    let ssm = failure(&cold, SSM).await;
    let asm = failure(&cold, ASM).await;
    println!(
        "ThrottlingException ×2 then success: 3 GetParameter; always (body __type): {ssm}; \
         always (x-amzn-errortype header): {asm}; GetParameter {} GetSecretValue {}",
        p.aws.requests("GetParameter"),
        p.aws.requests("GetSecretValue")
    );
    for err in [&ssm, &asm] {
        assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
        assert!(err.message().contains("ThrottlingException"), "{err}");
    }
    assert_eq!(p.aws.requests("GetParameter"), 3 + 3);
    assert_eq!(p.aws.requests("GetSecretValue"), 3);
}

#[tokio::test]
async fn vault_429_retry_after_is_waited_for_and_bounded_by_the_budget() {
    let p = proxies().await;
    p.vault.inject(VAULT_DATA, Fault::vault_429(1), 1);
    let c = client(&p, settings()).await;
    let started = Instant::now();
    assert_eq!(value(&c, VAULT).await, VAULT_VALUE);
    let waited = started.elapsed();
    assert_eq!(p.vault.requests(VAULT_DATA), 2);
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After: 1 → {waited:?}"
    );

    // Always 429: three attempts, a second apart, then `throttled`.
    p.vault.inject(VAULT_DATA, Fault::vault_429(1), ALWAYS);
    let c = client(&p, settings()).await;
    let started = Instant::now();
    let err = failure(&c, VAULT).await;
    let storm = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
    assert_eq!(p.vault.requests(VAULT_DATA), 2 + 3);
    assert!(storm >= Duration::from_secs(2), "{storm:?}");

    // A Retry-After beyond the read's budget (5 s) is not slept through.
    p.vault.clear();
    p.vault.inject(VAULT_DATA, Fault::vault_429(30), 1);
    let c = client(&p, settings()).await;
    let started = Instant::now();
    let err = failure(&c, VAULT).await;
    let refused = started.elapsed();
    println!(
        "Vault 429 Retry-After 1 once: value after {waited:?}, 2 requests; always: {err} after {storm:?}, 3 requests; \
         Retry-After 30 with a 5 s budget: throttled after {refused:?}, 1 request"
    );
    assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
    assert_eq!(p.vault.requests(VAULT_DATA), 2 + 3 + 1);
    assert!(refused < Duration::from_secs(5), "{refused:?}");
}

// Redirects to another origin.

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let p = proxies().await;
    let thief = Recorder::start().await;
    p.aws.inject("", Fault::RedirectTo(thief.origin()), ALWAYS);
    p.vault
        .inject("", Fault::RedirectTo(thief.origin()), ALWAYS);
    let c = client(&p, settings()).await;
    let vault = failure(&c, VAULT).await;
    let ssm = failure(&c, SSM).await;
    let asm = failure(&c, ASM).await;
    // Anything that did follow would have arrived by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let preflights = "/v1/sys/internal/ui/mounts/";
    println!(
        "307 to {}: Vault {} mount preflights, {} data reads → {vault}; SSM {} requests → {ssm}; \
         ASM {} requests → {asm}; the other origin got {} connection(s)",
        thief.origin(),
        p.vault.requests(preflights),
        p.vault.requests("/v1/secret/"),
        p.aws.requests("GetParameter"),
        p.aws.requests("GetSecretValue"),
        thief.seen().len()
    );
    assert_eq!(vault.kind(), ErrorKind::Unavailable, "{vault}");
    assert!(vault.message().contains("redirect"), "{vault}");
    for err in [&ssm, &asm] {
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.message().contains("redirect"), "{err}");
    }
    // A redirect is typed `unavailable` and retried like one: three
    // attempts each, every one answered by the proxy, none followed.
    assert_eq!(p.vault.requests(preflights), 3);
    assert_eq!(p.vault.requests("/v1/secret/"), 0);
    assert_eq!(p.aws.requests("GetParameter"), 3);
    assert_eq!(p.aws.requests("GetSecretValue"), 3);
    assert!(
        thief.seen().is_empty(),
        "the other origin got: {:?}",
        thief.seen()
    );
}

// Stale if error: a cached value through every kind of failure.

#[tokio::test]
async fn cached_values_are_served_through_faults_and_nothing_is_lost() {
    let p = proxies().await;
    let c = client(&p, settings()).await;
    let events = recorder(&c);
    let refs = [
        "ssm:/prod/myapp/db-password?ttl=1s",
        "asm:prod/myapp/db-credentials?ttl=1s#username",
        "vault:secret/myapp/config?ttl=1s#api_key",
    ];
    for r in refs {
        assert_eq!(value(&c, r).await, expected(r));
    }
    let aws_before = p.aws.requests("");
    assert_eq!(aws_before, 2);
    assert_eq!(p.vault.requests(VAULT_DATA), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the TTL

    // A different fault per backend, for as long as it lasts.
    p.aws
        .inject("GetParameter", Fault::aws_throttling(), ALWAYS);
    p.aws.inject("GetSecretValue", Fault::ResetAfter(8), ALWAYS);
    p.vault.inject(VAULT_DATA, Fault::status(503), ALWAYS);
    for _ in 0..5 {
        for r in refs {
            assert_eq!(value(&c, r).await, expected(r), "stale {r}");
        }
    }
    let stats = c.stats();
    let errors: Vec<(String, ErrorKind)> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::Error)
        .map(|e| (e.reference.clone(), e.error.as_ref().unwrap().kind()))
        .collect();
    println!(
        "faults on all three backends after expiry: 15 reads, 15 values ({} stale), \
         {} AWS + {} Vault requests (one per key, no retries while stale), error events {errors:?}",
        stats.stale_serves,
        p.aws.requests("") - aws_before,
        p.vault.requests(VAULT_DATA) - 1
    );
    assert_eq!(stats.stale_serves, 15);
    // One failed attempt per key; the cache's backoff holds the rest.
    assert_eq!(p.aws.requests("") - aws_before, 2);
    assert_eq!(p.vault.requests(VAULT_DATA), 2);
    assert_eq!(
        errors,
        vec![
            (
                "ssm:/prod/myapp/db-password".to_owned(),
                ErrorKind::Throttled
            ),
            (
                "asm:prod/myapp/db-credentials".to_owned(),
                ErrorKind::Unavailable
            ),
            (
                "vault:secret/myapp/config".to_owned(),
                ErrorKind::Unavailable
            ),
        ]
    );

    // The faults end: after the backoff a read refreshes each key; every
    // read along the way had its value.
    p.aws.clear();
    p.vault.clear();
    let started = Instant::now();
    let mut reads = 0;
    while count(&events, EventKind::Refreshed) < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not refreshed: {:?}",
            events.lock().unwrap()
        );
        for r in refs {
            assert_eq!(value(&c, r).await, expected(r));
            reads += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "faults cleared: all three refreshed after {:?} ({reads} more reads, all with the value)",
        started.elapsed()
    );
    assert_eq!(c.stats().errors, 3);
}

// Token expiry.

#[tokio::test]
async fn an_expired_token_is_noticed_and_a_new_token_file_is_picked_up() {
    let address = var("VAULT_ADDR");
    let root = var("VAULT_TOKEN");
    let create = |ttl: &str| {
        let body = serde_json::json!({ "ttl": ttl, "renewable": false });
        let (address, root) = (address.clone(), root.clone());
        async move {
            let (status, answer) = vault_api(
                &address,
                &root,
                None,
                "POST",
                "auth/token/create",
                Some(body),
            )
            .await;
            assert_eq!(status, 200, "{answer}");
            answer["auth"]["client_token"].as_str().unwrap().to_owned()
        }
    };
    let short = create("3s").await;
    let file = std::env::temp_dir().join(format!("secretkit-faults-token-{}", std::process::id()));
    let _cleanup = Cleanup(file.clone());
    std::fs::write(&file, &short).unwrap();

    let proxy = Proxy::start(&address).await;
    let c = Client::builder()
        .vault(VaultSettings {
            token: String::new(),
            ..vault_settings(proxy.url())
        })
        .vault_auth(VaultAuth::TokenFile(file.clone()))
        .settings(settings())
        .build()
        .await
        .unwrap();
    let events = recorder(&c);
    let cached = "vault:secret/myapp/config?ttl=1s#api_key";
    let cold = "vault:secret/test/versioned#n";
    assert_eq!(value(&c, cached).await, VAULT_VALUE);

    // The token runs out (Vault's own clock decides).
    until(
        "the short token expired",
        Duration::from_secs(10),
        async || {
            let (status, _) = vault_api(
                &address,
                &short,
                None,
                "GET",
                "auth/token/lookup-self",
                None,
            )
            .await;
            status == 403
        },
    )
    .await;
    let data = |status| {
        proxy
            .seen("/v1/secret/data/")
            .iter()
            .filter(|s| s.status == status)
            .count()
    };
    assert_eq!((data(200), data(403)), (1, 0));

    // Expired, and the token file still holds it: the cached value is
    // served stale; a secret never read fails, naming its reference.
    assert_eq!(value(&c, cached).await, VAULT_VALUE);
    let err = failure(&c, cold).await;
    println!("expired token: cached value served stale; cold read → {err}");
    assert!(
        matches!(err.kind(), ErrorKind::AccessDenied | ErrorKind::Auth),
        "{err}"
    );
    assert_eq!(c.stats().stale_serves, 1);
    // Each refused read asked whether the token is the problem, logged in
    // again (the file) and tried once more: two refused requests per read.
    assert_eq!((data(200), data(403)), (1, 4));
    assert!(proxy.requests("/v1/auth/token/lookup-self") >= 2);

    // A new token lands in the file (vault agent's job): the next read is
    // refused once, logs in with it, and succeeds.
    let fresh = create("10m").await;
    std::fs::write(&file, &fresh).unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await; // the lifecycle settles
    let before = (data(200), data(403));
    assert_eq!(value(&c, cold).await, "2");
    let after = (data(200), data(403));
    println!(
        "new token in the file: cold read succeeded after {} refused + {} good data request(s)",
        after.1 - before.1,
        after.0 - before.0
    );
    assert_eq!(after.0 - before.0, 1);
    assert!(after.1 - before.1 <= 1);
    // The stale entry is refreshed with the new token, never an error.
    until(
        "the stale entry refreshed",
        Duration::from_secs(10),
        async || {
            assert_eq!(value(&c, cached).await, VAULT_VALUE);
            count(&events, EventKind::Refreshed) == 1
        },
    )
    .await;
}

/// Removes a file when the test ends, however it ends.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// Clock steps, on a test clock, against the real servers.

#[tokio::test]
async fn clock_steps_drive_expiry_and_staleness_against_the_real_servers() {
    let p = proxies().await;
    let clock = ManualClock::new();
    let c = Client::builder()
        .runtime(Runtime {
            transport: Arc::new(ReqwestTransport::new(Duration::from_secs(5)).unwrap()),
            clock: clock.clone(),
        })
        .aws(aws_settings(p.aws.url()))
        .vault(vault_settings(p.vault.url()))
        .settings(ClientSettings {
            default_ttl: Duration::from_secs(300),
            max_stale: Duration::from_secs(3600),
            // Retries would sleep on the test clock.
            read_attempts: 1,
            ..settings()
        })
        .build()
        .await
        .unwrap();
    let refs = [SSM, ASM, VAULT];
    let requests = || (p.aws.requests(""), p.vault.requests(VAULT_DATA));
    let read_all = async || {
        for r in refs {
            assert_eq!(value(&c, r).await, expected(r), "{r}");
        }
    };
    read_all().await;
    assert_eq!(requests(), (2, 1));

    // +299 s: still fresh, no request.
    clock.advance(Duration::from_secs(299));
    read_all().await;
    assert_eq!(requests(), (2, 1));
    // +301 s: past the TTL, each key is read again.
    clock.advance(Duration::from_secs(2));
    read_all().await;
    assert_eq!(requests(), (4, 2));

    // The backends fail; a step past the TTL serves stale with one try each.
    p.aws.inject("", Fault::status(503), ALWAYS);
    p.vault.inject(VAULT_DATA, Fault::status(503), ALWAYS);
    clock.advance(Duration::from_secs(301));
    read_all().await;
    assert_eq!(requests(), (6, 3));
    assert_eq!(c.stats().stale_serves, 3);

    // A step past max_stale (1 h after expiry): errors, not hour-old values.
    clock.advance(Duration::from_secs(3601));
    let mut kinds = Vec::new();
    for r in refs {
        let err = failure(&c, r).await;
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        kinds.push(err.kind());
    }
    assert_eq!(requests(), (8, 4));

    // Back up: one read each, fresh values.
    p.aws.clear();
    p.vault.clear();
    read_all().await;
    println!(
        "test clock: +299 s 0 requests, +301 s 1 per key, +301 s with 503s stale ×3 (1 request per key), \
         +3601 s {kinds:?}, recovery 1 per key; totals AWS {} Vault data {}",
        requests().0,
        requests().1
    );
    assert_eq!(requests(), (10, 5));
}

// TLS with a private CA, and a restart, on dedicated OpenBao dev servers.

async fn tls_client(address: String, ca: Option<PathBuf>, settings: ClientSettings) -> Client {
    Client::builder()
        .vault(VaultSettings {
            address,
            token: BAO_TOKEN.into(),
            namespace: None,
            tls: TlsSettings {
                ca_files: ca.into_iter().collect(),
                ..Default::default()
            },
        })
        .settings(settings)
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn openbao_over_tls_trusts_its_private_ca_and_refuses_others_clearly() {
    let (bao, other) = tokio::join!(Bao::start_tls("tls"), Bao::start_tls("other-ca"));
    bao.put("faults/tls", serde_json::json!({ "k": "over-tls" }))
        .await;
    let reference = "vault:secret/faults/tls#k";

    let trusted = tls_client(bao.url(), Some(bao.ca()), settings()).await;
    assert_eq!(value(&trusted, reference).await, "over-tls");

    for (what, ca) in [
        ("no private CA", None),
        ("another private CA", Some(other.ca())),
    ] {
        let c = tls_client(bao.url(), ca, settings()).await;
        let started = Instant::now();
        let err = failure(&c, reference).await;
        println!("TLS, {what}: {err} after {:?}", started.elapsed());
        // A setting to fix, not a passing fault: `config`, never retried.
        assert_eq!(err.kind(), ErrorKind::Config, "{what}: {err}");
        // Clear: it says the certificate is the problem and what to set.
        assert!(err.message().contains("not trusted"), "{what}: {err}");
        assert!(err.message().contains("VAULT_CACERT"), "{what}: {err}");
        assert_eq!(c.stats().backend_calls.vault, 1, "{what}");
    }
}

#[tokio::test]
async fn a_tls_server_name_is_the_name_the_certificate_is_checked_against() {
    // On 127.0.0.2, which the dev certificate (localhost, 127.0.0.1) does
    // not name: a Vault reached by an address its certificate lacks.
    let bao = Bao::start_tls_at("server-name", "127.0.0.2").await;
    bao.put("faults/sni", serde_json::json!({ "k": "by-name" }))
        .await;
    let reference = "vault:secret/faults/sni#k";
    let client = |server_name: Option<&str>| {
        Client::builder()
            .vault(VaultSettings {
                address: bao.url(),
                token: BAO_TOKEN.into(),
                namespace: None,
                tls: TlsSettings {
                    ca_files: vec![bao.ca()],
                    server_name: server_name.map(Into::into),
                    ..Default::default()
                },
            })
            .settings(settings())
            .build()
    };

    // A name the certificate holds: read (the connection still goes to
    // 127.0.0.2; nothing resolves "localhost" to it but the override).
    let named = client(Some("localhost")).await.unwrap();
    assert_eq!(value(&named, reference).await, "by-name");

    // No name, or one the certificate lacks: refused as untrusted.
    for (what, name) in [
        ("no server name", None),
        ("another name", Some("vault.example.com")),
    ] {
        let err = failure(&client(name).await.unwrap(), reference).await;
        println!("TLS server name, {what}: {err}");
        assert_eq!(err.kind(), ErrorKind::Config, "{what}: {err}");
        assert!(err.message().contains("not trusted"), "{what}: {err}");
        // The hint is the name, not a CA.
        assert!(
            err.message().contains("VAULT_TLS_SERVER_NAME"),
            "{what}: {err}"
        );
    }

    // Not a DNS name: refused when the client is built.
    for bad in ["127.0.0.1", "two words"] {
        let err = client(Some(bad)).await.err().expect(bad);
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.message().contains("not a DNS name"), "{err}");
    }
}

#[tokio::test]
async fn an_openbao_restart_is_ridden_out_with_the_cached_value_then_recovered() {
    let mut bao = Bao::start_tls("restart").await;
    bao.put("faults/restart", serde_json::json!({ "k": "before" }))
        .await;
    let c = tls_client(
        bao.url(),
        Some(bao.ca()),
        ClientSettings {
            timeout: Duration::from_secs(3),
            ..settings()
        },
    )
    .await;
    let events = recorder(&c);
    let cached = "vault:secret/faults/restart?ttl=1s#k";
    let cold = "vault:secret/faults/cold#k";
    assert_eq!(value(&c, cached).await, "before");
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the TTL

    // Down (killed: a crash, not a clean shutdown).
    bao.kill();
    let calls = c.stats().backend_calls.vault;
    assert_eq!(value(&c, cached).await, "before", "served stale");
    let stale_calls = c.stats().backend_calls.vault - calls;
    let err = failure(&c, cold).await;
    let cold_calls = c.stats().backend_calls.vault - calls - stale_calls;
    println!("OpenBao down: cached value served stale ({stale_calls} call); cold read → {err} ({cold_calls} calls)");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!((stale_calls, cold_calls), (1, 3));

    // Back on the same port and certificate. A dev server keeps nothing, so
    // the secret is written again, with a new value to tell it apart.
    let down_at = Instant::now();
    bao.restart().await;
    bao.put("faults/restart", serde_json::json!({ "k": "after" }))
        .await;
    let back_at = Instant::now();
    let mut reads = 0;
    loop {
        let got = value(&c, cached).await;
        reads += 1;
        if got == "after" {
            break;
        }
        assert_eq!(
            got, "before",
            "only the old or the new value, never an error"
        );
        assert!(
            back_at.elapsed() < Duration::from_secs(10),
            "no recovery: {:?}",
            events.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "OpenBao restarted in {:?}; the client read the new value {:?} later ({reads} reads, all with a value)",
        back_at - down_at,
        back_at.elapsed()
    );
    // A secret whose first read failed during the outage reads fine now.
    bao.put("faults/cold", serde_json::json!({ "k": "cold" }))
        .await;
    assert_eq!(value(&c, cold).await, "cold");
}
