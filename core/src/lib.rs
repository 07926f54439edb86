//! secretkit: read secrets from AWS SSM Parameter Store, AWS Secrets Manager,
//! Vault / OpenBao, the environment and files, through one reference grammar,
//! one cache and one error type. The Python, Node and WASM packages are thin
//! bindings over this crate.
//!
//! ```no_run
//! # async fn demo() -> secretkit::Result<()> {
//! let client = secretkit::Client::from_env().await?;
//! let password = client.get("ssm:/prod/myapp/db-password").await?;
//! println!("{password}"); // Secret(ssm:/prod/myapp/db-password, <redacted>)
//! let _plain: &str = password.reveal()?;
//! # Ok(()) }
//! ```

mod audit;
#[cfg(not(target_arch = "wasm32"))]
mod aws_http;
pub mod backends;
mod cache;
mod client;
mod error;
mod events;
mod json;
pub mod options;
pub use json::scrub as scrub_json;
mod policy;
pub mod reference;
pub mod runtime;
mod secret;
#[cfg(not(target_arch = "wasm32"))]
mod server_name;
mod stats;

pub use audit::{
    AuditCallback, AuditRecord, AuditSettings, Fsync, Identity, LastIdentity, Outcome,
};
#[cfg(not(target_arch = "wasm32"))]
pub use aws_http::SdkHttp;
pub use backends::agent::AgentSettings;
pub use backends::aws::{AwsApi, AwsService, AwsSettings};
pub use backends::vault::{Revoke, VaultSettings};
pub use backends::vault_auth::{SecretSource, VaultAuth};
pub use cache::Generation;
pub use client::{
    Client, ClientBuilder, ClientSettings, DbCredentials, Handle, WeakClient, Window,
    MAX_VALUE_BYTES,
};
pub use error::{Error, ErrorKind, Result};
pub use events::{Event, EventKind};
pub use reference::{Reference, Scheme};
pub use runtime::{
    BoxFuture, Clock, ManualClock, Runtime, SleepFuture, Spawn, TlsSettings, Transport,
    TransportError,
};
pub use secret::{Lease, Secret, REDACTED};
pub use stats::{BackendCalls, Histogram, Metrics, Stats, LATENCY_BOUNDS};
