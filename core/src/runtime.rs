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
    /// No connection could be made (refused, DNS, a TLS handshake failure).
    Connect(String),
    /// The server's TLS certificate is not trusted (unknown issuer, bad
    /// signature, wrong name, expired): a setting to fix, not a fault that
    /// passes, so it is a `config` error and never retried.
    Untrusted(String),
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
            // rustls says "not valid for name" when the certificate is
            // good but names another host: the fix is the name, not a CA.
            TransportError::Untrusted(m) if m.contains("not valid for name") => write!(
                f,
                "the server's TLS certificate is not trusted ({m}); if the server is \
                 reached by an address its certificate does not name, give the name it \
                 does (Vault: VAULT_TLS_SERVER_NAME or the vault tls_server_name option)"
            ),
            TransportError::Untrusted(m) => write!(
                f,
                "the server's TLS certificate is not trusted ({m}); if it is signed by a \
                 private CA, give that CA (Vault: VAULT_CACERT or the vault CA options; \
                 AWS: AWS_CA_BUNDLE)"
            ),
            TransportError::Timeout => f.write_str("request timed out"),
            TransportError::BodyTooLarge => {
                write!(f, "response body larger than {MAX_BODY_BYTES} bytes")
            }
            TransportError::Io(m) => write!(f, "I/O error: {m}"),
        }
    }
}

impl std::error::Error for TransportError {}

impl TransportError {
    /// The kind of error a backend call that failed this way is.
    pub(crate) fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            TransportError::Timeout => ErrorKind::Timeout,
            TransportError::BodyTooLarge => ErrorKind::InvalidResponse,
            TransportError::Untrusted(_) => ErrorKind::Config,
            TransportError::Connect(_) | TransportError::Io(_) => ErrorKind::Unavailable,
        }
    }
}

/// `text` with every byte but ASCII letters, digits, `-._~` and `keep`
/// percent-encoded (URL paths and query values).
pub(crate) fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends one HTTP request and buffers the whole response (bodies are small
/// and bounded by `MAX_BODY_BYTES`).
pub trait Transport: Send + Sync + 'static {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>>;
}

/// Time and sleeping. Tests use `ManualClock` so cache and lease rules can
/// be checked without waiting.
///
/// `now` is what deadlines (expiry, refresh, renewal, backoff) are computed
/// on: it must never step backwards, so natively it is a monotonic clock
/// expressed as a `SystemTime` (wall time at start + elapsed monotonic time).
/// `wall` is what is reported to people (event timestamps).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;
    fn sleep(&self, duration: Duration) -> SleepFuture;
    /// Wall-clock time for reports; the same as `now` unless the clock
    /// separates them.
    fn wall(&self) -> SystemTime {
        self.now()
    }
}

/// Where a native transport gets its trust from, beyond the system's roots
/// and the bundled Mozilla roots (both always trusted). On wasm the host's
/// `fetch` decides, and these are refused rather than silently ignored.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// Files of PEM CA certificates (`VAULT_CACERT`, `AWS_CA_BUNDLE`).
    pub ca_files: Vec<std::path::PathBuf>,
    /// Directories of PEM CA certificates (`VAULT_CAPATH`).
    pub ca_dirs: Vec<std::path::PathBuf>,
    /// PEM CA certificates given inline.
    pub ca_pem: Vec<String>,
    /// A client certificate and its key, PEM files (`VAULT_CLIENT_CERT`,
    /// `VAULT_CLIENT_KEY`), for servers that ask for one.
    pub client_cert: Option<std::path::PathBuf>,
    pub client_key: Option<std::path::PathBuf>,
    /// The name TLS presents (SNI) and checks the certificate against, when
    /// the address's host is not it (`VAULT_TLS_SERVER_NAME`; see
    /// `server_name.rs`). A DNS name.
    pub server_name: Option<String>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca_files", &self.ca_files)
            .field("ca_dirs", &self.ca_dirs)
            .field("ca_pem", &self.ca_pem.len())
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl TlsSettings {
    pub fn is_empty(&self) -> bool {
        self == &TlsSettings::default()
    }
}

/// Whether a URL may be used with credentials: https anywhere, plain http
/// only to a loopback host (a local dev server, moto, an agent on the same
/// host) unless `allow_http`. `Err` says why not.
pub fn check_origin(url: &str, allow_http: bool) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("`{url}` is not a valid URL"))?;
    let host = uri.host().unwrap_or("");
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if !host.is_empty() => {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = bare.eq_ignore_ascii_case("localhost")
                || bare
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback || allow_http {
                Ok(())
            } else {
                Err(format!(
                    "`{url}` is plain http to a host that is not loopback: tokens and \
                     secrets would cross the network unencrypted. Use https, or set \
                     allow_http (SECRETKIT_ALLOW_HTTP=1) if this network is trusted"
                ))
            }
        }
        _ => Err(format!("`{url}` must start with http:// or https://")),
    }
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

/// Overwrite a response body we hold the only reference to (an answer
/// with a secret or a token, once parsed).
pub(crate) fn wipe(body: Bytes) {
    if let Ok(mut owned) = body.try_into_mut() {
        zeroize::Zeroize::zeroize(&mut owned[..]);
    }
}

/// The wait a server asks for in `Retry-After` (whole seconds; the
/// HTTP-date form is not used by Vault or AWS), capped at an hour.
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.min(3600)))
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
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let now = self
            .millis
            .fetch_add(by, Ordering::SeqCst)
            .saturating_add(by);
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
        let at = self
            .millis
            .load(Ordering::SeqCst)
            .saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
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
        server_name: Option<Arc<crate::server_name::ServerNameRoute>>,
    }

    impl ReqwestTransport {
        /// `timeout` bounds each whole request, connect included.
        pub fn new(timeout: Duration) -> Result<Self, TransportError> {
            Self::with_tls(timeout, &TlsSettings::default())
        }

        /// Trusting the system's roots, the bundled Mozilla roots and `tls`.
        ///
        /// Redirects are never followed: a redirect would carry the Vault
        /// token, the AWS session token or a login body (AppRole secret_id,
        /// JWT) to whatever origin the answer names, maybe over plain http.
        /// A 3xx comes back to the backend as an answer, which says so.
        pub fn with_tls(timeout: Duration, tls: &TlsSettings) -> Result<Self, TransportError> {
            let mut builder = reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .redirect(reqwest::redirect::Policy::none());
            for cert in system_roots() {
                builder = builder.add_root_certificate(cert.clone());
            }
            for pem in tls_roots(tls)? {
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| TransportError::Connect(format!("bad CA certificate: {e}")))?;
                for cert in certs {
                    builder = builder.add_root_certificate(cert);
                }
            }
            if let Some(identity) = tls_identity(tls)? {
                builder = builder.identity(identity);
            }
            let server_name = match &tls.server_name {
                Some(name) => {
                    let route = crate::server_name::ServerNameRoute::new(name)?;
                    builder = builder.dns_resolver(route.clone());
                    Some(route)
                }
                None => None,
            };
            let client = builder
                .build()
                .map_err(|e| TransportError::Io(e.to_string()))?;
            Ok(ReqwestTransport {
                client,
                server_name,
            })
        }

        /// Every request through the Unix socket at `path`, whatever the
        /// URL's host (a `secretkit agent`'s socket).
        pub fn unix_socket(path: &str, timeout: Duration) -> Result<Self, TransportError> {
            let client = reqwest::Client::builder()
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .unix_socket(std::path::PathBuf::from(path))
                .build()
                .map_err(|e| TransportError::Io(e.to_string()))?;
            Ok(ReqwestTransport {
                client,
                server_name: None,
            })
        }
    }

    /// The system's CA certificates, as `rustls-native-certs` finds them
    /// (`SSL_CERT_FILE` / `SSL_CERT_DIR`, else the distribution's bundle
    /// and certificate directory), read once per process. Reading them was
    /// most of a client's start-up (10–20 ms for Debian's /etc/ssl/certs on
    /// the project machine), paid again for every HTTP client: two per
    /// client when Vault and AWS trust different extra CAs, one per client
    /// in a process that builds several. Every client trusts the same ones,
    /// so one read serves them all; a certificate installed later is seen
    /// by the next process, as with the CLIs.
    fn system_roots() -> &'static [reqwest::Certificate] {
        static ROOTS: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();
        ROOTS.get_or_init(|| {
            // Entries rustls cannot use as a trust anchor (system stores
            // hold some ancient ones) are skipped, as reqwest did: offered
            // to it, one would fail the whole client's start.
            rustls_native_certs::load_native_certs()
                .certs
                .iter()
                .filter(|der| webpki::anchor_from_trusted_cert(der).is_ok())
                .filter_map(|der| reqwest::Certificate::from_der(der).ok())
                .collect()
        })
    }

    /// The PEM bundles `tls` names, read now (a missing file is a
    /// configuration error at start, not a TLS failure at the first read).
    fn tls_roots(tls: &TlsSettings) -> Result<Vec<Vec<u8>>, TransportError> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| {
                TransportError::Connect(format!("cannot read CA file {}: {e}", p.display()))
            })
        };
        let mut pems: Vec<Vec<u8>> = tls.ca_pem.iter().map(|p| p.as_bytes().to_vec()).collect();
        for file in &tls.ca_files {
            pems.push(read(file)?);
        }
        for dir in &tls.ca_dirs {
            let entries = std::fs::read_dir(dir).map_err(|e| {
                TransportError::Connect(format!("cannot read CA directory {}: {e}", dir.display()))
            })?;
            let mut files: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for file in files {
                let pem = read(&file)?;
                // A CA directory also holds hash links and other files;
                // take the ones that hold certificates.
                if pem.windows(11).any(|w| w == b"-----BEGIN ") {
                    pems.push(pem);
                }
            }
        }
        Ok(pems)
    }

    fn tls_identity(tls: &TlsSettings) -> Result<Option<reqwest::Identity>, TransportError> {
        let (cert, key) = match (&tls.client_cert, &tls.client_key) {
            (None, None) => return Ok(None),
            (Some(c), Some(k)) => (c, k),
            _ => {
                return Err(TransportError::Connect(
                    "a client certificate needs both the certificate and the key".into(),
                ))
            }
        };
        let mut pem = zeroize::Zeroizing::new(Vec::new());
        for file in [cert, key] {
            let bytes = zeroize::Zeroizing::new(std::fs::read(file).map_err(|e| {
                TransportError::Connect(format!("cannot read {}: {e}", file.display()))
            })?);
            pem.extend_from_slice(&bytes);
            pem.push(b'\n');
        }
        reqwest::Identity::from_pem(&pem)
            .map(Some)
            .map_err(|e| TransportError::Connect(format!("bad client certificate: {e}")))
    }

    impl Transport for ReqwestTransport {
        fn send(
            &self,
            request: http::Request<Bytes>,
        ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>> {
            let client = self.client.clone();
            let server_name = self.server_name.clone();
            Box::pin(async move {
                let (parts, body) = request.into_parts();
                let url = match &server_name {
                    Some(route) => route.route(&parts.uri)?,
                    None => parts.uri.to_string(),
                };
                let mut builder = client.request(parts.method, url);
                for (name, value) in parts.headers.iter() {
                    builder = builder.header(name, value);
                }
                let mut response = builder.body(body).send().await.map_err(classify)?;
                let mut out = http::Response::builder().status(response.status());
                for (name, value) in response.headers() {
                    out = out.header(name, value);
                }
                // The body may hold a secret: it grows in buffers we wipe
                // (never by reallocating and leaving the old copy behind),
                // and is wiped when refused.
                let hint = response.content_length().unwrap_or(0) as usize;
                let mut body =
                    zeroize::Zeroizing::new(Vec::with_capacity(hint.min(MAX_BODY_BYTES)));
                while let Some(chunk) = response.chunk().await.map_err(classify)? {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(TransportError::BodyTooLarge);
                    }
                    if body.len() + chunk.len() > body.capacity() {
                        let wanted = (body.len() + chunk.len()).max(body.capacity() * 2);
                        let mut bigger =
                            zeroize::Zeroizing::new(Vec::with_capacity(wanted.min(MAX_BODY_BYTES)));
                        bigger.extend_from_slice(&body);
                        body = bigger;
                    }
                    body.extend_from_slice(&chunk);
                }
                let body = Bytes::from(std::mem::take(&mut *body));
                out.body(body)
                    .map_err(|e| TransportError::Io(e.to_string()))
            })
        }
    }

    fn classify(e: reqwest::Error) -> TransportError {
        if e.is_timeout() {
            TransportError::Timeout
        } else if e.is_connect() {
            let msg = without_url(&e);
            // rustls reports every verification failure as "invalid peer
            // certificate: …"; reqwest hides its error type, so its text it is.
            match msg.find("invalid peer certificate") {
                Some(at) => TransportError::Untrusted(msg[at..].to_owned()),
                None => TransportError::Connect(msg),
            }
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

    /// tokio's timer. `now` is monotonic: the wall time when the process
    /// first asked, plus the monotonic time elapsed since, so a wall-clock
    /// step (NTP, a VM resumed, an operator) cannot make an expired lease
    /// look valid or a fresh value look expired. `wall` is the system clock.
    #[derive(Clone, Copy, Default)]
    pub struct TokioClock;

    fn anchor() -> &'static (SystemTime, std::time::Instant) {
        static ANCHOR: std::sync::OnceLock<(SystemTime, std::time::Instant)> =
            std::sync::OnceLock::new();
        ANCHOR.get_or_init(|| (SystemTime::now(), std::time::Instant::now()))
    }

    impl Clock for TokioClock {
        fn now(&self) -> SystemTime {
            let (wall, mono) = anchor();
            crate::policy::later(*wall, mono.elapsed())
        }

        fn sleep(&self, duration: Duration) -> SleepFuture {
            // tokio's timer panics on deadlines past its range; a year is
            // past anything we schedule.
            Box::pin(tokio::time::sleep(
                duration.min(Duration::from_secs(365 * 24 * 3600)),
            ))
        }

        fn wall(&self) -> SystemTime {
            SystemTime::now()
        }
    }

    /// The native runtime with a per-request timeout.
    pub fn runtime(timeout: Duration) -> Result<Runtime, TransportError> {
        runtime_with_tls(timeout, &TlsSettings::default())
    }

    /// The native runtime trusting `tls` as well as the system's roots.
    pub fn runtime_with_tls(
        timeout: Duration,
        tls: &TlsSettings,
    ) -> Result<Runtime, TransportError> {
        Ok(Runtime {
            transport: Arc::new(ReqwestTransport::with_tls(timeout, tls)?),
            clock: Arc::new(TokioClock),
        })
    }
}
