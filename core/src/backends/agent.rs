//! Reads through a `secretkit agent` on the same host instead of the
//! backends themselves (SECRETKIT_AGENT), so N processes cost AWS and Vault
//! what the one agent costs: one cache, one Vault token and one set of
//! leases for the host. The client keeps its own cache in front.
//!
//! Every `ssm:`, `asm:` and `vault:` read becomes `GET /v1/secret?ref=…`
//! (the reference without `#field` and `?ttl=`: the client cuts fields and
//! keeps its own TTL). The agent's answer says how long it may be kept
//! (`max_age_ms`); the client caches it no longer. The agent owns any lease:
//! the client neither renews nor revokes it, and never serves a leased value
//! stale, since the agent may have let that lease go.
//! A failed call (agent restarting, connection refused) is `unavailable`:
//! the client retries it within the read's budget and serves what it has
//! cached meanwhile (stale-if-error), as for any backend.

use std::time::{Duration, SystemTime};

use base64::Engine;
use bytes::Bytes;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};
use crate::reference::Reference;
use crate::runtime::{percent_encode, wipe, with_timeout, Runtime};
use crate::secret::Fetched;

/// The variables a client and the agent take the token from, first set
/// wins: secretkit's own, then those the AWS agent reads (on Lambda
/// AWS_SESSION_TOKEN is set for both sides already). A value
/// `file:///path` names a file holding the token.
pub const TOKEN_ENV: [&str; 4] = [
    "SECRETKIT_AGENT_TOKEN",
    "AWS_TOKEN",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// Where the agent listens, and the token it wants.
#[derive(Clone)]
pub struct AgentSettings {
    /// `http://127.0.0.1:2773` or `unix:///run/secretkit/agent.sock`.
    pub address: String,
    pub token: Zeroizing<String>,
}

impl std::fmt::Debug for AgentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSettings")
            .field("address", &self.address)
            .field("token", &crate::secret::REDACTED)
            .finish()
    }
}

impl AgentSettings {
    /// SECRETKIT_AGENT and the token from `TOKEN_ENV`; `None` when
    /// SECRETKIT_AGENT is unset or empty.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_env() -> Result<Option<AgentSettings>> {
        let address = match std::env::var("SECRETKIT_AGENT") {
            Ok(a) if !a.trim().is_empty() => a.trim().to_owned(),
            _ => return Ok(None),
        };
        Ok(Some(AgentSettings {
            address,
            token: token_from(&TOKEN_ENV)?,
        }))
    }
}

/// The token from the first of the variables `names` (`TOKEN_ENV` by
/// default) that is set and not empty.
#[cfg(not(target_arch = "wasm32"))]
pub fn token_from<S: AsRef<str>>(names: &[S]) -> Result<Zeroizing<String>> {
    for name in names {
        let name = name.as_ref();
        let Ok(value) = std::env::var(name) else {
            continue;
        };
        let value = Zeroizing::new(value);
        let token = match value.strip_prefix("file://") {
            Some(path) => Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                Error::config(format!("{name} names {path}, which cannot be read: {e}"))
            })?),
            None => value,
        };
        if !token.trim().is_empty() {
            return Ok(Zeroizing::new(token.trim().to_owned()));
        }
    }
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    Err(Error::config(format!(
        "the agent's token is not set: set one of {} (callers send it in \
         X-Aws-Parameters-Secrets-Token)",
        names.join(", ")
    )))
}

pub(crate) struct Agent {
    /// `http://host:port` (a Unix socket's requests go to `http://localhost`).
    base: String,
    token: Zeroizing<String>,
    rt: Runtime,
    timeout: Duration,
}

impl Agent {
    /// `rt` is the client's runtime for an http address; for a Unix socket
    /// the native runtime connects through the socket instead.
    pub(crate) fn new(settings: AgentSettings, rt: Runtime, timeout: Duration) -> Result<Agent> {
        let address = settings.address.trim_end_matches('/');
        let (base, rt) =
            match address.strip_prefix("unix://") {
                #[cfg(not(target_arch = "wasm32"))]
                Some(path) => {
                    let transport =
                        crate::runtime::native::ReqwestTransport::unix_socket(path, timeout)
                            .map_err(|e| Error::config(format!("agent {address}: {e}")))?;
                    let rt = Runtime {
                        transport: std::sync::Arc::new(transport),
                        clock: rt.clock,
                    };
                    ("http://localhost".to_owned(), rt)
                }
                #[cfg(target_arch = "wasm32")]
                Some(_) => return Err(Error::config(
                    "an agent on a Unix socket cannot be reached from wasm: give its http address",
                )),
                None => (address.to_owned(), rt),
            };
        Ok(Agent {
            base,
            token: settings.token,
            rt,
            timeout,
        })
    }

    /// The value `r` names (any `#field` is the client's to cut).
    pub(crate) async fn read(&self, r: &Reference, now: SystemTime) -> Result<Fetched> {
        let reference = r.cache_key().to_string();
        let url = format!(
            "{}/v1/secret?ref={}",
            self.base,
            percent_encode(&reference, b"")
        );
        let request = http::Request::get(url.as_str())
            .header("X-Aws-Parameters-Secrets-Token", self.token.as_str())
            .body(Bytes::new())
            .map_err(|e| Error::config(format!("cannot build a request to the agent: {e}")))?;
        let send = self.rt.transport.send(request);
        let response = with_timeout(&*self.rt.clock, self.timeout, send)
            .await
            .ok_or_else(|| Error::new(ErrorKind::Timeout, "the agent did not answer in time"))?
            .map_err(|e| Error::new(e.kind(), format!("agent request failed: {e}")))?;
        let status = response.status().as_u16();
        let body = response.into_body();
        let parsed: std::result::Result<Value, _> = serde_json::from_slice(&body);
        wipe(body);
        let mut answer = parsed.map_err(|_| {
            Error::invalid_response(format!("the agent answered HTTP {status} without JSON"))
        })?;
        let answer = answer
            .as_object_mut()
            .ok_or_else(|| Error::invalid_response("the agent's answer is not a JSON object"))?;
        if let Some(error) = answer.get("error") {
            return Err(agent_error(status, error));
        }
        if status != 200 {
            return Err(Error::invalid_response(format!(
                "the agent answered HTTP {status} without an error"
            )));
        }
        let value = take_value(answer)?;
        let version = answer
            .get("version")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let max_age = answer
            .get("max_age_ms")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::invalid_response("the agent's answer has no max_age_ms"))?;
        let leased = answer.get("lease").is_some_and(|l| !l.is_null());
        // Zero would mean "no hint" to the cache: the smallest age instead.
        let max_age = Duration::from_millis(max_age.max(1)).min(crate::reference::MAX_DURATION);
        Ok(Fetched::new(value, version, now)
            .with_ttl_hint(Some(max_age))
            .with_stale(!leased))
    }
}

/// The value, as text or base64, moved out of the answer (the answer's copy
/// of a string is not ours to wipe: serde_json owns it until it drops).
fn take_value(answer: &mut serde_json::Map<String, Value>) -> Result<Vec<u8>> {
    match (answer.remove("value"), answer.remove("value_base64")) {
        (Some(Value::String(text)), None) => Ok(Zeroizing::new(text).as_bytes().to_vec()),
        (None, Some(Value::String(encoded))) => {
            let encoded = Zeroizing::new(encoded);
            base64::engine::general_purpose::STANDARD
                .decode(encoded.as_bytes())
                .map_err(|_| Error::invalid_response("the agent's value_base64 is not base64"))
        }
        _ => Err(Error::invalid_response(
            "the agent's answer has no value (or both forms)",
        )),
    }
}

/// The agent's error answer as the core's error: the same kind, the message
/// marked as the agent's. A refusal (wrong token, forwarded request) is
/// `auth`: a setting to fix.
fn agent_error(status: u16, error: &Value) -> Error {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    let kind = error
        .get("kind")
        .and_then(Value::as_str)
        .and_then(|k| ErrorKind::ALL.into_iter().find(|kind| kind.as_str() == k));
    match kind {
        Some(kind) => Error::new(kind, format!("agent: {message}")),
        None => Error::new(
            ErrorKind::Auth,
            format!("the agent refused the request (HTTP {status}): {message}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_agents_errors_keep_their_kind_and_a_refusal_is_auth() {
        let e = agent_error(
            404,
            &json!({"kind": "not_found", "message": "no such secret"}),
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.message(), "agent: no such secret");
        let e = agent_error(403, &json!({"kind": "refused", "message": "bad token"}));
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert!(e.message().contains("HTTP 403"), "{e}");
        assert_eq!(agent_error(500, &json!("text")).kind(), ErrorKind::Auth);
    }

    #[test]
    fn a_value_comes_as_text_or_base64_and_nothing_else() {
        let take = |v: Value| take_value(v.as_object().cloned().as_mut().expect("object"));
        assert_eq!(take(json!({"value": "s3cret"})).expect("text"), b"s3cret");
        assert_eq!(
            take(json!({"value_base64": "/wAB"})).expect("b64"),
            [255, 0, 1]
        );
        for bad in [
            json!({}),
            json!({"value": 1}),
            json!({"value": "a", "value_base64": "YQ=="}),
            json!({"value_base64": "not base64!"}),
        ] {
            let e = take(bad).expect_err("refused");
            assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        }
    }

    #[test]
    fn a_reference_is_one_query_value() {
        assert_eq!(
            percent_encode("asm:a/b?stage=AWSCURRENT&x=1 #f", b""),
            "asm%3Aa%2Fb%3Fstage%3DAWSCURRENT%26x%3D1%20%23f"
        );
    }
}
