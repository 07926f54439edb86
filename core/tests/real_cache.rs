//! The cache engine against the real moto and OpenBao servers, counting the
//! HTTP requests that actually leave the process.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

mod common;
use common::{aws_settings, recorder, var};

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use secretkit::runtime::native::{ReqwestTransport, TokioClock};
use secretkit::{
    AwsApi, AwsService, AwsSettings, BoxFuture, Client, ClientSettings, EventKind, Runtime,
    Transport, TransportError,
};

/// Counts requests by operation: the `X-Amz-Target` header for AWS JSON APIs,
/// the URL path for Vault.
struct Counting {
    inner: ReqwestTransport,
    calls: Mutex<HashMap<String, usize>>,
    total: AtomicUsize,
}

impl Counting {
    fn new() -> Arc<Counting> {
        Arc::new(Counting {
            inner: ReqwestTransport::new(Duration::from_secs(5)).unwrap(),
            calls: Mutex::new(HashMap::new()),
            total: AtomicUsize::new(0),
        })
    }

    fn count(&self, operation: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }
}

impl Transport for Counting {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>> {
        let operation = match request.headers().get("x-amz-target") {
            Some(target) => target
                .to_str()
                .unwrap_or("?")
                .rsplit('.')
                .next()
                .unwrap()
                .to_owned(),
            None => request.uri().path().to_owned(),
        };
        *self.calls.lock().unwrap().entry(operation).or_default() += 1;
        self.total.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request)
    }
}

async fn counted_client(transport: Arc<Counting>, settings: ClientSettings) -> Client {
    Client::builder()
        .runtime(Runtime {
            transport,
            clock: Arc::new(TokioClock),
        })
        .aws(aws_settings(var("AWS_ENDPOINT_URL")))
        .vault(common::real_vault())
        .settings(settings)
        .build()
        .await
        .unwrap()
}

/// Signed AWS calls for writing test data (secretkit's own protocol layer).
async fn ssm_admin(endpoint: &str) -> AwsApi {
    let rt = secretkit::runtime::native::runtime(Duration::from_secs(5)).unwrap();
    let settings = AwsSettings {
        region: var("AWS_REGION"),
        access_key_id: var("AWS_ACCESS_KEY_ID"),
        secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
        session_token: None,
        endpoint: Some(endpoint.to_owned()),
    };
    AwsApi::from_settings(&settings, &rt, Duration::from_secs(5))
}

async fn put_parameter(admin: &AwsApi, name: &str, value: &str) {
    let input = serde_json::json!({
        "Name": name, "Value": value, "Type": "SecureString", "Overwrite": true,
    });
    admin
        .call(AwsService::Ssm, "PutParameter", &input)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_reads_make_one_request_per_backend() {
    let wire = Counting::new();
    let c = counted_client(wire.clone(), ClientSettings::default()).await;
    // Different spellings of the same three secrets: one key each.
    let spellings = [
        "asm:prod/myapp/db-credentials#password",
        "asm:prod/myapp/db-credentials?ttl=60s#username",
        "ssm:/prod/myapp/db-password",
        "ssm:/prod/myapp/db-password?ttl=90s",
        "vault:secret/myapp/config#api_key",
        "vault:secret/myapp/config?ttl=30s#db_host",
    ];
    let mut readers = Vec::new();
    for i in 0..64 {
        for &reference in spellings.iter().skip(i % 2).step_by(2) {
            let c = c.clone();
            readers.push(tokio::spawn(async move { c.get(reference).await }));
        }
    }
    for r in readers {
        r.await.unwrap().unwrap();
    }
    assert_eq!(wire.count("GetSecretValue"), 1);
    assert_eq!(wire.count("GetParameter"), 1);
    assert_eq!(wire.count("/v1/secret/data/myapp/config"), 1);
    let stats = c.stats();
    assert_eq!(
        (
            stats.backend_calls.asm,
            stats.backend_calls.ssm,
            stats.backend_calls.vault
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_new_version_is_noticed_and_reported_as_changed() {
    let endpoint = var("AWS_ENDPOINT_URL");
    let admin = ssm_admin(&endpoint).await;
    let name = format!("/test/changing-{}", std::process::id());
    put_parameter(&admin, &name, "first").await;
    let c = counted_client(
        Counting::new(),
        ClientSettings {
            ttl_jitter: 0.0,
            ..Default::default()
        },
    )
    .await;
    let events = recorder(&c);
    let reference = format!("ssm:{name}?ttl=1s");
    let first = c.get(&reference).await.unwrap();
    assert_eq!(first.reveal().unwrap(), "first");
    put_parameter(&admin, &name, "second").await;
    assert_eq!(
        c.get(&reference).await.unwrap().reveal().unwrap(),
        "first",
        "cached"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = c.get(&reference).await.unwrap();
    assert_eq!(second.reveal().unwrap(), "second");
    let changed: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::Changed)
        .cloned()
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].reference, format!("ssm:{name}"));
    assert_eq!(changed[0].old_version, first.version().map(str::to_owned));
    assert_eq!(changed[0].new_version, second.version().map(str::to_owned));
    assert_ne!(changed[0].old_version, changed[0].new_version);
}

/// A watched secret is re-read at its refresh point with no reader at all,
/// so the watcher hears of a new value (a rotation's new AWSCURRENT) without
/// waiting for a request; re-reads keep the `?ttl=` the value was read with
/// and stop when the watch ends.
#[tokio::test]
async fn a_watched_secret_is_followed_without_reads() {
    let endpoint = var("AWS_ENDPOINT_URL");
    let admin = ssm_admin(&endpoint).await;
    let name = format!("/test/watched-{}", std::process::id());
    put_parameter(&admin, &name, "first").await;
    let transport = Counting::new();
    let c = counted_client(
        transport.clone(),
        ClientSettings {
            ttl_jitter: 0.0,
            ..Default::default() // default TTL 300 s: only `?ttl=1s` makes it due
        },
    )
    .await;
    let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let id = c
        .watch(&format!("ssm:{name}#ignored-field"), move |e| {
            let _ = tx.send((e.kind, e.old_version.clone(), e.new_version.clone()));
        })
        .unwrap();
    let first = c.get(&format!("ssm:{name}?ttl=1s")).await.unwrap();
    put_parameter(&admin, &name, "second").await;
    let (kind, old, new) = tokio::time::timeout(Duration::from_secs(5), heard.recv())
        .await
        .expect("no `changed` within 5 s while nobody read")
        .unwrap();
    assert_eq!(kind, EventKind::Changed);
    assert_eq!(old.as_deref(), first.version());
    assert_ne!(old, new);
    // The re-read value is cached: a read now is a hit on the new value.
    let calls = transport.count("GetParameter");
    let now = c
        .get_cached(&format!("ssm:{name}"))
        .expect("cached")
        .unwrap();
    assert_eq!(now.reveal().unwrap(), "second");
    assert_eq!(transport.count("GetParameter"), calls);
    // Still followed at the 1 s TTL, then not at all once unwatched.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert!(
        transport.count("GetParameter") > calls,
        "re-read while watched"
    );
    c.unsubscribe(id);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = transport.count("GetParameter");
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(
        transport.count("GetParameter"),
        after,
        "re-read after unwatch"
    );
}

#[tokio::test]
async fn batches_use_the_batch_apis() {
    let endpoint = var("AWS_ENDPOINT_URL");
    let admin = ssm_admin(&endpoint).await;
    let run = std::process::id();
    let ssm_names: Vec<String> = (0..25)
        .map(|i| format!("/test/batch-{run}/p{i:02}"))
        .collect();
    for (i, name) in ssm_names.iter().enumerate() {
        put_parameter(&admin, name, &format!("value-{i}")).await;
    }
    let asm_names: Vec<String> = (0..25)
        .map(|i| format!("test/batch-{run}/s{i:02}"))
        .collect();
    for (i, name) in asm_names.iter().enumerate() {
        let input =
            serde_json::json!({ "Name": name, "SecretString": format!(r#"{{"n":"{i}"}}"#) });
        admin
            .call(AwsService::SecretsManager, "CreateSecret", &input)
            .await
            .unwrap();
    }

    let wire = Counting::new();
    let c = counted_client(wire.clone(), ClientSettings::default()).await;
    let mut refs: Vec<String> = ssm_names.iter().map(|n| format!("ssm:{n}")).collect();
    refs.extend(asm_names.iter().map(|n| format!("asm:{n}#n")));
    refs.push("ssm:/test/batch-missing".into());
    refs.push("vault:secret/myapp/config#db_host".into());
    refs.push("not a reference".into());
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let answers = c.get_many(&refs).await;
    for i in 0..25 {
        assert_eq!(
            answers[i].as_ref().unwrap().reveal().unwrap(),
            format!("value-{i}")
        );
        assert_eq!(
            answers[25 + i].as_ref().unwrap().reveal().unwrap(),
            i.to_string()
        );
    }
    let missing = answers[50].as_ref().unwrap_err();
    assert_eq!(missing.kind(), secretkit::ErrorKind::NotFound);
    assert_eq!(missing.reference(), Some("ssm:/test/batch-missing"));
    assert_eq!(
        answers[51].as_ref().unwrap().reveal().unwrap(),
        "mydb.internal"
    );
    assert_eq!(
        answers[52].as_ref().unwrap_err().kind(),
        secretkit::ErrorKind::InvalidReference
    );
    assert_eq!(wire.count("GetParameters"), 3, "26 names, 10 a call");
    assert_eq!(wire.count("BatchGetSecretValue"), 2, "25 ids, 20 a call");
    assert_eq!(wire.count("GetParameter") + wire.count("GetSecretValue"), 0);

    // Everything is now cached individually: single reads cost nothing.
    let before = wire.total();
    for r in &refs[..50] {
        c.get(r).await.unwrap();
    }
    assert_eq!(wire.total(), before);

    // A prefix loads in pages.
    let wire = Counting::new();
    let c = counted_client(wire.clone(), ClientSettings::default()).await;
    assert_eq!(
        c.prefetch(&format!("ssm:/test/batch-{run}/"))
            .await
            .unwrap(),
        25
    );
    assert_eq!(
        c.prefetch(&format!("asm:test/batch-{run}/")).await.unwrap(),
        25
    );
    let pages = wire.count("GetParametersByPath");
    assert_eq!(pages, 3, "25 parameters, 10 a page");
    let after_prefetch = wire.total();
    for r in &refs[..50] {
        c.get(r).await.unwrap();
    }
    assert_eq!(
        wire.total(),
        after_prefetch,
        "prefetched entries answer from the cache"
    );
}

/// Start a private moto on a fixed port (so it can come back on the same one).
fn start_moto(port: u16) -> std::process::Child {
    let bin = std::env::var("SK_MOTO_SERVER_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/moto_server").to_owned()
    });
    std::process::Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto_server from the test venv")
}

async fn wait_until_up(endpoint: &str) {
    for _ in 0..100 {
        if reqwest_ok(endpoint).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto at {endpoint} did not start");
}

async fn reqwest_ok(endpoint: &str) -> bool {
    tokio::net::TcpStream::connect(endpoint.trim_start_matches("http://"))
        .await
        .is_ok()
}

#[tokio::test]
async fn stale_if_error_while_the_server_is_down_then_recovery() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut moto = start_moto(port);
    wait_until_up(&endpoint).await;
    let admin = ssm_admin(&endpoint).await;
    put_parameter(&admin, "/outage/db-password", "before").await;

    let wire = Counting::new();
    let c = Client::builder()
        .runtime(Runtime {
            transport: wire.clone(),
            clock: Arc::new(TokioClock),
        })
        .aws(aws_settings(endpoint.clone()))
        .settings(ClientSettings {
            ttl_jitter: 0.0,
            retry_base: Duration::from_millis(200),
            retry_max: Duration::from_millis(800),
            timeout: Duration::from_secs(2),
            ..Default::default()
        })
        .build()
        .await
        .unwrap();
    let events = recorder(&c);
    let reference = "ssm:/outage/db-password?ttl=500ms";
    assert_eq!(c.get(reference).await.unwrap().reveal().unwrap(), "before");

    moto.kill().unwrap();
    moto.wait().unwrap();
    let before = wire.total();
    // 3 s of reads every 10 ms while the server is gone: all answered stale.
    for _ in 0..300 {
        let s = c
            .get(reference)
            .await
            .expect("stale value while the server is down");
        assert_eq!(s.reveal().unwrap(), "before");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let attempts = wire.total() - before;
    let errors = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::Error)
        .count();
    // How many refreshes fail within 3 s depends on the AWS SDK's own retry
    // backoff inside each refresh (up to 3 attempts), so at least one.
    assert!(
        errors >= 1,
        "failures reach the application as events: {errors}"
    );
    // Backoff 200, 400, 800, 800… ms over ~3 s is at most ~8 refreshes; each
    // may be retried by the SDK (3 attempts): far from a hot loop of 300.
    assert!(attempts <= 8 * 3, "{attempts} requests in 3 s of outage");
    assert!(c.stats().stale_serves >= 250);

    let mut moto = start_moto(port);
    wait_until_up(&endpoint).await;
    put_parameter(&admin, "/outage/db-password", "after").await;
    let mut recovered = false;
    for _ in 0..200 {
        if c.get(reference).await.unwrap().reveal().unwrap() == "after" {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    moto.kill().unwrap();
    moto.wait().unwrap();
    assert!(recovered, "the client recovers once the server is back");
}

#[tokio::test]
async fn keys_that_come_due_together_are_refreshed_in_batches() {
    let endpoint = var("AWS_ENDPOINT_URL");
    let admin = ssm_admin(&endpoint).await;
    let run = std::process::id();
    let names: Vec<String> = (0..25)
        .map(|i| format!("/test/due-{run}/p{i:02}"))
        .collect();
    for name in &names {
        put_parameter(&admin, name, "v").await;
    }
    let wire = Counting::new();
    let c = counted_client(
        wire.clone(),
        ClientSettings {
            ttl_jitter: 0.0,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        c.prefetch(&format!("ssm:/test/due-{run}/?ttl=2s"))
            .await
            .unwrap(),
        25
    );
    tokio::time::sleep(Duration::from_millis(1600)).await; // past 75 % of the TTL
    for name in &names {
        c.get(&format!("ssm:{name}")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        wire.count("GetParameters"),
        3,
        "25 due keys, 10 names a call"
    );
    assert_eq!(wire.count("GetParameter"), 0, "no key refreshed alone");
    assert_eq!(c.stats().refreshes, 25);
    // The refreshed entries kept their ?ttl= and are fresh again.
    let before = wire.total();
    for name in &names {
        c.get(&format!("ssm:{name}")).await.unwrap();
    }
    assert_eq!(wire.total(), before);
}
