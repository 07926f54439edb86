//! The invariants the fuzz targets (core/fuzz) and the property tests
//! (core/tests/properties.rs, which includes this file with `#[path]`) check,
//! and the scripted runtime they check them on.
//!
//! Everything goes through secretkit's public API: `Reference::parse`,
//! `reference::parse_duration`, and a `Client` on a scripted `Transport`, a
//! stepping `Clock` and a collecting `Spawn`, driven by hand so the cache,
//! the lease lifecycle and the core's retries all run on simulated time.
//!
//! Only plain data comes in (strings, numbers, `J` documents); the fuzz
//! crate derives it from bytes with `arbitrary`, the property tests from
//! proptest strategies.

#![allow(dead_code)] // each user takes the part it needs

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use secretkit::options::{Naming, Tunables};
use secretkit::{
    AwsSettings, BoxFuture, Client, ClientSettings, Clock, Error, ErrorKind, Event, Reference,
    Runtime, Secret, SleepFuture, Spawn, Transport, TransportError, VaultAuth, VaultSettings,
};

/// The value planted in every place of a response that holds a secret. No
/// input text can contain its core: `sanitize` rewrites it away.
pub const MARKER: &str = "\u{1F511}planted-secret-7f3c\u{1F511}";
/// The same for places that take only visible ASCII (tokens, keys, header
/// values): login material, the Vault token, AWS credentials.
pub const MARKER_ASCII: &str = "planted-secret-7f3c";
/// What is looked for in errors, events and formatted secrets.
pub const LEAK: &str = "planted";

/// Input text with the marker's core made impossible ("planted" becomes
/// "plant3d"), so any "planted" found later came from a planted value.
pub fn sanitize(s: &str) -> String {
    s.replace(LEAK, "plant3d")
}

pub fn sanitize_bytes(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(LEAK.as_bytes()) {
            out.extend_from_slice(b"plant3d");
            i += LEAK.len();
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------- documents

/// A JSON document as an answer may carry it. `Num` is raw number text so
/// out-of-range numbers (`1e400`, `18446744073709551616`, `-0`) are possible.
#[derive(Debug, Clone)]
pub enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(S),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// A string: the planted secret, plain text, or the secret inside text.
#[derive(Debug, Clone)]
pub enum S {
    Marker,
    Text(String),
    Around(String, String),
}

/// Keys whose values are error text or identifiers that errors and events
/// may legitimately repeat: Vault's `errors`, lease ids, AWS error codes and
/// messages, usernames (rotated events carry them by design), versions
/// (events carry the old and new version). The marker is never planted
/// under them.
pub const NOT_SECRET_KEYS: &[&str] = &[
    "errors",
    "warnings",
    "lease_id",
    "__type",
    "code",
    "Code",
    "message",
    "Message",
    "username",
    "VersionId",
    "Version",
    "version",
];

/// Keys the documents are built from: Vault, SSM and Secrets Manager fields,
/// common secret fields, and the keys the client looks for.
pub const KEYS: &[&str] = &[
    "data",
    "metadata",
    "version",
    "lease_id",
    "lease_duration",
    "renewable",
    "ttl",
    "errors",
    "auth",
    "client_token",
    "creation_ttl",
    "password",
    "username",
    "api_key",
    "path",
    "type",
    "options",
    "Parameter",
    "Parameters",
    "InvalidParameters",
    "Value",
    "Version",
    "Type",
    "Name",
    "ARN",
    "SecretString",
    "SecretBinary",
    "VersionId",
    "VersionStages",
    "CreatedDate",
    "__type",
    "message",
    "Message",
    "code",
    "warnings",
    "deletion_time",
    "destroyed",
];

/// Numbers worth trying as they are written on the wire.
pub const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3600",
    "2764800",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "1e400",
    "-0",
    "0.5",
    "1.5e9",
    "1.7976931348623157e308",
];

impl J {
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, true);
        out
    }

    fn write(&self, out: &mut String, marker_ok: bool) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => {
                // Only number-like text goes out raw; anything else as a string.
                if !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
                {
                    out.push_str(n)
                } else {
                    quote(out, &sanitize(n))
                }
            }
            J::Str(s) => {
                let text = match s {
                    S::Marker if marker_ok => MARKER.to_owned(),
                    S::Around(a, b) if marker_ok => {
                        format!("{}{MARKER}{}", sanitize(a), sanitize(b))
                    }
                    S::Marker => String::new(),
                    S::Around(a, b) => format!("{}{}", sanitize(a), sanitize(b)),
                    S::Text(t) => sanitize(t),
                };
                quote(out, &text)
            }
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out, marker_ok);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let key = sanitize(key);
                    quote(out, &key);
                    out.push(':');
                    value.write(out, marker_ok && !NOT_SECRET_KEYS.contains(&key.as_str()));
                }
                out.push('}');
            }
        }
    }

    pub fn obj(fields: Vec<(&str, J)>) -> J {
        J::Obj(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    pub fn text(s: &str) -> J {
        J::Str(S::Text(s.to_owned()))
    }
}

fn quote(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// AWS error codes the mapping knows, and one it does not.
pub const AWS_CODES: &[&str] = &[
    "ParameterNotFound",
    "ParameterVersionNotFound",
    "ResourceNotFoundException",
    "AccessDeniedException",
    "AccessDenied",
    "DecryptionFailure",
    "ThrottlingException",
    "TooManyUpdates",
    "Throttling",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "IncompleteSignature",
    "SignatureDoesNotMatch",
    "InternalServerError",
    "InternalServiceError",
    "InternalFailure",
    "ServiceUnavailable",
    "ValidationException",
    "InvalidParameterException",
    "InvalidRequestException",
    "InvalidKeyId",
    "SomethingNew",
];

/// The kind core documents for each AWS code (backends/aws.rs).
pub fn aws_kind(code: &str) -> ErrorKind {
    match code {
        "ParameterNotFound" | "ParameterVersionNotFound" | "ResourceNotFoundException" => {
            ErrorKind::NotFound
        }
        "AccessDeniedException" | "AccessDenied" | "DecryptionFailure" => ErrorKind::AccessDenied,
        "ThrottlingException" | "TooManyUpdates" | "Throttling" => ErrorKind::Throttled,
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "MissingAuthenticationToken"
        | "IncompleteSignature"
        | "SignatureDoesNotMatch" => ErrorKind::Auth,
        "InternalServerError"
        | "InternalServiceError"
        | "InternalFailure"
        | "ServiceUnavailable" => ErrorKind::Unavailable,
        "ValidationException" | "InvalidParameterException" | "InvalidRequestException" => {
            ErrorKind::InvalidReference
        }
        _ => ErrorKind::InvalidResponse,
    }
}

// ---------------------------------------------------------------- runtime

/// A clock that moves only when told to, like `ManualClock`, but with
/// saturating arithmetic so that huge durations reach secretkit's own code
/// instead of overflowing in the harness.
pub struct StepClock {
    millis: Mutex<u64>,
    sleepers: Mutex<Vec<(u64, futures::channel::oneshot::Sender<()>)>>,
}

impl StepClock {
    /// 2026-01-01T00:00:00Z.
    pub fn new() -> Arc<StepClock> {
        Arc::new(StepClock {
            millis: Mutex::new(1_767_225_600_000),
            sleepers: Mutex::new(Vec::new()),
        })
    }

    /// Move to the earliest pending deadline (at least 1 ms on), or by
    /// `otherwise` when nothing sleeps.
    pub fn advance_to_next(&self, otherwise: Duration) {
        let now = *lock(&self.millis);
        let next = lock(&self.sleepers).iter().map(|(at, _)| *at).min();
        match next {
            Some(at) => self.advance(Duration::from_millis(at.saturating_sub(now).max(1))),
            None => self.advance(otherwise),
        }
    }

    pub fn advance(&self, by: Duration) {
        let now = {
            let mut m = lock(&self.millis);
            *m = m.saturating_add(u64::try_from(by.as_millis()).unwrap_or(u64::MAX));
            *m
        };
        let due: Vec<_> = {
            let mut sleepers = lock(&self.sleepers);
            let (due, waiting): (Vec<_>, Vec<_>) =
                sleepers.drain(..).partition(|(at, _)| *at <= now);
            *sleepers = waiting;
            due
        };
        for (_, tx) in due {
            let _ = tx.send(());
        }
    }
}

impl Clock for StepClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(*lock(&self.millis))
    }

    fn sleep(&self, duration: Duration) -> SleepFuture {
        let (tx, rx) = futures::channel::oneshot::channel();
        let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let at = lock(&self.millis).saturating_add(ms);
        lock(&self.sleepers).push((at, tx));
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Collects background work (refresh ahead, the lease lifecycle) so that
/// `drive` polls it on the same thread, in step with the clock.
#[derive(Default)]
pub struct Tasks(Mutex<Vec<BoxFuture<'static, ()>>>);

impl Spawn for Tasks {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        lock(&self.0).push(task);
    }
}

impl Tasks {
    /// Poll every task once; the finished ones are dropped.
    fn poll_all(&self, cx: &mut Context<'_>) {
        let mut tasks = std::mem::take(&mut *lock(&self.0));
        tasks.retain_mut(|t| t.as_mut().poll(cx).is_pending());
        // Tasks spawned while polling were pushed meanwhile: keep both.
        lock(&self.0).append(&mut tasks);
    }
}

/// One scripted HTTP answer.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Answer with a transport failure instead (0 = none).
    pub failure: u8,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .field("failure", &self.failure)
            .finish()
    }
}

impl Answer {
    pub fn json(status: u16, body: &J) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.render().into_bytes(),
            failure: 0,
        }
    }

    fn response(&self) -> Result<http::Response<Bytes>, TransportError> {
        match self.failure % 5 {
            1 => return Err(TransportError::Timeout),
            2 => return Err(TransportError::BodyTooLarge),
            3 => return Err(TransportError::Connect("refused".into())),
            4 => return Err(TransportError::Io("reset".into())),
            _ => {}
        }
        // Statuses outside 100..=999 cannot be built; fold them in.
        let status = if (100..=999).contains(&self.status) {
            self.status
        } else {
            100 + self.status % 900
        };
        let mut response = http::Response::builder().status(status);
        for (name, value) in &self.headers {
            let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) else {
                continue;
            };
            response = response.header(name, value);
        }
        // The body as given: fuzzed text in it was sanitized when it was
        // built, and the marker planted by the harness must stay intact.
        response
            .body(Bytes::from(self.body.clone()))
            .map_err(|e| TransportError::Io(e.to_string()))
    }
}

/// How the Vault mount preflight (`sys/internal/ui/mounts/…`) is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preflight {
    /// KV v2, mounted at the path's first segment.
    KvV2,
    /// KV v1 at the first segment (plain logical reads).
    KvV1,
    /// 404: an old server; logical reads.
    NotFound,
    /// 403: no access to the preflight; logical reads.
    Denied,
    /// From the scripted answers like every other request.
    Scripted,
}

/// Answers requests in order from `answers` (the last one repeats), except
/// the mount preflight when `preflight` says otherwise.
pub struct Scripted {
    pub preflight: Preflight,
    pub answers: Vec<Answer>,
    pub next: AtomicUsize,
}

impl Transport for Scripted {
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, TransportError>> {
        let path = request.uri().path().to_owned();
        let reply = match path.strip_prefix("/v1/sys/internal/ui/mounts/") {
            Some(rest) if self.preflight != Preflight::Scripted => {
                let mount = match rest.split_once('/') {
                    Some((first, _)) => format!("{first}/"),
                    None => format!("{rest}/"),
                };
                let version = if self.preflight == Preflight::KvV2 {
                    "2"
                } else {
                    "1"
                };
                let body = format!(
                    r#"{{"data":{{"path":{},"type":"kv","options":{{"version":"{version}"}}}}}}"#,
                    serde_json::to_string(&mount).unwrap_or_default()
                );
                let status = match self.preflight {
                    Preflight::NotFound => 404,
                    Preflight::Denied => 403,
                    _ => 200,
                };
                Answer {
                    status,
                    headers: vec![],
                    body: body.into_bytes(),
                    failure: 0,
                }
                .response()
            }
            _ => {
                let i = self.next.fetch_add(1, Ordering::Relaxed);
                match self
                    .answers
                    .get(i.min(self.answers.len().saturating_sub(1)))
                {
                    Some(answer) => answer.response(),
                    None => Err(TransportError::Connect("no answer scripted".into())),
                }
            }
        };
        Box::pin(async move { reply })
    }
}

/// A client's runtime pieces, kept to drive it.
pub struct Rig {
    pub clock: Arc<StepClock>,
    pub tasks: Arc<Tasks>,
    pub transport: Arc<Scripted>,
}

impl Rig {
    pub fn new(preflight: Preflight, answers: Vec<Answer>) -> Rig {
        Rig {
            clock: StepClock::new(),
            tasks: Arc::new(Tasks::default()),
            transport: Arc::new(Scripted {
                preflight,
                answers,
                next: AtomicUsize::new(0),
            }),
        }
    }

    pub fn runtime(&self) -> Runtime {
        Runtime {
            transport: self.transport.clone(),
            clock: self.clock.clone(),
        }
    }

    /// Run `fut` to completion, polling the background tasks alongside and
    /// moving the clock to the next deadline whenever everything waits. A
    /// future still pending after 10^4 simulated seconds (or 100,000 rounds)
    /// is a hang, which the harness reports as a panic.
    pub fn drive<F: Future>(&self, fut: F) -> F::Output {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        let start = self.clock.now();
        for _ in 0..100_000 {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            self.tasks.poll_all(&mut cx);
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            let waited = self.clock.now().duration_since(start).unwrap_or_default();
            if waited > Duration::from_secs(10_000) {
                break;
            }
            self.clock.advance_to_next(Duration::from_millis(100));
        }
        panic!("hang: a future was still pending after 10^4 simulated seconds");
    }

    /// Let simulated time pass in jumps, polling the background work
    /// (renewals, refreshes, replacements) after each.
    pub fn idle(&self, jumps: &[Duration]) {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        for jump in jumps {
            self.tasks.poll_all(&mut cx);
            self.clock.advance(*jump);
            // Several rounds: a woken task may start work that answers at once.
            for _ in 0..4 {
                self.tasks.poll_all(&mut cx);
            }
        }
    }
}

/// A Vault client on `rig` with settings chosen for determinism.
pub fn vault_client(rig: &Rig, settings: ClientSettings) -> Result<Client, Error> {
    rig.drive(
        Client::builder()
            .runtime(rig.runtime())
            .spawner(rig.tasks.clone())
            .vault(VaultSettings {
                address: "http://127.0.0.1:8200".into(),
                token: "t".into(),
                namespace: None,
                ..VaultSettings::default()
            })
            .settings(settings)
            .build(),
    )
}

/// An AWS client on `rig` (requests are signed with these fixed credentials).
pub fn aws_client(rig: &Rig, settings: ClientSettings) -> Result<Client, Error> {
    rig.drive(
        Client::builder()
            .runtime(rig.runtime())
            .spawner(rig.tasks.clone())
            .aws(AwsSettings {
                region: "us-east-1".into(),
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
                session_token: None,
                endpoint: Some("http://127.0.0.1:1".into()),
            })
            .settings(settings)
            .build(),
    )
}

/// Deterministic settings: no jitter.
pub fn exact_settings() -> ClientSettings {
    ClientSettings {
        ttl_jitter: 0.0,
        ..ClientSettings::default()
    }
}

/// Simulated time after the first reads: minutes to years, in jumps.
pub const JUMPS: &[Duration] = &[
    Duration::from_secs(1),
    Duration::from_secs(200),
    Duration::from_secs(3_000),
    Duration::from_secs(40_000),
    Duration::from_secs(700_000),
    Duration::from_secs(40_000_000),
];

// ---------------------------------------------------------------- checks

/// What every answer to `get(reference)` must satisfy.
pub fn check_result(reference: &str, result: &Result<Secret, Error>) {
    match result {
        Ok(secret) => {
            for shown in [secret.to_string(), format!("{secret:?}"), secret.redacted()] {
                assert!(
                    !shown.contains(LEAK),
                    "a formatted secret shows its value: {shown}"
                );
            }
            assert_eq!(secret.reference(), reference);
        }
        Err(e) => check_error(reference, e),
    }
}

/// An error has a kind, names the reference, and never shows the value.
pub fn check_error(reference: &str, e: &Error) {
    assert!(ErrorKind::ALL.contains(&e.kind()));
    match Reference::parse(reference) {
        Ok(_) => assert_eq!(
            e.reference(),
            Some(reference),
            "the error does not name the reference: {e}"
        ),
        Err(_) => assert!(e.reference().is_some(), "no reference in {e}"),
    }
    for shown in [e.to_string(), e.message().to_owned(), format!("{e:?}")] {
        assert!(!shown.contains(LEAK), "an error shows the secret: {shown}");
    }
}

/// Events carry references and versions, never values (usernames are
/// carried on purpose and never planted).
pub fn check_event(event: &Event) {
    let mut event = event.clone();
    event.username = None;
    event.old_username = None;
    let shown = format!("{event:?}");
    assert!(!shown.contains(LEAK), "an event shows the secret: {shown}");
    if let Some(e) = &event.error {
        assert!(
            e.reference().is_some(),
            "an event's error without reference"
        );
    }
}

/// Subscribe `check_event` to every event of `client`.
pub fn watch_events(client: &Client) {
    client.subscribe(check_event);
}

/// A parsed reference written back in the grammar's canonical form.
pub fn canonical(r: &Reference) -> String {
    let mut s = format!("{}:{}", r.scheme.as_str(), r.path);
    let mut sep = '?';
    if let Some(v) = &r.version {
        s.push_str(&format!("{sep}version={v}"));
        sep = '&';
    }
    if let Some(st) = &r.stage {
        s.push_str(&format!("{sep}stage={st}"));
        sep = '&';
    }
    if let Some(ttl) = r.ttl {
        s.push_str(&format!("{sep}ttl={}", duration_text(ttl)));
    }
    if let Some(f) = &r.field {
        s.push('#');
        s.push_str(f);
    }
    s
}

/// A duration `parse_duration` accepts: whole seconds as `Ns`, else `Nms`.
pub fn duration_text(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// The reference grammar's invariants for any input string.
pub fn check_reference(input: &str) {
    let first = Reference::parse(input);
    assert_eq!(first, Reference::parse(input), "parse is not deterministic");
    match first {
        Ok(r) => {
            let json = r.to_json();
            let v: serde_json::Value =
                serde_json::from_str(&json).expect("to_json writes valid JSON");
            assert_eq!(v["scheme"].as_str(), Some(r.scheme.as_str()));
            assert_eq!(v["path"].as_str(), Some(r.path.as_str()));
            assert_eq!(v["version"].as_str(), r.version.as_deref());
            assert_eq!(v["stage"].as_str(), r.stage.as_deref());
            assert_eq!(v["field"].as_str(), r.field.as_deref());
            let ttl_ms = r.ttl.map(|d| d.as_millis());
            assert_eq!(
                v["ttl_ms"].as_u64().map(u128::from),
                ttl_ms,
                "to_json reports a different ttl than parsed: {json}"
            );
            let again = canonical(&r);
            assert_eq!(
                Reference::parse(&again).as_ref(),
                Ok(&r),
                "`{again}` does not parse back to the same reference"
            );
            let key = r.cache_key();
            let key_text = key.to_string();
            assert!(key_text.starts_with(r.scheme.as_str()));
            assert!(!key_text.contains('#'), "the cache key keeps the field");
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidReference, "{e}");
            let named = e.reference().expect("parse errors name the input");
            assert!(
                !named.chars().any(char::is_control),
                "control characters in {named:?}"
            );
            assert!(
                named.chars().count() <= 201,
                "the named input is not bounded"
            );
        }
    }
}

/// `parse_duration`: never panics, deterministic, and what it accepts
/// written back parses to the same duration.
pub fn check_duration(input: &str) {
    let d = secretkit::reference::parse_duration(input);
    assert_eq!(d, secretkit::reference::parse_duration(input));
    if let Ok(d) = d {
        let text = duration_text(d);
        assert_eq!(
            secretkit::reference::parse_duration(&text),
            Ok(d),
            "{input} → {d:?} → {text}"
        );
    }
}

/// Read `reference` with a client, check every answer, read it again
/// (cache hit), let simulated time pass (expiry, stale serving, lease
/// renewal and replacement on the scripted answers), read again and close.
pub fn exercise(rig: &Rig, client: &Client, reference: &str) {
    watch_events(client);
    let first = rig.drive(client.get(reference));
    check_result(reference, &first);
    let again = rig.drive(client.get(reference));
    check_result(reference, &again);
    if let Some(cached) = client.get_cached(reference) {
        check_result(reference, &cached);
    }
    if let Ok(mut handle) = client.handle(reference) {
        if let Some(Ok(window)) = handle.window() {
            check_result(reference, &Ok(window.secret));
        }
        if let Some(repeated) = handle.get_cached() {
            check_result(reference, &repeated);
        }
    }
    rig.idle(JUMPS);
    let later = rig.drive(client.get(reference));
    check_result(reference, &later);
    let refreshed = rig.drive(client.refresh(reference));
    check_result(reference, &refreshed);
    let _ = client.stats();
    rig.drive(client.close());
    // A read after close is refused; today that error does not name the
    // reference (tests/properties.rs has the property), so it is not
    // checked here, where it would stop every fuzz run at once.
    let _ = rig.drive(client.get(reference));
}

/// A future's output without a runtime, for futures that never wait.
pub fn now_or_never<F: Future>(fut: F) -> Option<F::Output> {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut fut: Pin<&mut F> = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

// ---------------------------------------------------------------- config

/// Client options as the bindings take them from Python, Node and JS:
/// seconds and fractions as f64, counts as f64 (JS) or integers (Python);
/// the fuzzed subset of `secretkit::options::Tunables`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub default_ttl: Option<f64>,
    pub ttl_jitter: Option<f64>,
    pub refresh_ahead: Option<f64>,
    pub max_stale: Option<f64>,
    pub negative_ttl: Option<f64>,
    pub retry_base: Option<f64>,
    pub retry_max: Option<f64>,
    pub max_entries: Option<f64>,
    pub timeout: Option<f64>,
    pub revoke_on_close: Option<bool>,
    pub revoke_replaced_after: Option<f64>,
}

/// Which binding's checks to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Python,
    Node,
    Wasm,
}

/// The settings a binding builds from `o`, or `None` where it refuses them:
/// every binding checks options with the core's `options::Tunables`, names
/// spelled its way.
pub fn binding_settings(binding: Binding, o: &Options) -> Option<ClientSettings> {
    let naming = match binding {
        Binding::Python => Naming::Snake,
        Binding::Node | Binding::Wasm => Naming::Camel,
    };
    Tunables {
        default_ttl: o.default_ttl,
        ttl_jitter: o.ttl_jitter,
        refresh_ahead: o.refresh_ahead,
        max_stale: o.max_stale,
        negative_ttl: o.negative_ttl,
        retry_base: o.retry_base,
        retry_max: o.retry_max,
        max_entries: o.max_entries,
        timeout: o.timeout,
        revoke_on_close: o.revoke_on_close,
        revoke_replaced_after: o.revoke_replaced_after,
        ..Tunables::default()
    }
    .settings(naming)
    .ok()
}

/// How the fuzzed client logs in to Vault; login material is planted
/// secret text.
#[derive(Debug, Clone)]
pub enum Login {
    Token(String),
    AppRole { mount: String },
    Kubernetes { mount: String, role: String },
    Jwt { mount: String, role: String },
}

impl Login {
    /// The fixed token (planted) and the auth method (planted material).
    pub fn settings(&self) -> (String, VaultAuth) {
        let secret =
            |s: &str| secretkit::SecretSource::Value(format!("{}{MARKER_ASCII}", sanitize(s)));
        match self {
            Login::Token(t) => (format!("{}{MARKER_ASCII}", sanitize(t)), VaultAuth::Token),
            Login::AppRole { mount } => (
                String::new(),
                VaultAuth::AppRole {
                    mount: sanitize(mount),
                    role_id: secret("role-"),
                    secret_id: secret("sid-"),
                },
            ),
            Login::Kubernetes { mount, role } => (
                String::new(),
                VaultAuth::Kubernetes {
                    mount: sanitize(mount),
                    role: sanitize(role),
                    jwt: secret("jwt-"),
                },
            ),
            Login::Jwt { mount, role } => (
                String::new(),
                VaultAuth::Jwt {
                    mount: sanitize(mount),
                    role: sanitize(role),
                    jwt: secret("jwt-"),
                },
            ),
        }
    }
}

/// A whole client configuration as a binding passes it to core.
#[derive(Debug, Clone)]
pub struct Config {
    pub binding: Binding,
    pub options: Options,
    pub vault: Option<(String, Option<String>, Login)>,
    pub aws: Option<(String, Option<String>)>,
}

/// Build the client a binding would build from `config` (if the binding
/// accepts it), then read `reference` through it on `rig`.
pub fn check_config(config: &Config, rig: &Rig, reference: &str) {
    let Some(settings) = binding_settings(config.binding, &config.options) else {
        return;
    };
    let mut builder = Client::builder()
        .runtime(rig.runtime())
        .spawner(rig.tasks.clone())
        .settings(settings);
    if let Some((address, namespace, login)) = &config.vault {
        let (token, auth) = login.settings();
        builder = builder
            .vault(VaultSettings {
                address: sanitize(address),
                token,
                namespace: namespace.as_deref().map(sanitize),
                ..VaultSettings::default()
            })
            .vault_auth(auth);
    }
    if let Some((region, endpoint)) = &config.aws {
        builder = builder.aws(AwsSettings {
            region: sanitize(region),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: format!("key{MARKER_ASCII}"),
            session_token: Some(format!("session{MARKER_ASCII}")),
            endpoint: endpoint.as_deref().map(sanitize),
        });
    }
    match rig.drive(builder.build()) {
        Ok(client) => exercise(rig, &client, reference),
        Err(e) => {
            assert!(ErrorKind::ALL.contains(&e.kind()));
            for shown in [e.to_string(), format!("{e:?}")] {
                assert!(
                    !shown.contains(LEAK),
                    "a config error shows a secret: {shown}"
                );
            }
        }
    }
}
