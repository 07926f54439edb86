//! Vault / OpenBao over our own thin protocol layer on `Transport`.
//!
//! Reads follow the vault CLI: a preflight to `sys/internal/ui/mounts/<path>`
//! finds the mount and its KV version; KV v2 reads go to `<mount>/data/<rest>`,
//! everything else (KV v1, database/creds, ...) is a plain logical read that
//! keeps lease_id, lease_duration and renewable.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

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
    rt: Runtime,
    timeout: Duration,
    /// Mount path (with trailing `/`) → kind, learned from preflights.
    mounts: Arc<Mutex<HashMap<String, MountKind>>>,
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
    pub(crate) fn new(settings: VaultSettings, rt: Runtime, timeout: Duration) -> Result<Vault> {
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
            rt,
            timeout,
            mounts: Default::default(),
        })
    }

    pub(crate) async fn read(&self, r: &Reference, now: SystemTime) -> Result<Fetched> {
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
            .request(http::Method::GET, &url_path)
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
            .request(http::Method::GET, &format!("sys/internal/ui/mounts/{path}"))
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

    /// One API call. `Ok(None)` is a 404; other failures are typed by status.
    async fn request(&self, method: http::Method, path: &str) -> Result<Option<Bytes>> {
        let url = format!("{}/v1/{path}", self.settings.address);
        let mut request = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header("X-Vault-Token", self.settings.token.as_str())
            .header("X-Vault-Request", "true");
        if let Some(ns) = &self.settings.namespace {
            request = request.header("X-Vault-Namespace", ns.as_str());
        }
        let request = request
            .body(Bytes::new())
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
    let value = serde_json::to_vec(&data).unwrap_or_default();
    scrub(&mut data);
    Ok(Fetched::new(value, None, now).with_lease(lease))
}
