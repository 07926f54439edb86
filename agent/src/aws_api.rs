//! The AWS Parameters and Secrets extension's HTTP API, so code written for
//! it (or for the aws-secretsmanager-agent) works unchanged against
//! secretkit's agent:
//!
//! - `GET /systemsmanager/parameters/get?name=…[&version=N|&label=L][&withDecryption=true]`
//!   → GetParameter's JSON: `{"Parameter": {"Name", "Value", "Version",
//!   "Selector"?}, "ResultMetadata": {}}`;
//! - `GET /secretsmanager/get?secretId=…[&versionStage=S|&versionId=I][&refreshNow=true]`
//!   → GetSecretValue's JSON: `{"Name", "SecretString" | "SecretBinary",
//!   "VersionId", "VersionStages"?, "ResultMetadata": {}}`.
//!
//! Differences, chosen: values are always decrypted (the core reads with
//! decryption; `withDecryption=false` is accepted and changes nothing);
//! the metadata the core does not keep (`ARN`, `Type`, `DataType`,
//! `LastModifiedDate`, `CreatedDate`) is left out rather than made up.
//! Failures have the AWS JSON protocol's error shape, `{"__type",
//! "message"}`, with AWS's exception names, so an SDK-style caller's
//! handling of ResourceNotFoundException keeps working.
//!
//! A request becomes a secretkit reference only from names in the
//! characters AWS allows, so no `?`, `#` or `%` can reach the reference
//! grammar and select something the caller did not name.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::app::{text_or_base64, App};

type Params = Query<HashMap<String, String>>;

/// A request refused before it reaches a backend: (AWS exception, message).
type Invalid = (&'static str, String);

pub async fn parameter(State(app): State<Arc<App>>, Query(q): Params) -> Response {
    let reference = match parameter_reference(&q) {
        Ok(r) => r,
        Err(invalid) => return aws_error(StatusCode::BAD_REQUEST, invalid),
    };
    let answer = app.client.get(&reference).await;
    app.answered(answer.is_ok());
    let secret = match answer {
        Ok(s) => s,
        Err(e) => return failure(&e, "ParameterNotFound"),
    };
    let name = q["name"].as_str();
    let mut parameter = json!({
        "Name": parameter_name(name),
        "Value": String::from_utf8_lossy(secret.reveal_bytes()),
    });
    if let Some(n) = secret.version().and_then(|v| v.parse::<u64>().ok()) {
        parameter["Version"] = n.into();
    }
    if let Some(selector) = q.get("version").or(q.get("label")) {
        parameter["Selector"] = format!(":{selector}").into();
    }
    Json(json!({ "Parameter": parameter, "ResultMetadata": {} })).into_response()
}

pub async fn secret(State(app): State<Arc<App>>, Query(q): Params) -> Response {
    let reference = match secret_reference(&q) {
        Ok(r) => r,
        Err(invalid) => return aws_error(StatusCode::BAD_REQUEST, invalid),
    };
    // `refreshNow=true` (the AWS agent's): read from Secrets Manager now,
    // whatever the cache holds; concurrent ones still share one call.
    let answer = match q.get("refreshNow").map(String::as_str) {
        Some("true") => app.client.refresh(&reference).await,
        _ => app.client.get(&reference).await,
    };
    app.answered(answer.is_ok());
    let secret = match answer {
        Ok(s) => s,
        Err(e) => return failure(&e, "ResourceNotFoundException"),
    };
    let mut body = json!({ "Name": q["secretId"], "ResultMetadata": {} });
    match text_or_base64(secret.reveal_bytes()) {
        Ok(text) => body["SecretString"] = text.into(),
        Err(encoded) => body["SecretBinary"] = encoded.into(),
    }
    if let Some(v) = secret.version() {
        body["VersionId"] = v.into();
    }
    match (q.get("versionStage"), q.get("versionId")) {
        (Some(stage), _) => body["VersionStages"] = json!([stage]),
        (None, None) => body["VersionStages"] = json!(["AWSCURRENT"]),
        (None, Some(_)) => {}
    }
    Json(body).into_response()
}

/// The reference a GetParameter request names.
fn parameter_reference(q: &HashMap<String, String>) -> Result<String, Invalid> {
    only(q, &["name", "version", "label", "withDecryption"])?;
    let name = required(q, "name")?;
    // SSM names: letters, digits and _.-/ ; ':' for ARNs and name:selector.
    allowed(name, "name", |c| {
        c.is_ascii_alphanumeric() || "_.-/:".contains(c)
    })?;
    if let Some(d) = q.get("withDecryption") {
        if d != "true" && d != "false" {
            return Err(invalid(format!(
                "withDecryption must be true or false, got {d:?}"
            )));
        }
    }
    let selector = match (q.get("version"), q.get("label")) {
        (Some(_), Some(_)) => return Err(invalid("give version or label, not both".into())),
        (Some(version), None) => {
            allowed(version, "version", |c| c.is_ascii_digit())?;
            format!("?version={version}")
        }
        (None, Some(label)) => {
            allowed(label, "label", |c| {
                c.is_ascii_alphanumeric() || "_.-".contains(c)
            })?;
            format!(":{label}")
        }
        (None, None) => String::new(),
    };
    if !selector.is_empty() && name.contains(':') {
        return Err(invalid(
            "the name already holds a selector or is an ARN: give no version or label".into(),
        ));
    }
    Ok(format!("ssm:{name}{selector}"))
}

/// The parameter's name as GetParameter reports it: without a `:selector`.
fn parameter_name(name: &str) -> &str {
    match name.rsplit_once(':') {
        Some((bare, _)) if !name.starts_with("arn:") => bare,
        _ => name,
    }
}

/// The reference a GetSecretValue request names.
fn secret_reference(q: &HashMap<String, String>) -> Result<String, Invalid> {
    only(q, &["secretId", "versionStage", "versionId", "refreshNow"])?;
    if let Some(r) = q.get("refreshNow") {
        if r != "true" && r != "false" {
            return Err(invalid(format!(
                "refreshNow must be true or false, got {r:?}"
            )));
        }
    }
    let id = required(q, "secretId")?;
    // Secret names: letters, digits and /_+=.@- ; ':' for ARNs.
    allowed(id, "secretId", |c| {
        c.is_ascii_alphanumeric() || "/_+=.@-:".contains(c)
    })?;
    let version_chars = |c: char| c.is_ascii_alphanumeric() || "_-".contains(c);
    match (q.get("versionStage"), q.get("versionId")) {
        (Some(_), Some(_)) => Err(invalid("give versionStage or versionId, not both".into())),
        (Some(stage), None) => {
            allowed(stage, "versionStage", version_chars)?;
            Ok(format!("asm:{id}?stage={stage}"))
        }
        (None, Some(version)) => {
            allowed(version, "versionId", version_chars)?;
            Ok(format!("asm:{id}?version={version}"))
        }
        (None, None) => Ok(format!("asm:{id}")),
    }
}

fn invalid(message: String) -> Invalid {
    ("ValidationException", message)
}

fn only(q: &HashMap<String, String>, known: &[&str]) -> Result<(), Invalid> {
    match q.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(invalid(format!(
            "unknown query parameter {k:?}: expected {}",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn required<'a>(q: &'a HashMap<String, String>, key: &str) -> Result<&'a str, Invalid> {
    match q.get(key) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(invalid(format!("the {key} query parameter is required"))),
    }
}

fn allowed(value: &str, key: &str, ok: impl Fn(char) -> bool) -> Result<(), Invalid> {
    if value.len() > 2048 || !value.chars().all(ok) {
        return Err(invalid(format!(
            "{key} holds characters AWS does not allow there (or is over 2048 characters)"
        )));
    }
    Ok(())
}

/// A failed read in the AWS error shape. `not_found` is the exception this
/// API names a missing resource with.
fn failure(e: &secretkit::Error, not_found: &'static str) -> Response {
    use secretkit::ErrorKind::*;
    let (status, exception) = match e.kind() {
        NotFound => (StatusCode::BAD_REQUEST, not_found),
        AccessDenied | Auth => (StatusCode::BAD_REQUEST, "AccessDeniedException"),
        Throttled => (StatusCode::BAD_REQUEST, "ThrottlingException"),
        InvalidReference | Config => (StatusCode::BAD_REQUEST, "ValidationException"),
        Unavailable | InvalidResponse | LeaseExpired => {
            (StatusCode::BAD_GATEWAY, "InternalServiceError")
        }
        Timeout => (StatusCode::GATEWAY_TIMEOUT, "RequestTimeout"),
    };
    aws_error(status, (exception, e.to_string()))
}

fn aws_error(status: StatusCode, (exception, message): Invalid) -> Response {
    (
        status,
        Json(json!({ "__type": exception, "message": message })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn requests_become_references() {
        let cases = [
            (q(&[("name", "/prod/db")]), "ssm:/prod/db"),
            (
                q(&[("name", "/prod/db"), ("withDecryption", "true")]),
                "ssm:/prod/db",
            ),
            (
                q(&[("name", "/prod/db"), ("version", "3")]),
                "ssm:/prod/db?version=3",
            ),
            (
                q(&[("name", "/prod/db"), ("label", "live")]),
                "ssm:/prod/db:live",
            ),
            (q(&[("name", "/prod/db:2")]), "ssm:/prod/db:2"),
        ];
        for (query, want) in cases {
            assert_eq!(parameter_reference(&query).as_deref(), Ok(want));
        }
        let cases = [
            (q(&[("secretId", "prod/app")]), "asm:prod/app"),
            (
                q(&[("secretId", "prod/app"), ("versionStage", "AWSPREVIOUS")]),
                "asm:prod/app?stage=AWSPREVIOUS",
            ),
            (
                q(&[("secretId", "prod/app"), ("versionId", "a1-b2")]),
                "asm:prod/app?version=a1-b2",
            ),
            (
                q(&[("secretId", "prod/app"), ("refreshNow", "true")]),
                "asm:prod/app",
            ),
        ];
        for (query, want) in cases {
            assert_eq!(secret_reference(&query).as_deref(), Ok(want));
        }
    }

    #[test]
    fn nothing_outside_aws_names_reaches_the_grammar() {
        let refused = [
            q(&[]),
            q(&[("name", "")]),
            q(&[("name", "/a#password")]),
            q(&[("name", "/a?ttl=1s")]),
            q(&[("name", "/a%2e")]),
            q(&[("name", "/a"), ("version", "1"), ("label", "x")]),
            q(&[("name", "/a"), ("version", "1?x")]),
            q(&[("name", "/a:2"), ("label", "x")]),
            q(&[("name", "/a"), ("withDecryption", "yes")]),
            q(&[("name", "/a"), ("secretId", "b")]),
        ];
        for query in refused {
            assert!(parameter_reference(&query).is_err(), "{query:?} accepted");
        }
        let refused = [
            q(&[("secretId", "a#b")]),
            q(&[("secretId", "vault:x")])
                .into_iter()
                .chain([("versionId".into(), "1&x".into())])
                .collect(),
            q(&[("secretId", "a"), ("versionStage", "X"), ("versionId", "Y")]),
            q(&[("secretId", "a"), ("name", "b")]),
            q(&[("secretId", "a"), ("refreshNow", "1")]),
        ];
        for query in refused {
            assert!(secret_reference(&query).is_err(), "{query:?} accepted");
        }
    }
}
