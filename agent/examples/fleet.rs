//! Fleet simulation (FLEET.md): many secretkit clients — in this process,
//! and through real `secretkit agent` processes — against moto behind a
//! proxy that enforces a TPS limit with real ThrottlingException answers.
//!
//! ```sh
//! set -a; . servers.env; set +a            # moto from tests/servers.py
//! cargo run --release -p secretkit-cli --example fleet -- \
//!     --instances 1000 --params 20 --scale 10 --limit 40 --seconds 120 \
//!     --agent-bin target/bin/secretkit [--scenario all|naive|…]
//! ```
//!
//! Scaling (argued in FLEET.md): a fleet of N instances against a limit of L
//! TPS with TTL T is simulated with N/m instances, TTL T/k and a limit of
//! L·k/m, every other duration (deploy window, retry back-off, read budget,
//! read interval) divided by k. Demand over limit, N·P/(T·L), is unchanged;
//! TPS figures are reported at full scale (× m/k), durations × k.
//! Only the backends' latency does not scale.
//!
//! Values change while the fleet runs: a writer (straight to moto, not
//! counted) puts a new version of every parameter every `T/2`; a reader that
//! gets a value older than the newest written measures how long ago it was
//! replaced: the staleness reported.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use secretkit::{AgentSettings, AwsApi, AwsService, AwsSettings, Client, ClientSettings};

struct Args {
    instances: usize,
    params: usize,
    scale: f64,
    shrink: f64,
    limit: f64,
    seconds: u64,
    agents_per_host: usize,
    agent_bin: String,
    scenarios: Vec<String>,
}

const ALL: [&str; 5] = ["naive", "refresh-ahead", "jitter", "batching", "agents"];

fn args() -> Args {
    let mut a = Args {
        instances: 1000,
        params: 20,
        scale: 10.0,
        shrink: 10.0,
        limit: 40.0,
        seconds: 120,
        agents_per_host: 10,
        agent_bin: "target/bin/secretkit".into(),
        scenarios: ALL.iter().map(|s| s.to_string()).collect(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        let number = || value.parse::<f64>().expect("a number");
        match pair[0].as_str() {
            "--instances" => a.instances = number() as usize,
            "--params" => a.params = number() as usize,
            "--scale" => a.scale = number(),
            "--shrink" => a.shrink = number(),
            "--limit" => a.limit = number(),
            "--seconds" => a.seconds = number() as u64,
            "--agents-per-host" => a.agents_per_host = number() as usize,
            "--agent-bin" => a.agent_bin = value,
            "--scenario" if value != "all" => a.scenarios = vec![value],
            "--scenario" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// What one scenario turns on (each adds to the one before).
#[derive(Clone, Copy)]
struct Scenario {
    refresh_ahead: bool,
    jitter: bool,
    batching: bool,
    agents: bool,
}

fn scenario(name: &str) -> Scenario {
    let at = ALL
        .iter()
        .position(|s| *s == name)
        .expect("a scenario name");
    Scenario {
        refresh_ahead: at >= 1,
        jitter: at >= 2,
        batching: at >= 3,
        agents: at >= 4,
    }
}

// --- The throttling proxy ---------------------------------------------------

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    bucket: Mutex<(f64, Instant)>,
    limit: f64,
    started: Mutex<Instant>,
    /// Per simulated second: calls forwarded, calls throttled.
    forwarded: Vec<AtomicU64>,
    throttled: Vec<AtomicU64>,
}

impl Proxy {
    fn second(&self) -> usize {
        let started = *self.started.lock().expect("lock");
        (started.elapsed().as_secs() as usize).min(self.forwarded.len() - 1)
    }

    /// A token from a bucket of one second's worth of calls.
    fn admit(&self) -> bool {
        let mut b = self.bucket.lock().expect("lock");
        let now = Instant::now();
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * self.limit).min(self.limit);
        b.1 = now;
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            true
        } else {
            false
        }
    }

    fn reset(&self) {
        *self.started.lock().expect("lock") = Instant::now();
        for c in self.forwarded.iter().chain(&self.throttled) {
            c.store(0, Relaxed);
        }
    }
}

async fn forward(
    State(p): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let second = p.second();
    if !p.admit() {
        p.throttled[second].fetch_add(1, Relaxed);
        let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
        return (
            StatusCode::BAD_REQUEST,
            [
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amzn-errortype", "ThrottlingException"),
            ],
            body,
        )
            .into_response();
    }
    p.forwarded[second].fetch_add(1, Relaxed);
    let url = format!(
        "{}{}",
        p.upstream,
        uri.path_and_query().map_or("/", |q| q.as_str())
    );
    let mut request = p.http.request(method, url).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(r) => {
            let status = r.status();
            let headers = r.headers().clone();
            let body = r.bytes().await.unwrap_or_default();
            let mut response = (status, body).into_response();
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

// --- The fleet ---------------------------------------------------------------

#[derive(Default)]
struct Observed {
    errors: AtomicU64,
    reads: AtomicU64,
    /// Longest a reader was served a value after a newer one was written (ms).
    stalest_ms: AtomicU64,
    /// Time from the deploy's start until each instance had all its secrets (ms).
    ready_ms: Mutex<Vec<u64>>,
}

/// The writer's record: when each version (the value is its number) was written.
type Versions = Arc<Mutex<Vec<Instant>>>;

fn settings(a: &Args, s: Scenario) -> ClientSettings {
    let k = a.scale;
    ClientSettings {
        default_ttl: Duration::from_secs_f64(300.0 / k),
        ttl_jitter: if s.jitter { 0.1 } else { 0.0 },
        refresh_ahead: if s.refresh_ahead { 0.75 } else { 1.0 },
        retry_base: Duration::from_secs_f64(1.0 / k),
        retry_max: Duration::from_secs_f64(60.0 / k),
        timeout: Duration::from_secs_f64(10.0 / k),
        max_stale: Duration::from_secs_f64(3600.0 / k),
        batch: s.batching,
        allow_http: true,
        ..ClientSettings::default()
    }
}

fn aws(endpoint: &str) -> AwsSettings {
    AwsSettings {
        region: "us-east-1".into(),
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
        session_token: None,
        endpoint: Some(endpoint.to_owned()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn instance(
    client: Client,
    refs: Arc<Vec<String>>,
    start_in: Duration,
    every: Duration,
    deploy: Instant,
    until: Instant,
    batching: bool,
    versions: Versions,
    seen: Arc<Observed>,
) {
    tokio::time::sleep(start_in).await;
    let ref_strs: Vec<&str> = refs.iter().map(String::as_str).collect();
    // Start-up: read every secret, trying again until all arrive.
    loop {
        let failed = if batching {
            client
                .get_many(&ref_strs)
                .await
                .iter()
                .filter(|r| r.is_err())
                .count()
        } else {
            let mut failed = 0;
            for r in refs.iter() {
                failed += usize::from(client.get(r).await.is_err());
            }
            failed
        };
        seen.reads.fetch_add(refs.len() as u64, Relaxed);
        seen.errors.fetch_add(failed as u64, Relaxed);
        if failed == 0 {
            seen.ready_ms
                .lock()
                .expect("lock")
                .push(deploy.elapsed().as_millis() as u64);
            break;
        }
        if Instant::now() > until {
            return;
        }
        tokio::time::sleep(every).await;
    }
    while Instant::now() < until {
        tokio::time::sleep(every).await;
        for r in refs.iter() {
            seen.reads.fetch_add(1, Relaxed);
            match client.get(r).await {
                Ok(secret) => {
                    let version: usize = secret
                        .reveal()
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let replaced = versions.lock().expect("lock").get(version + 1).copied();
                    if let Some(at) = replaced {
                        seen.stalest_ms
                            .fetch_max(at.elapsed().as_millis() as u64, Relaxed);
                    }
                }
                Err(_) => {
                    seen.errors.fetch_add(1, Relaxed);
                }
            }
        }
    }
    client.close().await;
}

fn spawn_agents(a: &Args, hosts: usize, proxy: &str, s: Scenario) -> Vec<(Child, String)> {
    let k = a.scale;
    let config = format!(
        "[cache]\ndefault_ttl = {}\nttl_jitter = {}\nrefresh_ahead = {}\nretry_base = {}\nretry_max = {}\ntimeout = {}\nmax_stale = {}\nallow_http = true\n",
        300.0 / k,
        if s.jitter { 0.1 } else { 0.0 },
        if s.refresh_ahead { 0.75 } else { 1.0 },
        1.0 / k,
        60.0 / k,
        10.0 / k,
        3600.0 / k,
    );
    let path = std::env::temp_dir().join(format!("fleet-agent-{}.toml", std::process::id()));
    std::fs::write(&path, config).expect("config");
    (0..hosts)
        .map(|_| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("port")
                .port();
            let child = Command::new(&a.agent_bin)
                .args([
                    "agent",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--config",
                ])
                .arg(&path)
                .env("AWS_ENDPOINT_URL", proxy)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", "us-east-1")
                .env("SECRETKIT_AGENT_TOKEN", "fleet")
                .env_remove("VAULT_ADDR")
                .env_remove("BAO_ADDR")
                .stderr(Stdio::null())
                .spawn()
                .expect("agent");
            (child, format!("http://127.0.0.1:{port}"))
        })
        .collect()
}

async fn wait_ready(address: &str) {
    let url = format!("{address}/ping");
    for _ in 0..200 {
        if reqwest::get(&url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("agent at {address} did not start");
}

async fn run(a: &Args, name: &str, proxy: &Arc<Proxy>, proxy_url: &str, moto: &AwsApi) {
    let s = scenario(name);
    let k = a.scale;
    let names: Vec<String> = (0..a.params).map(|i| format!("/fleet/p{i:02}")).collect();
    let refs = Arc::new(names.iter().map(|n| format!("ssm:{n}")).collect::<Vec<_>>());
    let versions: Versions = Arc::new(Mutex::new(Vec::new()));
    put_version(moto, &names, &versions).await;
    let hosts = if s.agents {
        a.instances.div_ceil(a.agents_per_host)
    } else {
        0
    };
    let agents = spawn_agents(a, hosts, proxy_url, s);
    for (_, address) in &agents {
        wait_ready(address).await;
    }
    let seen = Arc::new(Observed::default());
    proxy.reset();
    let deploy = Instant::now();
    let until = deploy + Duration::from_secs(a.seconds);
    let window = Duration::from_secs_f64(10.0 / k);
    let every = Duration::from_secs_f64(10.0 / k);
    let mut tasks = Vec::new();
    for i in 0..a.instances {
        let mut builder = Client::builder().settings(settings(a, s));
        builder = match agents.get(i / a.agents_per_host.max(1)) {
            Some((_, address)) if s.agents => builder.agent(AgentSettings {
                address: address.clone(),
                token: "fleet".to_owned().into(),
            }),
            _ => builder.aws(aws(proxy_url)),
        };
        let client = builder.build().await.expect("client");
        let start_in = window.mul_f64(start_offset(i));
        tasks.push(tokio::spawn(instance(
            client,
            refs.clone(),
            start_in,
            every,
            deploy,
            until,
            s.batching,
            versions.clone(),
            seen.clone(),
        )));
    }
    // The writer: a new version of every parameter every T/2.
    let writer = {
        let (moto, names, versions) = (moto.clone(), names.clone(), versions.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs_f64(150.0 / k)).await;
                put_version(&moto, &names, &versions).await;
            }
        })
    };
    for t in tasks {
        let _ = t.await;
    }
    writer.abort();
    for (mut child, _) in agents {
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
    }
    report(a, name, proxy, &seen);
}

/// Instance i's start offset in [0, 1): the golden-ratio sequence, spread
/// evenly over the deploy window in any order of starting.
fn start_offset(i: usize) -> f64 {
    (i as f64 * 0.618_033_988_749_895).fract()
}

async fn put_version(moto: &AwsApi, names: &[String], versions: &Versions) {
    let version = versions.lock().expect("lock").len();
    for name in names {
        let input = serde_json::json!({
            "Name": name, "Value": version.to_string(), "Type": "SecureString", "Overwrite": true,
        });
        moto.call(AwsService::Ssm, "PutParameter", &input)
            .await
            .expect("put");
    }
    versions.lock().expect("lock").push(Instant::now());
}

fn report(a: &Args, name: &str, proxy: &Proxy, seen: &Observed) {
    let (k, m) = (a.scale, a.shrink);
    let full = |tps: f64| tps * m / k;
    let secs = (a.seconds as usize).min(proxy.forwarded.len());
    let per_sec: Vec<(u64, u64)> = (0..secs)
        .map(|i| {
            (
                proxy.forwarded[i].load(Relaxed),
                proxy.throttled[i].load(Relaxed),
            )
        })
        .collect();
    let asked: Vec<u64> = per_sec.iter().map(|(f, t)| f + t).collect();
    let forwarded: u64 = per_sec.iter().map(|p| p.0).sum();
    let throttled: u64 = per_sec.iter().map(|p| p.1).sum();
    let mean = forwarded as f64 / secs as f64;
    let peak_asked = asked.iter().copied().max().unwrap_or(0);
    // After the first TTL: the steady state.
    let steady_from = ((300.0 / k) as usize).min(secs);
    let steady: Vec<u64> = asked[steady_from..].to_vec();
    let steady_mean = steady.iter().sum::<u64>() as f64 / steady.len().max(1) as f64;
    let steady_peak = steady.iter().copied().max().unwrap_or(0);
    let ready = seen.ready_ms.lock().expect("lock");
    let all_ready = if ready.len() == a.instances {
        format!(
            "{:.0} s",
            ready.iter().max().copied().unwrap_or(0) as f64 / 1000.0 * k
        )
    } else {
        format!(
            "{} of {} never ready",
            a.instances - ready.len(),
            a.instances
        )
    };
    println!(
        "{name:<14} backend TPS mean {:>6.1} | asked: peak {:>7.1}, steady mean {:>6.1}, steady peak {:>6.1} | throttled {:>6} ({:.1}%) | reader errors {:>5} of {:>8} reads | stalest {:>5.0} s | all ready after {all_ready}",
        full(mean),
        full(peak_asked as f64),
        full(steady_mean),
        full(steady_peak as f64),
        throttled,
        100.0 * throttled as f64 / (forwarded + throttled).max(1) as f64,
        seen.errors.load(Relaxed),
        seen.reads.load(Relaxed),
        seen.stalest_ms.load(Relaxed) as f64 / 1000.0 * k,
    );
}

#[tokio::main]
async fn main() {
    let a = args();
    let moto_url =
        std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (moto): source servers.env");
    let proxy = Arc::new(Proxy {
        upstream: moto_url.trim_end_matches('/').to_owned(),
        http: reqwest::Client::new(),
        bucket: Mutex::new((a.limit, Instant::now())),
        limit: a.limit,
        started: Mutex::new(Instant::now()),
        forwarded: (0..=a.seconds).map(|_| AtomicU64::new(0)).collect(),
        throttled: (0..=a.seconds).map(|_| AtomicU64::new(0)).collect(),
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let proxy_url = format!("http://{addr}");
    let rt = secretkit::runtime::native::runtime(Duration::from_secs(30)).expect("runtime");
    let moto = AwsApi::from_settings(&aws(&moto_url), &rt, Duration::from_secs(30));
    println!(
        "fleet: {} instances × {} parameters (≙ {} at full scale), limit {} TPS (≙ {} TPS), time ÷{}, {} s per scenario (≙ {} s)",
        a.instances,
        a.params,
        a.instances as f64 * a.shrink,
        a.limit,
        a.limit * a.shrink / a.scale,
        a.scale,
        a.seconds,
        a.seconds as f64 * a.scale,
    );
    for name in &a.scenarios {
        run(&a, name, &proxy, &proxy_url, &moto).await;
    }
}
