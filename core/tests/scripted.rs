//! Client behaviour against a scripted Vault transport and a test clock:
//! deterministic, no sleeping, every backend call counted.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use secretkit::{
    BoxFuture, Client, ErrorKind, ManualClock, Runtime, Transport, TransportError, VaultSettings,
};

mod common;
use common::*;

#[tokio::test]
async fn values_are_cached_for_the_ttl_on_the_clients_clock() {
    let vault = scripted(|_| kv2(r#"{"api_key":"sk-1"}"#, 1));
    let clock = ManualClock::new();
    let c = client(vault.clone(), clock.clone()).await;
    for _ in 0..3 {
        let s = c.get("vault:secret/app#api_key").await.unwrap();
        assert_eq!(s.reveal().unwrap(), "sk-1");
        assert_eq!(s.version(), Some("1"));
    }
    assert_eq!(vault.reads.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(299));
    c.get("vault:secret/app").await.unwrap();
    assert_eq!(
        vault.reads.load(Ordering::SeqCst),
        1,
        "still fresh at 299 s"
    );
    clock.advance(Duration::from_secs(1));
    c.get("vault:secret/app").await.unwrap();
    assert_eq!(
        vault.reads.load(Ordering::SeqCst),
        2,
        "expired at the 300 s default"
    );
}

#[tokio::test]
async fn per_reference_ttl_overrides_the_default() {
    let vault = scripted(|_| kv2(r#"{"k":"v"}"#, 1));
    let clock = ManualClock::new();
    let c = client(vault.clone(), clock.clone()).await;
    c.get("vault:secret/short?ttl=5s").await.unwrap();
    clock.advance(Duration::from_secs(5));
    c.get("vault:secret/short?ttl=5s").await.unwrap();
    assert_eq!(vault.reads.load(Ordering::SeqCst), 2);
    c.get("vault:secret/nocache?ttl=0").await.unwrap();
    c.get("vault:secret/nocache?ttl=0").await.unwrap();
    assert_eq!(vault.reads.load(Ordering::SeqCst), 4, "ttl=0 never caches");
}

#[tokio::test]
async fn fields_of_one_secret_share_one_read() {
    let vault = scripted(|_| kv2(r#"{"username":"u1","password":"p1"}"#, 7));
    let c = client(vault.clone(), ManualClock::new()).await;
    let user = c.get("vault:secret/db#username").await.unwrap();
    let pass = c.get("vault:secret/db?ttl=60s#password").await.unwrap();
    assert_eq!(
        (user.reveal().unwrap(), pass.reveal().unwrap()),
        ("u1", "p1")
    );
    assert_eq!(vault.reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn concurrent_misses_share_one_backend_call() {
    let vault = scripted(|_| kv2(r#"{"k":"v"}"#, 1));
    let (open, gate) = futures::channel::oneshot::channel::<()>();
    use futures::FutureExt;
    *vault.gate.lock().unwrap() = Some(gate.shared());
    let c = client(vault.clone(), ManualClock::new()).await;
    let readers: Vec<_> = (0..1000)
        .map(|i| {
            let c = c.clone();
            let field = if i % 2 == 0 { "" } else { "#k" };
            tokio::spawn(async move { c.get(&format!("vault:secret/hot{field}")).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    open.send(()).unwrap();
    for r in readers {
        r.await.unwrap().unwrap();
    }
    assert_eq!(vault.reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bad_answers_are_typed_errors_that_name_the_reference() {
    let vault = scripted(|path| match path {
        "/v1/secret/data/garbage" => json(200, "<html>not json"),
        "/v1/secret/data/nodata" => json(200, r#"{"data":null}"#),
        "/v1/secret/data/denied" => json(403, r#"{"errors":["permission denied"]}"#),
        "/v1/secret/data/badtoken" => json(403, r#"{"errors":["invalid token"]}"#),
        "/v1/secret/data/down" => json(503, r#"{"errors":["Vault is sealed"]}"#),
        "/v1/secret/data/slow" => json(429, ""),
        "/v1/secret/data/gone" => json(404, r#"{"errors":[]}"#),
        "/v1/secret/data/refused" => Err(TransportError::Connect("refused".into())),
        "/v1/secret/data/huge" => Err(TransportError::BodyTooLarge),
        _ => kv2(r#"{"password":"s3cret-value"}"#, 1),
    });
    let c = client(vault, ManualClock::new()).await;
    let cases = [
        ("vault:secret/garbage", ErrorKind::InvalidResponse),
        ("vault:secret/nodata", ErrorKind::InvalidResponse),
        ("vault:secret/denied", ErrorKind::AccessDenied),
        ("vault:secret/badtoken", ErrorKind::Auth),
        ("vault:secret/down", ErrorKind::Unavailable),
        ("vault:secret/gone", ErrorKind::NotFound),
        ("vault:secret/refused", ErrorKind::Unavailable),
        ("vault:secret/huge", ErrorKind::InvalidResponse),
        ("vault:secret/ok#nope", ErrorKind::NotFound),
        ("vault:secret/ok?version=x", ErrorKind::InvalidReference),
        ("ssm:/not/configured", ErrorKind::Config),
        // Last: after a throttle the next Vault call waits its turn
        // (limiter.rs), and this clock never moves.
        ("vault:secret/slow", ErrorKind::Throttled),
    ];
    for (reference, kind) in cases {
        let err = c.get(reference).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{reference}: {err}");
        assert_eq!(err.reference(), Some(reference));
        assert!(!err.to_string().contains("s3cret-value"), "{err}");
    }
}

#[tokio::test]
async fn a_backend_that_never_answers_times_out_on_the_clock() {
    struct Hang;
    impl Transport for Hang {
        fn send(&self, _: http::Request<Bytes>) -> BoxFuture<'static, Reply> {
            Box::pin(futures::future::pending())
        }
    }
    let clock = ManualClock::new();
    let c = Client::builder()
        .runtime(Runtime {
            transport: Arc::new(Hang),
            clock: clock.clone(),
        })
        .vault(VaultSettings {
            address: "http://127.0.0.1:8200".into(),
            token: "t".into(),
            namespace: None,
            tls: Default::default(),
        })
        .build()
        .await
        .unwrap();
    let read = tokio::spawn(async move { c.get("vault:secret/x").await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    clock.advance(Duration::from_secs(10));
    let err = read.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}
