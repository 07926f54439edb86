//! `#field` selection from JSON secrets, scrubbing the parse's copies.

use serde_json::Value;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// The value of `field` in a JSON object secret. Strings come out as their
/// text; numbers, booleans and nested values as their JSON.
pub(crate) fn select_field(secret: &[u8], field: &str) -> Result<Zeroizing<Vec<u8>>> {
    let mut parsed: Value = serde_json::from_slice(secret).map_err(|_| {
        Error::invalid_response(format!("cannot select `#{field}`: the secret is not JSON"))
    })?;
    let result = match parsed.as_object_mut() {
        None => Err(Error::invalid_response(format!(
            "cannot select `#{field}`: the secret is not a JSON object"
        ))),
        Some(object) => match object.get_mut(field) {
            None => Err(Error::not_found(format!(
                "the secret has no field `{field}`"
            ))),
            Some(Value::String(s)) => Ok(Zeroizing::new(std::mem::take(s).into_bytes())),
            Some(other) => Ok(Zeroizing::new(
                serde_json::to_vec(other).unwrap_or_default(),
            )),
        },
    };
    scrub(&mut parsed);
    result
}

/// Overwrite every string in a parsed JSON value before it is dropped.
pub fn scrub(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(map) => map.values_mut().for_each(scrub),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let doc = br#"{"user":"app","port":5432,"nested":{"a":1}}"#;
        assert_eq!(&*select_field(doc, "user").unwrap(), b"app");
        assert_eq!(&*select_field(doc, "port").unwrap(), b"5432");
        assert_eq!(&*select_field(doc, "nested").unwrap(), br#"{"a":1}"#);
        let missing = select_field(doc, "nope").unwrap_err();
        assert_eq!(missing.kind(), crate::ErrorKind::NotFound);
        assert!(!missing.to_string().contains("app"));
        let not_json = select_field(b"s3cret value", "x").unwrap_err();
        assert_eq!(not_json.kind(), crate::ErrorKind::InvalidResponse);
        assert!(!not_json.to_string().contains("s3cret"));
        assert!(select_field(b"[1,2]", "x").is_err());
    }
}
