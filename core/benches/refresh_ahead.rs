//! Refresh ahead, measured: the slowest read over a run spanning 10 TTL
//! expiries, with 20 ms of latency injected in front of a real moto server,
//! next to the same client with refresh ahead turned off (what a TTL dict
//! does: the read that finds the entry expired waits for the backend).
//!
//! Run (with the servers from tests/servers.py in the environment):
//!   cargo bench -p secretkit --bench refresh_ahead

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use secretkit::runtime::native::{ReqwestTransport, TokioClock};
use secretkit::{
    AwsSettings, BoxFuture, Client, ClientSettings, Runtime, Transport, TransportError,
};

/// Adds a fixed delay before every request, like a distant region would.
struct Slow(ReqwestTransport, Duration);

impl Transport for Slow {
    fn send(
        &self,
        r: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>> {
        let (send, delay) = (self.0.send(r), self.1);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            send.await
        })
    }
}

fn var(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} unset: start tests/servers.py and source its env file"))
}

async fn run(refresh_ahead: f64) -> (Vec<Duration>, secretkit::Stats) {
    let ttl = Duration::from_millis(500);
    let client = Client::builder()
        .runtime(Runtime {
            transport: Arc::new(Slow(
                ReqwestTransport::new(Duration::from_secs(5)).unwrap(),
                Duration::from_millis(20),
            )),
            clock: Arc::new(TokioClock),
        })
        .aws(AwsSettings {
            region: var("AWS_REGION"),
            access_key_id: var("AWS_ACCESS_KEY_ID"),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
            session_token: None,
            endpoint: Some(var("AWS_ENDPOINT_URL")),
        })
        .settings(ClientSettings {
            default_ttl: ttl,
            refresh_ahead,
            ..Default::default()
        })
        .build()
        .await
        .unwrap();
    let reference = "ssm:/prod/myapp/db-password";
    client.get(reference).await.unwrap();
    let mut latencies = Vec::new();
    let end = Instant::now() + ttl * 10;
    while Instant::now() < end {
        let started = Instant::now();
        client.get(reference).await.unwrap();
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    latencies.sort();
    (latencies, client.stats())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

#[tokio::main]
async fn main() {
    println!("cargo bench -p secretkit --bench refresh_ahead  (TTL 500 ms, 10 expiries, +20 ms per backend request, a read every ~1 ms)");
    for (label, ahead) in [
        ("secretkit, refresh ahead at 75%", 0.75),
        ("same client, refresh ahead off (TTL-dict behaviour)", 1.0),
    ] {
        let (lat, stats) = run(ahead).await;
        println!(
            "{label:52} reads {:5}  p50 {:>9.1?}  p99 {:>9.1?}  max {:>9.1?}  backend calls {}  refreshes {}",
            lat.len(),
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            lat[lat.len() - 1],
            stats.backend_calls.ssm,
            stats.refreshes
        );
    }
}
