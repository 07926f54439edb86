//! Client options and explicit Vault configurations as a binding receives
//! them (durations in seconds and counts as plain numbers, file names as
//! strings), checked and turned into the core's settings here, once, so that
//! every language refuses the same mistakes with the same message. A binding
//! copies its own types into these plain structs and says how its users
//! spell option names (`Naming`); unknown keys and wrong types stay the
//! binding's to report, in its language's idiom.

use std::path::PathBuf;
use std::time::Duration;

use crate::backends::vault::VaultSettings;
use crate::backends::vault_auth::{SecretSource, VaultAuth};
use crate::client::ClientSettings;
use crate::error::{Error, Result};
use crate::reference::MAX_DURATION;
use crate::runtime::TlsSettings;

/// The longest `timeout` (`ClientSettings::validate`'s limit).
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// How option names appear in error messages: as the caller wrote them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// `default_ttl`, `role_id_file` (Rust, Python, Ruby).
    Snake,
    /// `defaultTtl`, `roleIdFile` (JavaScript).
    Camel,
}

impl Naming {
    /// `snake` (a snake_case option name) spelled this way.
    pub fn name(self, snake: &str) -> String {
        match self {
            Naming::Snake => snake.to_owned(),
            Naming::Camel => {
                let mut out = String::with_capacity(snake.len());
                let mut upper = false;
                for c in snake.chars() {
                    if c == '_' {
                        upper = true;
                    } else if upper {
                        out.extend(c.to_uppercase());
                        upper = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }
}

/// Most cache entries an option may ask for: the cache keeps a few parsed
/// references per entry, so the bound stays far below any overflow.
pub const MAX_ENTRIES: u64 = 1 << 40;

/// Cache and request tunables (`ClientSettings`): durations in seconds,
/// fractions in 0..=1; `None` keeps the core's default. Deserializable so
/// that a configuration file (the agent's `[cache]` table) names them the
/// same way.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tunables {
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

impl Tunables {
    /// The core's defaults with these options applied and checked.
    pub fn settings(&self, naming: Naming) -> Result<ClientSettings> {
        let mut s = ClientSettings::default();
        // The upper limits are `ClientSettings::validate`'s, checked here
        // first so the message spells the name the caller's way.
        let secs = [
            (
                "default_ttl",
                self.default_ttl,
                &mut s.default_ttl,
                MAX_DURATION,
            ),
            ("max_stale", self.max_stale, &mut s.max_stale, MAX_DURATION),
            (
                "negative_ttl",
                self.negative_ttl,
                &mut s.negative_ttl,
                MAX_DURATION,
            ),
            (
                "retry_base",
                self.retry_base,
                &mut s.retry_base,
                MAX_DURATION,
            ),
            ("retry_max", self.retry_max, &mut s.retry_max, MAX_DURATION),
            ("timeout", self.timeout, &mut s.timeout, MAX_TIMEOUT),
        ];
        for (name, value, slot, max) in secs {
            if let Some(v) = value {
                *slot = seconds(&naming.name(name), v, max)?;
            }
        }
        if s.timeout.is_zero() {
            return Err(Error::config(format!(
                "{} must be a positive number of seconds",
                naming.name("timeout")
            )));
        }
        for (name, value, slot) in [
            ("ttl_jitter", self.ttl_jitter, &mut s.ttl_jitter),
            ("refresh_ahead", self.refresh_ahead, &mut s.refresh_ahead),
        ] {
            if let Some(v) = value {
                if !(0.0..=1.0).contains(&v) {
                    return Err(Error::config(format!(
                        "{} must be a number from 0 to 1, got {v}",
                        naming.name(name)
                    )));
                }
                *slot = v;
            }
        }
        if let Some(n) = self.max_entries {
            let name = naming.name("max_entries");
            let n = integer(&name, n, MAX_ENTRIES)?;
            s.max_entries = usize::try_from(n).map_err(|_| {
                Error::config(format!(
                    "{name} is {n}, more than this platform can address"
                ))
            })?;
        }
        if let Some(n) = self.read_attempts {
            s.read_attempts = integer(&naming.name("read_attempts"), n, 10)? as u32;
        }
        if let Some(v) = self.revoke_replaced_after {
            s.revoke_replaced_after = Some(seconds(
                &naming.name("revoke_replaced_after"),
                v,
                MAX_DURATION,
            )?);
        }
        s.revoke_on_close = self.revoke_on_close.unwrap_or(s.revoke_on_close);
        s.allow_http = self.allow_http.unwrap_or(s.allow_http);
        s.allow_local = self.allow_local.unwrap_or(s.allow_local);
        // The upper limits the core can do arithmetic with.
        s.validate()?;
        Ok(s)
    }
}

fn seconds(name: &str, secs: f64, max: Duration) -> Result<Duration> {
    let d = Duration::try_from_secs_f64(secs).map_err(|_| {
        Error::config(format!(
            "{name} must be a non-negative number of seconds, got {secs}"
        ))
    })?;
    if d > max {
        return Err(Error::config(format!(
            "{name} is {secs} s, over the limit of {} s",
            max.as_secs()
        )));
    }
    Ok(d)
}

/// A whole number from 1 to `max` (a float, so that -1 or 2.5 is reported
/// rather than wrapped).
fn integer(name: &str, n: f64, max: u64) -> Result<u64> {
    if n >= 1.0 && n.fract() == 0.0 && n <= max as f64 {
        Ok(n as u64)
    } else {
        Err(Error::config(format!(
            "{name} must be an integer from 1 to {max}, got {n}"
        )))
    }
}

/// An explicit Vault configuration (`ClientBuilder::vault` and `vault_auth`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    pub address: String,
    /// The token, when no `auth` method is given.
    pub token: Option<String>,
    pub namespace: Option<String>,
    pub auth: Option<VaultAuthConfig>,
    /// A PEM file of CA certificates to trust (like VAULT_CACERT).
    pub ca_cert: Option<PathBuf>,
    /// A directory of PEM CA certificates (like VAULT_CAPATH).
    pub ca_path: Option<PathBuf>,
    /// PEM CA certificates as a string.
    pub ca_pem: Option<String>,
    /// Client certificate and key PEM files, for mutual TLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// The name TLS checks the certificate against (VAULT_TLS_SERVER_NAME).
    pub tls_server_name: Option<String>,
}

/// How the client logs in: `method` is `approle`, `kubernetes`, `jwt` or
/// `token_file`; the other fields are that method's. A secret (role or
/// secret id, JWT) is given inline or as a file read at every login.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultAuthConfig {
    pub method: String,
    pub mount: Option<String>,
    pub role_id: Option<String>,
    pub role_id_file: Option<PathBuf>,
    pub secret_id: Option<String>,
    pub secret_id_file: Option<PathBuf>,
    pub role: Option<String>,
    pub jwt: Option<String>,
    pub jwt_file: Option<PathBuf>,
    /// The token file of `token_file`.
    pub path: Option<PathBuf>,
}

/// Where Kubernetes mounts a pod's service-account token (as
/// `vault_from_env` defaults it).
const POD_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

impl VaultConfig {
    /// The core's settings and login method (`VaultAuth::Token` without
    /// `auth`; the client refuses a token-less configuration when built).
    pub fn into_parts(self, naming: Naming) -> Result<(VaultSettings, VaultAuth)> {
        let auth = match self.auth {
            Some(_) if self.token.is_some() => {
                return Err(Error::config(
                    "vault: give a token or an auth method, not both",
                ))
            }
            Some(a) => a.into_auth(naming)?,
            None => VaultAuth::Token,
        };
        let tls = TlsSettings {
            ca_files: self.ca_cert.into_iter().collect(),
            ca_dirs: self.ca_path.into_iter().collect(),
            ca_pem: self.ca_pem.into_iter().collect(),
            client_cert: self.client_cert,
            client_key: self.client_key,
            server_name: self.tls_server_name,
        };
        let settings = VaultSettings {
            address: self.address,
            token: self.token.unwrap_or_default(),
            namespace: self.namespace,
            tls,
        };
        Ok((settings, auth))
    }
}

impl VaultAuthConfig {
    fn into_auth(self, naming: Naming) -> Result<VaultAuth> {
        let a = self;
        let mount = |default: &str| a.mount.clone().unwrap_or_else(|| default.to_owned());
        let required = |name: &str, value: Option<String>| {
            value.ok_or_else(|| {
                Error::config(format!("vault.auth: {} is required", naming.name(name)))
            })
        };
        Ok(match a.method.as_str() {
            "approle" => VaultAuth::AppRole {
                mount: mount("approle"),
                role_id: source(naming, "role_id", a.role_id.clone(), a.role_id_file.clone())?,
                secret_id: source(naming, "secret_id", a.secret_id.clone(), a.secret_id_file.clone())?,
            },
            "kubernetes" => VaultAuth::Kubernetes {
                mount: mount("kubernetes"),
                role: required("role", a.role.clone())?,
                jwt: match (a.jwt.clone(), a.jwt_file.clone()) {
                    (None, None) => SecretSource::File(POD_TOKEN.into()),
                    (jwt, file) => source(naming, "jwt", jwt, file)?,
                },
            },
            "jwt" => VaultAuth::Jwt {
                mount: mount("jwt"),
                role: required("role", a.role.clone())?,
                jwt: source(naming, "jwt", a.jwt.clone(), a.jwt_file.clone())?,
            },
            "token_file" => VaultAuth::TokenFile(a.path.clone().ok_or_else(|| {
                Error::config(format!("vault.auth: {} is required", naming.name("path")))
            })?),
            other => {
                return Err(Error::config(format!(
                    "vault.auth method must be 'approle', 'kubernetes', 'jwt' or 'token_file', got '{other}'"
                )))
            }
        })
    }
}

/// `name` inline or `name_file`, exactly one of them.
fn source(
    naming: Naming,
    name: &str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> Result<SecretSource> {
    let (inline, file_name) = (naming.name(name), naming.name(&format!("{name}_file")));
    match (value, file) {
        (Some(v), None) => Ok(SecretSource::Value(v)),
        (None, Some(f)) => Ok(SecretSource::File(f)),
        (Some(_), Some(_)) => Err(Error::config(format!(
            "vault.auth: give {inline} or {file_name}, not both"
        ))),
        (None, None) => Err(Error::config(format!(
            "vault.auth: {inline} or {file_name} is required"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_spelled_the_callers_way() {
        assert_eq!(Naming::Camel.name("role_id_file"), "roleIdFile");
        assert_eq!(Naming::Snake.name("role_id_file"), "role_id_file");
    }

    #[test]
    fn tunables_are_checked_and_named() {
        let bad = |t: Tunables, naming| t.settings(naming).unwrap_err().message().to_owned();
        let t = Tunables {
            default_ttl: Some(-1.0),
            ..Default::default()
        };
        assert!(bad(t, Naming::Camel).starts_with("defaultTtl must be a non-negative"));
        let t = Tunables {
            max_entries: Some(2.5),
            ..Default::default()
        };
        assert!(bad(t, Naming::Snake).starts_with("max_entries must be an integer"));
        let t = Tunables {
            read_attempts: Some(11.0),
            ..Default::default()
        };
        assert!(bad(t, Naming::Snake).contains("from 1 to 10"));
        let t = Tunables {
            timeout: Some(0.0),
            ..Default::default()
        };
        assert!(bad(t, Naming::Snake).contains("positive"));
        let t = Tunables {
            ttl_jitter: Some(1.5),
            ..Default::default()
        };
        assert!(bad(t, Naming::Camel).starts_with("ttlJitter must be a number from 0 to 1"));
        let ok = Tunables {
            default_ttl: Some(60.0),
            max_entries: Some(10.0),
            ..Default::default()
        };
        let s = ok.settings(Naming::Snake).expect("valid");
        assert_eq!(
            (s.default_ttl, s.max_entries),
            (Duration::from_secs(60), 10)
        );
    }

    #[test]
    fn vault_auth_is_checked_and_named() {
        let bad = |auth: VaultAuthConfig, token: Option<&str>| {
            let config = VaultConfig {
                address: "http://127.0.0.1:8200".into(),
                token: token.map(str::to_owned),
                auth: Some(auth),
                ..Default::default()
            };
            config
                .into_parts(Naming::Camel)
                .unwrap_err()
                .message()
                .to_owned()
        };
        let approle = |role_id: Option<&str>, file: Option<&str>| VaultAuthConfig {
            method: "approle".into(),
            role_id: role_id.map(str::to_owned),
            role_id_file: file.map(PathBuf::from),
            secret_id: Some("s".into()),
            ..Default::default()
        };
        assert!(bad(approle(None, None), None).contains("roleId or roleIdFile is required"));
        assert!(bad(approle(Some("r"), Some("f")), None).contains("roleId or roleIdFile, not both"));
        assert!(bad(approle(Some("r"), None), Some("t")).contains("not both"));
        let ldap = VaultAuthConfig {
            method: "ldap".into(),
            ..Default::default()
        };
        assert!(bad(ldap, None).contains("got 'ldap'"));
        let k8s = VaultAuthConfig {
            method: "kubernetes".into(),
            role: Some("app".into()),
            ..Default::default()
        };
        let config = VaultConfig {
            address: "http://127.0.0.1:8200".into(),
            auth: Some(k8s),
            ..Default::default()
        };
        let (_, auth) = config.into_parts(Naming::Snake).expect("valid");
        assert!(
            matches!(auth, VaultAuth::Kubernetes { jwt: SecretSource::File(p), .. } if p.as_path() == std::path::Path::new(POD_TOKEN))
        );
    }
}
