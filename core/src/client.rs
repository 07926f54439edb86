//! `Client`: the one entry point. Parses references, serves them from the
//! cache, shares concurrent misses of one key (single flight) and dispatches
//! to the backend the scheme names.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{FutureExt, Shared};

use crate::backends::aws::{Aws, AwsSettings};
use crate::backends::local;
use crate::backends::vault::{Vault, VaultSettings};
use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::json::select_field;
use crate::reference::{CacheKey, Reference, Scheme};
use crate::runtime::{BoxFuture, Runtime};
use crate::secret::{Fetched, Secret};

/// Largest secret value accepted from any backend (Secrets Manager's own
/// limit is 64 KiB, SSM's 8 KiB).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// Tunables, with the defaults a production service wants.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// How long a value is served from the cache (`?ttl=` overrides it).
    pub default_ttl: Duration,
    /// Most cache entries kept; least recently used go first.
    pub max_entries: usize,
    /// Bound on each backend request.
    pub timeout: Duration,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            default_ttl: Duration::from_secs(300),
            max_entries: 1024,
            timeout: Duration::from_secs(10),
        }
    }
}

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
    aws: AwsSource,
    vault: Option<VaultSettings>,
    settings: ClientSettings,
}

impl ClientBuilder {
    /// The transport and clock to run on; natively the default is reqwest + tokio.
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
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
        self
    }

    pub fn vault(mut self, settings: VaultSettings) -> Self {
        self.vault = Some(settings);
        self
    }

    pub fn settings(mut self, settings: ClientSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Vault settings from VAULT_ADDR / BAO_ADDR, VAULT_TOKEN / BAO_TOKEN (or
    /// ~/.vault-token, as the CLI does) and VAULT_NAMESPACE / BAO_NAMESPACE.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn vault_from_env(mut self) -> Result<Self> {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        let Some(address) = var(&["VAULT_ADDR", "BAO_ADDR"]) else {
            return Ok(self);
        };
        let token = var(&["VAULT_TOKEN", "BAO_TOKEN"]).or_else(|| {
            let home = std::env::var_os("HOME")?;
            let path = std::path::Path::new(&home).join(".vault-token");
            std::fs::read_to_string(path).ok().map(|t| t.trim().to_owned())
        });
        let token = token.ok_or_else(|| {
            Error::config("VAULT_ADDR is set but no token: set VAULT_TOKEN or write ~/.vault-token")
        })?;
        self.vault = Some(VaultSettings {
            address,
            token,
            namespace: var(&["VAULT_NAMESPACE", "BAO_NAMESPACE"]),
        });
        Ok(self)
    }

    pub async fn build(self) -> Result<Client> {
        let settings = self.settings;
        let rt = match self.runtime {
            Some(rt) => rt,
            #[cfg(not(target_arch = "wasm32"))]
            None => crate::runtime::native::runtime(settings.timeout)
                .map_err(|e| Error::config(format!("cannot start the HTTP client: {e}")))?,
            #[cfg(target_arch = "wasm32")]
            None => return Err(Error::config("a runtime (transport and clock) is required on wasm")),
        };
        let aws = match &self.aws {
            AwsSource::None => None,
            AwsSource::Explicit(s) => Some(Aws::from_settings(s, &rt, settings.timeout)),
            #[cfg(not(target_arch = "wasm32"))]
            AwsSource::Environment => Some(Aws::from_env(&rt, settings.timeout).await),
        };
        let vault = match self.vault {
            Some(v) if v.token.is_empty() => {
                return Err(Error::config("Vault is configured without a token"))
            }
            Some(v) => Some(Vault::new(v, rt.clone(), settings.timeout)?),
            None => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                cache: Cache::new(settings.max_entries),
                rt,
                aws,
                vault,
                settings,
                in_flight: Mutex::new(HashMap::new()),
            }),
        })
    }
}

type SharedFetch = Shared<BoxFuture<'static, Result<Arc<Fetched>>>>;

struct Inner {
    rt: Runtime,
    aws: Option<Aws>,
    vault: Option<Vault>,
    cache: Cache,
    settings: ClientSettings,
    /// Backend reads under way, shared by every caller that misses the same key.
    in_flight: Mutex<HashMap<CacheKey, SharedFetch>>,
}

/// Reads secrets. Cheap to clone: clones share one cache and one set of backends.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            runtime: None,
            aws: AwsSource::None,
            vault: None,
            settings: ClientSettings::default(),
        }
    }

    /// A client configured the way the CLIs are: AWS's standard chain and
    /// VAULT_* / BAO_* variables.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn from_env() -> Result<Client> {
        Client::builder().aws_from_env().vault_from_env()?.build().await
    }

    /// The secret a reference names, from the cache when it is fresh.
    pub async fn get(&self, reference: &str) -> Result<Secret> {
        let parsed = Reference::parse(reference)?;
        let fetched = self
            .fetched(&parsed)
            .await
            .map_err(|e| e.for_reference(reference))?;
        cut(reference, &parsed, fetched)
    }

    /// A cache hit without awaiting anything, or `None` when the caller must
    /// use `get` (miss, expired, or an invalid reference, which `get` reports).
    /// Lets bindings answer hits synchronously, without a runtime round trip.
    pub fn get_cached(&self, reference: &str) -> Option<Result<Secret>> {
        let parsed = Reference::parse(reference).ok()?;
        let fetched = self
            .inner
            .cache
            .get(&parsed.cache_key(), self.inner.rt.clock.now())?;
        Some(cut(reference, &parsed, fetched))
    }

    /// Drop the cached value of a reference (any `#field` of it).
    pub fn invalidate(&self, reference: &str) -> Result<()> {
        let parsed = Reference::parse(reference)?;
        self.inner.cache.remove(&parsed.cache_key());
        Ok(())
    }

    /// Drop every cached value.
    pub fn clear(&self) {
        self.inner.cache.clear();
    }

    async fn fetched(&self, r: &Reference) -> Result<Arc<Fetched>> {
        let key = r.cache_key();
        if let Some(hit) = self.inner.cache.get(&key, self.inner.rt.clock.now()) {
            return Ok(hit);
        }
        let shared = {
            let mut in_flight = self
                .inner
                .in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            in_flight
                .entry(key.clone())
                .or_insert_with(|| self.start_fetch(r.clone(), key))
                .clone()
        };
        shared.await
    }

    /// One backend read whose result lands in the cache; it removes itself
    /// from `in_flight` when done, whoever is polling it.
    fn start_fetch(&self, r: Reference, key: CacheKey) -> SharedFetch {
        let inner = self.inner.clone();
        let fut: BoxFuture<'static, Result<Arc<Fetched>>> = Box::pin(async move {
            let result = fetch(&inner, &r).await.map(Arc::new);
            if let Ok(value) = &result {
                let ttl = r.ttl.unwrap_or(inner.settings.default_ttl);
                if !ttl.is_zero() {
                    inner.cache.insert(key.clone(), value.clone(), value.fetched_at + ttl);
                }
            }
            inner
                .in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
            result
        });
        fut.shared()
    }
}

/// Read from the backend the scheme names.
async fn fetch(inner: &Inner, r: &Reference) -> Result<Fetched> {
    let now = inner.rt.clock.now();
    let fetched = match r.scheme {
        Scheme::Ssm => aws(inner)?.ssm(r, now).await?,
        Scheme::Asm => aws(inner)?.asm(r, now).await?,
        Scheme::Vault => inner
            .vault
            .as_ref()
            .ok_or_else(|| Error::config("Vault is not configured (set VAULT_ADDR and VAULT_TOKEN)"))?
            .read(r, now)
            .await?,
        Scheme::Env => local::env(r, now)?,
        Scheme::File => local::file(r, now)?,
    };
    if fetched.value.len() > MAX_VALUE_BYTES {
        return Err(Error::invalid_response(format!(
            "the value is {} bytes, over the limit of {MAX_VALUE_BYTES}",
            fetched.value.len()
        )));
    }
    Ok(fetched)
}

fn aws(inner: &Inner) -> Result<&Aws> {
    inner
        .aws
        .as_ref()
        .ok_or_else(|| Error::config("AWS is not configured for this client"))
}

/// The secret a reference asks for: the whole value, or one `#field` of it.
fn cut(reference: &str, r: &Reference, fetched: Arc<Fetched>) -> Result<Secret> {
    match &r.field {
        None => Ok(Secret::whole(reference.into(), fetched)),
        Some(field) => {
            let value = select_field(&fetched.value, field).map_err(|e| e.for_reference(reference))?;
            Ok(Secret::field(reference.into(), fetched, Arc::new(value)))
        }
    }
}
