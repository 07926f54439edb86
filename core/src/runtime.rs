//! What the core needs from the runtime it runs on: HTTP and time.
//!
//! The same backend, cache and lease code runs on tokio and on the JS event
//! loop (wasm32). Everything runtime-specific sits behind these two traits:
//! natively `native::ReqwestTransport` and `native::TokioClock`; on wasm the
//! binding supplies a transport over the global `fetch` and a clock over
//! `Date.now()` / `setTimeout`.
//!
//! The futures are `Send` on every target. A wasm binding whose JS futures are
//! not `Send` spawns them on the local executor and hands back the receiving
//! end of a oneshot channel, which is `Send`; that keeps one set of signatures
//! for the core instead of a `SendOutsideWasm` split in every module.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A sleep. `Sync` as well as `Send` because the AWS SDK's sleep requires it.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send + Sync + 'static>>;

/// Largest response body a transport accepts. Secrets are small (SSM: 8 KiB,
/// Secrets Manager: 64 KiB); a bigger body means something is wrong, and we
/// refuse it rather than buffer it.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Why a request got no HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// No connection could be made (refused, DNS, TLS).
    Connect(String),
    /// The request did not finish in time.
    Timeout,
    /// The body was over `MAX_BODY_BYTES`.
    BodyTooLarge,
    /// Anything else that broke mid-request.
    Io(String),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Connect(m) => write!(f, "connection failed: {m}"),
            TransportError::Timeout => f.write_str("request timed out"),
            TransportError::BodyTooLarge => {
                write!(f, "response body larger than {MAX_BODY_BYTES} bytes")
            }
            TransportError::Io(m) => write!(f, "I/O error: {m}"),
        }
    }
}

impl std::error::Error for TransportError {}

/// Sends one HTTP request and buffers the whole response (bodies are small
/// and bounded by `MAX_BODY_BYTES`).
pub trait Transport: Send + Sync + 'static {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>>;
}

/// Wall-clock time and sleeping. Tests use `ManualClock` so cache and lease
/// rules can be checked without waiting.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;
    fn sleep(&self, duration: Duration) -> SleepFuture;
}

/// Runs a task in the background: cache refreshes ahead of expiry (and, on
/// wasm, work the host keeps alive with `waitUntil`). Natively a tokio handle;
/// without a spawner the cache refreshes only when a value expires.
pub trait Spawn: Send + Sync + 'static {
    fn spawn(&self, task: BoxFuture<'static, ()>);
}

/// Everything the core borrows from its runtime, cloned into each backend.
#[derive(Clone)]
pub struct Runtime {
    pub transport: Arc<dyn Transport>,
    pub clock: Arc<dyn Clock>,
}

/// Race `fut` against the clock; `None` if the time ran out first.
pub async fn with_timeout<T>(
    clock: &dyn Clock,
    limit: Duration,
    fut: impl Future<Output = T>,
) -> Option<T> {
    use futures::future::{select, Either};
    let fut = std::pin::pin!(fut);
    match select(fut, clock.sleep(limit)).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(_) => None,
    }
}

/// A clock that only moves when told to; `sleep` completes once `advance`
/// has moved the time past its deadline.
#[derive(Default)]
pub struct ManualClock {
    millis: AtomicU64,
    sleepers: std::sync::Mutex<Vec<(u64, futures::channel::oneshot::Sender<()>)>>,
}

impl ManualClock {
    /// Starts at 2026-01-01T00:00:00Z so timestamps look real in failures.
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock {
            millis: AtomicU64::new(1_767_225_600_000),
            sleepers: Default::default(),
        })
    }

    pub fn advance(&self, by: Duration) {
        let now = self
            .millis
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst)
            + by.as_millis() as u64;
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|p| p.into_inner());
        let (due, waiting): (Vec<_>, Vec<_>) = sleepers.drain(..).partition(|(at, _)| *at <= now);
        *sleepers = waiting;
        for (_, tx) in due {
            let _ = tx.send(());
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }

    fn sleep(&self, duration: Duration) -> SleepFuture {
        let (tx, rx) = futures::channel::oneshot::channel();
        let at = self.millis.load(Ordering::SeqCst) + duration.as_millis() as u64;
        self.sleepers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((at, tx));
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub mod native {
    //! The native runtime: reqwest (rustls) for HTTP, tokio for time.

    use super::*;

    #[derive(Clone)]
    pub struct ReqwestTransport {
        client: reqwest::Client,
    }

    impl ReqwestTransport {
        /// `timeout` bounds each whole request, connect included.
        pub fn new(timeout: Duration) -> Result<Self, TransportError> {
            let client = reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .build()
                .map_err(|e| TransportError::Io(e.to_string()))?;
            Ok(ReqwestTransport { client })
        }
    }

    impl Transport for ReqwestTransport {
        fn send(
            &self,
            request: http::Request<Bytes>,
        ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>> {
            let client = self.client.clone();
            Box::pin(async move {
                let (parts, body) = request.into_parts();
                let mut builder = client.request(parts.method, parts.uri.to_string());
                for (name, value) in parts.headers.iter() {
                    builder = builder.header(name, value);
                }
                let mut response = builder.body(body).send().await.map_err(classify)?;
                let mut out = http::Response::builder().status(response.status());
                for (name, value) in response.headers() {
                    out = out.header(name, value);
                }
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await.map_err(classify)? {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(TransportError::BodyTooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
                out.body(Bytes::from(body))
                    .map_err(|e| TransportError::Io(e.to_string()))
            })
        }
    }

    fn classify(e: reqwest::Error) -> TransportError {
        if e.is_timeout() {
            TransportError::Timeout
        } else if e.is_connect() {
            TransportError::Connect(without_url(&e))
        } else {
            TransportError::Io(without_url(&e))
        }
    }

    /// reqwest's own message names the URL; ours name the reference, so
    /// keep only a short kind and the underlying causes.
    fn without_url(e: &reqwest::Error) -> String {
        use std::error::Error as _;
        let mut msg = String::from(if e.is_connect() {
            "could not connect"
        } else if e.is_body() || e.is_decode() {
            "broken response body"
        } else {
            "request failed"
        });
        let mut source = e.source();
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        msg
    }

    /// Spawns on the tokio runtime the client was built in; works from any
    /// thread, so a binding's synchronous cache hit can start a refresh.
    pub struct TokioSpawner(pub tokio::runtime::Handle);

    impl TokioSpawner {
        /// The runtime we are running in, if any.
        pub fn current() -> Option<TokioSpawner> {
            tokio::runtime::Handle::try_current().ok().map(TokioSpawner)
        }
    }

    impl Spawn for TokioSpawner {
        fn spawn(&self, task: BoxFuture<'static, ()>) {
            drop(self.0.spawn(task));
        }
    }

    /// tokio's timer; `now` is the system clock.
    #[derive(Clone, Copy, Default)]
    pub struct TokioClock;

    impl Clock for TokioClock {
        fn now(&self) -> SystemTime {
            SystemTime::now()
        }

        fn sleep(&self, duration: Duration) -> SleepFuture {
            Box::pin(tokio::time::sleep(duration))
        }
    }

    /// The native runtime with a per-request timeout.
    pub fn runtime(timeout: Duration) -> Result<Runtime, TransportError> {
        Ok(Runtime {
            transport: Arc::new(ReqwestTransport::new(timeout)?),
            clock: Arc::new(TokioClock),
        })
    }
}
