//! AWS SSM Parameter Store and Secrets Manager, through the AWS SDK for Rust,
//! on our transport and clock (see `aws_http`).

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_ssm::config::StalledStreamProtectionConfig;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::region::Region;
use aws_types::SdkConfig;

use crate::aws_http::SdkHttp;
use crate::error::{Error, ErrorKind, Result};
use crate::reference::Reference;
use crate::runtime::Runtime;
use crate::secret::Fetched;

/// Explicit AWS settings, for runtimes without an environment or instance
/// metadata (the edge) and for tests.
#[derive(Clone, Default)]
pub struct AwsSettings {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Custom endpoint, e.g. a local moto server or a VPC endpoint.
    pub endpoint: Option<String>,
}

impl std::fmt::Debug for AwsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSettings")
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &crate::REDACTED)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

#[derive(Clone)]
pub(crate) struct Aws {
    ssm: aws_sdk_ssm::Client,
    asm: aws_sdk_secretsmanager::Client,
}

impl Aws {
    pub(crate) fn from_settings(settings: &AwsSettings, rt: &Runtime, timeout: Duration) -> Aws {
        let credentials = Credentials::new(
            settings.access_key_id.clone(),
            settings.secret_access_key.clone(),
            settings.session_token.clone(),
            None,
            "secretkit",
        );
        let mut builder = sdk_config_builder(rt, timeout)
            .region(Region::new(settings.region.clone()))
            .credentials_provider(SharedCredentialsProvider::new(credentials));
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.endpoint_url(endpoint.clone());
        }
        Aws::from_sdk_config(&builder.build())
    }

    /// The standard AWS chain: AWS_* variables (AWS_ENDPOINT_URL included),
    /// profiles, SSO, web identity, ECS and EC2 metadata.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) async fn from_env(rt: &Runtime, timeout: Duration) -> Aws {
        let http = SdkHttp(rt.clone());
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http.clone())
            .sleep_impl(http.clone())
            .time_source(http)
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .timeout_config(timeouts(timeout))
            .retry_config(RetryConfig::disabled())
            .load()
            .await;
        Aws::from_sdk_config(&config)
    }

    fn from_sdk_config(config: &SdkConfig) -> Aws {
        Aws {
            ssm: aws_sdk_ssm::Client::new(config),
            asm: aws_sdk_secretsmanager::Client::new(config),
        }
    }

    /// SSM GetParameter, decrypting SecureStrings; `name:version` and
    /// `name:label` selectors go to SSM as part of the name.
    pub(crate) async fn ssm(&self, r: &Reference, now: SystemTime) -> Result<Fetched> {
        let name = match &r.version {
            Some(v) => format!("{}:{v}", r.path),
            None => r.path.clone(),
        };
        let out = self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let parameter = out
            .parameter
            .ok_or_else(|| Error::invalid_response("SSM answered without a parameter"))?;
        ssm_value(parameter.value, parameter.version, now)
    }

    /// Secrets Manager GetSecretValue by name or ARN, stage or version id.
    pub(crate) async fn asm(&self, r: &Reference, now: SystemTime) -> Result<Fetched> {
        // A plain reference asks for AWSCURRENT by name: the service's
        // default, said explicitly, so a rotation's new current version is
        // what is read (moto 5 answers an unstaged read with the secret's
        // first current version even after UpdateSecretVersionStage moved
        // the label; ROTATION.md).
        let stage = match (&r.version, &r.stage) {
            (None, None) => Some("AWSCURRENT".to_owned()),
            (_, stage) => stage.clone(),
        };
        let out = self
            .asm
            .get_secret_value()
            .secret_id(&r.path)
            .set_version_id(r.version.clone())
            .set_version_stage(stage)
            .send()
            .await
            .map_err(sdk_error)?;
        asm_value(out.secret_string, out.secret_binary, out.version_id, now)
    }
}

/// Most names one SSM GetParameters call takes.
pub(crate) const SSM_BATCH: usize = 10;
/// Most ids one Secrets Manager BatchGetSecretValue call takes.
pub(crate) const ASM_BATCH: usize = 20;

/// One answer of a batch call, keyed by the name or id that was asked for.
pub(crate) type Answers = Vec<(String, Result<Fetched>)>;

impl Aws {
    /// GetParameters for up to `SSM_BATCH` plain names (no selectors).
    pub(crate) async fn ssm_batch(&self, names: &[String], now: SystemTime) -> Result<Answers> {
        let out = self
            .ssm
            .get_parameters()
            .set_names(Some(names.to_vec()))
            .with_decryption(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let mut answers: Answers = out
            .parameters
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| Some((p.name?, ssm_value(p.value, p.version, now))))
            .collect();
        for name in out.invalid_parameters.unwrap_or_default() {
            answers.push((name, Err(Error::not_found("ParameterNotFound"))));
        }
        Ok(answers)
    }

    /// Every parameter under `path`, recursively, all pages; `on_call` is
    /// told of each page requested.
    pub(crate) async fn ssm_path(
        &self,
        path: &str,
        now: SystemTime,
        on_call: &(dyn Fn() + Sync),
    ) -> Result<Answers> {
        let mut answers = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            on_call();
            let out = self
                .ssm
                .get_parameters_by_path()
                .path(path)
                .max_results(10) // SSM's own maximum page size
                .recursive(true)
                .with_decryption(true)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(sdk_error)?;
            for p in out.parameters.unwrap_or_default() {
                if let Some(name) = p.name {
                    answers.push((name, ssm_value(p.value, p.version, now)));
                }
            }
            token = next_page(out.next_token, token.as_deref(), &mut pages)?;
            if token.is_none() {
                return Ok(answers);
            }
        }
    }

    /// BatchGetSecretValue for up to `ASM_BATCH` names or ARNs (current
    /// versions). Answers are keyed by the id asked for, matched on name or ARN.
    pub(crate) async fn asm_batch(&self, ids: &[String], now: SystemTime) -> Result<Answers> {
        let out = self
            .asm
            .batch_get_secret_value()
            .set_secret_id_list(Some(ids.to_vec()))
            .send()
            .await
            .map_err(sdk_error)?;
        let mut answers = Vec::new();
        for entry in out.secret_values.unwrap_or_default() {
            let asked = ids.iter().find(|id| {
                entry.name.as_deref() == Some(id.as_str())
                    || entry.arn.as_deref() == Some(id.as_str())
            });
            if let Some(id) = asked {
                let id = id.clone();
                answers.push((
                    id,
                    asm_value(
                        entry.secret_string,
                        entry.secret_binary,
                        entry.version_id,
                        now,
                    ),
                ));
            }
        }
        for e in out.errors.unwrap_or_default() {
            if let Some(id) = e.secret_id {
                let code = e.error_code.unwrap_or_default();
                answers.push((
                    id,
                    Err(service_error(&code, e.message.as_deref().unwrap_or(""))),
                ));
            }
        }
        Ok(answers)
    }

    /// Every secret whose name starts with `prefix`, all pages, keyed by name.
    pub(crate) async fn asm_prefix(
        &self,
        prefix: &str,
        now: SystemTime,
        on_call: &(dyn Fn() + Sync),
    ) -> Result<Answers> {
        use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
        let filter = Filter::builder()
            .key(FilterNameStringType::Name)
            .values(prefix)
            .build();
        let mut answers = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            on_call();
            let out = self
                .asm
                .batch_get_secret_value()
                .filters(filter.clone())
                .max_results(ASM_BATCH as i32)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(sdk_error)?;
            for entry in out.secret_values.unwrap_or_default() {
                // The name filter matches words anywhere in the name; keep prefixes only.
                if let Some(name) = entry.name.filter(|n| n.starts_with(prefix)) {
                    let value = asm_value(
                        entry.secret_string,
                        entry.secret_binary,
                        entry.version_id,
                        now,
                    );
                    answers.push((name, value));
                }
            }
            token = next_page(out.next_token, token.as_deref(), &mut pages)?;
            if token.is_none() {
                return Ok(answers);
            }
        }
    }
}

/// Most pages one prefetch reads (10 or 20 values a page): far above any
/// real prefix, and a bound on a server that never stops paging.
const MAX_PAGES: u32 = 1000;

/// The next page token, or an error for a server that repeats a token or
/// pages without end (either would loop forever).
fn next_page(next: Option<String>, this: Option<&str>, pages: &mut u32) -> Result<Option<String>> {
    let next = next.filter(|t| !t.is_empty());
    *pages += 1;
    if next.is_some() && next.as_deref() == this {
        return Err(Error::invalid_response(
            "the server answered the same page token twice",
        ));
    }
    if next.is_some() && *pages >= MAX_PAGES {
        return Err(Error::invalid_response(format!(
            "more than {MAX_PAGES} pages: stopped paging"
        )));
    }
    Ok(next)
}

fn ssm_value(value: Option<String>, version: i64, now: SystemTime) -> Result<Fetched> {
    let value = value.ok_or_else(|| Error::invalid_response("SSM answered without a value"))?;
    Ok(Fetched::new(
        value.into_bytes(),
        Some(version.to_string()),
        now,
    ))
}

fn asm_value(
    string: Option<String>,
    binary: Option<aws_smithy_types::Blob>,
    version: Option<String>,
    now: SystemTime,
) -> Result<Fetched> {
    let value = match (string, binary) {
        (Some(s), _) => s.into_bytes(),
        (None, Some(b)) => b.into_inner(),
        (None, None) => {
            return Err(Error::invalid_response(
                "Secrets Manager answered with neither SecretString nor SecretBinary",
            ))
        }
    };
    Ok(Fetched::new(value, version, now))
}

fn sdk_config_builder(rt: &Runtime, timeout: Duration) -> aws_types::sdk_config::Builder {
    let http = SdkHttp(rt.clone());
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http.clone())
        .sleep_impl(http.clone())
        .time_source(http)
        // Our transport buffers whole (small) bodies under its own timeout,
        // so the SDK's streaming stall detector has nothing to watch.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .timeout_config(timeouts(timeout))
        // One retry layer, the core's (`client/read.rs`): it knows whether
        // the cache can serve meanwhile and bounds the whole read, where the
        // SDK's three attempts would run under the cache's own backoff.
        .retry_config(RetryConfig::disabled())
}

fn timeouts(timeout: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(timeout)
        .build()
}

/// Map an SDK failure to our kinds by the service's error code, the way AWS
/// documents them, falling back on the HTTP status.
fn sdk_error<E>(err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // An answer without an error code (a redirect, or a 5xx page from a
    // load balancer or proxy in front of the service, whose body the SDK
    // cannot parse) is typed by its status: retried when transient.
    let uncoded = match &err {
        SdkError::ServiceError(service) => service.err().code().is_none(),
        SdkError::ResponseError(_) => true,
        _ => false,
    };
    if let Some(by_status) = err
        .raw_response()
        .filter(|_| uncoded)
        .and_then(|r| status_error(r.status().as_u16()))
    {
        return by_status;
    }
    match &err {
        SdkError::ServiceError(service) => service_error(
            service.err().code().unwrap_or("Unknown"),
            service.err().message().unwrap_or(""),
        ),
        SdkError::TimeoutError(_) => Error::new(ErrorKind::Timeout, "AWS request timed out"),
        SdkError::DispatchFailure(d) => {
            let kind = if d.as_connector_error().is_some_and(|c| no_credentials(c)) {
                // Not the network: the credential chain found nothing.
                ErrorKind::Config
            } else if d.as_connector_error().is_some_and(|c| untrusted(c)) {
                ErrorKind::Config
            } else if d.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Unavailable
            };
            Error::new(kind, format!("AWS request failed: {}", chain(&err)))
        }
        SdkError::ResponseError(_) => Error::invalid_response(format!(
            "AWS answered with a response that could not be read: {}",
            chain(&err)
        )),
        SdkError::ConstructionFailure(_) => {
            Error::config(format!("AWS request could not be built: {}", chain(&err)))
        }
        _ => Error::new(ErrorKind::Unavailable, chain(&err)),
    }
}

/// What an HTTP status says when the answer has no service error code.
fn status_error(status: u16) -> Option<Error> {
    match status {
        300..=399 => Some(Error::new(
            ErrorKind::Unavailable,
            format!(
                "AWS answered with a redirect (HTTP {status}); secretkit never follows \
                 redirects, so the credentials stay with the configured endpoint"
            ),
        )),
        429 => Some(Error::new(
            ErrorKind::Throttled,
            format!("AWS answered HTTP {status} without an error code"),
        )),
        500..=599 => Some(Error::new(
            ErrorKind::Unavailable,
            format!("AWS answered HTTP {status} without an error code"),
        )),
        _ => None,
    }
}

/// A service error code (AWS documents them per API) as one of our kinds.
fn service_error(code: &str, message: &str) -> Error {
    let kind = match code {
        "ParameterNotFound" | "ParameterVersionNotFound" | "ResourceNotFoundException" => {
            ErrorKind::NotFound
        }
        "AccessDeniedException" | "AccessDenied" | "DecryptionFailure" => ErrorKind::AccessDenied,
        "ThrottlingException"
        | "TooManyUpdates"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "ThrottledException"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "SlowDown" => ErrorKind::Throttled,
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "MissingAuthenticationToken"
        | "IncompleteSignature" => ErrorKind::Auth,
        "InternalServerError"
        | "InternalServiceError"
        | "InternalFailure"
        | "ServiceUnavailable" => ErrorKind::Unavailable,
        "ValidationException" | "InvalidParameterException" | "InvalidRequestException" => {
            ErrorKind::InvalidReference
        }
        _ => ErrorKind::InvalidResponse,
    };
    Error::new(kind, format!("{code}: {message}"))
}

/// Whether the failure was the credential chain coming up empty.
fn no_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    use aws_credential_types::provider::error::CredentialsError;
    let mut source = Some(err);
    while let Some(e) = source {
        if let Some(CredentialsError::CredentialsNotLoaded(_)) =
            e.downcast_ref::<CredentialsError>()
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// The server's certificate was refused (see `TransportError::Untrusted`).
fn untrusted(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        if let Some(crate::runtime::TransportError::Untrusted(_)) = e.downcast_ref() {
            return true;
        }
        source = e.source();
    }
    false
}

/// An error and its causes on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_without_an_error_code_are_typed_by_their_status() {
        for status in [500, 502, 503, 504] {
            assert_eq!(status_error(status).unwrap().kind(), ErrorKind::Unavailable);
        }
        assert_eq!(status_error(429).unwrap().kind(), ErrorKind::Throttled);
        let redirect = status_error(307).unwrap();
        assert_eq!(redirect.kind(), ErrorKind::Unavailable);
        assert!(redirect.message().contains("redirect"), "{redirect}");
        // Anything else keeps the code-based mapping (Unknown → invalid_response).
        assert!(status_error(400).is_none());
        assert!(status_error(200).is_none());
    }
}
