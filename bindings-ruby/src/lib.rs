//! Native half of the Ruby gem, through uniffi (proc macros: the interface is
//! this Rust code, no UDL to keep in step with it). A newtype over
//! `secretkit::Client` with one-line delegating methods; lib/secretkit.rb
//! wraps the generated `SecretkitNative` module in the idiomatic Ruby layer
//! (the `Secretkit::Error` hierarchy, the redacting `Secret`, the cache-hit
//! memo, event blocks). See ARCHITECTURE.md, "Ruby through uniffi".
//!
//! Reads are `async fn`s: uniffi's Ruby side waits for them on a pipe
//! (`IO#wait_readable`), which releases the GVL, so other Ruby threads run
//! (and answer their cache hits) while one waits on a backend. A synchronous
//! uniffi call would hold the GVL for its whole length.

mod error;
mod events;
mod options;
mod runtime;
mod secret;
mod wake;

use std::sync::Arc;

pub use error::NativeError;
pub use events::{EventStream, NativeEvent};
pub use options::{AwsConfig, Options, VaultAuthConfig, VaultConfig};
pub use secret::{Lease, NativeSecret};

uniffi::setup_scaffolding!("secretkit");

type Result<T> = std::result::Result<T, NativeError>;

/// Counters since the client was built (core `Stats`).
#[derive(uniffi::Record)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub refreshes: u64,
    pub stale_serves: u64,
    pub errors: u64,
    pub ssm_calls: u64,
    pub asm_calls: u64,
    pub vault_calls: u64,
    pub env_calls: u64,
    pub file_calls: u64,
}

/// Database credentials from Vault's database engine (core `DbCredentials`).
#[derive(uniffi::Record)]
pub struct DbCredentials {
    pub username: String,
    pub password: Arc<NativeSecret>,
    pub lease: Option<Lease>,
    /// `vault:<mount>/creds/<role>`, for `watch`.
    pub reference: String,
}

/// One answer of `get_many`: the secret or the error `get` would raise.
#[derive(uniffi::Enum)]
pub enum Outcome {
    Ok { secret: Arc<NativeSecret> },
    Failed { error: NativeError },
}

/// A cache hit and how long (seconds, on the caller's monotonic clock from
/// now) the same answer may be repeated while the generation is unchanged
/// (core `Handle::window`).
#[derive(uniffi::Record)]
pub struct Window {
    pub secret: Arc<NativeSecret>,
    pub valid_for: f64,
}

#[derive(uniffi::Object)]
pub struct NativeClient {
    /// Leaked, not dropped, in a forked child (`runtime::ProcessLocal`).
    inner: runtime::ProcessLocal<secretkit::Client>,
    /// Kept so the counter's address stays valid while the client lives.
    generation: Arc<secretkit::Generation>,
}

#[uniffi::export]
impl NativeClient {
    /// Explicit backends: only those given are enabled.
    #[uniffi::constructor]
    pub fn new(
        aws: Option<AwsConfig>,
        vault: Option<VaultConfig>,
        options: Options,
    ) -> Result<Arc<Self>> {
        let mut builder = secretkit::Client::builder().settings(options::settings(&options)?);
        if let Some(a) = aws {
            builder = builder.aws(a.into());
        }
        if let Some(v) = vault {
            let (settings, auth) = options::vault(v)?;
            builder = builder.vault(settings).vault_auth(auth);
        }
        build(builder)
    }

    /// AWS's standard chain plus VAULT_* / BAO_* variables, like the CLIs.
    #[uniffi::constructor]
    pub fn from_env(options: Options) -> Result<Arc<Self>> {
        let builder = secretkit::Client::builder()
            .settings(options::settings(&options)?)
            .aws_from_env()
            .vault_from_env()?;
        build(builder)
    }

    pub async fn get(&self, reference: String) -> Result<Arc<NativeSecret>> {
        let client = (*self.inner).clone();
        let secret = runtime::run(async move { client.get(&reference).await }).await?;
        Ok(NativeSecret::new(secret))
    }

    /// Read from the backend now and cache the result.
    pub async fn refresh(&self, reference: String) -> Result<Arc<NativeSecret>> {
        let client = (*self.inner).clone();
        let secret = runtime::run(async move { client.refresh(&reference).await }).await?;
        Ok(NativeSecret::new(secret))
    }

    /// Each reference's answer in order (batched per backend by the core).
    pub async fn get_many(&self, references: Vec<String>) -> Result<Vec<Outcome>> {
        let client = (*self.inner).clone();
        let answers = runtime::run(async move {
            let refs: Vec<&str> = references.iter().map(String::as_str).collect();
            Ok(client.get_many(&refs).await)
        })
        .await?;
        Ok(answers
            .into_iter()
            .map(|a| match a {
                Ok(secret) => Outcome::Ok {
                    secret: NativeSecret::new(secret),
                },
                Err(e) => Outcome::Failed { error: e.into() },
            })
            .collect())
    }

    /// Load every secret under an `ssm:` or `asm:` prefix; the count.
    pub async fn prefetch(&self, prefix: String) -> Result<u64> {
        let client = (*self.inner).clone();
        let loaded = runtime::run(async move { client.prefetch(&prefix).await }).await?;
        Ok(loaded as u64)
    }

    /// The cache-hit path (lib/secretkit.rb's memo): records the `hits` the
    /// Ruby side answered for `reference` since its last call, then answers
    /// what a cached read would: `None` means "call get".
    pub fn window(&self, reference: String, hits: u64) -> Result<Option<Window>> {
        let handle = self.inner.handle(&reference)?;
        handle.record_hits(hits);
        match handle.window() {
            None => Ok(None),
            Some(answer) => {
                let w = answer?;
                Ok(Some(Window {
                    secret: NativeSecret::new(w.secret),
                    valid_for: w.valid_for.as_secs_f64(),
                }))
            }
        }
    }

    /// Add hits answered by the Ruby side to the core's stats (before
    /// `stats`, and when the memo is cleared).
    pub fn record_hits(&self, reference: String, hits: u64) -> Result<()> {
        self.inner.handle(&reference)?.record_hits(hits);
        Ok(())
    }

    /// The address of the client's generation counter (a `u32` the core
    /// bumps on every change that could alter a cached answer); the Ruby memo
    /// reads it through `FFI::Pointer` and repeats an answer only while it
    /// is unchanged. Valid while this client lives.
    pub fn generation_address(&self) -> u64 {
        self.generation.as_ptr() as usize as u64
    }

    pub fn invalidate(&self, reference: String) -> Result<()> {
        Ok(self.inner.invalidate(&reference)?)
    }

    pub fn clear(&self) {
        self.inner.clear()
    }

    pub fn stats(&self) -> Stats {
        let s = self.inner.stats();
        let c = s.backend_calls;
        Stats {
            hits: s.hits,
            misses: s.misses,
            refreshes: s.refreshes,
            stale_serves: s.stale_serves,
            errors: s.errors,
            ssm_calls: c.ssm,
            asm_calls: c.asm,
            vault_calls: c.vault,
            env_calls: c.env,
            file_calls: c.file,
        }
    }

    /// Reads by backend and outcome, latency, cache size and lease TTLs in
    /// the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.inner.metrics().to_prometheus()
    }

    /// Every event of this client, for Ruby to pull (`EventStream::next`).
    pub fn subscribe(&self) -> Arc<EventStream> {
        EventStream::subscribe(&self.inner)
    }

    /// `changed` / `rotated` events of one secret (any `#field` of it); the
    /// core re-reads a watched secret at its refresh point even unread.
    pub fn watch(&self, reference: String) -> Result<Arc<EventStream>> {
        EventStream::watch(&self.inner, &reference)
    }

    /// Credentials for `role` of the database engine at `mount`, kept valid
    /// by the lifecycle.
    pub async fn database_credentials(&self, mount: String, role: String) -> Result<DbCredentials> {
        let client = (*self.inner).clone();
        let creds =
            runtime::run(async move { client.database_credentials(&mount, &role).await }).await?;
        Ok(DbCredentials {
            username: creds.username,
            password: NativeSecret::new(creds.password),
            lease: creds.lease.as_ref().map(Lease::from),
            reference: creds.reference,
        })
    }

    /// Stop renewing and revoke the client's leases (with
    /// `revoke_on_close`); how many were revoked.
    pub async fn close(&self) -> u64 {
        let client = (*self.inner).clone();
        runtime::run(async move { Ok(client.close().await) })
            .await
            .unwrap_or(0) as u64
    }
}

/// Build on this process's runtime: the core takes the runtime it is built
/// in as the spawner of background refreshes and lease work.
fn build(builder: secretkit::ClientBuilder) -> Result<Arc<NativeClient>> {
    let inner = runtime::block_on(builder.build())?;
    let generation = inner.generation();
    Ok(Arc::new(NativeClient {
        inner: runtime::ProcessLocal::new(inner),
        generation,
    }))
}

/// The JSON form of a parsed reference (`Reference::to_json`), for the shared
/// test vectors.
#[uniffi::export]
pub fn parse_reference_json(reference: String) -> Result<String> {
    Ok(secretkit::Reference::parse(&reference)?.to_json())
}
