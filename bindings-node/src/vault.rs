//! The `vault` part of an explicit configuration, as JS passes it, turned
//! into core's `VaultSettings` and `VaultAuth` by the core's checks. Files
//! named here are read by core at every login, not by the binding.

use napi::Result;
use napi_derive::napi;
use secretkit::VaultAuth;

use crate::error::to_napi;

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

/// Core settings plus the auth method, checked by the core
/// (`secretkit::options`) with names as JS spells them.
pub fn vault(config: VaultConfig) -> Result<(secretkit::VaultSettings, VaultAuth)> {
    let auth = config.auth.map(|a| secretkit::options::VaultAuthConfig {
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
    secretkit::options::VaultConfig {
        address: config.address,
        token: config.token,
        namespace: config.namespace,
        auth,
        ca_cert: config.ca_cert.map(Into::into),
        ca_path: config.ca_path.map(Into::into),
        ca_pem: config.ca_pem,
        client_cert: config.client_cert.map(Into::into),
        client_key: config.client_key.map(Into::into),
        tls_server_name: config.tls_server_name,
    }
    .into_parts(secretkit::options::Naming::Camel)
    .map_err(to_napi)
}
