//! OpenBao stopped for a while (SIGSTOP: the real server, frozen, so it
//! keeps its state) under a client holding a leased credential: the client
//! backs off — its requests are counted — and recovers when OpenBao
//! returns. A test binary of its own, so no other test shares the outage.

#![allow(clippy::unwrap_used)]

mod common;
use common::var;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secretkit::{Client, ClientSettings, Event, EventKind};

fn signal(sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &var("SK_BAO_PID")])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

#[tokio::test]
async fn the_client_backs_off_while_openbao_is_stopped_and_recovers() {
    let client = Client::builder()
        .vault(common::real_vault())
        .settings(ClientSettings {
            timeout: Duration::from_secs(2),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(4),
            ..Default::default()
        })
        .build()
        .await
        .unwrap();
    let events = Arc::new(Mutex::new(Vec::<Event>::new()));
    let sink = events.clone();
    client.subscribe(move |e| sink.lock().unwrap().push(e.clone()));
    let reference = format!("vault:database/creds/{}#username", var("SK_VAULT_DB_ROLE"));
    let first = client
        .get(&reference)
        .await
        .unwrap()
        .reveal()
        .unwrap()
        .to_owned();

    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = client.stats().backend_calls.vault;
    signal("-STOP");
    // 12 s of outage: the 10 s lease is due for renewal at ~6.7 s and ends at 10 s.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let during = client.stats().backend_calls.vault - before;
    signal("-CONT");
    let kinds: Vec<EventKind> = events.lock().unwrap().iter().map(|e| e.kind).collect();
    println!("outage: 12 s, {during} Vault requests by the lifecycle, events {kinds:?}");
    assert!(during >= 1, "it tried");
    assert!(
        during <= 6,
        "{during} requests in 12 s: backoff, no hot loop"
    );
    assert!(
        kinds.contains(&EventKind::Error),
        "failures are reported: {kinds:?}"
    );

    // Back: a read gets working credentials again.
    let mut recovered = None;
    for _ in 0..50 {
        if let Ok(s) = client.get(&reference).await {
            recovered = Some(s.reveal().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered = recovered.expect("the client recovers when OpenBao returns");
    assert_ne!(
        recovered, first,
        "the old lease ran out during the outage; a new one was read"
    );
    client.close().await;
}
