//! `vault.auth`: how the client logs in to Vault, with inline values only:
//! `{ method: 'approle', roleId, secretId, mount? }`,
//! `{ method: 'kubernetes', role, jwt, mount? }`,
//! `{ method: 'jwt', role, jwt, mount? }`.
//!
//! The other bindings also take files (`roleIdFile`, `jwtFile`, method
//! `token_file`). The edge has no file system, so those are refused here, when
//! the client is built, rather than by the core at the first login.

use secretkit::{SecretSource, VaultAuth};
use serde::Deserialize;
use wasm_bindgen::JsValue;

use crate::config::{check_keys, get};
use crate::error::config_error;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthConfig {
    method: String,
    mount: Option<String>,
    role: Option<String>,
    role_id: Option<String>,
    secret_id: Option<String>,
    jwt: Option<String>,
}

/// Keys other bindings read files from → the inline key to use instead.
const FILE_KEYS: [(&str, &str); 3] = [
    ("roleIdFile", "roleId"),
    ("secretIdFile", "secretId"),
    ("jwtFile", "jwt"),
];

/// Refuse file sources and unknown keys (serde then checks the types).
pub fn check(auth: &JsValue) -> Result<(), JsValue> {
    if auth.is_undefined() || auth.is_null() || !auth.is_object() {
        return Ok(()); // absent, or serde reports the type
    }
    for (file_key, inline) in FILE_KEYS {
        if !get(auth, file_key).is_undefined() {
            return Err(config_error(format!(
                "vault.auth.{file_key}: files are unavailable on the edge; \
                 pass the value inline as vault.auth.{inline}"
            )));
        }
    }
    let method = get(auth, "method").as_string();
    let allowed: &[&str] = match method.as_deref() {
        Some("approle") => &["method", "mount", "roleId", "secretId"],
        Some("kubernetes" | "jwt") => &["method", "mount", "role", "jwt"],
        Some("token_file") => {
            return Err(config_error(
                "vault.auth method `token_file`: files are unavailable on the edge; \
                 pass the token inline as vault.token",
            ))
        }
        _ => {
            return Err(config_error(
                "vault.auth.method must be `approle`, `kubernetes` or `jwt`",
            ))
        }
    };
    check_keys(auth, "vault.auth.", allowed)
}

impl AuthConfig {
    pub fn into_auth(self) -> Result<VaultAuth, JsValue> {
        let method = self.method;
        let required = |value: Option<String>, key: &str| {
            value.ok_or_else(|| {
                config_error(format!(
                    "vault.auth.{key} is required for method `{method}`"
                ))
            })
        };
        let mount = |default: &str| self.mount.clone().unwrap_or_else(|| default.to_owned());
        Ok(match method.as_str() {
            "approle" => VaultAuth::AppRole {
                mount: mount("approle"),
                role_id: SecretSource::Value(required(self.role_id, "roleId")?),
                secret_id: SecretSource::Value(required(self.secret_id, "secretId")?),
            },
            // Natively the service-account token file is the default; here
            // the token must be given.
            "kubernetes" => VaultAuth::Kubernetes {
                mount: mount("kubernetes"),
                role: required(self.role, "role")?,
                jwt: SecretSource::Value(required(self.jwt, "jwt")?),
            },
            "jwt" => VaultAuth::Jwt {
                mount: mount("jwt"),
                role: required(self.role, "role")?,
                jwt: SecretSource::Value(required(self.jwt, "jwt")?),
            },
            _ => {
                return Err(config_error(
                    "vault.auth.method must be `approle`, `kubernetes` or `jwt`",
                ))
            }
        })
    }
}
