//! The access audit trail and the metrics, against the real moto, OpenBao
//! and PostgreSQL of `tests/servers.py start --fixtures --vault-lifecycle`:
//! every access of a scripted run is accounted for in the JSON-lines file,
//! attributed to the identity that made it, and no value is written.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;
use common::{aws_settings, json, scripted, var};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secretkit::{
    AuditRecord, AuditSettings, Client, ClientSettings, Identity, ManualClock, Outcome, Runtime,
    VaultSettings,
};

const SSM: &str = "ssm:/prod/myapp/db-password";
const ASM: &str = "asm:prod/myapp/db-credentials#password";
const KV: &str = "vault:secret/myapp/config#api_key";
const MISSING: &str = "ssm:/prod/myapp/not-there";

async fn audited_client(file: &std::path::Path, interval: Duration) -> Client {
    Client::builder()
        .aws(aws_settings(var("AWS_ENDPOINT_URL")))
        .vault(common::real_vault())
        .settings(ClientSettings {
            ttl_jitter: 0.0,
            ..Default::default()
        })
        .audit(AuditSettings {
            file: Some(file.to_owned()),
            interval,
            ..Default::default()
        })
        .build()
        .await
        .unwrap()
}

/// (reference, outcome, user) -> accesses, summed over the file's records.
fn tally(lines: &str) -> BTreeMap<(String, String, String), u64> {
    let mut tally = BTreeMap::new();
    for line in lines.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        let user = r["identity"]["user"].as_str().unwrap_or("-").to_owned();
        let key = (
            r["reference"].as_str().unwrap().to_owned(),
            r["outcome"].as_str().unwrap().to_owned(),
            user,
        );
        *tally.entry(key).or_insert(0) += r["count"].as_u64().unwrap();
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_of_a_scripted_run_is_in_the_audit_file_and_no_value_is() {
    let dir = std::env::temp_dir().join(format!("sk-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&file);
    let interval = Duration::from_millis(200);
    let client = audited_client(&file, interval).await;
    let alice = client.with_identity(Identity::new([("user", "alice"), ("service", "api")]));
    let bob = client.with_identity(Identity::new([("user", "bob"), ("request_id", "r-1")]));

    for _ in 0..5 {
        alice.get(SSM).await.unwrap();
    }
    // Flushed by the background task within the interval, without close.
    tokio::time::sleep(interval * 3).await;
    let early = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        tally(&early).get(&(SSM.into(), "hit".into(), "alice".into())),
        Some(&4),
        "{early}"
    );

    for _ in 0..3 {
        bob.get(SSM).await.unwrap();
    }
    for _ in 0..2 {
        bob.get(ASM).await.unwrap();
        client.get(KV).await.unwrap();
        alice.get(MISSING).await.unwrap_err();
    }
    let mut handle = bob.handle(SSM).unwrap();
    for _ in 0..10 {
        handle.get_cached().unwrap().unwrap();
    }
    alice.refresh(SSM).await.unwrap();
    let creds = alice
        .database_credentials("database", &var("SK_VAULT_DB_ROLE"))
        .await
        .unwrap();
    let lease = creds.lease.clone().unwrap();

    let metrics = client.metrics();
    assert!(metrics.cache_entries >= 4, "{metrics:?}");
    let creds_ref = format!("vault:database/creds/{}", var("SK_VAULT_DB_ROLE"));
    let (_, left) = metrics
        .leases
        .iter()
        .find(|(r, _)| *r == creds_ref)
        .unwrap();
    assert!(*left > Duration::ZERO && *left <= Duration::from_secs(lease.duration_secs));
    let read = |backend: &str, outcome: Outcome| {
        let found = metrics
            .reads
            .iter()
            .find(|(b, o, _)| *b == backend && *o == outcome);
        found.map_or(0, |(_, _, n)| *n)
    };
    assert_eq!(read("ssm", Outcome::Hit), 4 + 3 + 10);
    assert_eq!(read("ssm", Outcome::Miss), 1);
    assert_eq!(read("ssm", Outcome::Refresh), 1);
    assert_eq!(read("ssm", Outcome::Error), 2);
    assert_eq!(read("vault", Outcome::Miss), 2); // KV and the credentials
    let ssm_latency = metrics.latency.iter().find(|h| h.backend == "ssm").unwrap();
    // The miss, the refresh and the not-found read reached moto.
    assert_eq!(ssm_latency.count(), 3);
    let text = metrics.to_prometheus();
    assert!(
        text.contains("secretkit_reads_total{backend=\"ssm\",outcome=\"hit\"} 17"),
        "{text}"
    );
    assert!(
        text.contains("secretkit_backend_read_seconds_count{backend=\"ssm\"} 3"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "secretkit_lease_ttl_seconds{{reference=\"{creds_ref}\"}}"
    )));

    client.close().await;
    let all = std::fs::read_to_string(&file).unwrap();
    let got = tally(&all);
    let want: BTreeMap<(String, String, String), u64> = [
        ((SSM, "miss", "alice"), 1),
        ((SSM, "hit", "alice"), 4),
        ((SSM, "hit", "bob"), 3 + 10),
        ((SSM, "refresh", "alice"), 1),
        ((ASM, "miss", "bob"), 1),
        ((ASM, "hit", "bob"), 1),
        ((KV, "miss", "-"), 1),
        ((KV, "hit", "-"), 1),
        ((MISSING, "error", "alice"), 2),
        ((&*format!("{creds_ref}#username"), "miss", "alice"), 1),
    ]
    .into_iter()
    .map(|((r, o, u), n)| ((r.to_owned(), o.to_owned(), u.to_owned()), n))
    .collect();
    assert_eq!(got, want, "{all}");

    for line in all.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(r["time"].as_str().unwrap().ends_with('Z'));
        if r["reference"] == MISSING {
            assert_eq!(r["error"], "not_found");
        }
        if r["reference"]
            .as_str()
            .unwrap()
            .starts_with("vault:database/creds/")
        {
            assert_eq!(r["lease_id"].as_str(), Some(lease.id.as_str()));
        }
    }
    let bob_line = all.lines().find(|l| l.contains("\"bob\"")).unwrap();
    assert!(bob_line.contains("\"request_id\":\"r-1\""), "{bob_line}");
    for value in [
        "s3cureP@ssw0rd!",
        "sk-abc123",
        creds.password.reveal().unwrap(),
    ] {
        assert!(!all.contains(value), "a value reached the audit file");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_refused_read_is_recorded_as_denied_and_handed_to_the_callback() {
    let transport = scripted(|_| json(403, r#"{"errors":["permission denied"]}"#));
    let got: Arc<Mutex<Vec<AuditRecord>>> = Arc::default();
    let sink = got.clone();
    let client = Client::builder()
        .runtime(Runtime {
            transport,
            clock: ManualClock::new(),
        })
        .vault(VaultSettings {
            address: "http://127.0.0.1:8200".into(),
            token: "t".into(),
            namespace: None,
            tls: Default::default(),
        })
        .settings(common::exact_settings())
        .audit(AuditSettings {
            callback: Some(Arc::new(move |records: &[AuditRecord]| {
                sink.lock().unwrap().extend_from_slice(records)
            })),
            keep: true,
            ..Default::default()
        })
        .build()
        .await
        .unwrap();
    let who = client.with_identity(Identity::new([("user", "mallory")]));
    who.get("vault:secret/payments#key").await.unwrap_err();
    assert!(got.lock().unwrap().is_empty(), "nothing before the flush");
    assert_eq!(client.flush_audit(), 1);
    let records = got.lock().unwrap().clone();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(
        (r.outcome, r.error, r.backend),
        (Outcome::Denied, Some("access_denied"), "vault")
    );
    assert_eq!(
        r.identity.as_ref().unwrap().fields().collect::<Vec<_>>(),
        [("user", "mallory")]
    );
    // Kept for a binding as well, and taken once.
    assert_eq!(client.take_audit().0, records);
    assert!(client.take_audit().0.is_empty());
}

#[tokio::test]
async fn references_read_by_one_batch_call_are_recorded_one_by_one() {
    let client = Client::builder()
        .aws(aws_settings(var("AWS_ENDPOINT_URL")))
        .audit(AuditSettings {
            keep: true,
            ..Default::default()
        })
        .build()
        .await
        .unwrap();
    let who = client.with_identity(Identity::new([("user", "dana")]));
    let asm_whole = "asm:prod/myapp/db-credentials";
    let answers = who.get_many(&[SSM, asm_whole, MISSING]).await;
    assert!(answers[0].is_ok() && answers[1].is_ok() && answers[2].is_err());
    let (records, _) = client.take_audit();
    let got: Vec<(&str, Outcome, Option<&str>)> = records
        .iter()
        .map(|r| (r.reference.as_str(), r.outcome, r.error))
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    for want in [
        (SSM, Outcome::Miss, None),
        (asm_whole, Outcome::Miss, None),
        (MISSING, Outcome::Error, Some("not_found")),
    ] {
        assert!(got.contains(&want), "{want:?} in {got:?}");
    }
    assert!(records.iter().all(|r| r.identity.is_some()));
}
