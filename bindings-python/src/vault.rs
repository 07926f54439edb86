//! The `vault=` dict: address, token or `auth` method, namespace, turned into
//! core's `VaultSettings` and `VaultAuth`. Files named here are read by the
//! core at every login, not by the binding.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use secretkit::{SecretSource, VaultAuth, VaultSettings};

use crate::settings::{config, only_keys};

/// Where Kubernetes mounts a pod's service-account token (as core's
/// `vault_from_env` defaults it).
const POD_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The keys each auth method takes, `method` included.
const METHODS: &[(&str, &[&str])] = &[
    (
        "approle",
        &[
            "method",
            "role_id",
            "role_id_file",
            "secret_id",
            "secret_id_file",
            "mount",
        ],
    ),
    ("kubernetes", &["method", "role", "jwt_file", "mount"]),
    ("jwt", &["method", "role", "jwt", "jwt_file", "mount"]),
    ("token_file", &["method", "path"]),
];

/// Core settings plus the auth method (`VaultAuth::Token` without `auth`).
pub fn vault_settings(dict: &Bound<'_, PyDict>) -> PyResult<(VaultSettings, VaultAuth)> {
    only_keys(
        dict,
        "vault setting",
        &[
            "address",
            "token",
            "namespace",
            "auth",
            "ca_cert",
            "ca_path",
            "ca_pem",
            "client_cert",
            "client_key",
            "tls_server_name",
        ],
    )?;
    let address =
        string(dict, "address")?.ok_or_else(|| config("vault: address is required".into()))?;
    let token = string(dict, "token")?;
    let namespace = string(dict, "namespace")?;
    let auth = match dict.get_item("auth")? {
        Some(a) if !a.is_none() => {
            if token.is_some() {
                return Err(config(
                    "vault: give a token or an auth method, not both".into(),
                ));
            }
            auth(a.cast::<PyDict>()?)?
        }
        _ => VaultAuth::Token,
    };
    let path =
        |key: &str| -> PyResult<Option<PathBuf>> { Ok(string(dict, key)?.map(PathBuf::from)) };
    let tls = secretkit::TlsSettings {
        ca_files: path("ca_cert")?.into_iter().collect(),
        ca_dirs: path("ca_path")?.into_iter().collect(),
        ca_pem: string(dict, "ca_pem")?.into_iter().collect(),
        client_cert: path("client_cert")?,
        client_key: path("client_key")?,
        server_name: string(dict, "tls_server_name")?,
    };
    let settings = VaultSettings {
        address,
        // Empty with a login method; core reports a missing token otherwise.
        token: token.unwrap_or_default(),
        namespace,
        tls,
    };
    Ok((settings, auth))
}

fn auth(a: &Bound<'_, PyDict>) -> PyResult<VaultAuth> {
    let method = required(a, "method")?;
    let Some((_, keys)) = METHODS.iter().find(|(name, _)| *name == method) else {
        return Err(config(format!(
            "vault.auth method must be 'approle', 'kubernetes', 'jwt' or 'token_file', got {method:?}"
        )));
    };
    only_keys(a, &format!("vault.auth key for {method:?}"), keys)?;
    let mount = |default: &str| -> PyResult<String> {
        Ok(string(a, "mount")?.unwrap_or_else(|| default.to_owned()))
    };
    Ok(match method.as_str() {
        "approle" => VaultAuth::AppRole {
            mount: mount("approle")?,
            role_id: source(a, "role_id")?,
            secret_id: source(a, "secret_id")?,
        },
        "kubernetes" => VaultAuth::Kubernetes {
            mount: mount("kubernetes")?,
            role: required(a, "role")?,
            jwt: SecretSource::File(path(a, "jwt_file")?.unwrap_or_else(|| POD_TOKEN.into())),
        },
        "jwt" => VaultAuth::Jwt {
            mount: mount("jwt")?,
            role: required(a, "role")?,
            jwt: source(a, "jwt")?,
        },
        _ => VaultAuth::TokenFile(
            path(a, "path")?.ok_or_else(|| config("vault.auth: path is required".into()))?,
        ),
    })
}

/// `name` inline or `name_file` (str or os.PathLike), exactly one of them.
fn source(a: &Bound<'_, PyDict>, name: &str) -> PyResult<SecretSource> {
    let file_key = format!("{name}_file");
    let value = string(a, name)?;
    let file = path(a, &file_key)?;
    match (value, file) {
        (Some(v), None) => Ok(SecretSource::Value(v)),
        (None, Some(f)) => Ok(SecretSource::File(f)),
        (Some(_), Some(_)) => Err(config(format!(
            "vault.auth: give {name} or {file_key}, not both"
        ))),
        (None, None) => Err(config(format!(
            "vault.auth: {name} or {file_key} is required"
        ))),
    }
}

fn required(a: &Bound<'_, PyDict>, name: &str) -> PyResult<String> {
    string(a, name)?.ok_or_else(|| config(format!("vault.auth: {name} is required")))
}

/// A key that is absent or None is not given; anything but a str is a TypeError.
fn string(dict: &Bound<'_, PyDict>, name: &str) -> PyResult<Option<String>> {
    given(dict, name)?.map(|v| v.extract()).transpose()
}

/// A file name as str or os.PathLike.
fn path(dict: &Bound<'_, PyDict>, name: &str) -> PyResult<Option<PathBuf>> {
    given(dict, name)?.map(|v| v.extract()).transpose()
}

fn given<'py>(dict: &Bound<'py, PyDict>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(dict.get_item(name)?.filter(|v| !v.is_none()))
}
