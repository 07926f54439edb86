//! The one reference grammar: `scheme:path[?query][#field]`.
//!
//! Parsed once here and exposed to every binding, so `ssm:/a/b#x` means the
//! same thing in Rust, Python, Node and the edge.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, Result};

/// Longest reference accepted; far above any real path, low enough that a
/// garbage string cannot make us allocate or log megabytes.
pub const MAX_REFERENCE_LEN: usize = 2048;

/// Where a secret lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// AWS SSM Parameter Store.
    Ssm,
    /// AWS Secrets Manager.
    Asm,
    /// HashiCorp Vault or OpenBao.
    Vault,
    /// A process environment variable.
    Env,
    /// A file, e.g. a mounted Kubernetes or Docker secret.
    File,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Ssm => "ssm",
            Scheme::Asm => "asm",
            Scheme::Vault => "vault",
            Scheme::Env => "env",
            Scheme::File => "file",
        }
    }

    fn parse(s: &str) -> Option<Scheme> {
        Some(match s {
            "ssm" => Scheme::Ssm,
            "asm" => Scheme::Asm,
            "vault" => Scheme::Vault,
            "env" => Scheme::Env,
            "file" => Scheme::File,
            _ => return None,
        })
    }
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    pub scheme: Scheme,
    /// Backend path, exactly as written (SSM `name:version` selectors included).
    pub path: String,
    /// `?version=`: SSM parameter version, Secrets Manager version id, KV v2 version.
    pub version: Option<String>,
    /// `?stage=`: Secrets Manager staging label.
    pub stage: Option<String>,
    /// `?ttl=`: cache TTL for this reference, overriding the client default.
    #[serde(rename = "ttl_ms", serialize_with = "ttl_ms")]
    pub ttl: Option<Duration>,
    /// `#field`: a field of a JSON secret.
    pub field: Option<String>,
}

fn ttl_ms<S: serde::Serializer>(ttl: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match ttl {
        Some(d) => s.serialize_some(&(d.as_millis() as u64)),
        None => s.serialize_none(),
    }
}

/// What identifies one backend read. References that differ only in `#field`
/// or `?ttl=` share a key, so they share one cache entry, one backend call and
/// one lease (the username and password of one database credential belong
/// together).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub scheme: Scheme,
    pub path: String,
    pub version: Option<String>,
    pub stage: Option<String>,
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scheme.as_str(), self.path)?;
        let mut sep = '?';
        if let Some(v) = &self.version {
            write!(f, "{sep}version={v}")?;
            sep = '&';
        }
        if let Some(s) = &self.stage {
            write!(f, "{sep}stage={s}")?;
        }
        Ok(())
    }
}

impl Reference {
    /// Parse a reference string; the error says what is wrong and names the input.
    pub fn parse(input: &str) -> Result<Reference> {
        parse(input).map_err(|msg| Error::invalid_reference(msg).for_reference(&printable(input)))
    }

    pub fn cache_key(&self) -> CacheKey {
        CacheKey {
            scheme: self.scheme,
            path: self.path.clone(),
            version: self.version.clone(),
            stage: self.stage.clone(),
        }
    }

    /// JSON form shared by every binding's `parse_reference` and the test vectors.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A reference as it may appear in an error: bounded and free of control characters.
fn printable(input: &str) -> String {
    let mut out: String = input
        .chars()
        .take(200)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if input.chars().count() > 200 {
        out.push('…');
    }
    out
}

fn parse(input: &str) -> std::result::Result<Reference, String> {
    if input.is_empty() {
        return Err("empty reference".into());
    }
    if input.len() > MAX_REFERENCE_LEN {
        return Err(format!(
            "reference is {} bytes, longer than the limit of {MAX_REFERENCE_LEN}",
            input.len()
        ));
    }
    if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("reference contains the character {c:?}"));
    }
    let (scheme_str, rest) = input
        .split_once(':')
        .ok_or("missing scheme: expected `scheme:path` with scheme ssm, asm, vault, env or file")?;
    let scheme = Scheme::parse(scheme_str).ok_or_else(|| {
        format!("unknown scheme `{scheme_str}`: expected one of ssm, asm, vault, env, file")
    })?;

    let (rest, field) = match rest.split_once('#') {
        Some((r, "")) => return Err(format!("empty field after `#` ({r})")),
        Some((r, f)) => (r, Some(f.to_owned())),
        None => (rest, None),
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err("empty path".into());
    }

    let mut reference = Reference {
        scheme,
        path: path.to_owned(),
        version: None,
        stage: None,
        ttl: None,
        field,
    };
    if let Some(query) = query {
        parse_query(query, &mut reference)?;
    }
    check_scheme_rules(&reference)?;
    Ok(reference)
}

fn parse_query(query: &str, r: &mut Reference) -> std::result::Result<(), String> {
    if query.is_empty() {
        return Err("empty query after `?`".into());
    }
    for pair in query.split('&') {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("query parameter `{pair}` has no value"))?;
        if value.is_empty() {
            return Err(format!("query parameter `{key}` is empty"));
        }
        let slot_taken = match key {
            "version" => r.version.replace(value.to_owned()).is_some(),
            "stage" => r.stage.replace(value.to_owned()).is_some(),
            "ttl" => r.ttl.replace(parse_duration(value)?).is_some(),
            _ => {
                return Err(format!(
                    "unknown query parameter `{key}`: expected version, stage or ttl"
                ))
            }
        };
        if slot_taken {
            return Err(format!("query parameter `{key}` given twice"));
        }
    }
    Ok(())
}

/// `90`, `90s`, `500ms`, `5m`, `2h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 60s, 500ms, 5m or 1h"))?;
    let d = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => n
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or("duration too long")?,
        "h" => n
            .checked_mul(3600)
            .map(Duration::from_secs)
            .ok_or("duration too long")?,
        _ => return Err(format!("`{s}` is not a duration like 60s, 500ms, 5m or 1h")),
    };
    Ok(d)
}

fn check_scheme_rules(r: &Reference) -> std::result::Result<(), String> {
    let scheme = r.scheme.as_str();
    match r.scheme {
        Scheme::Ssm => {
            if r.stage.is_some() {
                return Err("`?stage=` applies to asm: only; SSM uses `name:label`".into());
            }
            if let Some(v) = &r.version {
                if !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("SSM `?version=` must be a number, got `{v}`"));
                }
                if has_ssm_selector(&r.path) {
                    return Err(
                        "give the SSM version either as `name:N` or `?version=N`, not both".into(),
                    );
                }
            }
        }
        Scheme::Asm => {}
        Scheme::Vault => {
            if r.stage.is_some() {
                return Err("`?stage=` applies to asm: only".into());
            }
            if let Some(v) = &r.version {
                if !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("Vault `?version=` must be a number, got `{v}`"));
                }
            }
            if r.path.starts_with('/') || r.path.contains("//") {
                return Err(
                    "Vault paths are relative to the mount, like `secret/myapp/config`".into(),
                );
            }
        }
        Scheme::Env | Scheme::File => {
            if r.version.is_some() || r.stage.is_some() {
                return Err(format!("`{scheme}:` takes no `?version=` or `?stage=`"));
            }
            if r.scheme == Scheme::Env {
                let ok_first = r
                    .path
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
                let ok_rest = r
                    .path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !(ok_first && ok_rest) {
                    return Err(format!("`{}` is not an environment variable name", r.path));
                }
            }
        }
    }
    Ok(())
}

/// SSM accepts `name:version` and `name:label` in the name itself.
fn has_ssm_selector(path: &str) -> bool {
    path.rsplit_once(':').is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_and_ttl_do_not_change_the_cache_key() {
        let a = Reference::parse("vault:database/creds/ro#username").unwrap();
        let b = Reference::parse("vault:database/creds/ro?ttl=30s#password").unwrap();
        assert_eq!(a.cache_key(), b.cache_key());
        assert_ne!(
            a.cache_key(),
            Reference::parse("vault:database/creds/ro?version=2")
                .unwrap()
                .cache_key()
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn errors_name_the_reference_without_control_characters() {
        let err = Reference::parse("nope:\u{7}x").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidReference);
        assert!(!err.reference().unwrap().contains('\u{7}'));
    }
}
