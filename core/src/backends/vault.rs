//! Vault / OpenBao over our own thin protocol layer on `Transport`.
//!
//! Reads follow the vault CLI: a preflight to `sys/internal/ui/mounts/<path>`
//! finds the mount and its KV version; KV v2 reads go to `<mount>/data/<rest>`,
//! everything else (KV v1, database/creds, ...) is a plain logical read that
//! keeps lease_id, lease_duration and renewable.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::vault_auth::{TokenState, VaultAuth};
use crate::error::{Error, ErrorKind, Result};
use crate::json::scrub;
use crate::reference::Reference;
use crate::runtime::{wipe, with_timeout, Runtime};
use crate::secret::{Fetched, Lease};

#[derive(Clone, Default)]
pub struct VaultSettings {
    /// e.g. `https://vault.internal:8200`
    pub address: String,
    pub token: String,
    /// Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// CA files, directories or PEM, and a client certificate, for a Vault
    /// behind a private CA or requiring mutual TLS (native only).
    pub tls: crate::runtime::TlsSettings,
}

impl std::fmt::Debug for VaultSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSettings")
            .field("address", &self.address)
            .field("token", &crate::REDACTED)
            .field("namespace", &self.namespace)
            .field("tls", &self.tls)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum MountKind {
    KvV2,
    /// KV v1 and every other engine: a plain logical read.
    Logical,
}

#[derive(Clone)]
pub(crate) struct Vault {
    settings: Arc<VaultSettings>,
    auth: Arc<VaultAuth>,
    /// The token in use; `None` until the first request (or a failed login).
    token: Arc<RwLock<Option<TokenState>>>,
    rt: Runtime,
    timeout: Duration,
    /// Mount path (with trailing `/`) → kind, learned from preflights.
    mounts: Arc<Mutex<HashMap<String, MountKind>>>,
    /// One login at a time: concurrent reads refused with an expired token
    /// share one login instead of making N (N orphaned tokens, N uses of a
    /// limited secret_id).
    login_gate: Arc<futures::lock::Mutex<()>>,
    /// Bumped by every login; leases read under an older generation were
    /// owned by a token that is gone (the lifecycle replaces them).
    generation: Arc<AtomicU64>,
}

/// Longest lease or token TTL believed from a server: a year. Larger values
/// (a buggy or hostile server) would overflow deadline arithmetic.
const MAX_SERVER_TTL: u64 = 365 * 24 * 3600;

/// What a lease renewal granted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Renewal {
    pub duration: Duration,
    pub renewable: bool,
}

/// What the lifecycle needs to know about the token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenInfo {
    /// False until Vault has told us the TTL of a fixed token.
    pub known: bool,
    pub obtained_at: SystemTime,
    pub ttl: Duration,
    pub requested: Duration,
    pub renewable: bool,
}

/// The part of a Vault response we read; anything else is ignored.
#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    lease_id: String,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}

#[derive(Deserialize)]
struct MountData {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    options: Option<HashMap<String, String>>,
}

impl Vault {
    pub(crate) fn new(
        settings: VaultSettings,
        auth: VaultAuth,
        rt: Runtime,
        timeout: Duration,
    ) -> Result<Vault> {
        let address = settings.address.trim_end_matches('/');
        // The builder already refused plain http off loopback (unless allowed).
        if !(address.starts_with("http://") || address.starts_with("https://")) {
            return Err(Error::config(format!(
                "Vault address `{address}` must start with http:// or https://"
            )));
        }
        let settings = VaultSettings {
            address: address.to_owned(),
            ..settings
        };
        Ok(Vault {
            settings: Arc::new(settings),
            auth: Arc::new(auth),
            token: Default::default(),
            rt,
            timeout,
            mounts: Default::default(),
            login_gate: Default::default(),
            generation: Default::default(),
        })
    }

    /// A read; when the token was rejected and the client can log in by
    /// itself, log in again (once, shared with concurrent readers) and
    /// retry once. Vault answers a bad token with 403 "permission denied",
    /// just like a policy denial, so a 403 is settled by asking whether the
    /// token still works (`lookup-self`, allowed by Vault's default policy).
    pub(crate) async fn read(&self, r: &Reference, now: SystemTime) -> Result<Fetched> {
        // The generation of the token this read will use (logging in first
        // if there is none), so a refusal re-logs in only if nobody has since.
        self.current_token().await?;
        let generation = self.generation();
        match self.read_once(r, now).await {
            Err(e) if self.auth.can_login() && self.token_rejected(&e).await => {
                self.login_after(generation).await?;
                self.read_once(r, now).await
            }
            other => other,
        }
    }

    /// Whether `e` means our token is no good (rather than a path our
    /// policy does not allow).
    async fn token_rejected(&self, e: &Error) -> bool {
        match e.kind() {
            ErrorKind::Auth => true,
            ErrorKind::AccessDenied => {
                let Ok(token) = self.current_token().await else {
                    return true;
                };
                let lookup = self
                    .call(
                        http::Method::GET,
                        "auth/token/lookup-self",
                        None,
                        Some(&token),
                    )
                    .await;
                matches!(lookup, Err(e) if matches!(e.kind(), ErrorKind::Auth | ErrorKind::AccessDenied))
            }
            _ => false,
        }
    }

    /// How many logins this client has made.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Log in unless someone logged in since `seen` (the generation the
    /// caller's failed request was made with): one login for any number of
    /// concurrent readers.
    pub(crate) async fn login_after(&self, seen: u64) -> Result<()> {
        let _gate = self.login_gate.lock().await;
        if self.generation() != seen {
            return Ok(());
        }
        self.login_now().await.map(|_| ())
    }

    async fn read_once(&self, r: &Reference, now: SystemTime) -> Result<Fetched> {
        let path = r.path.as_str();
        let (url_path, kind) = match self.mount_of(path).await? {
            Some((mount, MountKind::KvV2)) => {
                let rest = &path[mount.len()..];
                let mut p = format!("{mount}data/{rest}");
                if let Some(v) = &r.version {
                    p.push_str(&format!("?version={v}"));
                }
                (p, MountKind::KvV2)
            }
            _ => {
                if r.version.is_some() {
                    return Err(Error::invalid_reference(
                        "`?version=` applies to KV v2 secrets only",
                    ));
                }
                (path.to_owned(), MountKind::Logical)
            }
        };
        let response = self
            .request(http::Method::GET, &url_path, None)
            .await?
            .ok_or_else(|| Error::not_found("no secret at this path"))?;
        let parsed: Result<Response> = parse_response(&response)
            .map_err(|_| Error::invalid_response("Vault answered with malformed JSON"));
        wipe(response);
        let parsed = parsed?;
        match kind {
            MountKind::KvV2 => kv2_value(parsed, now),
            MountKind::Logical => logical_value(parsed, now),
        }
    }

    /// The mount holding `path`, asked once per mount the way the vault CLI
    /// does. `None` when the server will not say (old servers, or a policy
    /// without access to the preflight): the CLI then treats the path as a
    /// plain logical read, and so do we.
    async fn mount_of(&self, path: &str) -> Result<Option<(String, MountKind)>> {
        if let Some(found) = self.known_mount(path) {
            return Ok(Some(found));
        }
        let body = match self
            .request(
                http::Method::GET,
                &format!("sys/internal/ui/mounts/{path}"),
                None,
            )
            .await
        {
            Ok(Some(body)) => body,
            Ok(None) => return Ok(None),
            Err(e) if e.kind() == ErrorKind::AccessDenied => return Ok(None),
            Err(e) => return Err(e),
        };
        let parsed: Response = parse_response(&body).map_err(|_| {
            Error::invalid_response("Vault answered the mount preflight with malformed JSON")
        })?;
        let Some(mount) = parsed
            .data
            // An object only: an array would fill the fields by position
            // (see `parse_response`).
            .filter(Value::is_object)
            .and_then(|d| serde_json::from_value::<MountData>(d).ok())
        else {
            return Ok(None);
        };
        let is_kv2 = mount.kind == "kv"
            && mount
                .options
                .as_ref()
                .and_then(|o| o.get("version"))
                .is_some_and(|v| v == "2");
        let kind = if is_kv2 {
            MountKind::KvV2
        } else {
            MountKind::Logical
        };
        if !path.starts_with(&mount.path) {
            return Err(Error::invalid_response(
                "Vault named a mount that does not hold the path",
            ));
        }
        self.lock_mounts().insert(mount.path.clone(), kind.clone());
        Ok(Some((mount.path, kind)))
    }

    fn known_mount(&self, path: &str) -> Option<(String, MountKind)> {
        self.lock_mounts()
            .iter()
            .filter(|(mount, _)| path.starts_with(mount.as_str()))
            .max_by_key(|(mount, _)| mount.len())
            .map(|(m, k)| (m.clone(), k.clone()))
    }

    fn lock_mounts(&self) -> std::sync::MutexGuard<'_, HashMap<String, MountKind>> {
        self.mounts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token to send, obtaining one first if there is none yet.
    async fn current_token(&self) -> Result<Zeroizing<String>> {
        if let Some(state) = self.lock_token().as_ref() {
            return Ok(state.token.clone());
        }
        let seen = self.generation();
        let _gate = self.login_gate.lock().await;
        if self.generation() == seen && self.lock_token().is_none() {
            self.login_now().await?;
        }
        drop(_gate);
        self.lock_token()
            .as_ref()
            .map(|s| s.token.clone())
            .ok_or_else(|| Error::new(ErrorKind::Auth, "no Vault token after login"))
    }

    fn lock_token(&self) -> std::sync::RwLockWriteGuard<'_, Option<TokenState>> {
        self.token.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Get a (new) token, one login at a time: see `login_now`.
    pub(crate) async fn login(&self) -> Result<TokenInfo> {
        let _gate = self.login_gate.lock().await;
        self.login_now().await
    }

    /// Log in with the auth method's material, re-read from its source now,
    /// or take the fixed token (its TTL is asked later, off the read path).
    /// Callers hold `login_gate`.
    async fn login_now(&self) -> Result<TokenInfo> {
        let now = self.rt.clock.now();
        let state = match self.auth.login_request()? {
            Some((path, mut body)) => {
                // A refused login is an auth failure, whatever status says so.
                let answer = self
                    .call(http::Method::POST, &path, Some(&body), None)
                    .await;
                // The body held the secret_id or JWT.
                scrub(&mut body);
                let answer = answer.map_err(|e| match e.kind() {
                    ErrorKind::InvalidReference | ErrorKind::AccessDenied => {
                        Error::new(ErrorKind::Auth, format!("login refused: {}", e.message()))
                    }
                    _ => e,
                })?;
                let answer =
                    answer.ok_or_else(|| Error::new(ErrorKind::Auth, "login path not found"))?;
                let parsed = parse_json(&answer);
                wipe(answer);
                let mut parsed = parsed?;
                let state = token_from_login(&mut parsed, now);
                scrub(&mut parsed);
                state?
            }
            None => {
                // A fixed token is used as is; the lifecycle asks Vault
                // about its TTL later (`lookup_token`), off the read path.
                let token = self
                    .auth
                    .fixed_token(&self.settings.token)?
                    .ok_or_else(|| Error::config("no Vault token"))?;
                TokenState {
                    token,
                    ttl: Duration::ZERO,
                    renewable: false,
                    obtained_at: now,
                    requested: Duration::ZERO,
                    known: false,
                }
            }
        };
        let info = info_of(&state);
        *self.lock_token() = Some(state);
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(info)
    }

    pub(crate) fn can_login(&self) -> bool {
        self.auth.can_login()
    }

    /// Ask Vault the TTL of a fixed token (`auth/token/lookup-self`). Only a
    /// refusal (403: the policy does not allow lookups) settles it as
    /// unknowable (no renewals); any other failure (Vault down at start-up,
    /// a timeout, a 5xx) is returned so the lifecycle retries with backoff.
    pub(crate) async fn lookup_token(&self) -> Result<()> {
        let token = self.current_token().await?;
        let now = self.rt.clock.now();
        let answer = self
            .call(
                http::Method::GET,
                "auth/token/lookup-self",
                None,
                Some(&token),
            )
            .await;
        let looked_up = match answer {
            Ok(Some(body)) => {
                let parsed = parse_json(&body);
                wipe(body);
                let mut parsed = parsed?;
                let data = parsed.get_mut("data").map(Value::take);
                scrub(&mut parsed);
                let mut data =
                    data.ok_or_else(|| Error::invalid_response("lookup-self answer without data"))?;
                let state = TokenState::from_answer(token.clone(), &data, now);
                scrub(&mut data);
                Some(state?)
            }
            Err(e) if matches!(e.kind(), ErrorKind::AccessDenied | ErrorKind::Auth) => None,
            Ok(None) => None,
            Err(e) => return Err(e),
        };
        let mut guard = self.lock_token();
        match (looked_up, guard.as_mut()) {
            (Some(state), Some(current)) if current.token == state.token => *current = state,
            (_, Some(current)) => current.known = true,
            _ => {}
        }
        Ok(())
    }

    /// What the lifecycle needs to schedule token renewal (`None` before the
    /// first request).
    pub(crate) fn token_info(&self) -> Option<TokenInfo> {
        self.lock_token().as_ref().map(info_of)
    }

    /// `auth/token/renew-self`, asking for the token's original TTL.
    pub(crate) async fn renew_token(&self) -> Result<TokenInfo> {
        let Some(TokenInfo { requested, .. }) = self.token_info() else {
            return self.login().await;
        };
        let body = json!({ "increment": format!("{}s", requested.as_secs()) });
        let answer = self
            .request(http::Method::POST, "auth/token/renew-self", Some(&body))
            .await?
            .ok_or_else(|| Error::new(ErrorKind::Auth, "renew-self not found"))?;
        let parsed = parse_json(&answer);
        wipe(answer);
        let mut parsed = parsed?;
        let auth = parsed
            .get_mut("auth")
            .map(Value::take)
            .ok_or_else(|| Error::invalid_response("renew-self answer without an auth block"));
        scrub(&mut parsed);
        let mut auth = auth?;
        scrub_token(&mut auth);
        let mut guard = self.lock_token();
        let token = guard
            .as_ref()
            .map(|s| s.token.clone())
            .ok_or_else(|| Error::new(ErrorKind::Auth, "token vanished during renewal"))?;
        let mut state = TokenState::from_answer(token, &auth, self.rt.clock.now())?;
        state.requested = requested;
        let info = info_of(&state);
        *guard = Some(state);
        Ok(info)
    }

    /// `sys/leases/renew`; a 400 or 404 means the lease is gone (typed
    /// `lease_expired`), which the lifecycle answers by fetching a replacement.
    pub(crate) async fn renew_lease(&self, lease_id: &str, increment: Duration) -> Result<Renewal> {
        let body = json!({ "lease_id": lease_id, "increment": increment.as_secs() });
        let answer = self
            .request(http::Method::PUT, "sys/leases/renew", Some(&body))
            .await
            .map_err(lease_gone)?
            .ok_or_else(|| Error::new(ErrorKind::LeaseExpired, "lease not found"))?;
        let parsed: Response = parse_response(&answer).map_err(|_| {
            Error::invalid_response("Vault answered the renewal with malformed JSON")
        })?;
        Ok(Renewal {
            duration: Duration::from_secs(parsed.lease_duration.min(MAX_SERVER_TTL)),
            renewable: parsed.renewable,
        })
    }

    /// `sys/leases/revoke`.
    pub(crate) async fn revoke_lease(&self, lease_id: &str) -> Result<()> {
        let body = json!({ "lease_id": lease_id });
        self.request(http::Method::PUT, "sys/leases/revoke", Some(&body))
            .await
            .map(|_| ())
    }

    /// An operator's revocation (`Client::revoke`); `target` is a lease id
    /// or, for the prefix forms, a path the reference grammar accepted.
    pub(crate) async fn revoke(&self, target: &str, how: Revoke) -> Result<()> {
        let body = json!({ "lease_id": target });
        let (path, body) = match how {
            Revoke::Lease => ("sys/leases/revoke".to_owned(), Some(&body)),
            Revoke::Prefix => (format!("sys/leases/revoke-prefix/{target}"), None),
            Revoke::Force => (format!("sys/leases/revoke-force/{target}"), None),
        };
        self.request(http::Method::PUT, &path, body)
            .await
            .map(|_| ())
    }

    /// One API call with the current token. `Ok(None)` is a 404.
    async fn request(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Bytes>> {
        let token = self.current_token().await?;
        self.call(method, path, body, Some(&token)).await
    }

    /// One API call; other failures than 404 are typed by status.
    async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Result<Option<Bytes>> {
        let url = format!("{}/v1/{}", self.settings.address, encode_path(path));
        let mut request = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header("X-Vault-Request", "true");
        if let Some(token) = token {
            request = request.header("X-Vault-Token", token);
        }
        if let Some(ns) = &self.settings.namespace {
            request = request.header("X-Vault-Namespace", ns.as_str());
        }
        // Login and renewal bodies can hold a secret_id or a JWT; the copy
        // handed to the HTTP stack is its to drop (see ARCHITECTURE.md).
        let body = match body {
            Some(b) => Bytes::from(serde_json::to_vec(b).unwrap_or_default()),
            None => Bytes::new(),
        };
        let request = request
            .body(body)
            .map_err(|e| Error::config(format!("cannot build a Vault request: {e}")))?;
        let send = self.rt.transport.send(request);
        let response = with_timeout(&*self.rt.clock, self.timeout, send)
            .await
            .ok_or_else(|| Error::new(ErrorKind::Timeout, "Vault did not answer in time"))?
            .map_err(|e| Error::new(e.kind(), format!("Vault request failed: {e}")))?;
        let status = response.status().as_u16();
        let retry_after = crate::runtime::retry_after(response.headers());
        let body = response.into_body();
        match status {
            200..=299 => Ok(Some(body)),
            404 => Ok(None),
            300..=399 => Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "Vault answered with a redirect (HTTP {status}); secretkit never follows \
                     redirects, so the token stays with the configured address. A standby \
                     node redirects when request forwarding is off: point the address at \
                     the active node or a load balancer"
                ),
            )),
            _ => {
                let error = status_error(status, &body).with_retry_after(retry_after);
                // An error body is ours to wipe when nobody else holds it.
                wipe(body);
                Err(error)
            }
        }
    }
}

/// What `Client::revoke` revokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke {
    /// One lease, by id (`sys/leases/revoke`).
    Lease,
    /// Every lease under a path, e.g. `database/creds/app` (`revoke-prefix`):
    /// each secrets engine revokes its credential first, and a failure
    /// stops the revocation.
    Prefix,
    /// `revoke-prefix` that removes the leases from Vault even when the
    /// secrets engine cannot revoke the credential (the database is gone):
    /// Vault forgets them, so nothing will revoke them later. Needs `sudo`
    /// on `sys/leases/revoke-force`. For incidents where the backend no
    /// longer exists; the credentials must then be removed by hand.
    Force,
}

/// A path as it goes into a URL: each segment percent-encoded, so a
/// character that means something to a URL parser (`?`, `#`, `;`, non-ASCII)
/// stays part of the segment. `.` and `..` segments and `%` never get here
/// (the reference grammar refuses them).
fn encode_path(path: &str) -> String {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut out = crate::runtime::percent_encode(path, b"/:@!$&'()*+,=");
    // Only our own query strings (`?version=N`) reach here.
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The token of a login answer; the answer's other copy of it is wiped by
/// the caller.
fn token_from_login(parsed: &mut Value, now: SystemTime) -> Result<TokenState> {
    let auth = parsed
        .get_mut("auth")
        .ok_or_else(|| Error::invalid_response("login answer without an auth block"))?;
    let token = auth
        .get("client_token")
        .and_then(Value::as_str)
        .map(|t| Zeroizing::new(t.to_owned()))
        .ok_or_else(|| Error::invalid_response("login answer without a client_token"))?;
    TokenState::from_answer(token, auth, now)
}

/// Wipe the token strings of an auth block.
fn scrub_token(auth: &mut Value) {
    if let Some(t) = auth.get_mut("client_token") {
        scrub(t);
    }
    if let Some(t) = auth.get_mut("accessor") {
        scrub(t);
    }
}

fn info_of(state: &TokenState) -> TokenInfo {
    TokenInfo {
        known: state.known,
        obtained_at: state.obtained_at,
        ttl: state.ttl,
        requested: state.requested,
        renewable: state.renewable,
    }
}

/// A Vault answer body as a `Response`: a JSON object only. serde's derived
/// `Deserialize` also takes a JSON array, filling the fields by position
/// (`[data, lease_id, lease_duration, renewable]`), so an answer like
/// `[{}, "<any text>"]` made its second element, whatever it held, the lease
/// id, which events (`expired`, `renewed`, `rotated`), renewals and
/// revocations then carried (fuzz finding 9, FUZZING.md). Vault never
/// answers with an array; refuse one (`invalid_response`, as any malformed
/// answer) before serde sees it.
fn parse_response(body: &[u8]) -> serde_json::Result<Response> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(serde::de::Error::custom("a Vault answer is a JSON object"));
    }
    serde_json::from_slice(body)
}

fn parse_json(body: &[u8]) -> Result<Value> {
    serde_json::from_slice(body)
        .map_err(|_| Error::invalid_response("Vault answered with malformed JSON"))
}

/// Renewing a lease Vault no longer knows answers 400 ("lease not found or
/// lease is not renewable") or 403; both mean "get a replacement now".
fn lease_gone(e: Error) -> Error {
    match e.kind() {
        ErrorKind::InvalidReference | ErrorKind::AccessDenied => {
            Error::new(ErrorKind::LeaseExpired, e.message().to_owned())
        }
        _ => e,
    }
}

/// Vault's error bodies are `{"errors": ["..."]}`; they describe the request,
/// never a secret value. Anything else (a proxy's HTML page) is not echoed.
fn status_error(status: u16, body: &[u8]) -> Error {
    let detail = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("errors").cloned())
        .and_then(|e| serde_json::from_value::<Vec<String>>(e).ok())
        .map(|errors| errors.join("; "))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "no Vault error text".to_owned());
    // 401 is always about the token. 403 is ambiguous (OpenBao answers an
    // expired token with "permission denied", like a policy denial): the
    // reader settles it with lookup-self (`Vault::token_rejected`).
    let kind = match status {
        400 => ErrorKind::InvalidReference,
        401 => ErrorKind::Auth,
        403 if detail.contains("invalid token") => ErrorKind::Auth,
        403 => ErrorKind::AccessDenied,
        412 | 429 => ErrorKind::Throttled,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::InvalidResponse,
    };
    let hint = if kind == ErrorKind::AccessDenied {
        // Which of the two only lookup-self can tell, and only with a login
        // method is it worth asking (a re-login is then the cure).
        " (the token's policy does not allow this path, or the token is invalid or expired)"
    } else {
        ""
    };
    Error::new(
        kind,
        format!("Vault answered HTTP {status}: {detail}{hint}"),
    )
}

fn kv2_value(parsed: Response, now: SystemTime) -> Result<Fetched> {
    let data = parsed
        .data
        .ok_or_else(|| Error::invalid_response("KV v2 answer without data"))?;
    let version = data
        .pointer("/metadata/version")
        .and_then(Value::as_u64)
        .map(|v| v.to_string());
    let mut data = data;
    match data.get_mut("data") {
        Some(fields @ Value::Object(_)) => {
            let value = serde_json::to_vec(fields).unwrap_or_default();
            scrub(fields);
            Ok(Fetched::new(value, version, now))
        }
        // A deleted or destroyed version answers with `data: null`.
        Some(Value::Null) | None => Err(Error::not_found(
            "this KV v2 version is deleted or destroyed",
        )),
        Some(_) => Err(Error::invalid_response("KV v2 data is not an object")),
    }
}

fn logical_value(parsed: Response, now: SystemTime) -> Result<Fetched> {
    let mut data = match parsed.data {
        Some(fields @ Value::Object(_)) => fields,
        _ => {
            return Err(Error::invalid_response(
                "Vault answer without a data object",
            ))
        }
    };
    // KV v1 answers carry a lease_duration (a refresh hint) but no lease id:
    // only a lease id makes a lease that can be renewed or revoked.
    let lease = (!parsed.lease_id.is_empty()).then_some(Lease {
        id: parsed.lease_id,
        duration_secs: parsed.lease_duration.min(MAX_SERVER_TTL),
        renewable: parsed.renewable,
    });
    // Without a lease, a TTL still says when to read again: static database
    // roles put it in `data.ttl`, KV v1 secrets in lease_duration.
    let ttl_hint = match (&lease, data.get("ttl").and_then(Value::as_u64)) {
        (Some(_), _) => None,
        (None, Some(ttl)) => Some(ttl.min(MAX_SERVER_TTL)),
        (None, None) => {
            (parsed.lease_duration > 0).then_some(parsed.lease_duration.min(MAX_SERVER_TTL))
        }
    };
    let value = serde_json::to_vec(&data).unwrap_or_default();
    scrub(&mut data);
    Ok(Fetched::new(value, None, now)
        .with_lease(lease)
        .with_ttl_hint(ttl_hint.map(Duration::from_secs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{BoxFuture, ManualClock, Transport, TransportError};

    /// Answers by request path (404 otherwise) and records the paths asked.
    struct Script {
        answers: Vec<(&'static str, &'static str)>,
        asked: Mutex<Vec<String>>,
    }

    impl Transport for Script {
        fn send(
            &self,
            request: http::Request<Bytes>,
        ) -> BoxFuture<'static, std::result::Result<http::Response<Bytes>, TransportError>>
        {
            let path = request.uri().path().to_owned();
            let answer = self.answers.iter().find(|(p, _)| *p == path);
            let (status, body) = answer.map_or((404, r#"{"errors":[]}"#), |(_, b)| (200, *b));
            self.asked.lock().unwrap().push(path);
            let reply = http::Response::builder()
                .status(status)
                .body(Bytes::from_static(body.as_bytes()))
                .map_err(|e| TransportError::Io(e.to_string()));
            Box::pin(async move { reply })
        }
    }

    fn vault(answers: Vec<(&'static str, &'static str)>) -> (Vault, Arc<Script>) {
        let script = Arc::new(Script {
            answers,
            asked: Mutex::default(),
        });
        let rt = Runtime {
            transport: script.clone(),
            clock: ManualClock::new(),
        };
        let settings = VaultSettings {
            address: "http://127.0.0.1:8200".into(),
            token: "t".into(),
            ..VaultSettings::default()
        };
        let vault = Vault::new(settings, VaultAuth::Token, rt, Duration::from_secs(5)).unwrap();
        (vault, script)
    }

    fn read(vault: &Vault, reference: &str) -> Result<Fetched> {
        let r = Reference::parse(reference).unwrap();
        futures::executor::block_on(vault.read(&r, SystemTime::UNIX_EPOCH))
    }

    /// Fuzz finding 9: serde's derived `Deserialize` read a JSON array as the
    /// response's fields by position, so the second element — here a copy of
    /// the secret — became the lease id that `expired`, `renewed` and
    /// `rotated` events carry. Vault answers objects only.
    #[test]
    fn an_array_is_not_a_vault_answer() {
        let leased = (
            "/v1/database/creds/ro",
            r#"[{"password":"hunter2"},"hunter2",3600,true]"#,
        );
        let (v, _) = vault(vec![leased]);
        let e = read(&v, "vault:database/creds/ro").err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::InvalidResponse));

        // A renewal answered with an array is refused too, not taken as 3600 s.
        let (v, _) = vault(vec![("/v1/sys/leases/renew", r#"[null,"x",3600,true]"#)]);
        let renewal = futures::executor::block_on(v.renew_lease("l", Duration::from_secs(60)));
        let e = renewal.err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::InvalidResponse));

        // A preflight whose `data` is an array names no mount: a logical read
        // (not `secret/data/app`, as `["secret/","kv",{"version":"2"}]` made it).
        let (v, script) = vault(vec![
            (
                "/v1/sys/internal/ui/mounts/secret/app",
                r#"{"data":["secret/","kv",{"version":"2"}]}"#,
            ),
            ("/v1/secret/app", r#"{"data":{"password":"hunter2"}}"#),
        ]);
        assert!(read(&v, "vault:secret/app").is_ok());
        let asked = script.asked.lock().unwrap().clone();
        assert_eq!(asked.last().map(String::as_str), Some("/v1/secret/app"));

        // The same answer as an object (leading whitespace allowed) is a lease.
        let leased = (
            "/v1/database/creds/ro",
            " \n{\"data\":{\"password\":\"hunter2\"},\"lease_id\":\"database/creds/ro/1\",\
             \"lease_duration\":3600,\"renewable\":true}",
        );
        let (v, _) = vault(vec![leased]);
        let fetched = read(&v, "vault:database/creds/ro").unwrap();
        let lease = fetched.lease.clone().unwrap();
        assert_eq!(lease.id, "database/creds/ro/1");
        assert_eq!(lease.duration_secs, 3600);
    }
}
