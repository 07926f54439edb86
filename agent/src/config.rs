//! The agent's configuration: defaults, then a TOML file (`--config` or
//! SECRETKIT_AGENT_CONFIG), then environment variables, then flags. The
//! backends are configured the way the core's `Client::from_env` reads them
//! (AWS's standard chain, VAULT_* / BAO_*), unless the file has a `[vault]`
//! table.

use std::path::{Path, PathBuf};

use secretkit::backends::agent::{token_from, TOKEN_ENV};
use secretkit::options::{Tunables, VaultConfig};
use serde::Deserialize;
use zeroize::Zeroizing;

/// The port the AWS Parameters and Secrets extension and the
/// aws-secretsmanager-agent listen on: code written for them works unchanged.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:2773";

/// Connections served at once; more wait to be accepted (the AWS agent's
/// default, 800).
pub const DEFAULT_MAX_CONNECTIONS: usize = 800;

/// No `Debug`: a `[vault]` table may hold a token or a secret id.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// `127.0.0.1:2773`, `[::1]:2773` or `unix:///run/secretkit/agent.sock`.
    /// Only loopback addresses are accepted.
    pub listen: String,
    /// Environment variables holding the token callers must send, first set
    /// wins; a value `file:///path` names a file holding it. Default: the
    /// variables clients read it from (`secretkit::backends::agent::TOKEN_ENV`).
    pub token_env: Vec<String>,
    pub max_connections: usize,
    /// Seconds a connection may stay silent before the agent closes it.
    pub idle_timeout: f64,
    /// Permissions of a Unix socket, as an octal string ("600", "660").
    pub socket_mode: String,
    /// The client's cache tunables (`secretkit::options::Tunables`). The
    /// agent turns `allow_local` off unless this table turns it on: its
    /// callers must not read the agent's environment and files.
    pub cache: Tunables,
    /// An explicit Vault configuration instead of VAULT_* variables.
    pub vault: Option<VaultConfig>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            listen: DEFAULT_LISTEN.to_owned(),
            token_env: TOKEN_ENV.iter().map(|s| s.to_string()).collect(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: 60.0,
            socket_mode: "600".to_owned(),
            cache: Tunables::default(),
            vault: None,
        }
    }
}

impl AgentConfig {
    /// Defaults, overridden by the file (if any), then by
    /// SECRETKIT_AGENT_LISTEN and SECRETKIT_AGENT_MAX_CONNECTIONS.
    pub fn load(file: Option<&Path>) -> Result<AgentConfig, String> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => AgentConfig::default(),
        };
        if let Ok(listen) = std::env::var("SECRETKIT_AGENT_LISTEN") {
            config.listen = listen;
        }
        if let Ok(n) = std::env::var("SECRETKIT_AGENT_MAX_CONNECTIONS") {
            config.max_connections = n.parse().map_err(|_| {
                format!("SECRETKIT_AGENT_MAX_CONNECTIONS must be a number, got {n:?}")
            })?;
        }
        if config.max_connections == 0 {
            return Err("max_connections must be at least 1".into());
        }
        if config.cache.allow_local.is_none() {
            config.cache.allow_local = Some(false);
        }
        Ok(config)
    }

    /// `idle_timeout` as a duration (0.1 s to an hour).
    pub fn idle_timeout(&self) -> Result<std::time::Duration, String> {
        if (0.1..=3600.0).contains(&self.idle_timeout) {
            Ok(std::time::Duration::from_secs_f64(self.idle_timeout))
        } else {
            Err(format!(
                "idle_timeout must be 0.1 to 3600 seconds, got {}",
                self.idle_timeout
            ))
        }
    }

    /// The Unix socket permission bits.
    pub fn socket_mode(&self) -> Result<u32, String> {
        u32::from_str_radix(&self.socket_mode, 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or_else(|| {
                format!(
                    "socket_mode must be octal permissions such as \"660\", got {:?}",
                    self.socket_mode
                )
            })
    }

    /// The token callers must send: the first of `token_env` that is set
    /// (`secretkit::backends::agent::token_from`). Never printed.
    pub fn token(&self) -> Result<Zeroizing<String>, String> {
        token_from(&self.token_env).map_err(|e| e.message().to_owned())
    }
}

/// Where the agent listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

impl Listen {
    /// Parses `host:port` (a loopback IP) or `unix:///absolute/path`.
    /// Anything reachable from another host is refused: the agent answers
    /// whoever holds the token, and a token crosses the network in clear.
    pub fn parse(text: &str) -> Result<Listen, String> {
        if let Some(path) = text.strip_prefix("unix://") {
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err(format!(
                    "{text}: a Unix socket path must be absolute (unix:///run/secretkit.sock)"
                ));
            }
            return Ok(Listen::Unix(path));
        }
        let addr: std::net::SocketAddr = text.parse().map_err(|_| {
            format!("{text}: expected a loopback address and port (127.0.0.1:2773) or unix:///path")
        })?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "{text}: the agent listens on loopback or a Unix socket only (it answers whoever holds the token)"
            ));
        }
        Ok(Listen::Tcp(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_and_absolute_unix_paths_are_accepted() {
        assert!(matches!(
            Listen::parse("127.0.0.1:2773"),
            Ok(Listen::Tcp(_))
        ));
        assert!(matches!(Listen::parse("[::1]:2773"), Ok(Listen::Tcp(_))));
        assert_eq!(
            Listen::parse("unix:///run/sk.sock"),
            Ok(Listen::Unix("/run/sk.sock".into()))
        );
        for bad in [
            "0.0.0.0:2773",
            "10.0.0.5:2773",
            "[::]:2773",
            "localhost:2773",
            "unix://run/sk.sock",
            "",
        ] {
            assert!(Listen::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_file_names_every_key_it_sets_and_unknown_keys_are_refused() {
        let config: AgentConfig = toml::from_str(
            "listen = \"unix:///tmp/a.sock\"\nsocket_mode = \"660\"\n[cache]\ndefault_ttl = 60\n",
        )
        .expect("valid");
        assert_eq!(config.listen, "unix:///tmp/a.sock");
        assert_eq!(config.socket_mode(), Ok(0o660));
        assert_eq!(config.cache.default_ttl, Some(60.0));
        assert_eq!(config.max_connections, DEFAULT_MAX_CONNECTIONS);
        let err = toml::from_str::<AgentConfig>("[cache]\ndefault_tll = 60\n")
            .err()
            .expect("refused");
        assert!(err.to_string().contains("default_tll"), "{err}");
        let bad = AgentConfig {
            socket_mode: "rw".into(),
            ..AgentConfig::default()
        };
        assert!(bad.socket_mode().is_err());
    }
}
