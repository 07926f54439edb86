//! The shared reference vectors (tests/vectors/refs.json), read by every suite.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

use secretkit::{ErrorKind, Reference};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/refs.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn valid_references_parse_as_the_vectors_say() {
    let v = vectors();
    let cases = v["valid"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let input = case["ref"].as_str().unwrap();
        let parsed = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let got: Value = serde_json::from_str(&parsed.to_json()).unwrap();
        assert_eq!(got, case["parsed"], "{input}");
    }
}

#[test]
fn invalid_references_fail_with_a_message_that_says_why() {
    let v = vectors();
    let cases = v["invalid"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let input = case["ref"].as_str().unwrap();
        let err = Reference::parse(input).expect_err(input);
        assert_eq!(err.kind(), ErrorKind::InvalidReference, "{input}");
        assert_eq!(err.kind().as_str(), case["kind"].as_str().unwrap());
        let wanted = case["message_contains"].as_str().unwrap();
        assert!(
            err.to_string().contains(wanted),
            "{input}: `{err}` lacks `{wanted}`"
        );
    }
}
