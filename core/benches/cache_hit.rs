//! What a cache hit costs, next to the plain map lookup a hand-rolled TTL
//! dict would do. Run: `cargo bench -p secretkit --bench cache_hit`.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;

use criterion::{criterion_group, criterion_main, Criterion};
use secretkit::{AuditSettings, Client, Identity};

fn cache_hit(c: &mut Criterion) {
    std::env::set_var("BENCH_SECRET", "s3cureP@ssw0rd!");
    std::env::set_var(
        "BENCH_JSON",
        r#"{"username":"app_user","password":"s3cureP@ssw0rd!"}"#,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(async {
        let client = Client::builder().build().await.unwrap();
        client.get("env:BENCH_SECRET").await.unwrap();
        client.get("env:BENCH_JSON#password").await.unwrap();
        client
    });

    let mut group = c.benchmark_group("cache_hit");
    group.bench_function("secretkit get_cached", |b| {
        b.iter(|| {
            client
                .get_cached(black_box("env:BENCH_SECRET"))
                .unwrap()
                .unwrap()
        })
    });
    group.bench_function("secretkit get_cached #field", |b| {
        b.iter(|| {
            client
                .get_cached(black_box("env:BENCH_JSON#password"))
                .unwrap()
                .unwrap()
        })
    });
    let mut handle = client.handle("env:BENCH_SECRET").unwrap();
    group.bench_function("secretkit Handle::get_cached (reusable handle)", |b| {
        b.iter(|| black_box(&mut handle).get_cached().unwrap().unwrap())
    });
    let mut field = client.handle("env:BENCH_JSON#password").unwrap();
    group.bench_function("secretkit Handle::get_cached #field", |b| {
        b.iter(|| black_box(&mut field).get_cached().unwrap().unwrap())
    });
    group.bench_function("secretkit get (awaited, current-thread runtime)", |b| {
        b.iter(|| {
            rt.block_on(client.get(black_box("env:BENCH_SECRET")))
                .unwrap()
        })
    });
    // The audit trail on: each hit is aggregated per (reference, identity)
    // under the audit's lock; the file gets one line per pair per second.
    let dir = std::env::temp_dir().join(format!("sk-bench-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let audited = rt.block_on(async {
        let audit = AuditSettings {
            file: Some(dir.join("audit.jsonl")),
            ..Default::default()
        };
        let client = Client::builder().audit(audit).build().await.unwrap();
        let who = Identity::new([("service", "bench"), ("user", "u-1"), ("request_id", "r-1")]);
        let client = client.with_identity(who);
        client.get("env:BENCH_SECRET").await.unwrap();
        client
    });
    group.bench_function("secretkit get_cached, audited (file + identity)", |b| {
        b.iter(|| {
            audited
                .get_cached(black_box("env:BENCH_SECRET"))
                .unwrap()
                .unwrap()
        })
    });
    let mut audited_handle = audited.handle("env:BENCH_SECRET").unwrap();
    group.bench_function("secretkit Handle::get_cached, audited", |b| {
        b.iter(|| {
            black_box(&mut audited_handle)
                .get_cached()
                .unwrap()
                .unwrap()
        })
    });
    let plain: HashMap<String, String> =
        HashMap::from([("env:BENCH_SECRET".to_owned(), "s3cureP@ssw0rd!".to_owned())]);
    group.bench_function("HashMap<String,String> get", |b| {
        b.iter(|| plain.get(black_box("env:BENCH_SECRET")).unwrap().len())
    });
    let locked = Mutex::new(plain.clone());
    group.bench_function("Mutex<HashMap> get + clone value", |b| {
        b.iter(|| {
            locked
                .lock()
                .unwrap()
                .get(black_box("env:BENCH_SECRET"))
                .unwrap()
                .clone()
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, cache_hit);
criterion_main!(benches);
