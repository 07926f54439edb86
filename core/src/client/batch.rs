//! Batching: `get_many` answers many references with as few backend calls as
//! the APIs allow (SSM GetParameters: 10 names a call; Secrets Manager
//! BatchGetSecretValue: 20 ids a call), and `prefetch` loads a whole prefix
//! (SSM GetParametersByPath, recursive, every page; Secrets Manager
//! BatchGetSecretValue with a name filter). Results land in the cache as
//! individual entries, exactly as single reads would leave them.
//!
//! Batch reads do not join the single-flight map: a `get` of the same key
//! racing a batch may make its own call. Batches are for warming up and
//! bulk reads, where that race does not arise.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;

use super::{cut, Client, Parsed};
use crate::audit::Outcome;
use crate::backends::aws::{Answers, ASM_BATCH, SSM_BATCH};
use crate::error::{Error, Result};
use crate::reference::{CacheKey, Reference, Scheme};
use crate::secret::{Fetched, Secret};
use crate::stats::Counters;

/// References that one batch API can answer together.
#[derive(Default)]
struct Batchable {
    /// Backend id (SSM name, secret name/ARN) → indexes into the caller's list.
    ssm: HashMap<String, Vec<usize>>,
    asm: HashMap<String, Vec<usize>>,
}

impl Client {
    /// Read many references at once; each answer is what `get` would give.
    pub async fn get_many(&self, references: &[&str]) -> Vec<Result<Secret>> {
        if let Err(e) = self.open() {
            return references
                .iter()
                .map(|r| Err(e.clone().for_reference(r)))
                .collect();
        }
        let parsed: Vec<Result<Arc<Parsed>>> = references
            .iter()
            .map(|r| self.inner.memo.parse(r))
            .collect();
        let mut answers: Vec<Option<Result<Arc<Fetched>>>> = vec![None; references.len()];
        let mut batchable = Batchable::default();
        let mut singles = Vec::new();
        for (i, p) in parsed.iter().enumerate() {
            let Ok(p) = p else { continue };
            let r = &p.reference;
            if let Some(hit) = self.cached_answer(p, self.identity.as_ref()) {
                answers[i] = Some(hit);
                continue;
            }
            let plain = r.version.is_none() && r.stage.is_none();
            // Selectors (`name:3`, `name:label`) come back under the bare
            // name, so only plain names can be matched to their answers.
            // Through an agent every read is one call to it (it batches
            // nothing yet): `fetched` takes them all.
            let direct = self.inner.agent.is_none() && self.inner.settings.batch;
            let slots = match r.scheme {
                Scheme::Ssm if direct && plain && !r.path.contains(':') => &mut batchable.ssm,
                Scheme::Asm if direct && plain => &mut batchable.asm,
                _ => {
                    singles.push(i); // `fetched` counts its own miss
                    continue;
                }
            };
            Counters::bump(&self.inner.counters.misses);
            slots.entry(r.path.clone()).or_default().push(i);
        }

        // `singles` holds only indexes whose parse succeeded.
        let singles_done = join_all(singles.iter().filter_map(|&i| {
            let p = parsed[i].as_ref().ok()?.clone();
            Some(async move { self.fetched(&p, self.identity.as_ref()).await })
        }));
        let batches_done = join_all(
            chunks(&batchable.ssm, Scheme::Ssm, SSM_BATCH)
                .into_iter()
                .chain(chunks(&batchable.asm, Scheme::Asm, ASM_BATCH))
                .map(|(scheme, ids)| {
                    self.read_batch(scheme, ids.into_iter().map(|id| (id, None)).collect())
                }),
        );
        let (singles_done, batches_done) = futures::join!(singles_done, batches_done);

        for (&i, result) in singles.iter().zip(singles_done) {
            answers[i] = Some(result);
        }
        for (scheme, results) in batches_done {
            let slots = if scheme == Scheme::Ssm {
                &batchable.ssm
            } else {
                &batchable.asm
            };
            for (id, result) in results {
                for &i in slots.get(&id).into_iter().flatten() {
                    // Each reference answered by the batch call is a miss
                    // (or error) of its own, for the metrics and the audit.
                    if let Ok(p) = &parsed[i] {
                        let outcome = match &result {
                            Ok(_) => Outcome::Miss,
                            Err(e) => Outcome::of_error(e),
                        };
                        let value = result.as_ref().ok().map(|v| &**v);
                        let identity = self.identity.as_ref();
                        self.inner
                            .note(p, outcome, value, result.as_ref().err(), identity);
                    }
                    answers[i] = Some(result.clone());
                }
            }
        }

        parsed
            .into_iter()
            .zip(answers)
            .zip(references)
            .map(|((parsed, answer), reference)| {
                let parsed = parsed?;
                let fetched = answer
                    .unwrap_or_else(|| {
                        Err(Error::invalid_response(
                            "the batch answer left this reference out",
                        ))
                    })
                    .map_err(|e| e.for_reference(reference))?;
                cut(&parsed, fetched)
            })
            .collect()
    }

    /// Load every secret under a prefix (`ssm:/prod/myapp/` or `asm:prod/myapp/`)
    /// into the cache; returns how many were loaded.
    pub async fn prefetch(&self, prefix: &str) -> Result<usize> {
        Ok(self.prefetch_listed(prefix).await?.len())
    }

    /// `prefetch`, returning the references loaded (`ssm:/prod/myapp/x`),
    /// in the backend's order: what `secretkit ls` prints.
    pub async fn prefetch_listed(&self, prefix: &str) -> Result<Vec<String>> {
        self.open()?;
        let r = Reference::parse(prefix)?;
        let inner = &self.inner;
        let aws = super::read::aws(inner).map_err(|e| e.for_reference(prefix))?;
        let now = inner.rt.clock.now();
        let on_call = || inner.counters.backend_call(r.scheme);
        let answers = match r.scheme {
            Scheme::Ssm => {
                let path = match r.path.trim_end_matches('/') {
                    "" => "/",
                    p => p,
                };
                aws.ssm_path(path, now, &on_call).await
            }
            Scheme::Asm => aws.asm_prefix(&r.path, now, &on_call).await,
            _ => Err(Error::config("prefetch takes an ssm: or asm: prefix")),
        }
        .map_err(|e| e.for_reference(prefix))?;
        let mut loaded = Vec::new();
        for (name, result) in answers {
            if let Ok(value) = result {
                let key = CacheKey {
                    scheme: r.scheme,
                    path: name,
                    version: None,
                    stage: None,
                };
                inner.stored(&key, r.ttl, Arc::new(value));
                loaded.push(key.to_string());
            }
        }
        Ok(loaded)
    }

    /// One batch call; every id gets an answer (a failed call fails them all,
    /// softened by stale values where the cache has them).
    async fn read_batch(
        &self,
        scheme: Scheme,
        ids: Vec<(String, Option<Duration>)>,
    ) -> (Scheme, Vec<(String, Result<Arc<Fetched>>)>) {
        let inner = &self.inner;
        let (ids, ttls): (Vec<String>, Vec<Option<Duration>>) = ids.into_iter().unzip();
        let limiter = inner.limiters.of(scheme);
        // Background work waits its turn, however long.
        if let Some(Ok(wait)) = limiter.map(|l| l.turn(inner.rt.clock.now(), Duration::MAX)) {
            if !wait.is_zero() {
                inner.rt.clock.sleep(wait).await;
            }
        }
        let now = inner.rt.clock.now();
        inner.counters.backend_call(scheme);
        let called: Result<Answers> = match super::read::aws(inner) {
            Ok(aws) if scheme == Scheme::Ssm => aws.ssm_batch(&ids, now).await,
            Ok(aws) => aws.asm_batch(&ids, now).await,
            Err(e) => Err(e),
        };
        if let Some(l) = limiter {
            l.answered(inner.rt.clock.now(), called.as_ref().err());
        }
        let mut answered: HashMap<String, Result<Fetched>> = match called {
            Ok(answers) => answers.into_iter().collect(),
            Err(e) => ids.iter().map(|id| (id.clone(), Err(e.clone()))).collect(),
        };
        let results = ids
            .into_iter()
            .zip(ttls)
            .map(|(id, ttl)| {
                let key = CacheKey {
                    scheme,
                    path: id.clone(),
                    version: None,
                    stage: None,
                };
                let result = answered
                    .remove(&id)
                    .unwrap_or_else(|| Err(Error::not_found("not in the batch answer")))
                    .map(Arc::new);
                match &result {
                    Ok(value) => inner.stored(&key, ttl, value.clone()),
                    Err(error) => inner.failed(&key, error),
                }
                (id, inner.or_stale(&key, result))
            })
            .collect();
        (scheme, results)
    }
}

impl Client {
    /// Refresh ahead in batches: when an SSM or Secrets Manager key comes
    /// due, other keys of that backend due now or soon ride along in the
    /// same GetParameters / BatchGetSecretValue call. `None` when nothing
    /// else is due (a single read is then the cheaper call).
    pub(super) fn batch_refresh(
        &self,
        r: &Reference,
        key: &CacheKey,
    ) -> Option<crate::runtime::BoxFuture<'static, ()>> {
        if self.inner.agent.is_some() || !self.inner.settings.batch {
            return None;
        }
        let size = match r.scheme {
            Scheme::Ssm if !key.path.contains(':') => SSM_BATCH,
            Scheme::Asm => ASM_BATCH,
            _ => return None,
        };
        if key.version.is_some() || key.stage.is_some() {
            return None;
        }
        let now = self.inner.rt.clock.now();
        let others = self.inner.cache.claim_due(r.scheme, key, now, size - 1);
        if others.is_empty() {
            return None;
        }
        for (other, _) in &others {
            Counters::bump(&self.inner.counters.refreshes);
            self.inner.note_key(other, Outcome::Refresh, None);
        }
        let mut ids = vec![(key.path.clone(), r.ttl)];
        ids.extend(others.into_iter().map(|(k, ttl)| (k.path, ttl)));
        let client = self.clone();
        let scheme = r.scheme;
        Some(Box::pin(async move {
            // Results land in the cache and the event stream, key by key.
            let _ = client.read_batch(scheme, ids).await;
        }))
    }
}

/// Split the ids of one backend into calls of at most `size`.
fn chunks(
    ids: &HashMap<String, Vec<usize>>,
    scheme: Scheme,
    size: usize,
) -> Vec<(Scheme, Vec<String>)> {
    let ids: Vec<String> = ids.keys().cloned().collect();
    ids.chunks(size).map(|c| (scheme, c.to_vec())).collect()
}
