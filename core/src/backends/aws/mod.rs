//! AWS SSM Parameter Store and Secrets Manager: the five read operations
//! secretkit calls, over its own JSON protocol layer (`protocol`, signed by
//! `sigv4`) on the core's transport and clock, the same on every target.

mod credentials;
mod protocol;
mod sigv4;

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use self::credentials::{Credentials, Source};
use self::protocol::{decode, service_error, Caller, Obj, Service, Variant};
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::runtime::{wipe, Runtime};
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
    caller: Caller,
    ssm: Service,
    asm: Service,
}

impl Aws {
    pub(crate) fn from_settings(settings: &AwsSettings, rt: &Runtime, timeout: Duration) -> Aws {
        let credentials = Source::Static(Credentials::new(
            &settings.access_key_id,
            &settings.secret_access_key,
            settings.session_token.clone(),
        ));
        let endpoint = settings.endpoint.as_deref();
        let region = &settings.region;
        Aws {
            ssm: Service::new(protocol::SSM, region, endpoint, Variant::default()),
            asm: Service::new(
                protocol::SECRETS_MANAGER,
                region,
                endpoint,
                Variant::default(),
            ),
            caller: Caller {
                rt: rt.clone(),
                timeout,
                region: region.clone(),
                credentials,
            },
        }
    }

    /// The standard AWS chain of `aws-config`: AWS_* variables, profiles,
    /// SSO, web identity, ECS and EC2 metadata for credentials and region;
    /// AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_SECRETS_MANAGER, then
    /// AWS_ENDPOINT_URL or the profile's endpoint_url; FIPS and dual-stack
    /// switches.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) async fn from_env(rt: &Runtime, timeout: Duration) -> Aws {
        use aws_config::BehaviorVersion;
        use aws_smithy_types::retry::RetryConfig;
        use aws_smithy_types::timeout::TimeoutConfig;

        let http = crate::aws_http::SdkHttp(rt.clone());
        // The chain's own calls (IMDS, STS, SSO) go over our transport too.
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http.clone())
            .sleep_impl(http.clone())
            .time_source(http)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(timeout)
                    .build(),
            )
            .retry_config(RetryConfig::disabled())
            .load()
            .await;
        let region = config
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default();
        let credentials = config
            .credentials_provider()
            .map_or(Source::Missing, Source::Chain);
        let variant = Variant {
            fips: config.use_fips().unwrap_or(false),
            dual_stack: config.use_dual_stack().unwrap_or(false),
        };
        let ignore = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let endpoint = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty() && !ignore)
                .or_else(|| config.endpoint_url().map(str::to_owned))
        };
        let ssm_url = endpoint("AWS_ENDPOINT_URL_SSM");
        let asm_url = endpoint("AWS_ENDPOINT_URL_SECRETS_MANAGER");
        Aws {
            ssm: Service::new(protocol::SSM, &region, ssm_url.as_deref(), variant),
            asm: Service::new(
                protocol::SECRETS_MANAGER,
                &region,
                asm_url.as_deref(),
                variant,
            ),
            caller: Caller {
                rt: rt.clone(),
                timeout,
                region,
                credentials,
            },
        }
    }

    /// SSM GetParameter, decrypting SecureStrings; `name:version` and
    /// `name:label` selectors go to SSM as part of the name.
    pub(crate) async fn ssm(&self, r: &Reference, now: SystemTime) -> Result<Fetched> {
        let name = match &r.version {
            Some(v) => format!("{}:{v}", r.path),
            None => r.path.clone(),
        };
        let input = json!({ "Name": name, "WithDecryption": true });
        let out: GetParameterOutput = self.call_ssm("GetParameter", &input).await?;
        let Obj(parameter) = out
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
        let mut input = json!({ "SecretId": r.path });
        if let Some(v) = &r.version {
            input["VersionId"] = json!(v);
        }
        if let Some(s) = stage {
            input["VersionStage"] = json!(s);
        }
        let out: SecretValue = self.call_asm("GetSecretValue", &input).await?;
        asm_value(out.secret_string, out.secret_binary, out.version_id, now)
    }

    async fn call_ssm<T: serde::de::DeserializeOwned>(
        &self,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<T> {
        let body = self.caller.call(&self.ssm, operation, input).await?;
        let out = decode(operation, &body);
        wipe(body);
        out
    }

    async fn call_asm<T: serde::de::DeserializeOwned>(
        &self,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<T> {
        let body = self.caller.call(&self.asm, operation, input).await?;
        let out = decode(operation, &body);
        wipe(body);
        out
    }
}

/// Which service an `AwsApi` call goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwsService {
    Ssm,
    SecretsManager,
}

/// Signed calls of any SSM or Secrets Manager operation, on the same
/// protocol layer, endpoints and credentials as the reads: for the rotation
/// crate, whose steps call operations a reader never does (DescribeSecret,
/// PutSecretValue, UpdateSecretVersionStage, GetRandomPassword), and for
/// tools and tests that write what the reads read.
#[derive(Clone)]
pub struct AwsApi(Aws);

impl AwsApi {
    /// From the standard AWS chain, like `ClientBuilder::aws_from_env`.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn from_env(rt: &Runtime, timeout: Duration) -> AwsApi {
        AwsApi(Aws::from_env(rt, timeout).await)
    }

    pub fn from_settings(settings: &AwsSettings, rt: &Runtime, timeout: Duration) -> AwsApi {
        AwsApi(Aws::from_settings(settings, rt, timeout))
    }

    /// One call of `operation` (the service's API name, e.g. `PutParameter`)
    /// with a JSON input; the answer as JSON, or the error typed as a read's
    /// would be. Answers can hold secret values: the caller wipes what it
    /// does not keep (`secretkit::scrub_json`).
    pub async fn call(
        &self,
        service: AwsService,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        match service {
            AwsService::Ssm => self.0.call_ssm(operation, input).await,
            AwsService::SecretsManager => self.0.call_asm(operation, input).await,
        }
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
        let input = json!({ "Names": names, "WithDecryption": true });
        let out: GetParametersOutput = self.call_ssm("GetParameters", &input).await?;
        let mut answers: Answers = out
            .parameters
            .unwrap_or_default()
            .into_iter()
            .filter_map(|Obj(p)| Some((p.name?, ssm_value(p.value, p.version, now))))
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
        let input = json!({
            "Path": path,
            "Recursive": true,
            "WithDecryption": true,
            "MaxResults": 10, // SSM's own maximum page size
        });
        all_pages(input, on_call, |input| async move {
            let out: GetParametersOutput = self.call_ssm("GetParametersByPath", &input).await?;
            let answers = (out.parameters.unwrap_or_default().into_iter())
                .filter_map(|Obj(p)| Some((p.name?, ssm_value(p.value, p.version, now))))
                .collect();
            Ok((answers, out.next_token))
        })
        .await
    }

    /// BatchGetSecretValue for up to `ASM_BATCH` names or ARNs (current
    /// versions). Answers are keyed by the id asked for, matched on name or ARN.
    pub(crate) async fn asm_batch(&self, ids: &[String], now: SystemTime) -> Result<Answers> {
        let input = json!({ "SecretIdList": ids });
        let out: BatchOutput = self.call_asm("BatchGetSecretValue", &input).await?;
        let mut answers = Vec::new();
        for Obj(entry) in out.secret_values.unwrap_or_default() {
            let asked = ids.iter().find(|id| {
                entry.name.as_deref() == Some(id.as_str())
                    || entry.arn.as_deref() == Some(id.as_str())
            });
            if let Some(id) = asked {
                let value = asm_value(
                    entry.secret_string,
                    entry.secret_binary,
                    entry.version_id,
                    now,
                );
                answers.push((id.clone(), value));
            }
        }
        for Obj(e) in out.errors.unwrap_or_default() {
            if let Some(id) = e.secret_id {
                let code = e.error_code.unwrap_or_default();
                let message = e.message.unwrap_or_default();
                answers.push((id, Err(service_error(&code, &message))));
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
        let input = json!({
            "Filters": [{ "Key": "name", "Values": [prefix] }],
            "MaxResults": ASM_BATCH,
        });
        all_pages(input, on_call, |input| async move {
            let out: BatchOutput = self.call_asm("BatchGetSecretValue", &input).await?;
            let answers = (out.secret_values.unwrap_or_default().into_iter())
                .filter_map(|Obj(e)| {
                    // The name filter matches words anywhere in the name; keep prefixes only.
                    let name = e.name.filter(|n| n.starts_with(prefix))?;
                    let value = asm_value(e.secret_string, e.secret_binary, e.version_id, now);
                    Some((name, value))
                })
                .collect();
            Ok((answers, out.next_token))
        })
        .await
    }
}

/// Every page of a listing: `input` with each page's `NextToken` added,
/// `page` asking for one page and giving its answers and the next token,
/// `on_call` told of each page requested.
async fn all_pages<F, Fut>(
    mut input: serde_json::Value,
    on_call: &(dyn Fn() + Sync),
    mut page: F,
) -> Result<Answers>
where
    F: FnMut(serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = Result<(Answers, Option<String>)>>,
{
    let mut answers = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        on_call();
        if let Some(t) = &token {
            input["NextToken"] = json!(t);
        }
        let (mut got, next) = page(input.clone()).await?;
        answers.append(&mut got);
        token = next_page(next, token.as_deref(), &mut pages)?;
        if token.is_none() {
            return Ok(answers);
        }
    }
}

// The parts of the operations' outputs that secretkit reads (AWS's JSON
// names); everything else in an answer is ignored. Secret text is held in
// `Zeroizing` so what does not move into the cache is wiped when dropped.

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParameterOutput {
    parameter: Option<Obj<Parameter>>,
}

/// GetParameters and GetParametersByPath.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersOutput {
    parameters: Option<Vec<Obj<Parameter>>>,
    invalid_parameters: Option<Vec<String>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Parameter {
    name: Option<String>,
    value: Option<Zeroizing<String>>,
    version: Option<i64>,
}

/// GetSecretValue's output, and one entry of BatchGetSecretValue's.
#[derive(Deserialize)]
struct SecretValue {
    #[serde(rename = "ARN")]
    arn: Option<String>,
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "VersionId")]
    version_id: Option<String>,
    #[serde(rename = "SecretString")]
    secret_string: Option<Zeroizing<String>>,
    /// Base64, as the JSON protocol carries blobs.
    #[serde(rename = "SecretBinary")]
    secret_binary: Option<Zeroizing<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchOutput {
    secret_values: Option<Vec<Obj<SecretValue>>>,
    errors: Option<Vec<Obj<BatchError>>>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchError {
    secret_id: Option<String>,
    error_code: Option<String>,
    message: Option<String>,
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

fn ssm_value(
    value: Option<Zeroizing<String>>,
    version: Option<i64>,
    now: SystemTime,
) -> Result<Fetched> {
    let mut value = value.ok_or_else(|| Error::invalid_response("SSM answered without a value"))?;
    Ok(Fetched::new(
        std::mem::take(&mut *value).into_bytes(),
        Some(version.unwrap_or(0).to_string()),
        now,
    ))
}

fn asm_value(
    string: Option<Zeroizing<String>>,
    binary: Option<Zeroizing<String>>,
    version: Option<String>,
    now: SystemTime,
) -> Result<Fetched> {
    let value = match (string, binary) {
        (Some(mut s), _) => std::mem::take(&mut *s).into_bytes(),
        (None, Some(b)) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|_| {
                    Error::invalid_response("Secrets Manager answered SecretBinary not in base64")
                })?
        }
        (None, None) => {
            return Err(Error::invalid_response(
                "Secrets Manager answered with neither SecretString nor SecretBinary",
            ))
        }
    };
    Ok(Fetched::new(value, version, now))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;

    use super::*;
    use crate::runtime::{BoxFuture, ManualClock, Transport, TransportError};

    /// Answers every request with the next body of a list (the last one
    /// repeating) and records the request bodies.
    struct Pages {
        bodies: Vec<&'static str>,
        asked: Mutex<Vec<serde_json::Value>>,
        next: AtomicUsize,
    }

    impl Transport for Pages {
        fn send(
            &self,
            request: http::Request<Bytes>,
        ) -> BoxFuture<'static, std::result::Result<http::Response<Bytes>, TransportError>>
        {
            let input = serde_json::from_slice(request.body()).unwrap_or_default();
            self.asked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(input);
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let body = self.bodies[i.min(self.bodies.len() - 1)];
            let reply = http::Response::builder()
                .status(200)
                .body(Bytes::from_static(body.as_bytes()))
                .map_err(|e| TransportError::Io(e.to_string()));
            Box::pin(async move { reply })
        }
    }

    fn aws(bodies: Vec<&'static str>) -> (Aws, Arc<Pages>) {
        let pages = Arc::new(Pages {
            bodies,
            asked: Mutex::default(),
            next: AtomicUsize::new(0),
        });
        let rt = Runtime {
            transport: pages.clone(),
            clock: ManualClock::new(),
        };
        let settings = AwsSettings {
            region: "us-east-1".into(),
            access_key_id: "AKID".into(),
            secret_access_key: "secret".into(),
            session_token: None,
            endpoint: Some("http://127.0.0.1:5000".into()),
        };
        (
            Aws::from_settings(&settings, &rt, Duration::from_secs(5)),
            pages,
        )
    }

    fn prefetch(aws: &Aws) -> Result<Answers> {
        let path = aws.ssm_path("/app/", SystemTime::UNIX_EPOCH, &|| {});
        futures::executor::block_on(path)
    }

    #[test]
    fn pages_are_followed_by_their_token_until_the_last() {
        let (aws, pages) = aws(vec![
            r#"{"Parameters":[{"Name":"/app/a","Value":"1","Version":1}],"NextToken":"t1"}"#,
            r#"{"Parameters":[{"Name":"/app/b","Value":"2","Version":4}],"NextToken":"t2"}"#,
            r#"{"Parameters":[{"Name":"/app/c","Value":"3","Version":2}]}"#,
        ]);
        let answers = prefetch(&aws).unwrap();
        let names: Vec<&str> = answers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["/app/a", "/app/b", "/app/c"]);
        let asked = pages.asked.lock().unwrap();
        let tokens: Vec<_> = asked.iter().map(|i| i.get("NextToken").cloned()).collect();
        assert_eq!(tokens, [None, Some(json!("t1")), Some(json!("t2"))]);
    }

    /// A server that answers the same token again would page forever.
    #[test]
    fn a_repeated_page_token_is_an_error_not_a_loop() {
        let (aws, pages) = aws(vec![r#"{"Parameters":[],"NextToken":"again"}"#]);
        let e = prefetch(&aws).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidResponse);
        assert!(e.message().contains("same page token"), "{e}");
        assert_eq!(pages.asked.lock().unwrap().len(), 2);
    }

    /// Fresh tokens without end stop at `MAX_PAGES`.
    #[test]
    fn endless_pages_stop() {
        struct Endless(AtomicUsize);
        impl Transport for Endless {
            fn send(
                &self,
                _: http::Request<Bytes>,
            ) -> BoxFuture<'static, std::result::Result<http::Response<Bytes>, TransportError>>
            {
                let n = self.0.fetch_add(1, Ordering::Relaxed);
                let body = format!(r#"{{"Parameters":[],"NextToken":"t{n}"}}"#);
                let reply = http::Response::builder()
                    .status(200)
                    .body(Bytes::from(body))
                    .map_err(|e| TransportError::Io(e.to_string()));
                Box::pin(async move { reply })
            }
        }
        let endless = Arc::new(Endless(AtomicUsize::new(0)));
        let rt = Runtime {
            transport: endless.clone(),
            clock: ManualClock::new(),
        };
        let settings = AwsSettings {
            region: "us-east-1".into(),
            endpoint: Some("http://127.0.0.1:5000".into()),
            ..AwsSettings::default()
        };
        let aws = Aws::from_settings(&settings, &rt, Duration::from_secs(5));
        let e = prefetch(&aws).unwrap_err();
        assert!(e.message().contains("pages"), "{e}");
        assert_eq!(endless.0.load(Ordering::Relaxed), MAX_PAGES as usize);
    }
}
