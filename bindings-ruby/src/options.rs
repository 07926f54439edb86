//! Client options and explicit backends as Ruby passes them (durations in
//! seconds, fractions in 0..=1), checked and turned into the core's settings.
//! Unset options keep the core's defaults; the Ruby layer refuses unknown
//! keys before they get here.

use std::path::PathBuf;
use std::time::Duration;

use secretkit::{SecretSource, VaultAuth};

use crate::error::config_error;
use crate::Result;

/// Cache and request tunables (core `ClientSettings`).
#[derive(uniffi::Record, Default)]
pub struct Options {
    pub default_ttl: Option<f64>,
    pub ttl_jitter: Option<f64>,
    pub refresh_ahead: Option<f64>,
    pub max_stale: Option<f64>,
    pub negative_ttl: Option<f64>,
    pub retry_base: Option<f64>,
    pub retry_max: Option<f64>,
    pub max_entries: Option<u64>,
    pub timeout: Option<f64>,
    /// Tries per read when the backend fails transiently (1 to 10).
    pub read_attempts: Option<u32>,
    pub revoke_on_close: Option<bool>,
    /// Revoke a replaced lease this many seconds after its replacement was
    /// read; unset lets it run out by itself.
    pub revoke_replaced_after: Option<f64>,
    pub allow_http: Option<bool>,
    pub allow_local: Option<bool>,
}

pub fn settings(o: &Options) -> Result<secretkit::ClientSettings> {
    let mut s = secretkit::ClientSettings::default();
    let secs = [
        ("default_ttl", o.default_ttl, &mut s.default_ttl),
        ("max_stale", o.max_stale, &mut s.max_stale),
        ("negative_ttl", o.negative_ttl, &mut s.negative_ttl),
        ("retry_base", o.retry_base, &mut s.retry_base),
        ("retry_max", o.retry_max, &mut s.retry_max),
        ("timeout", o.timeout, &mut s.timeout),
    ];
    for (name, value, slot) in secs {
        if let Some(v) = value {
            *slot = seconds(name, v)?;
        }
    }
    for (name, value, slot) in [
        ("ttl_jitter", o.ttl_jitter, &mut s.ttl_jitter),
        ("refresh_ahead", o.refresh_ahead, &mut s.refresh_ahead),
    ] {
        if let Some(v) = value {
            if !(0.0..=1.0).contains(&v) {
                return Err(config_error(format!(
                    "{name} must be a number from 0 to 1, got {v}"
                )));
            }
            *slot = v;
        }
    }
    if let Some(n) = o.max_entries {
        if n == 0 || n > u64::from(u32::MAX) {
            return Err(config_error(format!(
                "max_entries must be a positive integer, got {n}"
            )));
        }
        s.max_entries = n as usize;
    }
    if let Some(n) = o.read_attempts {
        if !(1..=10).contains(&n) {
            return Err(config_error(format!(
                "read_attempts must be an integer from 1 to 10, got {n}"
            )));
        }
        s.read_attempts = n;
    }
    if let Some(v) = o.revoke_replaced_after {
        s.revoke_replaced_after = Some(seconds("revoke_replaced_after", v)?);
    }
    s.revoke_on_close = o.revoke_on_close.unwrap_or(s.revoke_on_close);
    s.allow_http = o.allow_http.unwrap_or(s.allow_http);
    s.allow_local = o.allow_local.unwrap_or(s.allow_local);
    // The core's own limits (durations it can do arithmetic with).
    s.validate()?;
    Ok(s)
}

fn seconds(name: &str, secs: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        config_error(format!(
            "{name} must be a non-negative number of seconds, got {secs}"
        ))
    })
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

#[derive(uniffi::Record)]
pub struct VaultConfig {
    pub address: String,
    /// The token to use when no `auth` method is given.
    pub token: Option<String>,
    pub namespace: Option<String>,
    pub auth: Option<VaultAuthConfig>,
    /// A PEM file of CA certificates to trust (like VAULT_CACERT).
    pub ca_cert: Option<String>,
    /// A directory of PEM CA certificates (like VAULT_CAPATH).
    pub ca_path: Option<String>,
    /// PEM CA certificates as a string.
    pub ca_pem: Option<String>,
    /// Client certificate and key PEM files, for mutual TLS.
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// The name TLS checks the certificate against (VAULT_TLS_SERVER_NAME).
    pub tls_server_name: Option<String>,
}

/// How the client logs in: `approle`, `kubernetes`, `jwt` or `token_file`.
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
    /// The token file of `token_file`.
    pub path: Option<String>,
}

/// Where Kubernetes mounts a pod's service-account token (as the core's
/// `vault_from_env` defaults it).
const POD_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Core settings plus the auth method (`VaultAuth::Token` without `auth`).
pub fn vault(config: VaultConfig) -> Result<(secretkit::VaultSettings, VaultAuth)> {
    let auth = match config.auth {
        Some(a) => auth(a)?,
        None => VaultAuth::Token,
    };
    let tls = secretkit::TlsSettings {
        ca_files: config.ca_cert.map(Into::into).into_iter().collect(),
        ca_dirs: config.ca_path.map(Into::into).into_iter().collect(),
        ca_pem: config.ca_pem.into_iter().collect(),
        client_cert: config.client_cert.map(Into::into),
        client_key: config.client_key.map(Into::into),
        server_name: config.tls_server_name,
    };
    let settings = secretkit::VaultSettings {
        address: config.address,
        // Empty with a login method; the core reports a missing token otherwise.
        token: config.token.unwrap_or_default(),
        namespace: config.namespace,
        tls,
    };
    Ok((settings, auth))
}

fn auth(a: VaultAuthConfig) -> Result<VaultAuth> {
    let mount = |default: &str| a.mount.clone().unwrap_or_else(|| default.to_owned());
    Ok(match a.method.as_str() {
        "approle" => VaultAuth::AppRole {
            mount: mount("approle"),
            role_id: source("role_id", a.role_id, a.role_id_file)?,
            secret_id: source("secret_id", a.secret_id, a.secret_id_file)?,
        },
        "kubernetes" => VaultAuth::Kubernetes {
            mount: mount("kubernetes"),
            role: required("role", a.role)?,
            jwt: match (a.jwt, a.jwt_file) {
                (None, None) => SecretSource::File(POD_TOKEN.into()),
                (jwt, file) => source("jwt", jwt, file)?,
            },
        },
        "jwt" => VaultAuth::Jwt {
            mount: mount("jwt"),
            role: required("role", a.role)?,
            jwt: source("jwt", a.jwt, a.jwt_file)?,
        },
        "token_file" => VaultAuth::TokenFile(PathBuf::from(required("path", a.path)?)),
        other => {
            return Err(config_error(format!(
                "vault auth method must be approle, kubernetes, jwt or token_file, got {other:?}"
            )))
        }
    })
}

/// `name` inline or `name_file`, exactly one of them.
fn source(name: &str, value: Option<String>, file: Option<String>) -> Result<SecretSource> {
    match (value, file) {
        (Some(v), None) => Ok(SecretSource::Value(v)),
        (None, Some(f)) => Ok(SecretSource::File(f.into())),
        (Some(_), Some(_)) => Err(config_error(format!(
            "vault auth: give {name} or {name}_file, not both"
        ))),
        (None, None) => Err(config_error(format!(
            "vault auth: {name} or {name}_file is required"
        ))),
    }
}

fn required(name: &str, value: Option<String>) -> Result<String> {
    value.ok_or_else(|| config_error(format!("vault auth: {name} is required")))
}
