//! `ClientBuilder`: where the backends' configuration comes from (explicit
//! settings, or the environment the way the CLIs read it), the transports
//! and their trust, and the checks made before a client exists.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use super::lifecycle::Lifecycle;
use super::limiter;
use super::memo::ParseMemo;
use super::{Client, ClientSettings, Inner};
use crate::audit::{Audit, AuditSettings};
use crate::backends::agent::{Agent, AgentSettings};
use crate::backends::aws::{Aws, AwsSettings};
use crate::backends::vault::{Vault, VaultSettings};
#[cfg(not(target_arch = "wasm32"))]
use crate::backends::vault_auth::SecretSource;
use crate::backends::vault_auth::VaultAuth;
use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::events::Listeners;
use crate::policy::Rng;
use crate::runtime::{Runtime, Spawn};
use crate::stats::Counters;

/// Where the AWS configuration comes from.
#[derive(Debug, Clone)]
enum AwsSource {
    None,
    Explicit(AwsSettings),
    #[cfg(not(target_arch = "wasm32"))]
    Environment,
}

/// Builds a `Client`. Natively `Client::from_env()` is the usual way in.
pub struct ClientBuilder {
    runtime: Option<Runtime>,
    vault_auth: VaultAuth,
    spawner: Option<Arc<dyn Spawn>>,
    aws: AwsSource,
    vault: Option<VaultSettings>,
    settings: ClientSettings,
    audit: Option<AuditSettings>,
    /// Configuration came from the environment, where SECRETKIT_ALLOW_HTTP
    /// may allow plain http, and SECRETKIT_AGENT may name an agent.
    from_env: bool,
    /// Vault's settings came from VAULT_* / BAO_* (an agent replaces them).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    vault_env: bool,
    agent: Option<AgentSettings>,
    /// SECRETKIT_AGENT is ignored (`direct`).
    direct: bool,
}

impl ClientBuilder {
    pub(super) fn new() -> ClientBuilder {
        ClientBuilder {
            runtime: None,
            vault_auth: VaultAuth::Token,
            spawner: None,
            aws: AwsSource::None,
            vault: None,
            settings: ClientSettings::default(),
            audit: None,
            from_env: false,
            vault_env: false,
            agent: None,
            direct: false,
        }
    }

    /// Turn the access audit trail on (see `AuditSettings`).
    pub fn audit(mut self, audit: AuditSettings) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The transport and clock to run on; natively the default is reqwest + tokio.
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Where background refreshes run; natively the tokio runtime `build`
    /// is called in.
    pub fn spawner(mut self, spawner: Arc<dyn Spawn>) -> Self {
        self.spawner = Some(spawner);
        self
    }

    pub fn aws(mut self, settings: AwsSettings) -> Self {
        self.aws = AwsSource::Explicit(settings);
        self
    }

    /// Use the standard AWS chain (AWS_* variables, profiles, instance metadata).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn aws_from_env(mut self) -> Self {
        self.aws = AwsSource::Environment;
        self.from_env = true;
        self
    }

    pub fn vault(mut self, settings: VaultSettings) -> Self {
        self.vault = Some(settings);
        self
    }

    /// How the Vault client logs in (default: `VaultSettings::token` as given).
    pub fn vault_auth(mut self, auth: VaultAuth) -> Self {
        self.vault_auth = auth;
        self
    }

    /// Read `ssm:`, `asm:` and `vault:` references through a `secretkit
    /// agent` (see `backends::agent`). From the environment, SECRETKIT_AGENT
    /// does the same, and then replaces the AWS and Vault settings that came
    /// from the environment: the agent holds the credentials.
    pub fn agent(mut self, settings: AgentSettings) -> Self {
        self.agent = Some(settings);
        self
    }

    /// Read from the backends themselves whatever SECRETKIT_AGENT says: the
    /// agent's own client, which would otherwise ask itself.
    pub fn direct(mut self) -> Self {
        self.direct = true;
        self
    }

    pub fn settings(mut self, settings: ClientSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Vault settings the way the CLI and agents take them: VAULT_ADDR /
    /// BAO_ADDR, VAULT_NAMESPACE, and the first auth method configured:
    /// - AppRole: VAULT_ROLE_ID[_FILE] + VAULT_SECRET_ID[_FILE]
    ///   (mount VAULT_APPROLE_MOUNT, default `approle`);
    /// - Kubernetes: VAULT_K8S_ROLE + the service-account token at
    ///   VAULT_K8S_JWT_FILE (default the pod's mounted token), mount
    ///   VAULT_K8S_MOUNT (default `kubernetes`);
    /// - JWT: VAULT_JWT_ROLE + VAULT_JWT[_FILE], mount VAULT_JWT_MOUNT (`jwt`);
    /// - a token file: VAULT_TOKEN_FILE (re-read at every re-login);
    /// - a token: VAULT_TOKEN / BAO_TOKEN, else ~/.vault-token as the CLI does.
    ///
    /// Login material from files and variables is re-read at every login.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn vault_from_env(mut self) -> Result<Self> {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        // `NAME` or `NAME_FILE`, as a source re-read at every login.
        let source = |name: &str| {
            let file = format!("{name}_FILE");
            if let Some(path) = var(&[&file]) {
                Some(SecretSource::File(path.into()))
            } else {
                var(&[name]).map(|_| SecretSource::Env(name.to_owned()))
            }
        };
        let Some(address) = var(&["VAULT_ADDR", "BAO_ADDR"]) else {
            return Ok(self);
        };
        let mount = |name: &str, default: &str| var(&[name]).unwrap_or_else(|| default.to_owned());
        let auth = if let Some(role_id) = source("VAULT_ROLE_ID") {
            let secret_id = source("VAULT_SECRET_ID").ok_or_else(|| {
                Error::config(
                    "VAULT_ROLE_ID is set but not VAULT_SECRET_ID or VAULT_SECRET_ID_FILE",
                )
            })?;
            Some(VaultAuth::AppRole {
                mount: mount("VAULT_APPROLE_MOUNT", "approle"),
                role_id,
                secret_id,
            })
        } else if let Some(role) = var(&["VAULT_K8S_ROLE"]) {
            let jwt = var(&["VAULT_K8S_JWT_FILE"]).unwrap_or_else(|| {
                "/var/run/secrets/kubernetes.io/serviceaccount/token".to_owned()
            });
            Some(VaultAuth::Kubernetes {
                mount: mount("VAULT_K8S_MOUNT", "kubernetes"),
                role,
                jwt: SecretSource::File(jwt.into()),
            })
        } else if let Some(role) = var(&["VAULT_JWT_ROLE"]) {
            let jwt = source("VAULT_JWT").ok_or_else(|| {
                Error::config("VAULT_JWT_ROLE is set but not VAULT_JWT or VAULT_JWT_FILE")
            })?;
            Some(VaultAuth::Jwt {
                mount: mount("VAULT_JWT_MOUNT", "jwt"),
                role,
                jwt,
            })
        } else {
            var(&["VAULT_TOKEN_FILE"]).map(|path| VaultAuth::TokenFile(path.into()))
        };
        let token = match &auth {
            Some(_) => String::new(),
            None => var(&["VAULT_TOKEN", "BAO_TOKEN"])
                .or_else(|| {
                    let home = std::env::var_os("HOME")?;
                    let path = std::path::Path::new(&home).join(".vault-token");
                    std::fs::read_to_string(path).ok().map(|t| t.trim().to_owned())
                })
                .ok_or_else(|| {
                    Error::config(
                        "VAULT_ADDR is set but no way to log in: set VAULT_TOKEN (or ~/.vault-token), \
                         VAULT_TOKEN_FILE, VAULT_ROLE_ID + VAULT_SECRET_ID, VAULT_K8S_ROLE or VAULT_JWT_ROLE",
                    )
                })?,
        };
        if let Some(auth) = auth {
            self.vault_auth = auth;
        }
        let path = |names: &[&str]| var(names).map(std::path::PathBuf::from);
        let tls = crate::runtime::TlsSettings {
            ca_files: path(&["VAULT_CACERT", "BAO_CACERT"]).into_iter().collect(),
            ca_dirs: path(&["VAULT_CAPATH", "BAO_CAPATH"]).into_iter().collect(),
            ca_pem: Vec::new(),
            client_cert: path(&["VAULT_CLIENT_CERT", "BAO_CLIENT_CERT"]),
            client_key: path(&["VAULT_CLIENT_KEY", "BAO_CLIENT_KEY"]),
            server_name: var(&["VAULT_TLS_SERVER_NAME", "BAO_TLS_SERVER_NAME"]),
        };
        self.vault = Some(VaultSettings {
            address,
            token,
            namespace: var(&["VAULT_NAMESPACE", "BAO_NAMESPACE"]),
            tls,
        });
        self.from_env = true;
        self.vault_env = true;
        Ok(self)
    }

    // Only natively does the environment name an agent to fill in.
    #[cfg_attr(target_arch = "wasm32", allow(unused_mut))]
    pub async fn build(mut self) -> Result<Client> {
        let mut settings = self.settings.clone();
        settings.validate()?;
        #[cfg(not(target_arch = "wasm32"))]
        if self.agent.is_none() && self.from_env && !self.direct {
            self.agent = AgentSettings::from_env()?;
            if self.agent.is_some() {
                if matches!(self.aws, AwsSource::Environment) {
                    self.aws = AwsSource::None;
                }
                if self.vault_env {
                    self.vault = None;
                }
            }
        }
        if self.from_env && env_flag("SECRETKIT_ALLOW_HTTP") {
            settings.allow_http = true;
        }
        self.check_origins(settings.allow_http)?;
        let vault_tls = self
            .vault
            .as_ref()
            .map(|v| v.tls.clone())
            .unwrap_or_default();
        let aws_tls = self.aws_tls();
        let (rt, vault_rt) = match self.runtime {
            Some(rt) => {
                if !(vault_tls.is_empty() && aws_tls.is_empty()) {
                    return Err(Error::config(
                        "CA, client certificate and TLS server name settings need the built-in HTTP client; \
                         this runtime brings its own transport (on the edge the host's fetch \
                         decides which servers to trust)",
                    ));
                }
                (rt.clone(), rt)
            }
            #[cfg(not(target_arch = "wasm32"))]
            None => {
                let start = |tls: &crate::runtime::TlsSettings| {
                    crate::runtime::native::runtime_with_tls(settings.timeout, tls)
                        .map_err(|e| Error::config(format!("cannot start the HTTP client: {e}")))
                };
                // Each backend trusts what it was configured to trust: a
                // private Vault CA (or its client certificate) is not
                // offered to AWS, nor AWS_CA_BUNDLE to Vault.
                let rt = start(&aws_tls)?;
                let vault_rt = if vault_tls == aws_tls {
                    rt.clone()
                } else {
                    start(&vault_tls)?
                };
                (rt, vault_rt)
            }
            #[cfg(target_arch = "wasm32")]
            None => {
                return Err(Error::config(
                    "a runtime (transport and clock) is required on wasm",
                ))
            }
        };
        let aws = match &self.aws {
            AwsSource::None => None,
            AwsSource::Explicit(s) => Some(Aws::from_settings(s, &rt, settings.timeout)),
            #[cfg(not(target_arch = "wasm32"))]
            AwsSource::Environment => Some(Aws::from_env(&rt, settings.timeout).await),
        };
        let agent = self
            .agent
            .map(|a| Agent::new(a, rt.clone(), settings.timeout))
            .transpose()?;
        let vault = match self.vault {
            Some(v) if v.token.is_empty() && matches!(self.vault_auth, VaultAuth::Token) => {
                return Err(Error::config("Vault is configured without a token"))
            }
            Some(v) => Some(Vault::new(v, self.vault_auth, vault_rt, settings.timeout)?),
            None => None,
        };
        #[cfg(not(target_arch = "wasm32"))]
        let spawner = self.spawner.or_else(|| {
            crate::runtime::native::TokioSpawner::current().map(|s| Arc::new(s) as Arc<dyn Spawn>)
        });
        #[cfg(target_arch = "wasm32")]
        let spawner = self.spawner;
        let seed = rt
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let audit = self.audit.map(Audit::new).transpose()?;
        let client = Client {
            identity: None,
            inner: Arc::new(Inner {
                audit,
                cache: Cache::new(settings.max_entries),
                windows: Default::default(),
                memo: ParseMemo::new(settings.max_entries.saturating_mul(4)),
                lifecycle: Lifecycle::default(),
                watched: Default::default(),
                background: Default::default(),
                rng: Rng::new(seed),
                rt,
                spawner,
                aws,
                vault,
                agent,
                limiters: limiter::Limiters::new(settings.timeout),
                settings,
                in_flight: Mutex::new(HashMap::new()),
                next_read: AtomicU64::new(1),
                counters: Counters::default(),
                listeners: Listeners::default(),
                next_listener: AtomicU64::new(1),
            }),
        };
        if client.inner.vault.is_some() {
            client.start_background();
        }
        client.start_audit_flush();
        Ok(client)
    }

    /// Credentials go only to https origins, or plain http on loopback,
    /// unless `allow_http`.
    fn check_origins(&self, allow_http: bool) -> Result<()> {
        let mut origins: Vec<(String, &str)> = Vec::new();
        if let Some(a) = self
            .agent
            .as_ref()
            .filter(|a| !a.address.starts_with("unix://"))
        {
            origins.push((a.address.clone(), "agent address"));
        }
        if let Some(v) = &self.vault {
            origins.push((v.address.clone(), "Vault address"));
        }
        if let AwsSource::Explicit(AwsSettings {
            endpoint: Some(e), ..
        }) = &self.aws
        {
            origins.push((e.clone(), "AWS endpoint"));
        }
        #[cfg(not(target_arch = "wasm32"))]
        if let AwsSource::Environment = &self.aws {
            for (name, value) in std::env::vars() {
                if name.starts_with("AWS_ENDPOINT_URL") && !value.is_empty() {
                    origins.push((value, "AWS endpoint (AWS_ENDPOINT_URL)"));
                }
            }
        }
        for (url, what) in origins {
            crate::runtime::check_origin(url.trim_end_matches('/'), allow_http)
                .map_err(|why| Error::config(format!("{what}: {why}")))?;
        }
        Ok(())
    }

    /// AWS_CA_BUNDLE, as the AWS CLI and SDKs read it (environment only).
    fn aws_tls(&self) -> crate::runtime::TlsSettings {
        #[cfg(not(target_arch = "wasm32"))]
        if let AwsSource::Environment = &self.aws {
            if let Some(bundle) = std::env::var_os("AWS_CA_BUNDLE").filter(|b| !b.is_empty()) {
                return crate::runtime::TlsSettings {
                    ca_files: vec![bundle.into()],
                    ..Default::default()
                };
            }
        }
        crate::runtime::TlsSettings::default()
    }
}

/// An environment switch: `1`, `true` or `yes`.
fn env_flag(name: &str) -> bool {
    std::env::var(name)
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}
