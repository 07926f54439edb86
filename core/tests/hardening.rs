//! One test per hazard of the hardening review (issue 7), each written to
//! fail on the code before its fix: a scripted Vault on a test clock for the
//! protocol and lifecycle rules, local sockets for what the real HTTP stack
//! does (redirects), and the process's own files for `file:`.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use secretkit::{
    BoxFuture, Client, ClientSettings, ErrorKind, ManualClock, Runtime, SecretSource, Transport,
    TransportError, VaultAuth, VaultSettings,
};

type Reply = Result<http::Response<Bytes>, TransportError>;

/// One request as the scripted Vault saw it.
#[derive(Clone, Debug)]
struct Call {
    method: String,
    /// Path and query as sent (percent-encoding kept).
    path: String,
    token: String,
    body: String,
}

type Script = dyn Fn(&Call, usize) -> Reply + Send + Sync;

/// Answers the KV v2 preflight for `secret/` itself; everything else goes to
/// the script, with how many earlier calls had the same method and path.
struct Vault {
    script: Arc<Script>,
    calls: Mutex<Vec<Call>>,
    /// While set, data reads (not logins, lookups or preflights) wait.
    hold: Mutex<Option<futures::future::Shared<futures::channel::oneshot::Receiver<()>>>>,
}

impl Vault {
    fn new(script: impl Fn(&Call, usize) -> Reply + Send + Sync + 'static) -> Arc<Vault> {
        Arc::new(Vault {
            script: Arc::new(script),
            calls: Mutex::new(Vec::new()),
            hold: Mutex::new(None),
        })
    }

    fn count(&self, method: &str, path: &str) -> usize {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|c| c.method == method && c.path == path)
            .count()
    }

    fn paths(&self) -> Vec<String> {
        let calls = self.calls.lock().unwrap();
        calls.iter().map(|c| c.path.clone()).collect()
    }

    fn hold_reads(&self) -> futures::channel::oneshot::Sender<()> {
        use futures::FutureExt;
        let (open, gate) = futures::channel::oneshot::channel();
        *self.hold.lock().unwrap() = Some(gate.shared());
        open
    }
}

impl Transport for Vault {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'static, Reply> {
        let call = Call {
            method: request.method().to_string(),
            path: request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            token: request
                .headers()
                .get("x-vault-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
            body: String::from_utf8_lossy(request.body()).into_owned(),
        };
        if call.path.starts_with("/v1/sys/internal/ui/mounts/secret/") {
            let r = json(
                200,
                r#"{"data":{"path":"secret/","type":"kv","options":{"version":"2"}}}"#,
            );
            return Box::pin(async move { r });
        }
        let earlier = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls
                .iter()
                .filter(|c| c.method == call.method && c.path == call.path)
                .count();
            calls.push(call.clone());
            n
        };
        let data_read = call.method == "GET" && !call.path.starts_with("/v1/auth/");
        let hold = data_read
            .then(|| self.hold.lock().unwrap().clone())
            .flatten();
        let script = self.script.clone();
        Box::pin(async move {
            if let Some(hold) = hold {
                let _ = hold.await;
            }
            script(&call, earlier)
        })
    }
}

fn json(status: u16, body: &str) -> Reply {
    Ok(http::Response::builder()
        .status(status)
        .body(Bytes::from(body.to_owned()))
        .unwrap())
}

fn kv2(data: &str) -> Reply {
    json(
        200,
        &format!(r#"{{"data":{{"data":{data},"metadata":{{"version":1}}}}}}"#),
    )
}

fn lease(id: &str, secs: u64) -> Reply {
    json(
        200,
        &format!(
            r#"{{"lease_id":"{id}","lease_duration":{secs},"renewable":true,"data":{{"username":"u-{id}","password":"p"}}}}"#
        ),
    )
}

fn denied() -> Reply {
    json(403, r#"{"errors":["permission denied"]}"#)
}

fn unavailable() -> Reply {
    json(503, r#"{"errors":["Vault is sealed"]}"#)
}

fn settings() -> ClientSettings {
    ClientSettings {
        timeout: Duration::from_secs(5),
        ttl_jitter: 0.0,
        refresh_ahead: 1.0,
        read_attempts: 1,
        ..ClientSettings::default()
    }
}

fn vault_settings() -> VaultSettings {
    VaultSettings {
        address: "http://127.0.0.1:8200".into(),
        token: "root".into(),
        namespace: None,
        tls: Default::default(),
    }
}

async fn build(vault: &Arc<Vault>, clock: &Arc<ManualClock>, auth: VaultAuth) -> Client {
    build_with(vault, clock, auth, settings()).await
}

async fn build_with(
    vault: &Arc<Vault>,
    clock: &Arc<ManualClock>,
    auth: VaultAuth,
    settings: ClientSettings,
) -> Client {
    let token = if matches!(auth, VaultAuth::Token) {
        "root"
    } else {
        ""
    };
    Client::builder()
        .runtime(Runtime {
            transport: vault.clone(),
            clock: clock.clone(),
        })
        .vault(VaultSettings {
            token: token.into(),
            ..vault_settings()
        })
        .vault_auth(auth)
        .settings(settings)
        .build()
        .await
        .unwrap()
}

fn approle() -> VaultAuth {
    VaultAuth::AppRole {
        mount: "approle".into(),
        role_id: SecretSource::Value("role".into()),
        secret_id: SecretSource::Value("secret-id-canary".into()),
    }
}

/// An AppRole login answer for `token`.
fn login_answer(token: &str, ttl: u64) -> Reply {
    json(
        200,
        &format!(
            r#"{{"auth":{{"client_token":"{token}","lease_duration":{ttl},"renewable":true}}}}"#
        ),
    )
}

/// Advance the clock in 100 ms steps, letting background tasks run.
async fn run_for(clock: &ManualClock, seconds: u64) {
    for _ in 0..seconds * 10 {
        clock.advance(Duration::from_millis(100));
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }
}

/// Keep advancing the clock until `fut` completes (retry waits and
/// timeouts sleep on it); returns the output and the time it took.
async fn with_clock<T>(
    clock: &ManualClock,
    fut: impl std::future::Future<Output = T>,
) -> (T, Duration) {
    use futures::future::{select, Either};
    let start = std::time::UNIX_EPOCH;
    let t0 = secretkit::Clock::now(clock).duration_since(start).unwrap();
    let mut fut = std::pin::pin!(fut);
    loop {
        let tick = std::pin::pin!(tokio::task::yield_now());
        match select(fut.as_mut(), tick).await {
            Either::Left((out, _)) => {
                let t1 = secretkit::Clock::now(clock).duration_since(start).unwrap();
                return (out, t1 - t0);
            }
            Either::Right(_) => clock.advance(Duration::from_millis(50)),
        }
    }
}

// 2. Panics reachable from input.

#[tokio::test]
async fn huge_durations_are_refused_or_capped_and_never_panic() {
    let vault = Vault::new(|call, _| match call.path.as_str() {
        "/v1/database/creds/ro" => json(
            200,
            r#"{"lease_id":"database/creds/ro/1","lease_duration":18446744073709551615,"renewable":true,"data":{"username":"u","password":"p"}}"#,
        ),
        "/v1/auth/token/lookup-self" => json(
            200,
            r#"{"data":{"ttl":18446744073709551615,"creation_ttl":18446744073709551615,"renewable":true}}"#,
        ),
        _ => kv2(r#"{"k":"v"}"#),
    });
    let clock = ManualClock::new();
    let c = build(&vault, &clock, VaultAuth::Token).await;

    let err = c
        .get("env:HOME?ttl=18446744073709551615")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidReference);
    assert!(err.to_string().contains("limit"), "{err}");

    // A server's absurd lease and token TTLs are capped, not trusted.
    let s = c.get("vault:database/creds/ro#username").await.unwrap();
    assert_eq!(s.reveal().unwrap(), "u");
    assert!(s.lease().unwrap().duration_secs <= 365 * 24 * 3600);
    run_for(&clock, 3).await;
    assert!(c.get_cached("vault:database/creds/ro#username").is_some());

    for bad in [
        ClientSettings {
            timeout: Duration::from_secs(u64::MAX),
            ..settings()
        },
        ClientSettings {
            max_stale: Duration::MAX,
            ..settings()
        },
        ClientSettings {
            refresh_ahead: f64::NAN,
            ..settings()
        },
    ] {
        let built = Client::builder()
            .runtime(Runtime {
                transport: vault.clone(),
                clock: clock.clone(),
            })
            .settings(bad)
            .build()
            .await;
        assert_eq!(built.err().unwrap().kind(), ErrorKind::Config);
    }
}

#[tokio::test]
async fn a_read_that_panics_fails_its_readers_and_the_next_read_works() {
    let armed = Arc::new(AtomicBool::new(true));
    let trap = armed.clone();
    let vault = Vault::new(move |call, _| {
        if call.path == "/v1/secret/data/app" && trap.swap(false, Ordering::SeqCst) {
            panic!("injected transport panic");
        }
        kv2(r#"{"k":"v"}"#)
    });
    let clock = ManualClock::new();
    let c = build(&vault, &clock, VaultAuth::Token).await;
    let open = vault.hold_reads();
    let readers: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get("vault:secret/app#k").await })
        })
        .collect();
    tokio::task::yield_now().await;
    drop(open);
    for reader in readers {
        let err = reader.await.expect("no reader panics").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.message().contains("internal error"), "{err}");
    }
    let s = c.get("vault:secret/app#k").await.unwrap();
    assert_eq!(s.reveal().unwrap(), "v");
}

// 3. A fixed token's lookup that fails is retried, not taken as final.

#[tokio::test]
async fn a_failed_token_lookup_is_retried_and_renewal_goes_on() {
    let vault = Vault::new(|call, earlier| match call.path.as_str() {
        "/v1/auth/token/lookup-self" if earlier < 2 => unavailable(),
        "/v1/auth/token/lookup-self" => json(
            200,
            r#"{"data":{"ttl":30,"creation_ttl":30,"renewable":true}}"#,
        ),
        "/v1/auth/token/renew-self" => json(
            200,
            r#"{"auth":{"client_token":"root","lease_duration":30,"renewable":true}}"#,
        ),
        _ => kv2(r#"{"k":"v"}"#),
    });
    let clock = ManualClock::new();
    let c = build(&vault, &clock, VaultAuth::Token).await;
    c.get("vault:secret/app").await.unwrap();
    run_for(&clock, 60).await;
    assert_eq!(vault.count("GET", "/v1/auth/token/lookup-self"), 3);
    assert!(
        vault.count("POST", "/v1/auth/token/renew-self") >= 2,
        "renewal must go on after the lookup recovers: {:?}",
        vault.paths()
    );
}

// 7. After the token expires, retries back off instead of running each tick.

#[tokio::test]
async fn token_renewal_failing_past_expiry_backs_off() {
    let vault = Vault::new(|call, _| match call.path.as_str() {
        "/v1/auth/token/lookup-self" => json(
            200,
            r#"{"data":{"ttl":10,"creation_ttl":10,"renewable":true}}"#,
        ),
        "/v1/auth/token/renew-self" => unavailable(),
        _ => kv2(r#"{"k":"v"}"#),
    });
    let clock = ManualClock::new();
    let settings = ClientSettings {
        retry_base: Duration::from_secs(1),
        retry_max: Duration::from_secs(60),
        ..settings()
    };
    let c = build_with(&vault, &clock, VaultAuth::Token, settings).await;
    c.get("vault:secret/app").await.unwrap();
    run_for(&clock, 180).await;
    let renewals = vault.count("POST", "/v1/auth/token/renew-self");
    // 1, 2, 4, 8, 16, 32, 60, 60 s apart: about ten tries in three minutes,
    // where a retry at the (past) expiry would make one every second.
    assert!(
        (3..=14).contains(&renewals),
        "{renewals} renew-self calls in 180 s"
    );
}

// 8. Logins are single flight.

#[tokio::test]
async fn concurrent_cold_reads_share_one_login() {
    let vault = Vault::new(|call, _| match call.path.as_str() {
        "/v1/auth/approle/login" => login_answer("t1", 3600),
        _ => kv2(r#"{"k":"v"}"#),
    });
    let clock = ManualClock::new();
    let c = build(&vault, &clock, approle()).await;
    let reads = (0..50).map(|i| {
        let c = c.clone();
        async move { c.get(&format!("vault:secret/app{i}")).await }
    });
    for r in futures::future::join_all(reads).await {
        r.unwrap();
    }
    assert_eq!(vault.count("POST", "/v1/auth/approle/login"), 1);
}

// 9 + 8. A 403 from an expired token logs in again, once for all readers;
// a 403 from policy does not log in at all.

#[tokio::test]
async fn a_403_for_an_expired_token_logs_in_once_and_a_policy_403_does_not() {
    let logins = Arc::new(AtomicUsize::new(0));
    let n = logins.clone();
    let vault = Vault::new(move |call, _| match call.path.as_str() {
        "/v1/auth/approle/login" => {
            let i = n.fetch_add(1, Ordering::SeqCst) + 1;
            login_answer(&format!("t{i}"), 3600)
        }
        // OpenBao's answer to an expired token: 403 "permission denied".
        _ if call.token == "t1" => denied(),
        "/v1/auth/token/lookup-self" => json(200, r#"{"data":{"ttl":3600,"renewable":true}}"#),
        p if p.starts_with("/v1/secret/data/denied") => denied(),
        _ => kv2(r#"{"k":"v"}"#),
    });
    let clock = ManualClock::new();
    let c = build(&vault, &clock, approle()).await;
    let reads = (0..20).map(|i| {
        let c = c.clone();
        async move { c.get(&format!("vault:secret/app{i}")).await }
    });
    for r in futures::future::join_all(reads).await {
        r.unwrap();
    }
    assert_eq!(
        logins.load(Ordering::SeqCst),
        2,
        "first login + one re-login"
    );

    let err = c.get("vault:secret/denied").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AccessDenied);
    assert_eq!(
        logins.load(Ordering::SeqCst),
        2,
        "a policy denial is not a reason to log in"
    );
}

#[tokio::test]
async fn leases_read_with_a_replaced_token_are_read_again() {
    let logins = Arc::new(AtomicUsize::new(0));
    let n = logins.clone();
    let vault = Vault::new(move |call, earlier| match call.path.as_str() {
        "/v1/auth/approle/login" => {
            let i = n.fetch_add(1, Ordering::SeqCst) + 1;
            login_answer(&format!("t{i}"), 3600)
        }
        "/v1/database/creds/ro" => lease(&format!("lease-{earlier}"), 600),
        // A data read refused once: the token was revoked behind our back.
        "/v1/secret/data/app" if call.token == "t1" => json(401, r#"{"errors":[]}"#),
        _ => kv2(r#"{"k":"v"}"#),
    });
    let clock = ManualClock::new();
    let c = build(&vault, &clock, approle()).await;
    c.get("vault:database/creds/ro#username").await.unwrap();
    c.get("vault:secret/app").await.unwrap();
    assert_eq!(logins.load(Ordering::SeqCst), 2);
    run_for(&clock, 2).await;
    assert_eq!(
        vault.count("GET", "/v1/database/creds/ro"),
        2,
        "the lease of the old token is replaced"
    );
    let s = c.get("vault:database/creds/ro#username").await.unwrap();
    assert_eq!(s.reveal().unwrap(), "u-lease-1");
}

// 6. Paths are encoded and cannot name another API path.

#[tokio::test]
async fn vault_paths_are_percent_encoded_segment_by_segment() {
    let vault = Vault::new(|_, _| kv2(r#"{"k":"v"}"#));
    let clock = ManualClock::new();
    let c = build(&vault, &clock, VaultAuth::Token).await;
    c.get("vault:secret/ünï/a;b\"c").await.unwrap();
    assert!(
        vault
            .paths()
            .contains(&"/v1/secret/data/%C3%BCn%C3%AF/a%3Bb%22c".to_owned())
            || vault
                .paths()
                .contains(&"/v1/secret/data/%C3%BCn%C3%AF/a;b%22c".to_owned()),
        "{:?}",
        vault.paths()
    );
    let err = c
        .database_credentials("database", "../../sys/seal")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidReference);
    let err = c.get("vault:secret/%2e%2e/sys/mounts").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidReference);
    assert!(vault.paths().iter().all(|p| !p.contains("sys/")));
}

// 12. close() races and revokes under one deadline.

#[tokio::test]
async fn a_read_finishing_after_close_revokes_its_lease_and_fails() {
    let vault = Vault::new(|call, _| match call.path.as_str() {
        "/v1/database/creds/ro" => lease("database/creds/ro/late", 600),
        _ => json(404, "{}"),
    });
    let clock = ManualClock::new();
    let c = build(&vault, &clock, VaultAuth::Token).await;
    let open = vault.hold_reads();
    let reader = {
        let c = c.clone();
        tokio::spawn(async move { c.get("vault:database/creds/ro#username").await })
    };
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert_eq!(c.close().await, 0, "nothing tracked yet");
    drop(open);
    let err = reader.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let revoked = vault
        .calls
        .lock()
        .unwrap()
        .iter()
        .any(|call| call.path == "/v1/sys/leases/revoke" && call.body.contains("ro/late"));
    assert!(revoked, "{:?}", vault.paths());
}

#[tokio::test]
async fn close_revokes_every_lease_under_one_deadline() {
    let clock = ManualClock::new();
    // Five leases on five keys; each revocation hangs until the timeout.
    struct HangRevokes(Arc<Vault>);
    impl Transport for HangRevokes {
        fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'static, Reply> {
            let revoke = request.uri().path() == "/v1/sys/leases/revoke";
            let reply = self.0.send(request);
            if revoke {
                Box::pin(futures::future::pending())
            } else {
                reply
            }
        }
    }
    let vault2 = Vault::new(|call, _| {
        let id = call.path.trim_start_matches("/v1/");
        lease(id, 600)
    });
    let c2 = Client::builder()
        .runtime(Runtime {
            transport: Arc::new(HangRevokes(vault2.clone())),
            clock: clock.clone(),
        })
        .vault(vault_settings())
        .settings(settings())
        .build()
        .await
        .unwrap();
    for i in 0..5 {
        c2.get(&format!("vault:database/creds/r{i}#username"))
            .await
            .unwrap();
    }
    let (revoked, took) = with_clock(&clock, c2.close()).await;
    assert_eq!(revoked, 0);
    assert_eq!(vault2.count("PUT", "/v1/sys/leases/revoke"), 5);
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

// 10. Throttling: one retry layer, honouring Retry-After.

#[tokio::test]
async fn a_throttled_cold_read_waits_for_retry_after_then_succeeds() {
    let vault = Vault::new(|call, earlier| match call.path.as_str() {
        "/v1/secret/data/app" if earlier == 0 => Ok(http::Response::builder()
            .status(429)
            .header("retry-after", "2")
            .body(Bytes::from_static(
                br#"{"errors":["rate limit quota exceeded"]}"#,
            ))
            .unwrap()),
        _ => kv2(r#"{"k":"v"}"#),
    });
    let clock = ManualClock::new();
    let settings = ClientSettings {
        read_attempts: 3,
        ..settings()
    };
    let c = build_with(&vault, &clock, VaultAuth::Token, settings).await;
    let (result, took) = with_clock(&clock, c.get("vault:secret/app#k")).await;
    assert_eq!(result.unwrap().reveal().unwrap(), "v");
    assert_eq!(vault.count("GET", "/v1/secret/data/app"), 2);
    assert!(took >= Duration::from_secs(2), "waited {took:?}");
}

#[tokio::test]
async fn a_throttling_answer_slows_every_read_of_that_backend() {
    // Fleet behaviour (limiter.rs): a Retry-After pauses the backend for
    // every key, and afterwards calls are spaced until successes raise the
    // rate again.
    let vault = Vault::new(|call, earlier| match call.path.as_str() {
        "/v1/secret/data/hot" if earlier == 0 => Ok(http::Response::builder()
            .status(429)
            .header("retry-after", "5")
            .body(Bytes::from_static(
                br#"{"errors":["rate limit quota exceeded"]}"#,
            ))
            .unwrap()),
        _ => kv2(r#"{"k":"v"}"#),
    });
    let clock = ManualClock::new();
    let patient = ClientSettings {
        timeout: Duration::from_secs(30),
        ..settings()
    };
    let c = build_with(&vault, &clock, VaultAuth::Token, patient).await;
    let (result, _) = with_clock(&clock, c.get("vault:secret/hot#k")).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Throttled);
    // Another key, never throttled itself, waits out the pause.
    let (result, took) = with_clock(&clock, c.get("vault:secret/other#k")).await;
    assert_eq!(result.unwrap().reveal().unwrap(), "v");
    assert!(took >= Duration::from_secs(4), "waited {took:?}");
    // Four more keys at once: the rate allows a burst of a second's worth
    // (2 calls), the others get later turns.
    let refs = ["a", "b", "c", "d"].map(|k| format!("vault:secret/{k}#k"));
    let reads = futures::future::join_all(refs.iter().map(|r| c.get(r)));
    let (results, took) = with_clock(&clock, reads).await;
    assert!(results.iter().all(Result::is_ok));
    assert!(took >= Duration::from_millis(400), "waited {took:?}");
    // A turn that would come after the read's budget fails at once,
    // without calling the backend.
    let vault = Vault::new(|call, _| match call.path.as_str() {
        "/v1/secret/data/hot" => Ok(http::Response::builder()
            .status(429)
            .header("retry-after", "60")
            .body(Bytes::from_static(br#"{"errors":["rate limited"]}"#))
            .unwrap()),
        _ => kv2(r#"{"k":"v"}"#),
    });
    let c = build_with(&vault, &clock, VaultAuth::Token, settings()).await;
    let _ = with_clock(&clock, c.get("vault:secret/hot#k")).await;
    let (result, took) = with_clock(&clock, c.get("vault:secret/other#k")).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.reference(), Some("vault:secret/other#k"));
    assert!(took < Duration::from_secs(1), "waited {took:?}");
    assert_eq!(vault.count("GET", "/v1/secret/data/other"), 0);
}

#[tokio::test]
async fn retries_stop_at_the_attempt_limit_and_never_retry_permanent_errors() {
    let vault = Vault::new(|call, _| match call.path.as_str() {
        "/v1/secret/data/down" => unavailable(),
        _ => denied(),
    });
    let clock = ManualClock::new();
    let settings = ClientSettings {
        read_attempts: 3,
        ..settings()
    };
    let c = build_with(&vault, &clock, VaultAuth::Token, settings).await;
    let (result, _) = with_clock(&clock, c.get("vault:secret/down")).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Unavailable);
    assert_eq!(vault.count("GET", "/v1/secret/data/down"), 3);
    let (result, _) = with_clock(&clock, c.get("vault:secret/nope")).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::AccessDenied);
    assert_eq!(vault.count("GET", "/v1/secret/data/nope"), 1);
}

// 14. Bounded error text.

#[tokio::test]
async fn a_huge_error_body_makes_a_short_message() {
    let vault = Vault::new(|_, _| {
        let junk = "x".repeat(3 * 1024 * 1024);
        json(500, &format!(r#"{{"errors":["{junk}"]}}"#))
    });
    let clock = ManualClock::new();
    let c = build(&vault, &clock, VaultAuth::Token).await;
    let err = c.get("vault:secret/app").await.unwrap_err();
    assert!(
        err.to_string().len() < 1200,
        "{} bytes",
        err.to_string().len()
    );
}

// 1. Redirects, through the real HTTP stack.

/// A server that answers every request with a 307 to `target`.
async fn redirector(target: String) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = socket.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

/// A server that records every request it gets (the would-be thief).
async fn recorder() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                    .await;
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn redirects_never_carry_credentials_to_another_origin() {
    let (thief, seen) = recorder().await;
    let port = redirector(format!("http://127.0.0.1:{thief}/v1/secret/data/app")).await;
    let c = Client::builder()
        .vault(VaultSettings {
            address: format!("http://127.0.0.1:{port}"),
            token: "s.token-canary".into(),
            namespace: Some("ns-canary".into()),
            tls: Default::default(),
        })
        .aws(secretkit::AwsSettings {
            region: "us-east-1".into(),
            access_key_id: "AKIDCANARY".into(),
            secret_access_key: "secret".into(),
            session_token: Some("session-token-canary".into()),
            endpoint: Some(format!("http://127.0.0.1:{port}")),
        })
        .settings(ClientSettings {
            read_attempts: 1,
            ..ClientSettings::default()
        })
        .build()
        .await
        .unwrap();
    let err = c.get("vault:secret/app").await.unwrap_err();
    assert!(err.message().contains("redirect"), "{err}");
    assert!(c.get("ssm:/prod/x").await.is_err());
    assert!(c.get("asm:prod/x").await.is_err());
    assert!(
        seen.lock().unwrap().is_empty(),
        "the other origin got: {:?}",
        seen.lock().unwrap()
    );
}

// 5. Plain http off loopback is refused unless allowed.

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
    let build = |address: &str, allow_http: bool| {
        Client::builder()
            .vault(VaultSettings {
                address: address.into(),
                ..vault_settings()
            })
            .settings(ClientSettings {
                allow_http,
                ..ClientSettings::default()
            })
            .build()
    };
    let err = build("http://10.1.2.3:8200", false).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("allow_http"), "{err}");
    assert!(build("http://10.1.2.3:8200", true).await.is_ok());
    assert!(build("https://vault.example.com", false).await.is_ok());
    assert!(build("http://[::1]:8200", false).await.is_ok());
    assert!(build("http://localhost:8200", false).await.is_ok());
    let missing_ca = Client::builder()
        .vault(VaultSettings {
            address: "https://vault.example.com".into(),
            tls: secretkit::TlsSettings {
                ca_files: vec!["/nonexistent/ca.pem".into()],
                ..Default::default()
            },
            ..vault_settings()
        })
        .build()
        .await;
    let err = missing_ca.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("/nonexistent/ca.pem"), "{err}");
}

// 15. Local schemes.

#[tokio::test]
async fn local_schemes_can_be_turned_off() {
    let c = Client::builder()
        .settings(ClientSettings {
            allow_local: false,
            ..ClientSettings::default()
        })
        .build()
        .await
        .unwrap();
    for r in ["env:HOME", "file:/etc/hostname"] {
        assert_eq!(c.get(r).await.unwrap_err().kind(), ErrorKind::AccessDenied);
    }
}

#[tokio::test]
async fn a_fifo_is_refused_at_once_instead_of_blocking() {
    let dir = std::env::temp_dir().join(format!("secretkit-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("secret.fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let c = Client::builder()
        .settings(ClientSettings {
            timeout: Duration::from_secs(2),
            ..ClientSettings::default()
        })
        .build()
        .await
        .unwrap();
    let reference = format!("file:{}", fifo.display());
    let result = tokio::time::timeout(Duration::from_secs(5), c.get(&reference))
        .await
        .expect("a FIFO must not block the read");
    assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidReference);
    let _ = std::fs::remove_dir_all(&dir);
}

// 13. Deadlines on a clock that never steps back.

#[test]
fn the_native_clock_is_monotonic_and_reports_wall_time_separately() {
    use secretkit::Clock;
    let clock = secretkit::runtime::native::TokioClock;
    let mut last = clock.now();
    for _ in 0..100_000 {
        let now = clock.now();
        assert!(now >= last);
        last = now;
    }
    let skew = clock
        .wall()
        .duration_since(clock.now())
        .unwrap_or_else(|e| e.duration());
    assert!(
        skew < Duration::from_secs(5),
        "wall and monotonic agree at start"
    );
}
