//! Native half of the Node package: a newtype over `secretkit::Client` with
//! one-line delegating methods. index.js wraps it in the idiomatic JS layer
//! (SecretkitError, redacting Secret, the synchronous cache-hit path).

mod error;
mod secret;

use std::time::Duration;

use napi::bindgen_prelude::block_on;
use napi::Result;
use napi_derive::napi;

use error::{config_error, to_napi};
use secret::Secret;

/// Cache and request tunables, in seconds.
#[napi(object)]
pub struct Tunables {
    pub default_ttl: Option<f64>,
    pub max_entries: Option<u32>,
    pub timeout: Option<f64>,
}

#[napi(object)]
pub struct AwsConfig {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub endpoint: Option<String>,
}

#[napi(object)]
pub struct VaultConfig {
    pub address: String,
    pub token: String,
    pub namespace: Option<String>,
}

/// Explicit configuration: only the backends given are enabled.
#[napi(object)]
pub struct ClientConfig {
    pub aws: Option<AwsConfig>,
    pub vault: Option<VaultConfig>,
    pub default_ttl: Option<f64>,
    pub max_entries: Option<u32>,
    pub timeout: Option<f64>,
}

#[napi(js_name = "NativeClient")]
pub struct Client {
    inner: secretkit::Client,
}

#[napi]
impl Client {
    #[napi(constructor)]
    pub fn new(config: ClientConfig) -> Result<Client> {
        let tunables = Tunables {
            default_ttl: config.default_ttl,
            max_entries: config.max_entries,
            timeout: config.timeout,
        };
        let mut builder = secretkit::Client::builder().settings(settings(tunables)?);
        if let Some(a) = config.aws {
            builder = builder.aws(secretkit::AwsSettings {
                region: a.region,
                access_key_id: a.access_key_id,
                secret_access_key: a.secret_access_key,
                session_token: a.session_token,
                endpoint: a.endpoint,
            });
        }
        if let Some(v) = config.vault {
            builder = builder.vault(secretkit::VaultSettings {
                address: v.address,
                token: v.token,
                namespace: v.namespace,
            });
        }
        // Called from the JS thread, never from inside the runtime, so blocking is safe.
        let inner = block_on(builder.build()).map_err(to_napi)?;
        Ok(Client { inner })
    }

    /// AWS's standard chain plus VAULT_* / BAO_* variables, like the CLIs.
    #[napi(factory)]
    pub fn from_env(options: Option<Tunables>) -> Result<Client> {
        let tunables = options.unwrap_or(Tunables {
            default_ttl: None,
            max_entries: None,
            timeout: None,
        });
        let builder = secretkit::Client::builder()
            .settings(settings(tunables)?)
            .aws_from_env()
            .vault_from_env()
            .map_err(to_napi)?;
        let inner = block_on(builder.build()).map_err(to_napi)?;
        Ok(Client { inner })
    }

    #[napi]
    pub async fn get(&self, reference: String) -> Result<Secret> {
        self.inner
            .get(&reference)
            .await
            .map(Secret::from)
            .map_err(to_napi)
    }

    /// A fresh cache hit, synchronously; `null` means "call get".
    #[napi]
    pub fn get_cached(&self, reference: String) -> Result<Option<Secret>> {
        self.inner
            .get_cached(&reference)
            .transpose()
            .map(|hit| hit.map(Secret::from))
            .map_err(to_napi)
    }

    #[napi]
    pub fn invalidate(&self, reference: String) -> Result<()> {
        self.inner.invalidate(&reference).map_err(to_napi)
    }

    #[napi]
    pub fn clear(&self) {
        self.inner.clear()
    }
}

/// The JSON form of a parsed reference (`Reference::to_json`), as a string
/// the JS layer hands to `JSON.parse`.
#[napi]
pub fn parse_reference_json(reference: String) -> Result<String> {
    secretkit::Reference::parse(&reference)
        .map(|r| r.to_json())
        .map_err(to_napi)
}

fn settings(t: Tunables) -> Result<secretkit::ClientSettings> {
    let mut s = secretkit::ClientSettings::default();
    if let Some(secs) = t.default_ttl {
        s.default_ttl = seconds("defaultTtl", secs)?;
    }
    if let Some(n) = t.max_entries {
        s.max_entries = n as usize;
    }
    if let Some(secs) = t.timeout {
        s.timeout = seconds("timeout", secs)?;
    }
    Ok(s)
}

fn seconds(name: &str, secs: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        config_error(format!(
            "{name} must be a non-negative number of seconds, got {secs}"
        ))
    })
}
