//! The Secrets Manager calls a rotation makes: describe the secret, read a
//! version by stage, write the pending version, move AWSCURRENT, and ask for
//! a random password. Over secretkit's own AWS protocol layer
//! (`secretkit::AwsApi`, the one the reads use), with a few retries
//! of throttling and outages: a rotation Lambda should ride them out (the
//! service retries a failed step as well).

use std::collections::HashMap;
use std::time::Duration;

use secretkit::{AwsApi, AwsService, Error, ErrorKind, Result};
use serde_json::{json, Value};

use crate::credentials::Credentials;
use crate::protocol::Settings;

pub const CURRENT: &str = "AWSCURRENT";
pub const PENDING: &str = "AWSPENDING";
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// Attempts of one call when Secrets Manager throttles or is unavailable.
const ATTEMPTS: u32 = 3;

/// Secrets Manager, for the rotation steps.
#[derive(Clone)]
pub struct Store {
    sm: AwsApi,
}

/// What `DescribeSecret` says about rotation.
pub struct Described {
    pub rotation_enabled: bool,
    /// Version id -> its staging labels.
    pub stages: HashMap<String, Vec<String>>,
}

impl Described {
    pub fn version_with(&self, stage: &str) -> Option<&str> {
        self.stages
            .iter()
            .find(|(_, labels)| labels.iter().any(|l| l == stage))
            .map(|(id, _)| id.as_str())
    }
}

impl Store {
    /// From the standard AWS chain (the Lambda's role, AWS_ENDPOINT_URL).
    pub async fn from_env(timeout: Duration) -> Result<Store> {
        let runtime = secretkit::runtime::native::runtime(timeout).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("cannot start the HTTP client: {e}"),
            )
        })?;
        Ok(Store::new(AwsApi::from_env(&runtime, timeout).await))
    }

    pub fn new(sm: AwsApi) -> Store {
        Store { sm }
    }

    /// One call, retried with a growing pause while the service throttles
    /// or is unavailable; errors name the operation and the secret. The
    /// input (a new password, for PutSecretValue) is wiped afterwards.
    async fn call(&self, op: &str, id: &str, mut input: Value) -> Result<Value> {
        let result = self.call_with_retries(op, id, &input).await;
        secretkit::scrub_json(&mut input);
        result
    }

    async fn call_with_retries(&self, op: &str, id: &str, input: &Value) -> Result<Value> {
        let mut attempt = 1;
        loop {
            match self.sm.call(AwsService::SecretsManager, op, input).await {
                Ok(out) => return Ok(out),
                Err(e)
                    if attempt < ATTEMPTS
                        && matches!(e.kind(), ErrorKind::Throttled | ErrorKind::Unavailable) =>
                {
                    let pause = e
                        .retry_after()
                        .unwrap_or(Duration::from_millis(200 << attempt));
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                Err(e) => {
                    // A refused input is the rotation's configuration, not the reader's reference.
                    let kind = match e.kind() {
                        ErrorKind::InvalidReference => ErrorKind::Config,
                        kind => kind,
                    };
                    return Err(Error::new(
                        kind,
                        format!("{op} of secret {id} failed: {}", e.message()),
                    ));
                }
            }
        }
    }

    pub async fn describe(&self, id: &str) -> Result<Described> {
        let out = self
            .call("DescribeSecret", id, json!({ "SecretId": id }))
            .await?;
        let stages = out
            .get("VersionIdsToStages")
            .and_then(Value::as_object)
            .map(|versions| {
                versions
                    .iter()
                    .map(|(version, labels)| {
                        let labels = labels
                            .as_array()
                            .map(|l| {
                                l.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default();
                        (version.clone(), labels)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Described {
            rotation_enabled: out
                .get("RotationEnabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            stages,
        })
    }

    /// The version of `id` with `stage` (and `version`, when given), or
    /// `None` if there is none with a value.
    pub async fn get(
        &self,
        id: &str,
        version: Option<&str>,
        stage: &str,
    ) -> Result<Option<Credentials>> {
        let mut input = json!({ "SecretId": id, "VersionStage": stage });
        if let Some(v) = version {
            input["VersionId"] = json!(v);
        }
        let mut out = match self.call("GetSecretValue", id, input).await {
            Ok(out) => out,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let what = format!("secret {id} ({stage})");
        let parsed = match out.get("SecretString").and_then(Value::as_str) {
            Some(text) => Credentials::parse(text, &what).map(Some),
            None => Err(Error::new(
                ErrorKind::InvalidResponse,
                format!("{what} has no SecretString"),
            )),
        };
        secretkit::scrub_json(&mut out);
        parsed
    }

    /// Write `creds` as version `token` of `id`, labelled AWSPENDING.
    pub async fn put_pending(&self, id: &str, token: &str, creds: &Credentials) -> Result<()> {
        let input = json!({
            "SecretId": id,
            "ClientRequestToken": token,
            "SecretString": creds.to_json(),
            "VersionStages": [PENDING],
        });
        self.call("PutSecretValue", id, input).await.map(drop)
    }

    /// Move AWSCURRENT to `token` (the service moves AWSPREVIOUS to the
    /// version it leaves).
    pub async fn promote(&self, id: &str, token: &str, from: Option<&str>) -> Result<()> {
        let mut input = json!({
            "SecretId": id,
            "VersionStage": CURRENT,
            "MoveToVersionId": token,
        });
        if let Some(from) = from {
            input["RemoveFromVersionId"] = json!(from);
        }
        self.call("UpdateSecretVersionStage", id, input)
            .await
            .map(drop)
    }

    /// A new password by the policy (`GetRandomPassword`).
    pub async fn random_password(&self, settings: &Settings) -> Result<String> {
        let input = json!({
            "PasswordLength": settings.password_length,
            "ExcludeCharacters": settings.exclude_characters,
            "RequireEachIncludedType": true,
        });
        let mut out = self.call("GetRandomPassword", "-", input).await?;
        let password = out
            .get("RandomPassword")
            .and_then(Value::as_str)
            .map(str::to_owned);
        secretkit::scrub_json(&mut out);
        password.ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                "GetRandomPassword returned none",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use secretkit::{AwsSettings, BoxFuture, ManualClock, Runtime, Transport, TransportError};

    use super::*;

    /// Answers with a list of (status, body) in turn, the last repeating, and
    /// counts the requests.
    struct Script {
        answers: Vec<(u16, &'static str)>,
        asked: Mutex<usize>,
    }

    impl Transport for Script {
        fn send(
            &self,
            _: http::Request<bytes::Bytes>,
        ) -> BoxFuture<'static, std::result::Result<http::Response<bytes::Bytes>, TransportError>>
        {
            let mut asked = self.asked.lock().unwrap_or_else(|p| p.into_inner());
            let (status, body) = self.answers[(*asked).min(self.answers.len() - 1)];
            *asked += 1;
            let reply = http::Response::builder()
                .status(status)
                .body(bytes::Bytes::from_static(body.as_bytes()))
                .map_err(|e| TransportError::Io(e.to_string()));
            Box::pin(async move { reply })
        }
    }

    fn store(answers: Vec<(u16, &'static str)>) -> (Store, Arc<Script>) {
        let script = Arc::new(Script {
            answers,
            asked: Mutex::new(0),
        });
        let rt = Runtime {
            transport: script.clone(),
            clock: ManualClock::new(),
        };
        let settings = AwsSettings {
            region: "us-east-1".into(),
            access_key_id: "AKID".into(),
            secret_access_key: "secret".into(),
            session_token: None,
            endpoint: Some("http://127.0.0.1:5000".into()),
        };
        let api = AwsApi::from_settings(&settings, &rt, Duration::from_secs(5));
        (Store::new(api), script)
    }

    const THROTTLED: (u16, &str) = (
        400,
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
    );
    const DESCRIBED: (u16, &str) = (
        200,
        r#"{"RotationEnabled":true,"VersionIdsToStages":{"v1":["AWSCURRENT"]}}"#,
    );

    #[tokio::test]
    async fn throttling_is_ridden_out_within_three_attempts() {
        let (store, script) = store(vec![THROTTLED, THROTTLED, DESCRIBED]);
        let described = store.describe("app/db").await.unwrap();
        assert!(described.rotation_enabled);
        assert_eq!(described.version_with(CURRENT), Some("v1"));
        assert_eq!(*script.asked.lock().unwrap(), 3);
    }

    #[tokio::test]
    async fn a_throttling_storm_ends_after_three_attempts_naming_the_step() {
        let (store, script) = store(vec![THROTTLED]);
        let e = store.describe("app/db").await.err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Throttled);
        assert!(
            e.message()
                .starts_with("DescribeSecret of secret app/db failed: ThrottlingException"),
            "{e}"
        );
        assert_eq!(*script.asked.lock().unwrap(), 3);
    }

    #[tokio::test]
    async fn a_refused_input_is_a_config_error_and_not_retried() {
        let refused = (
            400,
            r#"{"__type":"InvalidParameterException","message":"bad length"}"#,
        );
        let (store, script) = store(vec![refused]);
        let e = store
            .random_password(&Settings::default())
            .await
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert_eq!(*script.asked.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_missing_version_is_none() {
        let missing = (
            400,
            r#"{"__type":"ResourceNotFoundException","message":"no such version"}"#,
        );
        let (store, _) = store(vec![missing]);
        assert!(store.get("app/db", None, PENDING).await.unwrap().is_none());
    }
}
