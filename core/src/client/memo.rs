//! Parsed references, remembered by their text: a cache hit should not pay
//! for parsing, building the cache key or allocating the reference's name.
//! Keys come from application code, not from request input, so the fast
//! FxHash (no HashDoS resistance) is the right trade here and in the cache.

use rustc_hash::FxHashMap as HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::reference::{CacheKey, Reference};

/// A reference as the client uses it.
pub(crate) struct Parsed {
    pub reference: Reference,
    pub key: CacheKey,
    /// The text the application wrote, shared by every `Secret` cut from it.
    pub name: Arc<str>,
}

pub(crate) struct ParseMemo {
    map: Mutex<HashMap<Box<str>, Arc<Parsed>>>,
    capacity: usize,
}

impl ParseMemo {
    pub(crate) fn new(capacity: usize) -> ParseMemo {
        ParseMemo {
            map: Mutex::new(HashMap::default()),
            capacity: capacity.max(16),
        }
    }

    /// The parsed form of `text`; invalid references are not remembered.
    pub(crate) fn parse(&self, text: &str) -> Result<Arc<Parsed>> {
        if let Some(hit) = self.lock().get(text) {
            return Ok(hit.clone());
        }
        let reference = Reference::parse(text)?;
        let parsed = Arc::new(Parsed {
            key: reference.cache_key(),
            reference,
            name: text.into(),
        });
        let mut map = self.lock();
        // Applications use a fixed set of references; one that generates
        // them endlessly must not grow memory without bound.
        if map.len() >= self.capacity {
            map.clear();
        }
        map.insert(text.into(), parsed.clone());
        Ok(parsed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<Parsed>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}
