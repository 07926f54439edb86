//! `GET /v1/secret?ref=<reference>`: any secretkit reference, Vault's
//! included, read through the agent's one client (one cache, one set of
//! leases for every caller on the host).
//!
//! Answer: `{"reference", "value" | "value_base64", "version",
//! "fetched_at_ms", "max_age_ms", "lease": {"id", "duration_secs",
//! "renewable"} | null}`. `max_age_ms` is how long the caller may keep the
//! value without asking again (the agent's own window: up to its
//! refresh-ahead point, never past a lease's expiry), so a client's cache in
//! front of the agent never serves longer than the agent would.
//! Failures: `{"error": {"kind", "message", "reference"}}` with the status
//! `status_of` gives the kind; the kinds are the core's.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::{refusal, text_or_base64, App};

#[derive(Deserialize)]
pub struct SecretQuery {
    #[serde(rename = "ref")]
    reference: Option<String>,
}

pub async fn secret(State(app): State<Arc<App>>, Query(query): Query<SecretQuery>) -> Response {
    let Some(reference) = query.reference else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "the ref query parameter is required",
        );
    };
    let answer = read(&app.client, &reference).await;
    app.answered(answer.is_ok());
    match answer {
        Ok(body) => Json(body).into_response(),
        Err(e) => error_response(&e),
    }
}

async fn read(client: &secretkit::Client, reference: &str) -> secretkit::Result<Value> {
    let secret = client.get(reference).await?;
    // The window of the value just read: how long it stays the answer.
    let max_age_ms = match client.handle(reference)?.window() {
        Some(Ok(window)) if window.secret.serial() == secret.serial() => {
            window.valid_for.as_millis() as u64
        }
        _ => 0,
    };
    let mut body = json!({
        "reference": reference,
        "version": secret.version(),
        "fetched_at_ms": secret
            .fetched_at()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        "max_age_ms": max_age_ms,
        "lease": secret.lease().map(|l| json!({
            "id": l.id,
            "duration_secs": l.duration_secs,
            "renewable": l.renewable,
        })),
    });
    match text_or_base64(secret.reveal_bytes()) {
        Ok(text) => body["value"] = text.into(),
        Err(encoded) => body["value_base64"] = encoded.into(),
    }
    Ok(body)
}

/// The HTTP status for a failure of this kind.
pub fn status_of(kind: secretkit::ErrorKind) -> StatusCode {
    use secretkit::ErrorKind::*;
    match kind {
        NotFound => StatusCode::NOT_FOUND,
        AccessDenied | Auth => StatusCode::FORBIDDEN,
        Throttled => StatusCode::TOO_MANY_REQUESTS,
        Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Timeout => StatusCode::GATEWAY_TIMEOUT,
        InvalidResponse => StatusCode::BAD_GATEWAY,
        LeaseExpired => StatusCode::GONE,
        InvalidReference | Config => StatusCode::BAD_REQUEST,
    }
}

fn error_response(e: &secretkit::Error) -> Response {
    let body = json!({ "error": {
        "kind": e.kind().as_str(),
        "message": e.message(),
        "reference": e.reference(),
    }});
    (status_of(e.kind()), Json(body)).into_response()
}
