//! The operator commands: `secretkit get` (and the exit codes every command
//! shares). They read with a client configured the way the AWS and Vault
//! CLIs are (AWS's standard chain, VAULT_* / BAO_*).

use serde_json::{json, Value};

/// Exit codes, one per group of failure kinds, so a script can tell "does
/// not exist" from "try again later" without parsing messages. 2 is clap's
/// code for a usage error.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const NOT_FOUND: u8 = 3;
    pub const DENIED: u8 = 4;
    pub const RETRY: u8 = 5;
    pub const INVALID: u8 = 6;
    pub const BAD_ANSWER: u8 = 7;

    /// The code for a failure of this kind.
    pub fn of(kind: secretkit::ErrorKind) -> u8 {
        use secretkit::ErrorKind::*;
        match kind {
            NotFound => NOT_FOUND,
            AccessDenied | Auth => DENIED,
            Throttled | Unavailable | Timeout => RETRY,
            InvalidReference | Config => INVALID,
            InvalidResponse | LeaseExpired => BAD_ANSWER,
        }
    }
}

/// `secretkit get REF...`: each reference's value, redacted unless
/// `reveal`; with `json` one JSON object per reference, in order. Every
/// reference is read even after a failure; the exit code is the first
/// failure's.
pub async fn get(references: &[String], reveal: bool, as_json: bool) -> u8 {
    let client = match secretkit::Client::from_env().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("secretkit: {e}");
            return exit::of(e.kind());
        }
    };
    let mut code = exit::OK;
    let mut answers = Vec::new();
    for reference in references {
        match client.get(reference).await {
            Ok(secret) => {
                let value = if reveal {
                    Value::from(String::from_utf8_lossy(secret.reveal_bytes()))
                } else {
                    Value::from(secretkit::REDACTED)
                };
                if as_json {
                    answers.push(json!({
                        "reference": reference,
                        "version": secret.version(),
                        "value": value,
                    }));
                } else {
                    let version = secret
                        .version()
                        .map(|v| format!(" (version {v})"))
                        .unwrap_or_default();
                    println!(
                        "{reference}{version}: {}",
                        value.as_str().unwrap_or_default()
                    );
                }
            }
            Err(e) => {
                eprintln!("secretkit: {e}");
                if as_json {
                    answers.push(json!({
                        "reference": reference,
                        "error": { "kind": e.kind().as_str(), "message": e.message() },
                    }));
                }
                if code == exit::OK {
                    code = exit::of(e.kind());
                }
            }
        }
    }
    if as_json {
        println!("{}", Value::from(answers));
    }
    client.close().await;
    code
}
