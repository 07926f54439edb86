//! The Secrets Manager calls a rotation makes: describe the secret, read a
//! version by stage, write the pending version, move AWSCURRENT, and ask for
//! a random password. Over the AWS SDK on secretkit's own HTTP transport
//! (`SdkHttp`), with the SDK's standard retries (a rotation Lambda should
//! ride out throttling; the service retries a failed step as well).

use std::collections::HashMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::Client;
use secretkit::{Error, ErrorKind, Result, SdkHttp};

use crate::credentials::Credentials;
use crate::protocol::Settings;

pub const CURRENT: &str = "AWSCURRENT";
pub const PENDING: &str = "AWSPENDING";
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// Secrets Manager, for the rotation steps.
#[derive(Clone)]
pub struct Store {
    sm: Client,
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
        let http = SdkHttp(runtime);
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http.clone())
            .sleep_impl(http.clone())
            .time_source(http)
            .load()
            .await;
        Ok(Store::new(Client::new(&config)))
    }

    pub fn new(sm: Client) -> Store {
        Store { sm }
    }

    pub async fn describe(&self, id: &str) -> Result<Described> {
        let out = self
            .sm
            .describe_secret()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeSecret", id, e))?;
        Ok(Described {
            rotation_enabled: out.rotation_enabled().unwrap_or(false),
            stages: out.version_ids_to_stages().cloned().unwrap_or_default(),
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
        let out = self
            .sm
            .get_secret_value()
            .secret_id(id)
            .set_version_id(version.map(str::to_owned))
            .version_stage(stage)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(sdk_error("GetSecretValue", id, e)),
        };
        let what = format!("secret {id} ({stage})");
        let text = out.secret_string().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!("{what} has no SecretString"),
            )
        })?;
        Credentials::parse(text, &what).map(Some)
    }

    /// Write `creds` as version `token` of `id`, labelled AWSPENDING.
    pub async fn put_pending(&self, id: &str, token: &str, creds: &Credentials) -> Result<()> {
        self.sm
            .put_secret_value()
            .secret_id(id)
            .client_request_token(token)
            .secret_string(creds.to_json())
            .version_stages(PENDING)
            .send()
            .await
            .map_err(|e| sdk_error("PutSecretValue", id, e))?;
        Ok(())
    }

    /// Move AWSCURRENT to `token` (the service moves AWSPREVIOUS to the
    /// version it leaves).
    pub async fn promote(&self, id: &str, token: &str, from: Option<&str>) -> Result<()> {
        self.sm
            .update_secret_version_stage()
            .secret_id(id)
            .version_stage(CURRENT)
            .move_to_version_id(token)
            .set_remove_from_version_id(from.map(str::to_owned))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateSecretVersionStage", id, e))?;
        Ok(())
    }

    /// A new password by the policy (`GetRandomPassword`).
    pub async fn random_password(&self, settings: &Settings) -> Result<String> {
        let out = self
            .sm
            .get_random_password()
            .password_length(i64::from(settings.password_length))
            .exclude_characters(&settings.exclude_characters)
            .require_each_included_type(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetRandomPassword", "-", e))?;
        out.random_password().map(str::to_owned).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                "GetRandomPassword returned none",
            )
        })
    }
}

/// An SDK error as a secretkit error: the operation, the secret and the
/// service's error code, never a value (the SDK's messages carry none either).
fn sdk_error<E: ProvideErrorMetadata + std::fmt::Debug>(
    op: &str,
    id: &str,
    e: aws_sdk_secretsmanager::error::SdkError<E>,
) -> Error {
    let code = e.code().unwrap_or("no error code").to_owned();
    let kind = match code.as_str() {
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "AccessDeniedException" => ErrorKind::AccessDenied,
        "ThrottlingException" => ErrorKind::Throttled,
        "InvalidParameterException" | "InvalidRequestException" => ErrorKind::Config,
        _ => ErrorKind::Unavailable,
    };
    let message = e.message().unwrap_or("").to_owned();
    Error::new(
        kind,
        format!("{op} of secret {id} failed: {code} {message}"),
    )
}
