//! Vault / OpenBao over our own thin protocol layer on `Transport`.
//!
//! Reads follow the vault CLI: a preflight to `sys/internal/ui/mounts/<path>`
//! finds the mount and its KV version; KV v2 reads go to `<mount>/data/<rest>`,
//! everything else (KV v1, database/creds, ...) is a plain logical read that
//! keeps lease_id, lease_duration and renewable.

use std::collections::HashMap;
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
use crate::runtime::{with_timeout, Runtime};
use crate::secret::{Fetched, Lease};

#[derive(Clone, Default)]
pub struct VaultSettings {
    /// e.g. `https://vault.internal:8200`
    pub address: String,
    pub token: String,
    /// Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
}

impl std::fmt::Debug for VaultSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSettings")
            .field("address", &self.address)
            .field("token", &crate::REDACTED)
            .field("namespace", &self.namespace)
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
}

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
        })
    }

    /// A read; when the token was rejected and the client can log in by
    /// itself, log in again and retry once.
    pub(crate) async fn read(&self, r: &Reference, now: SystemTime) -> Result<Fetched> {
        match self.read_once(r, now).await {
            Err(e) if e.kind() == ErrorKind::Auth && self.auth.can_login() => {
                self.login().await?;
                self.read_once(r, now).await
            }
            other => other,
        }
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
        let parsed: Response = serde_json::from_slice(&response)
            .map_err(|_| Error::invalid_response("Vault answered with malformed JSON"))?;
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
        let parsed: Response = serde_json::from_slice(&body).map_err(|_| {
            Error::invalid_response("Vault answered the mount preflight with malformed JSON")
        })?;
        let Some(mount) = parsed
            .data
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
        self.login().await?;
        self.lock_token()
            .as_ref()
            .map(|s| s.token.clone())
            .ok_or_else(|| Error::new(ErrorKind::Auth, "no Vault token after login"))
    }

    fn lock_token(&self) -> std::sync::RwLockWriteGuard<'_, Option<TokenState>> {
        self.token.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Get a (new) token: log in with the auth method's material, re-read
    /// from its source now, or take the fixed token and ask Vault its TTL.
    pub(crate) async fn login(&self) -> Result<TokenInfo> {
        let now = self.rt.clock.now();
        let state = match self.auth.login_request()? {
            Some((path, body)) => {
                // A refused login is an auth failure, whatever status says so.
                let answer = self
                    .call(http::Method::POST, &path, Some(&body), None)
                    .await
                    .map_err(|e| match e.kind() {
                        ErrorKind::InvalidReference | ErrorKind::AccessDenied => {
                            Error::new(ErrorKind::Auth, format!("login refused: {}", e.message()))
                        }
                        _ => e,
                    })?;
                let answer =
                    answer.ok_or_else(|| Error::new(ErrorKind::Auth, "login path not found"))?;
                let auth = parse_json(&answer)?
                    .get_mut("auth")
                    .map(Value::take)
                    .ok_or_else(|| Error::invalid_response("login answer without an auth block"))?;
                let token = auth
                    .get("client_token")
                    .and_then(Value::as_str)
                    .map(|t| Zeroizing::new(t.to_owned()))
                    .ok_or_else(|| {
                        Error::invalid_response("login answer without a client_token")
                    })?;
                TokenState::from_answer(token, &auth, now)?
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
        Ok(info)
    }

    pub(crate) fn can_login(&self) -> bool {
        self.auth.can_login()
    }

    /// Ask Vault the TTL of a fixed token (`auth/token/lookup-self`). A
    /// policy without that capability leaves the TTL unknown: no renewals.
    pub(crate) async fn lookup_token(&self) {
        let Ok(token) = self.current_token().await else {
            return;
        };
        let now = self.rt.clock.now();
        let answer = self
            .call(
                http::Method::GET,
                "auth/token/lookup-self",
                None,
                Some(&token),
            )
            .await;
        let looked_up = answer.ok().flatten().and_then(|body| {
            let data = parse_json(&body).ok()?.get_mut("data").map(Value::take)?;
            TokenState::from_answer(token.clone(), &data, now).ok()
        });
        let mut guard = self.lock_token();
        match (looked_up, guard.as_mut()) {
            (Some(state), Some(current)) if current.token == state.token => *current = state,
            (_, Some(current)) => current.known = true,
            _ => {}
        }
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
        let auth = parse_json(&answer)?
            .get_mut("auth")
            .map(Value::take)
            .ok_or_else(|| Error::invalid_response("renew-self answer without an auth block"))?;
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
        let parsed: Response = serde_json::from_slice(&answer).map_err(|_| {
            Error::invalid_response("Vault answered the renewal with malformed JSON")
        })?;
        Ok(Renewal {
            duration: Duration::from_secs(parsed.lease_duration),
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
        let url = format!("{}/v1/{path}", self.settings.address);
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
            .map_err(|e| {
                let kind = match e {
                    crate::runtime::TransportError::Timeout => ErrorKind::Timeout,
                    crate::runtime::TransportError::BodyTooLarge => ErrorKind::InvalidResponse,
                    _ => ErrorKind::Unavailable,
                };
                Error::new(kind, format!("Vault request failed: {e}"))
            })?;
        let status = response.status().as_u16();
        let body = response.into_body();
        match status {
            200..=299 => Ok(Some(body)),
            404 => Ok(None),
            _ => Err(status_error(status, &body)),
        }
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
/// never a secret value.
fn status_error(status: u16, body: &[u8]) -> Error {
    let detail = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("errors").cloned())
        .and_then(|e| serde_json::from_value::<Vec<String>>(e).ok())
        .map(|errors| errors.join("; "))
        .unwrap_or_default();
    let kind = match status {
        400 => ErrorKind::InvalidReference,
        401 | 403 if detail.contains("invalid token") => ErrorKind::Auth,
        401 | 403 => ErrorKind::AccessDenied,
        412 | 429 => ErrorKind::Throttled,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::InvalidResponse,
    };
    Error::new(kind, format!("Vault answered HTTP {status}: {detail}"))
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
        duration_secs: parsed.lease_duration,
        renewable: parsed.renewable,
    });
    // Without a lease, a TTL still says when to read again: static database
    // roles put it in `data.ttl`, KV v1 secrets in lease_duration.
    let ttl_hint = match (&lease, data.get("ttl").and_then(Value::as_u64)) {
        (Some(_), _) => None,
        (None, Some(ttl)) => Some(ttl),
        (None, None) => (parsed.lease_duration > 0).then_some(parsed.lease_duration),
    };
    let value = serde_json::to_vec(&data).unwrap_or_default();
    scrub(&mut data);
    Ok(Fetched::new(value, None, now)
        .with_lease(lease)
        .with_ttl_hint(ttl_hint.map(Duration::from_secs)))
}
