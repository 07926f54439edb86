//! The agent's routes and the checks every request passes first.
//!
//! - `GET /systemsmanager/parameters/get`, `GET /secretsmanager/get`: the AWS
//!   Parameters and Secrets extension's API (aws_api.rs);
//! - `GET /v1/secret?ref=…`: any secretkit reference (native_api.rs);
//! - `GET /metrics`: Prometheus text, the client's metrics and the agent's;
//! - `GET /ping`: health, without a token (like the AWS agent's).
//!
//! Every request carrying `X-Forwarded-For` is refused: a proxy relaying
//! outside requests to the agent (an SSRF path) adds it. Every route but
//! `/ping` needs the token in `X-Aws-Parameters-Secrets-Token` (or
//! `X-Vault-Token`, as Vault Agent's callers send one); a browser page
//! cannot add such a header to a cross-origin request without a CORS
//! preflight, which the agent never answers.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sha2::{Digest, Sha256};

use crate::{aws_api, native_api};

pub const TOKEN_HEADERS: [&str; 2] = ["x-aws-parameters-secrets-token", "x-vault-token"];

/// What every handler shares.
pub struct App {
    pub client: secretkit::Client,
    /// SHA-256 of the token: requests are compared digest to digest, so the
    /// comparison's time says nothing about the token's bytes.
    token_digest: [u8; 32],
    counters: Counters,
}

/// The agent's own counters, for `/metrics`.
#[derive(Default)]
struct Counters {
    no_token: AtomicU64,
    bad_token: AtomicU64,
    forwarded: AtomicU64,
    answered: [AtomicU64; 2],
}

impl App {
    pub fn new(client: secretkit::Client, token: &str) -> Arc<App> {
        Arc::new(App {
            client,
            token_digest: Sha256::digest(token.as_bytes()).into(),
            counters: Counters::default(),
        })
    }

    /// Counts an answer to an API request (ok or failed), for `/metrics`.
    pub fn answered(&self, ok: bool) {
        self.counters.answered[usize::from(!ok)].fetch_add(1, Relaxed);
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/systemsmanager/parameters/get", get(aws_api::parameter))
        .route("/secretsmanager/get", get(aws_api::secret))
        .route("/v1/secret", get(native_api::secret))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_token))
        .route("/ping", get(|| async { "healthy" }))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            refuse_forwarded,
        ))
        .with_state(app)
}

async fn refuse_forwarded(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if request.headers().contains_key("x-forwarded-for") {
        app.counters.forwarded.fetch_add(1, Relaxed);
        return refusal(
            StatusCode::BAD_REQUEST,
            "forwarded requests are refused (X-Forwarded-For): the agent serves local callers only",
        );
    }
    next.run(request).await
}

async fn require_token(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    match sent_token(request.headers()) {
        None => {
            app.counters.no_token.fetch_add(1, Relaxed);
            refusal(
                StatusCode::UNAUTHORIZED,
                "the X-Aws-Parameters-Secrets-Token header is required",
            )
        }
        Some(token) if Sha256::digest(token).as_slice() != app.token_digest => {
            app.counters.bad_token.fetch_add(1, Relaxed);
            refusal(
                StatusCode::FORBIDDEN,
                "the token does not match the agent's",
            )
        }
        Some(_) => next.run(request).await,
    }
}

fn sent_token(headers: &HeaderMap) -> Option<&[u8]> {
    TOKEN_HEADERS
        .iter()
        .find_map(|name| headers.get(*name))
        .map(|v| v.as_bytes())
}

/// A value for a JSON answer: `Ok(text)` when it is UTF-8, else
/// `Err(base64)` (SecretString / SecretBinary, value / value_base64).
pub fn text_or_base64(bytes: &[u8]) -> Result<&str, String> {
    use base64::Engine;
    std::str::from_utf8(bytes).map_err(|_| base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A refusal by the agent itself, in the shape of its error answers.
pub fn refusal(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "kind": "refused", "message": message } });
    (status, Json(body)).into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let c = &app.counters;
    let mut text = app.client.metrics().to_prometheus();
    text.push_str(
        "# HELP secretkit_agent_refused_total Requests the agent refused before reading anything.\n\
         # TYPE secretkit_agent_refused_total counter\n",
    );
    for (reason, n) in [
        ("no_token", &c.no_token),
        ("bad_token", &c.bad_token),
        ("forwarded", &c.forwarded),
    ] {
        text.push_str(&format!(
            "secretkit_agent_refused_total{{reason=\"{reason}\"}} {}\n",
            n.load(Relaxed)
        ));
    }
    text.push_str(
        "# HELP secretkit_agent_answers_total Secret requests answered, by result.\n\
         # TYPE secretkit_agent_answers_total counter\n",
    );
    for (result, n) in [("ok", &c.answered[0]), ("error", &c.answered[1])] {
        text.push_str(&format!(
            "secretkit_agent_answers_total{{result=\"{result}\"}} {}\n",
            n.load(Relaxed)
        ));
    }
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}
