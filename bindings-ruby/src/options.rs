//! Client options and explicit backends as Ruby passes them, copied into the
//! core's plain option structs (`secretkit::options`), which check them once
//! for every binding. The Ruby layer refuses unknown keys before they get
//! here.

use secretkit::options::{Naming, Tunables};
use secretkit::VaultAuth;

use crate::Result;

/// Cache and request tunables: durations in seconds, fractions in 0..=1
/// (core `options::Tunables`).
#[derive(uniffi::Record, Default)]
pub struct Options {
    pub default_ttl: Option<f64>,
    pub ttl_jitter: Option<f64>,
    pub refresh_ahead: Option<f64>,
    pub max_stale: Option<f64>,
    pub negative_ttl: Option<f64>,
    pub retry_base: Option<f64>,
    pub retry_max: Option<f64>,
    pub max_entries: Option<f64>,
    pub timeout: Option<f64>,
    pub read_attempts: Option<f64>,
    pub revoke_on_close: Option<bool>,
    pub revoke_replaced_after: Option<f64>,
    pub allow_http: Option<bool>,
    pub allow_local: Option<bool>,
}

pub fn settings(o: &Options) -> Result<secretkit::ClientSettings> {
    let tunables = Tunables {
        default_ttl: o.default_ttl,
        ttl_jitter: o.ttl_jitter,
        refresh_ahead: o.refresh_ahead,
        max_stale: o.max_stale,
        negative_ttl: o.negative_ttl,
        retry_base: o.retry_base,
        retry_max: o.retry_max,
        max_entries: o.max_entries,
        timeout: o.timeout,
        read_attempts: o.read_attempts,
        revoke_on_close: o.revoke_on_close,
        revoke_replaced_after: o.revoke_replaced_after,
        allow_http: o.allow_http,
        allow_local: o.allow_local,
    };
    Ok(tunables.settings(Naming::Snake)?)
}

#[derive(uniffi::Record)]
pub struct AwsConfig {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub endpoint: Option<String>,
}

impl From<AwsConfig> for secretkit::AwsSettings {
    fn from(a: AwsConfig) -> Self {
        secretkit::AwsSettings {
            region: a.region,
            access_key_id: a.access_key_id,
            secret_access_key: a.secret_access_key,
            session_token: a.session_token,
            endpoint: a.endpoint,
        }
    }
}

/// Core `options::VaultConfig`, field for field.
#[derive(uniffi::Record)]
pub struct VaultConfig {
    pub address: String,
    pub token: Option<String>,
    pub namespace: Option<String>,
    pub auth: Option<VaultAuthConfig>,
    pub ca_cert: Option<String>,
    pub ca_path: Option<String>,
    pub ca_pem: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub tls_server_name: Option<String>,
}

/// Core `options::VaultAuthConfig`, field for field.
#[derive(uniffi::Record)]
pub struct VaultAuthConfig {
    pub method: String,
    pub mount: Option<String>,
    pub role_id: Option<String>,
    pub role_id_file: Option<String>,
    pub secret_id: Option<String>,
    pub secret_id_file: Option<String>,
    pub role: Option<String>,
    pub jwt: Option<String>,
    pub jwt_file: Option<String>,
    pub path: Option<String>,
}

/// Core settings plus the auth method.
pub fn vault(v: VaultConfig) -> Result<(secretkit::VaultSettings, VaultAuth)> {
    let auth = v.auth.map(|a| secretkit::options::VaultAuthConfig {
        method: a.method,
        mount: a.mount,
        role_id: a.role_id,
        role_id_file: a.role_id_file.map(Into::into),
        secret_id: a.secret_id,
        secret_id_file: a.secret_id_file.map(Into::into),
        role: a.role,
        jwt: a.jwt,
        jwt_file: a.jwt_file.map(Into::into),
        path: a.path.map(Into::into),
    });
    let config = secretkit::options::VaultConfig {
        address: v.address,
        token: v.token,
        namespace: v.namespace,
        auth,
        ca_cert: v.ca_cert.map(Into::into),
        ca_path: v.ca_path.map(Into::into),
        ca_pem: v.ca_pem,
        client_cert: v.client_cert.map(Into::into),
        client_key: v.client_key.map(Into::into),
        tls_server_name: v.tls_server_name,
    };
    Ok(config.into_parts(Naming::Snake)?)
}
