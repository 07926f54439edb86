//! The operator commands: `get`, `ls`, `rotate`, `revoke` (and the exit
//! codes every command shares; `audit` is in audit.rs). They talk to the
//! backends with the operator's own credentials, configured the way the AWS
//! and Vault CLIs are (AWS's standard chain, VAULT_* / BAO_*), never through
//! an agent: an operator acts on the source, not on a host's cache.

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
    let client = match client().await {
        Ok(c) => c,
        Err(code) => return code,
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
                let failed = fail(&e);
                if as_json {
                    answers.push(json!({
                        "reference": reference,
                        "error": { "kind": e.kind().as_str(), "message": e.message() },
                    }));
                }
                if code == exit::OK {
                    code = failed;
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

/// The operator's client: AWS and Vault from the environment, no agent.
async fn client() -> Result<secretkit::Client, u8> {
    let built = match secretkit::Client::builder()
        .direct()
        .aws_from_env()
        .vault_from_env()
    {
        Ok(builder) => builder.build().await,
        Err(e) => Err(e),
    };
    built.map_err(|e| fail(&e))
}

/// Reports a failure on stderr; its exit code.
fn fail(e: &secretkit::Error) -> u8 {
    eprintln!("secretkit: {e}");
    exit::of(e.kind())
}

/// `secretkit ls PREFIX`: the references under an `ssm:` or `asm:` prefix
/// (read in pages or batches, as `prefetch` does), one per line.
pub async fn ls(prefix: &str, as_json: bool) -> u8 {
    let client = match client().await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let listed = client.prefetch_listed(prefix).await;
    client.close().await;
    match listed {
        Ok(references) if as_json => {
            println!("{}", Value::from(references));
            exit::OK
        }
        Ok(references) => {
            for r in references {
                println!("{r}");
            }
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// `secretkit rotate asm:NAME`: Secrets Manager rotates the secret now with
/// its configured rotation function (RotateSecret); prints the new version.
pub async fn rotate(reference: &str, as_json: bool) -> u8 {
    let id = match secretkit::Reference::parse(reference) {
        Ok(r)
            if r.scheme == secretkit::Scheme::Asm
                && r.field.is_none()
                && r.version.is_none()
                && r.stage.is_none() =>
        {
            r.path
        }
        Ok(_) => {
            eprintln!("secretkit: rotate takes a Secrets Manager secret, asm:NAME (no version, stage or #field)");
            return exit::INVALID;
        }
        Err(e) => return fail(&e),
    };
    let timeout = std::time::Duration::from_secs(30);
    let rt = match secretkit::runtime::native::runtime(timeout) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("secretkit: {e}");
            return exit::FAILED;
        }
    };
    let api = secretkit::AwsApi::from_env(&rt, timeout).await;
    let input = json!({ "SecretId": id, "RotateImmediately": true });
    match api
        .call(
            secretkit::AwsService::SecretsManager,
            "RotateSecret",
            &input,
        )
        .await
    {
        Ok(out) => {
            let version = out.get("VersionId").and_then(Value::as_str).unwrap_or("");
            if as_json {
                println!("{}", json!({ "reference": reference, "version": version }));
            } else {
                println!("{reference}: rotation started, new version {version}");
            }
            exit::OK
        }
        Err(e) => fail(&e.for_reference(reference)),
    }
}

/// `secretkit revoke`: one Vault lease, or every lease under a path.
pub async fn revoke(target: &str, how: secretkit::Revoke, as_json: bool) -> u8 {
    let client = match client().await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let revoked = client.revoke(target, how).await;
    client.close().await;
    match revoked {
        Ok(()) => {
            let what = match how {
                secretkit::Revoke::Lease => "lease",
                secretkit::Revoke::Prefix => "leases under",
                secretkit::Revoke::Force => "leases under (forced)",
            };
            if as_json {
                println!("{}", json!({ "revoked": target, "what": what }));
            } else {
                println!("revoked {what} {target}");
            }
            exit::OK
        }
        Err(e) => fail(&e),
    }
}
