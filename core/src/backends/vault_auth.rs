//! How the Vault client gets and keeps its token: a fixed token, a token
//! file (re-read at every login, e.g. written by vault agent), or a login
//! method — AppRole, Kubernetes, JWT — whose material is re-read each time,
//! so rotated secret-ids and projected service-account tokens are picked up.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind, Result};

/// Where a piece of login material comes from.
#[derive(Clone)]
pub enum SecretSource {
    Value(String),
    /// Read (and trimmed) at every login.
    File(PathBuf),
    /// An environment variable, read at every login.
    Env(String),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Value(_) => f.write_str("Value(<redacted>)"),
            SecretSource::File(p) => write!(f, "File({})", p.display()),
            SecretSource::Env(n) => write!(f, "Env({n})"),
        }
    }
}

impl SecretSource {
    fn load(&self, what: &str) -> Result<Zeroizing<String>> {
        let raw = match self {
            SecretSource::Value(v) => v.clone(),
            SecretSource::Env(name) => std::env::var(name).map_err(|_| {
                Error::config(format!("{what}: environment variable {name} is not set"))
            })?,
            SecretSource::File(path) => read_file(path, what)?,
        };
        let trimmed = Zeroizing::new(raw.trim().to_owned());
        drop(Zeroizing::new(raw));
        if trimmed.is_empty() {
            return Err(Error::config(format!("{what} is empty")));
        }
        Ok(trimmed)
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn read_file(path: &std::path::Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::config(format!("{what}: cannot read {}: {e}", path.display())))
}

#[cfg(target_arch = "wasm32")]
fn read_file(path: &std::path::Path, what: &str) -> Result<String> {
    Err(Error::config(format!(
        "{what}: files ({}) cannot be read on the edge",
        path.display()
    )))
}

/// The Vault auth method.
#[derive(Debug, Clone)]
pub enum VaultAuth {
    /// `VaultSettings::token`, used as given.
    Token,
    /// A token read from a file at every (re)login.
    TokenFile(PathBuf),
    AppRole {
        /// Mount path, `approle` by default.
        mount: String,
        role_id: SecretSource,
        secret_id: SecretSource,
    },
    Kubernetes {
        mount: String,
        role: String,
        /// Usually `/var/run/secrets/kubernetes.io/serviceaccount/token`.
        jwt: SecretSource,
    },
    Jwt {
        mount: String,
        role: String,
        jwt: SecretSource,
    },
}

impl VaultAuth {
    /// Whether the client can get a new token by itself when the old one
    /// cannot be renewed any more.
    pub(crate) fn can_login(&self) -> bool {
        !matches!(self, VaultAuth::Token)
    }

    /// The login request: `(path, body)`; `None` for token methods.
    pub(crate) fn login_request(&self) -> Result<Option<(String, Value)>> {
        let mount = |m: &str| m.trim_matches('/').to_owned();
        Ok(Some(match self {
            VaultAuth::Token | VaultAuth::TokenFile(_) => return Ok(None),
            VaultAuth::AppRole {
                mount: m,
                role_id,
                secret_id,
            } => (
                format!("auth/{}/login", mount(m)),
                json!({
                    "role_id": &*role_id.load("AppRole role_id")?,
                    "secret_id": &*secret_id.load("AppRole secret_id")?,
                }),
            ),
            VaultAuth::Kubernetes {
                mount: m,
                role,
                jwt,
            }
            | VaultAuth::Jwt {
                mount: m,
                role,
                jwt,
            } => (
                format!("auth/{}/login", mount(m)),
                json!({ "role": role, "jwt": &*jwt.load("JWT")? }),
            ),
        }))
    }

    /// The token for token methods (a file is re-read each time).
    pub(crate) fn fixed_token(&self, configured: &str) -> Result<Option<Zeroizing<String>>> {
        match self {
            VaultAuth::Token => Ok(Some(Zeroizing::new(configured.to_owned()))),
            VaultAuth::TokenFile(path) => SecretSource::File(path.clone())
                .load("token file")
                .map(Some),
            _ => Ok(None),
        }
    }
}

/// The token in use and what Vault said about it.
pub(crate) struct TokenState {
    pub token: Zeroizing<String>,
    /// Zero for tokens that never expire (e.g. root).
    pub ttl: Duration,
    pub renewable: bool,
    pub obtained_at: SystemTime,
    /// The TTL the token was created with: what renewals ask for.
    pub requested: Duration,
    /// Whether the TTL fields come from Vault (false for a fixed token not
    /// looked up yet).
    pub known: bool,
}

impl TokenState {
    /// From an `auth` block (login, renew-self) or a lookup-self `data` block.
    pub(crate) fn from_answer(
        token: Zeroizing<String>,
        block: &Value,
        now: SystemTime,
    ) -> Result<TokenState> {
        // A year at most: a larger TTL from a server would overflow the
        // deadline arithmetic.
        let secs = |k: &str| {
            block
                .get(k)
                .and_then(Value::as_u64)
                .map(|s| s.min(365 * 24 * 3600))
        };
        let ttl = secs("lease_duration")
            .or_else(|| secs("ttl"))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidResponse,
                    "Vault token answer without a TTL",
                )
            })?;
        let requested = secs("creation_ttl").filter(|c| *c > 0).unwrap_or(ttl);
        Ok(TokenState {
            token,
            ttl: Duration::from_secs(ttl),
            renewable: block
                .get("renewable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            obtained_at: now,
            requested: Duration::from_secs(requested),
            known: true,
        })
    }
}
