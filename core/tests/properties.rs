//! Property tests of the invariants the fuzz targets check (core/fuzz, see
//! FUZZING.md), small enough for every `cargo test`: the reference grammar,
//! durations, `#field` selection, Vault answers, AWS error mapping and the
//! bindings' client options, all through the public API on a scripted
//! transport and simulated time.
//!
//! Seeds are fixed, so a failure names the same input on every run.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../fuzz/src/harness.rs"]
mod harness;

use harness::*;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use secretkit::{ClientSettings, ErrorKind, Reference};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5ec7_e7c1),
        max_shrink_iters: 512,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------- strategies

/// Text shaped like references: every scheme, query keys, fields, unicode,
/// and numbers up to and past u64::MAX.
fn reference_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        Just("ssm"),
        Just("asm"),
        Just("vault"),
        Just("env"),
        Just("file"),
        Just("SSM"),
        Just("x"),
        Just(""),
    ];
    let path = "[a-zA-Z0-9/_:.\\-é€🔑 ]{0,12}";
    let number = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_owned()),
        Just("99999999999999999999999".to_owned()),
        "[0-9]{0,3}".prop_map(|s| s),
    ];
    let value = prop_oneof![
        (number, unit()).prop_map(|(n, u)| format!("{n}{u}")),
        "[a-zA-Z0-9=:]{0,8}",
    ];
    let key = prop::sample::select(vec!["version", "stage", "ttl", "x", ""]);
    let pair = (key, value).prop_map(|(k, v)| format!("{k}={v}"));
    let query = prop::collection::vec(pair, 0..3).prop_map(|pairs| {
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    });
    let field = prop::option::of("[a-z_?#&=é🔑]{0,6}")
        .prop_map(|f| f.map(|f| format!("#{f}")).unwrap_or_default());
    (scheme, path, query, field).prop_map(|(s, p, q, f)| format!("{s}:{p}{q}{f}"))
}

fn unit() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "s", "ms", "m", "h", "d", "µs"])
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,6}",
        any::<String>(),
        Just(String::new()),
        Just("x\"y\\z\u{0}\u{7f}".to_owned()),
    ]
}

fn string_value() -> impl Strategy<Value = S> {
    prop_oneof![
        2 => Just(S::Marker),
        1 => text().prop_map(S::Text),
        1 => (text(), text()).prop_map(|(a, b)| S::Around(a, b)),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => text(),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(NUMBERS).prop_map(str::to_owned),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
    ]
}

/// Any JSON document, with the marker planted in its strings.
fn json() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        number().prop_map(J::Num),
        string_value().prop_map(J::Str),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Arr),
            prop::collection::vec((key(), inner), 0..6).prop_map(J::Obj),
        ]
    })
}

fn json_object() -> impl Strategy<Value = J> {
    prop::collection::vec((key(), json()), 0..6).prop_map(J::Obj)
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => Just(200u16),
        2 => prop::sample::select(vec![204u16, 400, 401, 403, 404, 412, 429, 500, 503]),
        1 => 100u16..1000,
    ]
}

/// A Vault answer: well-formed KV v2 / logical / auth / error shapes with
/// arbitrary values, or any JSON, or any bytes.
fn vault_answer() -> impl Strategy<Value = Answer> {
    let kv2 = (json_object(), prop::option::of(number())).prop_map(|(data, version)| {
        J::obj(vec![(
            "data",
            J::obj(vec![
                ("data", data),
                (
                    "metadata",
                    J::obj(vec![("version", version.map_or(J::Null, J::Num))]),
                ),
            ]),
        )])
    });
    let logical = (
        json_object(),
        prop::option::of("[a-z/]{1,12}"),
        number(),
        any::<bool>(),
    )
        .prop_map(|(data, lease_id, duration, renewable)| {
            J::obj(vec![
                ("data", data),
                ("lease_id", J::text(lease_id.as_deref().unwrap_or(""))),
                ("lease_duration", J::Num(duration)),
                ("renewable", J::Bool(renewable)),
            ])
        });
    let auth = (number(), any::<bool>()).prop_map(|(ttl, renewable)| {
        let block = J::obj(vec![
            ("client_token", J::Str(S::Marker)),
            ("lease_duration", J::Num(ttl.clone())),
            ("ttl", J::Num(ttl)),
            ("renewable", J::Bool(renewable)),
        ]);
        J::obj(vec![("auth", block.clone()), ("data", block)])
    });
    let errors = prop::collection::vec(text(), 0..3).prop_map(|e| {
        J::obj(vec![(
            "errors",
            J::Arr(e.into_iter().map(|e| J::Str(S::Text(e))).collect()),
        )])
    });
    let body = prop_oneof![
        3 => kv2,
        3 => logical,
        1 => auth,
        1 => errors,
        2 => json(),
    ];
    let answer = (status(), body).prop_map(|(status, body)| Answer::json(status, &body));
    let raw =
        (status(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(status, body)| Answer {
            status,
            headers: vec![],
            body: sanitize_bytes(&body),
            failure: 0,
        });
    let failed = (1u8..5).prop_map(|failure| Answer {
        status: 200,
        headers: vec![],
        body: vec![],
        failure,
    });
    prop_oneof![8 => answer, 1 => raw, 1 => failed]
}

fn preflight() -> impl Strategy<Value = Preflight> {
    prop::sample::select(vec![
        Preflight::KvV2,
        Preflight::KvV1,
        Preflight::NotFound,
        Preflight::Denied,
        Preflight::Scripted,
    ])
}

// ---------------------------------------------------------------- grammar

proptest! {
    #![proptest_config(config(2000))]

    /// Parsing never panics, is deterministic, names the input in errors,
    /// and a parsed reference writes back (`to_json`, canonical form).
    #[test]
    fn references_parse_and_write_back(input in reference_like()) {
        check_reference(&input);
        check_duration(&input);
    }

    #[test]
    fn any_string_is_parsed_or_refused(input in any::<String>()) {
        check_reference(&input);
        check_duration(&input);
    }

    #[test]
    fn durations_write_back(n in any::<u64>(), unit in unit()) {
        check_duration(&format!("{n}{unit}"));
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// `to_json` reports the `?ttl=` that was parsed. Fails today for TTLs
    /// past u64::MAX milliseconds (e.g. `?ttl=18446744073709551615`): the
    /// milliseconds are cast with `as u64` and wrap.
    #[test]
    fn to_json_reports_the_ttl_parsed(secs in any::<u64>()) {
        check_reference(&format!("env:HOME?ttl={secs}"));
    }
}

// ---------------------------------------------------------------- cache arithmetic

proptest! {
    #![proptest_config(config(64))]

    /// Any TTL the grammar accepts can be read and cached. Fails today for
    /// huge TTLs (e.g. `env:VAR?ttl=18446744073709551615`): the jitter's
    /// `Duration::mul_f64` and `SystemTime + ttl` overflow and panic.
    #[test]
    fn any_accepted_ttl_can_be_cached(ttl in prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| format!("{n}ms")),
        (0u64..307_445_734_561_825_860).prop_map(|n| format!("{n}m")),
        prop::sample::select(vec!["0".to_owned(), "1ms".to_owned(), "300s".to_owned()]),
    ], jitter in any::<bool>()) {
        std::env::set_var("SECRETKIT_PROP_TTL", "v");
        let reference = format!("env:SECRETKIT_PROP_TTL?ttl={ttl}");
        prop_assume!(Reference::parse(&reference).is_ok());
        let rig = Rig::new(Preflight::Scripted, vec![]);
        let settings = ClientSettings {
            ttl_jitter: if jitter { 0.1 } else { 0.0 },
            ..ClientSettings::default()
        };
        let client = vault_client(&rig, settings).unwrap();
        exercise(&rig, &client, &reference);
    }
}

// ---------------------------------------------------------------- #field

/// What `#field` selection answers must agree with serde_json's reading.
fn check_field(
    reference: &str,
    value: &[u8],
    field: &str,
    result: &secretkit::Result<secretkit::Secret>,
) {
    check_result(reference, result);
    let expected: Result<Vec<u8>, ErrorKind> = (|| {
        let parsed: serde_json::Value =
            serde_json::from_slice(value).map_err(|_| ErrorKind::InvalidResponse)?;
        let object = parsed.as_object().ok_or(ErrorKind::InvalidResponse)?;
        match object.get(field) {
            None => Err(ErrorKind::NotFound),
            Some(serde_json::Value::String(s)) => Ok(s.as_bytes().to_vec()),
            Some(other) => Ok(serde_json::to_vec(other).unwrap()),
        }
    })();
    match (expected, result) {
        (Ok(bytes), Ok(secret)) => assert_eq!(secret.reveal_bytes(), &bytes[..]),
        (Err(kind), Err(e)) => assert_eq!(e.kind(), kind, "{e}"),
        (Ok(_), Err(e)) => panic!("{reference}: expected a value, got {e}"),
        (Err(kind), Ok(_)) => panic!("{reference}: expected {kind}, got a value"),
    }
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(KEYS).prop_map(str::to_owned),
        "[a-zA-Z_é🔑#?&=]{1,6}",
    ]
    .prop_map(|f| sanitize(&f))
    .prop_filter("a field the grammar accepts", |f| {
        Reference::parse(&format!("env:X#{f}")).is_ok()
    })
}

proptest! {
    #![proptest_config(config(300))]

    /// `env:VAR#field` on any bytes: the field serde_json sees, or a typed
    /// error that names the reference and never shows the value.
    #[test]
    fn field_selection_on_any_value(
        value in prop_oneof![
            json().prop_map(|j| j.render().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..64),
        ],
        field in field_name(),
    ) {
        let mut value = sanitize_bytes(&value);
        value.retain(|b| *b != 0);
        let var = "SECRETKIT_PROP_FIELD";
        std::env::set_var(var, <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&value));
        let rig = Rig::new(Preflight::Scripted, vec![]);
        let client = vault_client(&rig, exact_settings()).unwrap();
        let reference = format!("env:{var}#{field}");
        let result = rig.drive(client.get(&reference));
        check_field(&reference, &value, &field, &result);
    }

    /// `vault:…#field` on a KV v2 answer whose data is any JSON object.
    #[test]
    fn field_selection_on_vault_answers(data in json_object(), field in field_name()) {
        let body = J::obj(vec![(
            "data",
            J::obj(vec![("data", data.clone()), ("metadata", J::obj(vec![("version", J::Num("3".into()))]))]),
        )]);
        // Numbers serde_json refuses (1e400) spoil the whole answer.
        let value = serde_json::from_str::<serde_json::Value>(&data.render())
            .ok()
            .map(|v| serde_json::to_vec(&v).unwrap());
        let rig = Rig::new(Preflight::KvV2, vec![Answer::json(200, &body)]);
        let client = vault_client(&rig, exact_settings()).unwrap();
        let reference = format!("vault:secret/app#{field}");
        let result = rig.drive(client.get(&reference));
        let Some(value) = value else {
            check_result(&reference, &result);
            prop_assert_eq!(result.err().map(|e| e.kind()), Some(ErrorKind::InvalidResponse));
            return Ok(());
        };
        check_field(&reference, &value, &field, &result);
        if let Ok(secret) = &result {
            assert_eq!(secret.version(), Some("3"));
        }
    }
}

// ---------------------------------------------------------------- Vault answers

proptest! {
    #![proptest_config(config(150))]

    /// Any sequence of Vault answers (reads, preflights, renewals, token
    /// lookups) through a client on simulated time: no panic, typed errors
    /// that name the reference, no value in errors, events or formatting.
    /// Fails today for huge `lease_duration`s (e.g. 18446744073709551615):
    /// `SystemTime + Duration` overflows in the cache and lease arithmetic.
    #[test]
    fn vault_answers_decode_or_fail_typed(
        preflight in preflight(),
        answers in prop::collection::vec(vault_answer(), 1..4),
        reference in prop::sample::select(vec![
            "vault:secret/app",
            "vault:secret/app#password",
            "vault:secret/app?version=2#api_key",
            "vault:database/creds/ro#username",
            "vault:kv/app?ttl=60s",
        ]),
        jitter in any::<bool>(),
    ) {
        let rig = Rig::new(preflight, answers);
        let settings = ClientSettings {
            ttl_jitter: if jitter { 0.1 } else { 0.0 },
            ..ClientSettings::default()
        };
        let client = vault_client(&rig, settings).unwrap();
        exercise(&rig, &client, reference);
    }
}

/// The smallest form of the lease overflow, as a plain test.
#[test]
fn a_huge_lease_duration_is_not_a_panic() {
    let body = J::obj(vec![
        ("data", J::obj(vec![("password", J::Str(S::Marker))])),
        ("lease_id", J::text("database/creds/ro/abc")),
        ("lease_duration", J::Num("18446744073709551615".into())),
        ("renewable", J::Bool(true)),
    ]);
    let rig = Rig::new(Preflight::NotFound, vec![Answer::json(200, &body)]);
    let client = vault_client(&rig, exact_settings()).unwrap();
    exercise(&rig, &client, "vault:database/creds/ro#password");
}

/// Every error names the reference, including the refusal after `close()`.
#[test]
fn a_read_after_close_names_the_reference() {
    std::env::set_var("SECRETKIT_PROP_CLOSED", "v");
    let rig = Rig::new(Preflight::Scripted, vec![]);
    let client = vault_client(&rig, exact_settings()).unwrap();
    rig.drive(client.close());
    let reference = "env:SECRETKIT_PROP_CLOSED";
    let result = rig.drive(client.get(reference));
    let err = result.as_ref().expect_err("a closed client reads nothing");
    assert_eq!(err.kind(), ErrorKind::Config);
    check_result(reference, &result);
}

// ---------------------------------------------------------------- AWS answers

/// An empty AWS endpoint (e.g. Python `aws={"endpoint": ""}`) is refused or
/// ignored, not a panic inside the SDK's endpoint resolver ("URL was unset").
#[test]
fn an_empty_aws_endpoint_is_not_a_panic() {
    let config = harness::Config {
        binding: Binding::Python,
        options: Options::default(),
        vault: None,
        aws: Some(("us-east-1".into(), Some(String::new()))),
    };
    for reference in ["asm:prod/db", "ssm:/prod/db"] {
        let body = J::obj(vec![("SecretString", J::Str(S::Marker))]);
        let rig = Rig::new(Preflight::Scripted, vec![Answer::json(200, &body)]);
        check_config(&config, &rig, reference);
    }
}

proptest! {
    #![proptest_config(config(40))]

    /// AWS error answers map to the documented kinds (by code, whatever the
    /// 4xx/5xx status and however the code is qualified), and SSM / Secrets
    /// Manager answers with planted values never show them in errors.
    #[test]
    fn aws_errors_map_by_code(
        code in prop::sample::select(AWS_CODES),
        status in prop::sample::select(vec![400u16, 403, 404, 429, 500, 503]),
        qualified in any::<bool>(),
        message in text(),
        asm in any::<bool>(),
    ) {
        let wire = if qualified { format!("com.amazonaws.ssm#{code}") } else { code.to_owned() };
        let body = J::obj(vec![("__type", J::text(&wire)), ("message", J::Str(S::Text(message)))]);
        let rig = Rig::new(Preflight::Scripted, vec![Answer::json(status, &body)]);
        let client = aws_client(&rig, exact_settings()).unwrap();
        let reference = if asm { "asm:prod/db#password" } else { "ssm:/prod/db" };
        let result = rig.drive(client.get(reference));
        check_result(reference, &result);
        let err = result.as_ref().expect_err("an error answer is an error");
        prop_assert_eq!(err.kind(), aws_kind(code), "{} → {}", wire, err);
    }

    #[test]
    fn aws_values_never_leak(
        value in json(),
        version in number(),
        field in prop::option::of(field_name()),
        asm in any::<bool>(),
        status in status(),
    ) {
        let body = if asm {
            J::obj(vec![("Name", J::text("prod/db")), ("SecretString", value), ("VersionId", J::text("v1"))])
        } else {
            J::obj(vec![("Parameter", J::obj(vec![
                ("Name", J::text("/prod/db")),
                ("Type", J::text("SecureString")),
                ("Value", value),
                ("Version", J::Num(version)),
            ]))])
        };
        let rig = Rig::new(Preflight::Scripted, vec![Answer::json(status, &body)]);
        let client = aws_client(&rig, exact_settings()).unwrap();
        let mut reference = if asm { "asm:prod/db".to_owned() } else { "ssm:/prod/db".to_owned() };
        if let Some(f) = field {
            reference.push('#');
            reference.push_str(&f);
        }
        let result = rig.drive(client.get(&reference));
        check_result(&reference, &result);
    }
}

// ---------------------------------------------------------------- binding options

/// Seconds as a binding passes them: mostly values every binding accepts
/// (up to 1.8e19 s, the most `Duration::try_from_secs_f64` takes), some it
/// refuses.
fn seconds() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(prop_oneof![
        8 => prop::sample::select(vec![0.0, 0.001, 1.0, 60.0, 300.0, 3600.0, 1e9, 1e12, 1.8e19]),
        1 => prop::sample::select(vec![1e300, f64::MAX, -1.0, f64::NAN, f64::INFINITY]),
        1 => any::<f64>(),
    ])
}

fn fraction() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(prop_oneof![
        8 => prop::sample::select(vec![0.0, 0.1, 0.5, 0.75, 1.0]),
        1 => any::<f64>(),
    ])
}

fn count() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(prop::sample::select(vec![
        1.0,
        2.0,
        1024.0,
        1e6,
        1_099_511_627_776.0,
        4_294_967_295.0,
        9_007_199_254_740_992.0,
        1.8e19,
        0.0,
        2.5,
    ]))
}

proptest! {
    #![proptest_config(config(120))]

    /// Whatever client options a binding accepts (the core's
    /// `options::Tunables` checks, through `binding_settings`), a client
    /// built with them reads, caches, expires and closes without panicking.
    #[test]
    fn accepted_options_never_panic(
        binding in prop::sample::select(vec![Binding::Python, Binding::Node, Binding::Wasm]),
        times in prop::collection::vec(seconds(), 6),
        fractions in (fraction(), fraction()),
        max_entries in count(),
        revoke in prop::option::of(any::<bool>()),
        reference in prop::sample::select(vec!["vault:secret/app#password", "env:SECRETKIT_PROP_OPT"]),
        answer in vault_answer(),
    ) {
        std::env::set_var("SECRETKIT_PROP_OPT", "v");
        let options = Options {
            default_ttl: times[0],
            ttl_jitter: fractions.0,
            refresh_ahead: fractions.1,
            max_stale: times[1],
            negative_ttl: times[2],
            retry_base: times[3],
            retry_max: times[4],
            max_entries,
            timeout: times[5],
            revoke_on_close: revoke,
            revoke_replaced_after: None,
        };
        let config = harness::Config {
            binding,
            options,
            vault: Some(("http://127.0.0.1:8200".into(), None, Login::Token("t".into()))),
            aws: None,
        };
        let rig = Rig::new(Preflight::KvV2, vec![answer]);
        check_config(&config, &rig, reference);
    }
}

/// The vectors' references all hold the grammar invariants.
#[test]
fn shared_vectors_hold_the_invariants() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/refs.json"
    ))
    .unwrap();
    let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut n = 0;
    for group in ["valid", "invalid"] {
        for v in vectors[group].as_array().into_iter().flatten() {
            if let Some(r) = v["ref"].as_str() {
                check_reference(r);
                n += 1;
            }
        }
    }
    assert!(n > 10, "only {n} vectors");
}
