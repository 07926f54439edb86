//! Native half of the Node package: a newtype over `secretkit::Client` with
//! one-line delegating methods. index.js wraps it in the idiomatic JS layer
//! (SecretkitError, redacting Secret, the serial memo on the cache-hit path,
//! the EventEmitter).

mod audit;
mod error;
mod events;
mod hits;
mod options;
mod rotation;
mod secret;
mod vault;

use napi::bindgen_prelude::Object;
use napi::bindgen_prelude::{block_on, Either};
use napi::{Env, Result};
use napi_derive::napi;

use error::{info, to_napi, ErrorInfo};
use events::EventCallback;
use options::{settings, Tunables};
use secret::{Lease, Secret};
use vault::VaultConfig;

#[napi(object)]
pub struct AwsConfig {
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub endpoint: Option<String>,
}

/// Explicit backends: only those given are enabled.
#[napi(object)]
pub struct Backends {
    pub aws: Option<AwsConfig>,
    pub vault: Option<VaultConfig>,
}

/// Counters since the client was built (core `Stats`).
#[napi(object)]
pub struct Stats {
    pub hits: f64,
    pub misses: f64,
    pub refreshes: f64,
    pub stale_serves: f64,
    pub errors: f64,
    pub backend_calls: BackendCalls,
}

/// Calls made to each backend; a batch call counts once.
#[napi(object)]
pub struct BackendCalls {
    pub ssm: f64,
    pub asm: f64,
    pub vault: f64,
    pub env: f64,
    pub file: f64,
}

/// Database credentials from Vault's database engine (core `DbCredentials`).
#[napi(object, object_from_js = false)]
pub struct DbCredentials {
    pub username: String,
    pub password: Secret,
    pub lease: Option<Lease>,
    /// `vault:<mount>/creds/<role>`, for `watch`.
    pub reference: String,
}

#[napi(js_name = "NativeClient")]
pub struct Client {
    inner: secretkit::Client,
    /// The audit identity last passed in (audited clients only).
    identities: audit::Identities,
}

#[napi]
impl Client {
    #[napi(constructor)]
    pub fn new(backends: Backends, options: Option<Tunables>) -> Result<Client> {
        let mut builder = with_options(secretkit::Client::builder(), options)?;
        if let Some(a) = backends.aws {
            builder = builder.aws(secretkit::AwsSettings {
                region: a.region,
                access_key_id: a.access_key_id,
                secret_access_key: a.secret_access_key,
                session_token: a.session_token,
                endpoint: a.endpoint,
            });
        }
        if let Some(v) = backends.vault {
            let (settings, auth) = vault::vault(v)?;
            builder = builder.vault(settings).vault_auth(auth);
        }
        build(builder)
    }

    /// AWS's standard chain plus VAULT_* / BAO_* variables, like the CLIs.
    #[napi(factory)]
    pub fn from_env(options: Option<Tunables>) -> Result<Client> {
        let builder = with_options(secretkit::Client::builder(), options)?
            .aws_from_env()
            .vault_from_env()
            .map_err(to_napi)?;
        build(builder)
    }

    /// `who`: the caller's audit identity (index.js passes it when audited).
    #[napi]
    pub async fn get(&self, reference: String, who: Option<String>) -> Result<Secret> {
        self.as_who(who)?
            .get(&reference)
            .await
            .map(Secret::from)
            .map_err(to_napi)
    }

    /// A cache hit, synchronously; `null` means "call get". An invalid
    /// reference throws here, as `get` would reject.
    #[napi]
    pub fn get_cached(&self, reference: String, who: Option<String>) -> Result<Option<Secret>> {
        match self.as_who(who)?.get_cached(&reference) {
            Some(hit) => hit.map(|s| Some(Secret::from(s))).map_err(to_napi),
            None => secretkit::Reference::parse(&reference)
                .map(|_| None)
                .map_err(to_napi),
        }
    }

    /// Functions for the cache-hit fast path (see src/hits.rs).
    #[napi(
        ts_return_type = "{ open(reference: string): number; window(slot: number, serial: number, hits: number, who?: string): number | NativeSecret | null; record(slot: number, hits: number): void; reset(): void; readonly generation: Uint32Array | null }"
    )]
    pub fn hit_path<'e>(&self, env: &'e Env) -> Result<Object<'e>> {
        hits::hit_path(env, &self.inner)
    }

    /// Read from the backend now and cache the result.
    #[napi]
    pub async fn refresh(&self, reference: String, who: Option<String>) -> Result<Secret> {
        self.as_who(who)?
            .refresh(&reference)
            .await
            .map(Secret::from)
            .map_err(to_napi)
    }

    /// Each reference's answer in order: a Secret or the error `get` would give.
    #[napi]
    pub async fn get_many(
        &self,
        references: Vec<String>,
        who: Option<String>,
    ) -> Result<Vec<Either<Secret, ErrorInfo>>> {
        let refs: Vec<&str> = references.iter().map(String::as_str).collect();
        Ok(self
            .as_who(who)?
            .get_many(&refs)
            .await
            .into_iter()
            .map(|r| match r {
                Ok(s) => Either::A(Secret::from(s)),
                Err(e) => Either::B(info(&e)),
            })
            .collect())
    }

    /// Whether the audit trail is on (index.js then passes identities and
    /// repeats no hit on its side).
    #[napi]
    pub fn audited(&self) -> bool {
        self.inner.audited()
    }

    /// Write the audit records held so far to the file now; returns how many.
    #[napi]
    pub fn flush_audit(&self) -> u32 {
        self.inner.flush_audit().try_into().unwrap_or(u32::MAX)
    }

    /// Flush, then the records kept for index.js's sinks (`audit.keep`).
    #[napi]
    pub fn take_audit(&self) -> Vec<audit::AuditRecord> {
        let (records, _dropped) = self.inner.take_audit();
        records.into_iter().map(Into::into).collect()
    }

    /// Reads by backend and outcome, backend read latency, cache size and
    /// lease TTLs, in the Prometheus text exposition format.
    #[napi]
    pub fn metrics_text(&self) -> String {
        self.inner.metrics().to_prometheus()
    }

    /// Load every secret under an `ssm:` or `asm:` prefix; resolves to the count.
    #[napi]
    pub async fn prefetch(&self, prefix: String) -> Result<u32> {
        let loaded = self.inner.prefetch(&prefix).await.map_err(to_napi)?;
        Ok(loaded.try_into().unwrap_or(u32::MAX))
    }

    #[napi]
    pub fn invalidate(&self, reference: String) -> Result<()> {
        self.inner.invalidate(&reference).map_err(to_napi)
    }

    #[napi]
    pub fn clear(&self) {
        self.inner.clear()
    }

    #[napi]
    pub fn stats(&self) -> Stats {
        let s = self.inner.stats();
        let c = s.backend_calls;
        Stats {
            hits: serial(s.hits),
            misses: serial(s.misses),
            refreshes: serial(s.refreshes),
            stale_serves: serial(s.stale_serves),
            errors: serial(s.errors),
            backend_calls: BackendCalls {
                ssm: serial(c.ssm),
                asm: serial(c.asm),
                vault: serial(c.vault),
                env: serial(c.env),
                file: serial(c.file),
            },
        }
    }

    /// Deliver every core event to `callback` on the JS thread; the
    /// subscription does not keep the process alive. Returns the id for
    /// `unsubscribe`.
    #[napi(ts_args_type = "callback: (event: NativeEvent) => void")]
    pub fn subscribe(&self, callback: EventCallback) -> f64 {
        serial(self.inner.subscribe(events::listener(callback)))
    }

    #[napi]
    pub fn unsubscribe(&self, id: f64) {
        self.inner.unsubscribe(id as u64)
    }

    /// Like `subscribe`, for `changed` / `rotated` events of one secret
    /// (any `#field` of it). Returns the id for `unsubscribe`.
    #[napi(ts_args_type = "reference: string, callback: (event: NativeEvent) => void")]
    pub fn watch(&self, reference: String, callback: EventCallback) -> Result<f64> {
        self.inner
            .watch(&reference, events::listener(callback))
            .map(serial)
            .map_err(to_napi)
    }

    /// Credentials for `role` of the database engine at `mount`, kept valid
    /// by the lifecycle.
    #[napi]
    pub async fn database_credentials(&self, mount: String, role: String) -> Result<DbCredentials> {
        let creds = self
            .inner
            .database_credentials(&mount, &role)
            .await
            .map_err(to_napi)?;
        Ok(DbCredentials {
            username: creds.username,
            password: Secret::from(creds.password),
            lease: creds.lease.as_ref().map(Lease::from),
            reference: creds.reference,
        })
    }

    /// Stop renewing and revoke the client's leases (with `revokeOnClose`);
    /// resolves to how many were revoked.
    #[napi]
    pub async fn close(&self) -> u32 {
        self.inner.close().await.try_into().unwrap_or(u32::MAX)
    }
}

/// Build on napi's tokio runtime: core captures the runtime it is built in
/// as the spawner of background refreshes, and that runtime keeps running
/// between calls. Called from the JS thread, never from inside the runtime,
/// so blocking here is safe.
fn build(builder: secretkit::ClientBuilder) -> Result<Client> {
    let inner = block_on(builder.build()).map_err(to_napi)?;
    Ok(Client {
        inner,
        identities: Default::default(),
    })
}

fn with_options(
    builder: secretkit::ClientBuilder,
    options: Option<Tunables>,
) -> Result<secretkit::ClientBuilder> {
    let options = options.unwrap_or_default();
    let mut builder = builder.settings(settings(&options)?);
    if let Some(a) = &options.audit {
        builder = builder.audit(audit::settings(a)?);
    }
    Ok(builder)
}

impl Client {
    fn as_who(&self, who: Option<String>) -> Result<secretkit::Client> {
        self.identities.client(&self.inner, who)
    }
}

/// A u64 counter or serial as a JS number. Exact below 2^53: a process would
/// need ~285 years at a million backend reads a second to get there.
fn serial(n: u64) -> f64 {
    n as f64
}

/// The JSON form of a parsed reference (`Reference::to_json`), as a string
/// the JS layer hands to `JSON.parse`.
#[napi]
pub fn parse_reference_json(reference: String) -> Result<String> {
    secretkit::Reference::parse(&reference)
        .map(|r| r.to_json())
        .map_err(to_napi)
}
