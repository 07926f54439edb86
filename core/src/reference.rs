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

/// Longest `?ttl=` (and any other duration parsed here): a year. Far above
/// any sensible cache lifetime, and small enough that every deadline built
/// from it (`now + ttl`, `ttl × fraction`) stays inside `SystemTime` and
/// `Duration` arithmetic on every platform.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

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
        .map(|c| {
            if c.is_control() || is_format_char(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
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
    if let Some(c) = input
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || is_format_char(*c))
    {
        return Err(format!(
            "reference contains the character U+{:04X}",
            u32::from(c)
        ));
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
    if d > MAX_DURATION {
        return Err(format!(
            "duration `{s}` is longer than the limit of {} days",
            MAX_DURATION.as_secs() / 86_400
        ));
    }
    Ok(d)
}

/// Unicode format characters (general category Cf: bidi controls, zero-width
/// spaces and joiners, the BOM, tags). Invisible in logs and terminals, they
/// let a reference display as another one, so no reference may hold one.
pub(crate) fn is_format_char(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891
        | 0x08E2 | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064
        | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD
        | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001
        | 0xE0020..=0xE007F)
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
            check_vault_path(&r.path)?;
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

/// A Vault path becomes part of an API URL, so it must not be able to name
/// another API path once a server or proxy normalizes it: no `.` or `..`
/// segments, no `%` (which could spell them encoded), no backslash (some
/// proxies read it as `/`). Other characters are percent-encoded when the
/// URL is built (`backends::vault`).
pub(crate) fn check_vault_path(path: &str) -> std::result::Result<(), String> {
    if let Some(c) = path.chars().find(|c| matches!(c, '%' | '\\')) {
        return Err(format!("Vault paths may not contain `{c}`"));
    }
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return Err("Vault paths may not contain `.` or `..` segments".into());
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
        assert_eq!(parse_duration("8760h").unwrap(), MAX_DURATION);
        assert!(parse_duration("8761h").is_err());
        assert!(parse_duration("18446744073709551615").is_err());
    }

    #[test]
    fn vault_paths_cannot_climb_out_of_their_mount() {
        for bad in [
            "vault:secret/../../sys/seal-status",
            "vault:secret/./x",
            "vault:secret/x/..",
            "vault:secret/%2e%2e/sys/mounts",
            "vault:secret/%2E%2E",
            "vault:secret\\..\\sys",
        ] {
            let err = Reference::parse(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidReference, "{bad}");
        }
        assert!(Reference::parse("vault:secret/a.b/..c/d..").is_ok());
    }

    #[test]
    fn invisible_format_characters_are_refused_and_never_echoed() {
        for c in ['\u{202E}', '\u{200B}', '\u{FEFF}', '\u{2066}', '\u{E0041}'] {
            let input = format!("ssm:/prod/{c}db");
            let err = Reference::parse(&input).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidReference);
            assert!(!err.to_string().contains(c), "{err}");
        }
    }

    #[test]
    fn errors_name_the_reference_without_control_characters() {
        let err = Reference::parse("nope:\u{7}x").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidReference);
        assert!(!err.reference().unwrap().contains('\u{7}'));
    }
}
