//! One backend read: the scheme's backend, retries of transient failures
//! within the read's time budget, and what lands in the cache, the lease
//! bookkeeping and the event stream. Panics are contained here, so a bug hit
//! by one read cannot wedge the readers sharing it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::future::FutureExt;

use super::{Inner, SharedFetch, MAX_VALUE_BYTES};
use crate::backends::aws::Aws;
use crate::backends::local;
use crate::error::{Error, ErrorKind, Result};
use crate::policy::{backoff, later};
use crate::reference::{CacheKey, Reference, Scheme};
use crate::runtime::{with_timeout, BoxFuture};
use crate::secret::Fetched;

/// First wait between attempts; doubles, capped at `MAX_RETRY_WAIT`.
const RETRY_BASE: Duration = Duration::from_millis(100);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);

/// One backend read whose result lands in the cache and the event stream; it
/// removes itself from `in_flight` when done, whoever is polling it, even if
/// the read panicked.
pub(super) fn start_fetch(inner: Arc<Inner>, r: Reference, key: CacheKey, id: u64) -> SharedFetch {
    // With the `tracing` feature: one `secretkit.read` span per backend read
    // (retries included), shared by every reader that joined it.
    #[cfg(feature = "tracing")]
    let span = tracing::debug_span!(target: "secretkit", "secretkit.read", reference = %key);
    let fut: BoxFuture<'static, Result<Arc<Fetched>>> = Box::pin(async move {
        let work = AssertUnwindSafe(read_and_store(&inner, &r, &key)).catch_unwind();
        let result = match work.await {
            Ok(result) => result,
            Err(panic) => {
                let error = panicked(panic.as_ref());
                inner.failed(&key, &error);
                Err(error)
            }
        };
        let mut in_flight = inner.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if in_flight.get(&key).is_some_and(|f| f.id == id) {
            in_flight.remove(&key);
        }
        drop(in_flight);
        result
    });
    #[cfg(feature = "tracing")]
    let fut: BoxFuture<'static, Result<Arc<Fetched>>> =
        Box::pin(tracing::Instrument::instrument(fut, span));
    fut.shared()
}

/// A panic as an error. Only a `&'static str` payload is quoted: it is text
/// from our code, never a runtime value that could be a secret.
fn panicked(payload: &(dyn std::any::Any + Send)) -> Error {
    let what = payload
        .downcast_ref::<&'static str>()
        .copied()
        .unwrap_or("");
    Error::new(
        ErrorKind::Unavailable,
        format!("internal error while reading (a secretkit bug, please report it) {what}"),
    )
}

async fn read_and_store(inner: &Arc<Inner>, r: &Reference, key: &CacheKey) -> Result<Arc<Fetched>> {
    let started = inner.rt.clock.now();
    let result = fetch_with_retries(inner, r, key).await.map(Arc::new);
    let took = inner.rt.clock.now().duration_since(started);
    inner.counters.latency(r.scheme, took.unwrap_or_default());
    let value = match result {
        Ok(value) => value,
        Err(error) => {
            inner.failed(key, &error);
            return Err(error);
        }
    };
    inner.stored(key, r.ttl, value.clone());
    if let Some(orphan) = inner.track_lease(key, r, &value) {
        // The client was closed while this read was under way: nobody would
        // renew or revoke this lease, so it is revoked now, not handed out.
        inner.cache.remove(key);
        if inner.settings.revoke_on_close {
            if let Some(vault) = &inner.vault {
                let _ = vault.revoke_lease(&orphan).await;
            }
        }
        return Err(Error::config("the client was closed during the read"));
    }
    Ok(value)
}

/// One layer of retries (the AWS SDK's own are off): a transient failure is
/// retried with capped, jittered exponential backoff, or after the server's
/// `Retry-After`, as long as the cache has nothing it could serve instead
/// (then stale-if-error answers and the cache's own backoff schedules the
/// next try) and the read's time budget (`timeout`) allows.
async fn fetch_with_retries(inner: &Inner, r: &Reference, key: &CacheKey) -> Result<Fetched> {
    let clock = &*inner.rt.clock;
    let budget = inner.settings.timeout;
    let deadline = later(clock.now(), budget);
    let attempts = async {
        let mut attempt = 1;
        let limiter = inner.limiters.of(r.scheme);
        loop {
            if let Some(limiter) = limiter {
                let now = clock.now();
                let left = deadline.duration_since(now).unwrap_or_default();
                match limiter.turn(now, left) {
                    Ok(wait) if wait.is_zero() => {}
                    Ok(wait) => clock.sleep(wait).await,
                    Err(_) => {
                        return Err(Error::new(
                            ErrorKind::Throttled,
                            "the backend is throttling this client; its next turn comes after \
                             the read's budget",
                        ))
                    }
                }
            }
            inner.counters.backend_call(r.scheme);
            let answer = fetch(inner, r).await;
            let now = clock.now();
            if let Some(l) = limiter {
                l.answered(now, answer.as_ref().err());
            }
            let error = match answer {
                Ok(fetched) => return Ok(fetched),
                Err(e) => e,
            };
            let wait = error.retry_after().unwrap_or_else(|| {
                // "Full jitter": anywhere up to the backoff, so a fleet that
                // failed together does not retry together.
                let cap = backoff(attempt, RETRY_BASE, MAX_RETRY_WAIT);
                crate::policy::scale(cap, inner.rng.unit()).max(Duration::from_millis(10))
            });
            let retry = error.kind().is_transient()
                && attempt < inner.settings.read_attempts
                && later(now, wait) < deadline
                && inner.cache.servable(key, now).is_none();
            #[cfg(feature = "tracing")]
            tracing::debug!(
                target: "secretkit",
                attempt,
                retry,
                error = %error,
                "secretkit backend call failed"
            );
            if !retry {
                return Err(error);
            }
            clock.sleep(wait).await;
            attempt += 1;
        }
    };
    with_timeout(clock, budget, attempts)
        .await
        .unwrap_or_else(|| {
            Err(Error::new(
                ErrorKind::Timeout,
                format!("no answer within the read's budget of {budget:?}"),
            ))
        })
}

/// Read from the backend the scheme names.
async fn fetch(inner: &Inner, r: &Reference) -> Result<Fetched> {
    let now = inner.rt.clock.now();
    let fetched = match (&inner.agent, r.scheme) {
        (Some(agent), Scheme::Ssm | Scheme::Asm | Scheme::Vault) => agent.read(r, now).await?,
        (_, Scheme::Ssm) => aws(inner)?.ssm(r, now).await?,
        (_, Scheme::Asm) => aws(inner)?.asm(r, now).await?,
        (_, Scheme::Vault) => {
            inner
                .vault
                .as_ref()
                .ok_or_else(|| {
                    Error::config("Vault is not configured (set VAULT_ADDR and VAULT_TOKEN)")
                })?
                .read(r, now)
                .await?
        }
        (_, Scheme::Env | Scheme::File) if !inner.settings.allow_local => {
            return Err(Error::new(
                ErrorKind::AccessDenied,
                "env: and file: references are turned off for this client (allow_local)",
            ))
        }
        (_, Scheme::Env) => local::env(r, now)?,
        (_, Scheme::File) => local_file(inner, r, now).await?,
    };
    if fetched.value.len() > MAX_VALUE_BYTES {
        return Err(Error::invalid_response(format!(
            "the value is {} bytes, over the limit of {MAX_VALUE_BYTES}",
            fetched.value.len()
        )));
    }
    Ok(fetched)
}

/// A file read blocks (a FIFO, a hung network mount): natively it runs on
/// tokio's blocking pool under the read's timeout, so it can stall neither
/// a runtime thread nor the reader past its budget.
async fn local_file(inner: &Inner, r: &Reference, now: std::time::SystemTime) -> Result<Fetched> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        let reference = r.clone();
        let task = handle.spawn_blocking(move || local::file(&reference, now));
        let timeout = inner.settings.timeout;
        return match with_timeout(&*inner.rt.clock, timeout, task).await {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::new(ErrorKind::Unavailable, "the file read failed")),
            None => Err(Error::new(
                ErrorKind::Timeout,
                format!("the file could not be read within {timeout:?}"),
            )),
        };
    }
    let _ = inner;
    local::file(r, now)
}

pub(super) fn aws(inner: &Inner) -> Result<&Aws> {
    inner
        .aws
        .as_ref()
        .ok_or_else(|| Error::config("AWS is not configured for this client"))
}
