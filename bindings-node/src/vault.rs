//! The `vault` part of an explicit configuration, as JS passes it, turned
//! into core's `VaultSettings` and `VaultAuth`. Files named here are read by
//! core at every login, not by the binding.

use std::path::PathBuf;

use napi::Result;
use napi_derive::napi;
use secretkit::{SecretSource, VaultAuth};

use crate::error::config_error;

/// Where Kubernetes mounts a pod's service-account token (as core's
/// `vault_from_env` defaults it).
const POD_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

#[napi(object)]
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
    /// The name TLS presents and checks the certificate against (like
    /// VAULT_TLS_SERVER_NAME).
    pub tls_server_name: Option<String>,
}

/// How the client logs in; index.d.ts has the typed union per method.
#[napi(object)]
pub struct VaultAuthConfig {
    /// `approle`, `kubernetes`, `jwt` or `token_file`.
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
        // Empty with a login method; core reports a missing token otherwise.
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
            role_id: source("roleId", a.role_id, a.role_id_file)?,
            secret_id: source("secretId", a.secret_id, a.secret_id_file)?,
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
                "vault.auth.method must be 'approle', 'kubernetes', 'jwt' or 'token_file', got '{other}'"
            )))
        }
    })
}

/// `name` inline or `nameFile`, exactly one of them.
fn source(name: &str, value: Option<String>, file: Option<String>) -> Result<SecretSource> {
    match (value, file) {
        (Some(v), None) => Ok(SecretSource::Value(v)),
        (None, Some(f)) => Ok(SecretSource::File(f.into())),
        (Some(_), Some(_)) => Err(config_error(format!(
            "vault.auth: give {name} or {name}File, not both"
        ))),
        (None, None) => Err(config_error(format!(
            "vault.auth: {name} or {name}File is required"
        ))),
    }
}

fn required(name: &str, value: Option<String>) -> Result<String> {
    value.ok_or_else(|| config_error(format!("vault.auth: {name} is required")))
}
