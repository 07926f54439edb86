//! The `vault=` dict: address, token or `auth` method, namespace, turned into
//! core's `VaultSettings` and `VaultAuth`. Files named here are read by the
//! core at every login, not by the binding.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use secretkit::options::{Naming, VaultAuthConfig, VaultConfig};
use secretkit::{VaultAuth, VaultSettings};

use crate::errors::to_py;
use crate::settings::{config, only_keys};

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
    let auth = match given(dict, "auth")? {
        Some(a) => Some(auth(a.cast::<PyDict>()?)?),
        None => None,
    };
    let config = VaultConfig {
        address,
        token: string(dict, "token")?,
        namespace: string(dict, "namespace")?,
        auth,
        ca_cert: path(dict, "ca_cert")?,
        ca_path: path(dict, "ca_path")?,
        ca_pem: string(dict, "ca_pem")?,
        client_cert: path(dict, "client_cert")?,
        client_key: path(dict, "client_key")?,
        tls_server_name: string(dict, "tls_server_name")?,
    };
    // The values are checked by the core, the same rules for every binding.
    config.into_parts(Naming::Snake).map_err(to_py)
}

/// The `auth` dict: the keys of its method only (others are a TypeError, as
/// an unknown keyword would be).
fn auth(a: &Bound<'_, PyDict>) -> PyResult<VaultAuthConfig> {
    let method =
        string(a, "method")?.ok_or_else(|| config("vault.auth: method is required".into()))?;
    let Some((_, keys)) = METHODS.iter().find(|(name, _)| *name == method) else {
        return Err(config(format!(
            "vault.auth method must be 'approle', 'kubernetes', 'jwt' or 'token_file', got '{method}'"
        )));
    };
    only_keys(a, &format!("vault.auth key for {method:?}"), keys)?;
    Ok(VaultAuthConfig {
        method,
        mount: string(a, "mount")?,
        role_id: string(a, "role_id")?,
        role_id_file: path(a, "role_id_file")?,
        secret_id: string(a, "secret_id")?,
        secret_id_file: path(a, "secret_id_file")?,
        role: string(a, "role")?,
        jwt: string(a, "jwt")?,
        jwt_file: path(a, "jwt_file")?,
        path: path(a, "path")?,
    })
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
