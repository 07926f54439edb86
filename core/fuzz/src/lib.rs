//! Fuzz inputs for secretkit: `arbitrary` types that turn fuzzer bytes into
//! the plain data `harness` checks (the property tests include the same
//! harness and feed it from proptest instead).
//!
//! Each `run_*` function is one fuzz target's body; the targets in
//! fuzz_targets/ only hand them the bytes, so the same code also runs from
//! the `replay` binary (no libFuzzer needed).

#![allow(clippy::unwrap_used)] // a harness fails loudly by design

pub mod harness;

use arbitrary::{Arbitrary, Unstructured};
use harness::*;
use secretkit::{ClientSettings, ErrorKind, Reference};

// ------------------------------------------------------------- documents

#[derive(Arbitrary, Debug)]
pub enum FJ {
    Null,
    Bool(bool),
    Num(Num),
    Str(FS),
    Arr(Vec<FJ>),
    Obj(Vec<(Key, FJ)>),
}

#[derive(Arbitrary, Debug)]
pub enum FS {
    Marker,
    Text(String),
    Around(String, String),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Key {
    Known(u8),
    Other(String),
}

impl Key {
    pub fn text(&self) -> String {
        match self {
            Key::Known(i) => KEYS[*i as usize % KEYS.len()].to_owned(),
            Key::Other(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum Num {
    Known(u8),
    U(u64),
    I(i64),
    F(f64),
}

impl Num {
    pub fn text(&self) -> String {
        match self {
            Num::Known(i) => NUMBERS[*i as usize % NUMBERS.len()].to_owned(),
            Num::U(n) => n.to_string(),
            Num::I(n) => n.to_string(),
            Num::F(f) if f.is_finite() => format!("{f:e}"),
            Num::F(_) => "1e999".to_owned(),
        }
    }
}

impl FS {
    fn to_s(&self) -> S {
        match self {
            FS::Marker => S::Marker,
            FS::Text(t) => S::Text(t.clone()),
            FS::Around(a, b) => S::Around(a.clone(), b.clone()),
        }
    }
}

impl FJ {
    pub fn to_j(&self) -> J {
        self.to_j_depth(0)
    }

    fn to_j_depth(&self, depth: usize) -> J {
        if depth > 40 {
            return J::Null;
        }
        match self {
            FJ::Null => J::Null,
            FJ::Bool(b) => J::Bool(*b),
            FJ::Num(n) => J::Num(n.text()),
            FJ::Str(s) => J::Str(s.to_s()),
            FJ::Arr(items) => J::Arr(items.iter().map(|i| i.to_j_depth(depth + 1)).collect()),
            FJ::Obj(fields) => J::Obj(
                fields
                    .iter()
                    .map(|(k, v)| (k.text(), v.to_j_depth(depth + 1)))
                    .collect(),
            ),
        }
    }
}

fn object(fields: &[(Key, FJ)]) -> J {
    J::Obj(fields.iter().map(|(k, v)| (k.text(), v.to_j())).collect())
}

fn opt_num(n: &Option<Num>) -> J {
    n.as_ref().map(|n| J::Num(n.text())).unwrap_or(J::Null)
}

// ------------------------------------------------------------- answers

/// Well-formed answers of each kind, with fuzzed values, so the fuzzer
/// reaches the decoding past the JSON parser quickly.
#[derive(Arbitrary, Debug)]
pub enum Template {
    VaultKv2 {
        data: Vec<(Key, FJ)>,
        version: Option<Num>,
        extra: Option<(Key, FJ)>,
    },
    VaultLogical {
        data: Vec<(Key, FJ)>,
        lease_id: Option<String>,
        lease_duration: Option<Num>,
        renewable: Option<bool>,
    },
    VaultAuth {
        token: FS,
        lease_duration: Option<Num>,
        renewable: Option<bool>,
        creation_ttl: Option<Num>,
    },
    VaultErrors(Vec<String>),
    Ssm {
        value: FJ,
        version: Option<Num>,
        kind: Option<String>,
    },
    Asm {
        string: Option<FJ>,
        binary: Option<FJ>,
        version_id: Option<String>,
        stages: Option<FJ>,
    },
    AwsError {
        code: Code,
        message: Option<String>,
        key: u8,
    },
}

/// AWS error codes as they come on the wire.
#[derive(Arbitrary, Debug)]
pub enum Code {
    Known(u8),
    Qualified(u8),
    Suffixed(u8),
    Other(String),
}

impl Code {
    /// (wire text, the code the AWS layer should report if known)
    fn wire(&self) -> (String, Option<&'static str>) {
        let known = |i: &u8| AWS_CODES[*i as usize % AWS_CODES.len()];
        match self {
            Code::Known(i) => (known(i).to_owned(), Some(known(i))),
            Code::Qualified(i) => (format!("com.amazonaws.ssm#{}", known(i)), Some(known(i))),
            Code::Suffixed(i) => (
                format!("{}:http://internal.amazon.com/coral/", known(i)),
                Some(known(i)),
            ),
            Code::Other(s) => (s.clone(), None),
        }
    }
}

impl Template {
    /// The body, and for AWS errors the code the mapping should see.
    fn render(&self) -> (String, Option<&'static str>) {
        let j = match self {
            Template::VaultKv2 {
                data,
                version,
                extra,
            } => {
                let mut meta = vec![("version", opt_num(version))];
                if let Some((k, v)) = extra {
                    meta.push(("deletion_time", J::text(&k.text())));
                    meta.push(("custom_metadata", v.to_j()));
                }
                J::obj(vec![(
                    "data",
                    J::obj(vec![("data", object(data)), ("metadata", J::obj(meta))]),
                )])
            }
            Template::VaultLogical {
                data,
                lease_id,
                lease_duration,
                renewable,
            } => J::obj(vec![
                ("data", object(data)),
                (
                    "lease_id",
                    lease_id.as_deref().map(J::text).unwrap_or(J::text("")),
                ),
                ("lease_duration", opt_num(lease_duration)),
                ("renewable", renewable.map(J::Bool).unwrap_or(J::Null)),
            ]),
            Template::VaultAuth {
                token,
                lease_duration,
                renewable,
                creation_ttl,
            } => {
                let block = J::obj(vec![
                    ("client_token", J::Str(token.to_s())),
                    ("lease_duration", opt_num(lease_duration)),
                    ("ttl", opt_num(lease_duration)),
                    ("renewable", renewable.map(J::Bool).unwrap_or(J::Null)),
                    ("creation_ttl", opt_num(creation_ttl)),
                ]);
                J::obj(vec![("auth", block.clone()), ("data", block)])
            }
            Template::VaultErrors(errors) => J::obj(vec![(
                "errors",
                J::Arr(errors.iter().map(|e| J::text(e)).collect()),
            )]),
            Template::Ssm {
                value,
                version,
                kind,
            } => J::obj(vec![(
                "Parameter",
                J::obj(vec![
                    ("Name", J::text("/prod/db")),
                    ("Type", J::text(kind.as_deref().unwrap_or("SecureString"))),
                    ("Value", value.to_j()),
                    ("Version", opt_num(version)),
                ]),
            )]),
            Template::Asm {
                string,
                binary,
                version_id,
                stages,
            } => {
                let mut fields = vec![
                    (
                        "ARN",
                        J::text("arn:aws:secretsmanager:us-east-1:1:secret:x"),
                    ),
                    ("Name", J::text("prod/db")),
                    ("CreatedDate", J::Num("1.523477145713E9".into())),
                ];
                if let Some(s) = string {
                    fields.push(("SecretString", s.to_j()));
                }
                if let Some(b) = binary {
                    fields.push(("SecretBinary", b.to_j()));
                }
                if let Some(v) = version_id {
                    fields.push(("VersionId", J::text(v)));
                }
                if let Some(s) = stages {
                    fields.push(("VersionStages", s.to_j()));
                }
                J::obj(fields)
            }
            Template::AwsError { code, message, key } => {
                let (wire, expected) = code.wire();
                let code_key = ["__type", "code", "Code"][*key as usize % 3];
                let msg_key = ["message", "Message"][(*key as usize / 3) % 2];
                let mut fields = vec![(code_key, J::text(&wire))];
                if let Some(m) = message {
                    fields.push((msg_key, J::text(m)));
                }
                // Only `__type` is certain to be read as the code.
                let expected = if code_key == "__type" { expected } else { None };
                return (J::obj(fields).render(), expected);
            }
        };
        (j.render(), None)
    }
}

#[derive(Arbitrary, Debug)]
pub enum Body {
    Json(FJ),
    Template(Template),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
pub enum Status {
    Common(u8),
    Any(u16),
}

pub const STATUSES: &[u16] = &[
    200, 200, 200, 204, 301, 400, 401, 403, 404, 409, 412, 413, 429, 500, 502, 503, 504,
];

impl Status {
    pub fn code(&self) -> u16 {
        match self {
            Status::Common(i) => STATUSES[*i as usize % STATUSES.len()],
            Status::Any(s) => *s,
        }
    }
}

pub const HEADERS: &[&str] = &[
    "content-type",
    "x-amzn-errortype",
    "x-amzn-requestid",
    "x-amz-request-id",
    "retry-after",
    "x-amzn-query-error",
    "content-length",
    "date",
    "x-amz-crc32",
    "x-vault-request",
];

#[derive(Arbitrary, Debug)]
pub struct FAnswer {
    pub status: Status,
    pub headers: Vec<(u8, String)>,
    pub body: Body,
    pub failure: u8,
}

impl FAnswer {
    /// The scripted answer, and the AWS code its mapping should produce
    /// (known only for plain error answers without an error-type header).
    pub fn answer(&self) -> (Answer, Option<&'static str>) {
        let (body, expected) = match &self.body {
            Body::Json(j) => (j.to_j().render().into_bytes(), None),
            Body::Template(t) => {
                let (b, e) = t.render();
                (b.into_bytes(), e)
            }
            Body::Raw(b) => (sanitize_bytes(b), None),
        };
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .take(8)
            .map(|(i, v)| (HEADERS[*i as usize % HEADERS.len()].to_owned(), sanitize(v)))
            .collect();
        let typed_header = headers
            .iter()
            .any(|(n, _)| n == "x-amzn-errortype" || n == "x-amzn-query-error");
        let failure = if self.failure >= 240 {
            self.failure % 5
        } else {
            0
        };
        let status = self.status.code();
        let expected =
            expected.filter(|_| !typed_header && failure == 0 && (400..=599).contains(&status));
        (
            Answer {
                status,
                headers,
                body,
                failure,
            },
            expected,
        )
    }
}

fn answers(list: &[FAnswer]) -> (Vec<Answer>, Option<&'static str>) {
    let mut out = Vec::new();
    let mut first_expected = None;
    for (i, a) in list.iter().take(4).enumerate() {
        let (answer, expected) = a.answer();
        if i == 0 {
            first_expected = expected;
        }
        out.push(answer);
    }
    if out.is_empty() {
        out.push(Answer::json(200, &J::obj(vec![])));
    }
    // The expectation holds only if every attempt (the core's retries) gets it.
    if list.len() > 1 {
        first_expected = None;
    }
    (out, first_expected)
}

// ------------------------------------------------------------- references

pub const TTLS: &[&str] = &[
    "0",
    "1",
    "1ms",
    "300s",
    "5m",
    "2h",
    "18446744073709551615",
    "18446744073709551615ms",
    "307445734561825860m",
    "5124095576030431h",
    "9223372036854775807",
    "99999999999",
];

#[derive(Arbitrary, Debug)]
pub enum Ttl {
    Known(u8),
    Num(u64, u8),
}

impl Ttl {
    fn text(&self) -> String {
        match self {
            Ttl::Known(i) => TTLS[*i as usize % TTLS.len()].to_owned(),
            Ttl::Num(n, unit) => format!("{n}{}", ["", "s", "ms", "m", "h"][*unit as usize % 5]),
        }
    }
}

/// `base` with the optional query and field, if that still parses (else `base`).
fn reference(
    base: &str,
    version: Option<String>,
    stage: Option<String>,
    ttl: &Option<Ttl>,
    field: &Option<Key>,
) -> String {
    let mut query = Vec::new();
    if let Some(v) = version {
        query.push(format!("version={v}"));
    }
    if let Some(s) = stage {
        query.push(format!("stage={s}"));
    }
    if let Some(t) = ttl {
        query.push(format!("ttl={}", t.text()));
    }
    let mut r = base.to_owned();
    if !query.is_empty() {
        r.push('?');
        r.push_str(&query.join("&"));
    }
    if let Some(f) = field {
        r.push('#');
        r.push_str(&sanitize(&f.text()));
    }
    if Reference::parse(&r).is_ok() {
        r
    } else {
        base.to_owned()
    }
}

#[derive(Arbitrary, Debug)]
pub enum PathChoice {
    Known(u8),
    Other(String),
}

const VAULT_PATHS: &[&str] = &[
    "secret/app",
    "secret/a/b/c",
    "database/creds/ro",
    "kv/app",
    "secret/data/app",
    "aws/creds/deploy",
];

// ------------------------------------------------------------- targets

/// Target `reference_parse`: the grammar and durations on any text.
pub fn run_reference(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    check_reference(&text);
    check_duration(&text);
    // Every `ttl=` value inside, as the parser sees it.
    for part in text.split(['?', '&', '#']) {
        if let Some(v) = part.strip_prefix("ttl=") {
            check_duration(v);
        }
    }
}

#[derive(Arbitrary, Debug)]
pub struct VaultInput {
    pub preflight: u8,
    pub path: PathChoice,
    pub version: Option<u16>,
    pub field: Option<Key>,
    pub ttl: Option<Ttl>,
    pub answers: Vec<FAnswer>,
    pub jitter: bool,
}

fn preflight(p: u8) -> Preflight {
    [
        Preflight::KvV2,
        Preflight::KvV1,
        Preflight::NotFound,
        Preflight::Denied,
        Preflight::Scripted,
    ][p as usize % 5]
}

/// Target `vault_response`: Vault answers (reads, preflights, renewals,
/// lookups) through a client: decoding, caching, the lease lifecycle.
pub fn run_vault(data: &[u8]) {
    let Ok(input) = VaultInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let base = match &input.path {
        PathChoice::Known(i) => VAULT_PATHS[*i as usize % VAULT_PATHS.len()].to_owned(),
        PathChoice::Other(p) => sanitize(p),
    };
    let base = format!("vault:{base}");
    let base = if Reference::parse(&base).is_ok() {
        base
    } else {
        "vault:secret/app".to_owned()
    };
    let r = reference(
        &base,
        input.version.map(|v| v.to_string()),
        None,
        &input.ttl,
        &input.field,
    );
    let (answers, _) = answers(&input.answers);
    let rig = Rig::new(preflight(input.preflight), answers);
    let settings = ClientSettings {
        ttl_jitter: if input.jitter { 0.1 } else { 0.0 },
        ..ClientSettings::default()
    };
    let client = vault_client(&rig, settings).expect("a valid Vault config builds");
    exercise(&rig, &client, &r);
}

#[derive(Arbitrary, Debug)]
pub struct AwsInput {
    pub asm: bool,
    pub path: PathChoice,
    pub version: Option<u16>,
    pub stage: Option<u8>,
    pub field: Option<Key>,
    pub ttl: Option<Ttl>,
    pub answers: Vec<FAnswer>,
    pub long: bool,
}

const SSM_PATHS: &[&str] = &["/prod/db", "/prod/db:3", "/prod/db:blue", "plain"];
const ASM_PATHS: &[&str] = &[
    "prod/db",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
];

/// Target `aws_response`: SSM GetParameter and Secrets Manager
/// GetSecretValue answers through the AWS protocol layer and core's error mapping.
pub fn run_aws(data: &[u8]) {
    let Ok(input) = AwsInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let (scheme, paths) = if input.asm {
        ("asm", ASM_PATHS)
    } else {
        ("ssm", SSM_PATHS)
    };
    let path = match &input.path {
        PathChoice::Known(i) => paths[*i as usize % paths.len()].to_owned(),
        PathChoice::Other(p) => sanitize(p),
    };
    let base = format!("{scheme}:{path}");
    let base = if Reference::parse(&base).is_ok() {
        base
    } else {
        format!("{scheme}:{}", paths[0])
    };
    let stage = input
        .stage
        .filter(|_| input.asm)
        .map(|s| ["AWSCURRENT", "AWSPREVIOUS", "blue"][s as usize % 3].to_owned());
    let r = reference(
        &base,
        input.version.map(|v| v.to_string()),
        stage,
        &input.ttl,
        &input.field,
    );
    let (answers, expected) = answers(&input.answers);
    let rig = Rig::new(Preflight::Scripted, answers);
    let client = aws_client(&rig, exact_settings()).expect("a valid AWS config builds");
    watch_events(&client);
    let first = rig.drive(client.get(&r));
    check_result(&r, &first);
    if let Some(code) = expected {
        let err = first.as_ref().expect_err("an error answer gives an error");
        // A `#field` or a cached answer never changes an error's kind.
        assert_eq!(err.kind(), aws_kind(code), "{code} mapped as {err}");
    }
    if input.long {
        // The slower half: cache, expiry, stale serving, refresh.
        exercise(&rig, &client, &r);
    }
}

#[derive(Arbitrary, Debug)]
pub struct FieldInput {
    pub value: FieldValue,
    pub field: Key,
    pub via_vault: bool,
}

#[derive(Arbitrary, Debug)]
pub enum FieldValue {
    Json(FJ),
    Raw(Vec<u8>),
}

/// What `#field` selection must answer, by serde_json's own reading.
pub fn expected_field(value: &[u8], field: &str) -> Result<Vec<u8>, ErrorKind> {
    let parsed: serde_json::Value =
        serde_json::from_slice(value).map_err(|_| ErrorKind::InvalidResponse)?;
    let object = parsed.as_object().ok_or(ErrorKind::InvalidResponse)?;
    match object.get(field) {
        None => Err(ErrorKind::NotFound),
        Some(serde_json::Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(other) => Ok(serde_json::to_vec(other).unwrap()),
    }
}

/// The file `file:PATH#field` reads, one per fuzzing process.
fn field_file() -> &'static std::path::Path {
    static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("secretkit-fuzz-field-{}", std::process::id()))
    })
}

/// Check one `#field` read against serde_json's reading of the value.
pub fn check_field(
    r: &str,
    value: &[u8],
    field: &str,
    result: &secretkit::Result<secretkit::Secret>,
) {
    check_result(r, result);
    if r.len() > secretkit::reference::MAX_REFERENCE_LEN {
        // A field long enough to push the reference over the length limit:
        // refused before any value is looked at.
        let e = result.as_ref().err().map(|e| e.kind());
        assert_eq!(e, Some(ErrorKind::InvalidReference), "{r}");
        return;
    }
    match (expected_field(value, field), result) {
        (Ok(bytes), Ok(secret)) => assert_eq!(secret.reveal_bytes(), &bytes[..], "{r}"),
        (Err(kind), Err(e)) => assert_eq!(e.kind(), kind, "{r}: {e}"),
        (Ok(_), Err(e)) => panic!("{r}: expected a value, got {e}"),
        (Err(kind), Ok(_)) => panic!("{r}: expected {kind}, got a value"),
    }
}

/// Target `field_select`: `#field` on any value, through `file:` (the exact
/// bytes) and through a Vault KV v2 answer (a JSON object).
pub fn run_field(data: &[u8]) {
    let Ok(input) = FieldInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut field = sanitize(&input.field.text());
    if Reference::parse(&format!("env:X#{field}")).is_err() {
        field = "password".to_owned();
    }
    if input.via_vault {
        let data = match &input.value {
            FieldValue::Json(FJ::Obj(fields)) => object(fields),
            FieldValue::Json(other) => J::Obj(vec![("value".to_owned(), other.to_j())]),
            FieldValue::Raw(raw) => J::Obj(vec![(
                "value".to_owned(),
                J::text(&String::from_utf8_lossy(raw)),
            )]),
        };
        let body = J::obj(vec![(
            "data",
            J::obj(vec![
                ("data", data.clone()),
                ("metadata", J::obj(vec![("version", J::Num("1".into()))])),
            ]),
        )]);
        // The value as the client stores it: the data object re-serialized
        // (None: numbers serde_json refuses, like 1e400, spoil the answer).
        let value = serde_json::from_str::<serde_json::Value>(&data.render())
            .ok()
            .map(|v| serde_json::to_vec(&v).unwrap());
        let rig = Rig::new(Preflight::KvV2, vec![Answer::json(200, &body)]);
        let client = vault_client(&rig, exact_settings()).unwrap();
        let r = format!("vault:secret/app#{field}");
        let result = rig.drive(client.get(&r));
        let Some(value) = value else {
            check_result(&r, &result);
            let e = result.expect_err("a malformed answer is an error");
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
            return;
        };
        check_field(&r, &value, &field, &result);
        // A second field of the same read comes from the cache.
        let r2 = "vault:secret/app#value";
        check_field(r2, &value, "value", &rig.drive(client.get(r2)));
    } else {
        let value = match &input.value {
            FieldValue::Json(j) => j.to_j().render().into_bytes(),
            FieldValue::Raw(raw) => sanitize_bytes(raw),
        };
        // A file, not an environment variable: glibc keeps every value ever
        // given to setenv (it cannot know who still points at the old
        // one), so setting one per input grew the fuzzer by ~110 bytes an
        // execution (FUZZING.md).
        let path = field_file();
        std::fs::write(path, &value).expect("the fuzz field file is writable");
        let rig = Rig::new(Preflight::Scripted, vec![]);
        let client = vault_client(&rig, exact_settings()).unwrap();
        let whole = format!("file:{}", path.display());
        let r = format!("{whole}#{field}");
        let result = rig.drive(client.get(&r));
        check_field(&r, &value, &field, &result);
        check_result(&whole, &rig.drive(client.get(&whole)));
    }
}

#[derive(Arbitrary, Debug)]
pub enum F64 {
    Known(u8),
    Any(f64),
}

pub const F64S: &[f64] = &[
    0.0,
    0.001,
    0.5,
    1.0,
    60.0,
    300.0,
    3600.0,
    1e9,
    1e12,
    1.8e19,
    18446744073709551615.0,
    1e300,
    f64::MAX,
    -1.0,
    f64::NAN,
    f64::INFINITY,
    5e-324,
    0.75,
    0.1,
];

impl F64 {
    fn value(&self) -> f64 {
        match self {
            F64::Known(i) => F64S[*i as usize % F64S.len()],
            F64::Any(f) => *f,
        }
    }
}

#[derive(Arbitrary, Debug)]
pub struct FOptions {
    pub default_ttl: Option<F64>,
    pub ttl_jitter: Option<F64>,
    pub refresh_ahead: Option<F64>,
    pub max_stale: Option<F64>,
    pub negative_ttl: Option<F64>,
    pub retry_base: Option<F64>,
    pub retry_max: Option<F64>,
    pub max_entries: Option<F64>,
    pub timeout: Option<F64>,
    pub revoke_on_close: Option<bool>,
    pub revoke_replaced_after: Option<F64>,
}

#[derive(Arbitrary, Debug)]
pub enum FLogin {
    Token(String),
    AppRole(String),
    Kubernetes(String, String),
    Jwt(String, String),
}

#[derive(Arbitrary, Debug)]
pub enum Text {
    Known(u8),
    Any(String),
}

const ADDRESSES: &[&str] = &[
    "http://127.0.0.1:8200",
    "https://vault.internal:8200/",
    "http://[::1]:8200",
    "http://h/with/path/",
    "http://",
    "https://a b",
    "http://127.0.0.1:8200//",
    "vault:8200",
];

const ENDPOINTS: &[&str] = &[
    "http://127.0.0.1:1",
    "https://ssm.us-east-1.amazonaws.com",
    "http://[::1]:4566/",
    "localhost:4566",
    "http://",
    "",
];

const REGIONS: &[&str] = &[
    "us-east-1",
    "eu-west-3",
    "",
    "cn-north-1",
    "us-gov-west-1",
    "a b",
];

const CONFIG_REFS: &[&str] = &[
    "vault:secret/app",
    "vault:database/creds/ro#password",
    "ssm:/prod/db",
    "asm:prod/db#password",
    "env:HOME",
];

impl Text {
    fn pick(&self, list: &[&str]) -> String {
        match self {
            Text::Known(i) => list[*i as usize % list.len()].to_owned(),
            Text::Any(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
pub struct ConfigInput {
    pub binding: u8,
    pub options: FOptions,
    pub vault: Option<(Text, Option<String>, FLogin)>,
    pub aws: Option<(Text, Option<Text>)>,
    pub reference: u8,
    pub ttl: Option<Ttl>,
    pub preflight: u8,
    pub answers: Vec<FAnswer>,
}

/// Target `config`: client options and backend settings as each binding
/// accepts them (their checks mirrored), then reads on simulated time.
pub fn run_config(data: &[u8]) {
    let Ok(input) = ConfigInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let f = |o: &Option<F64>| o.as_ref().map(F64::value);
    let o = &input.options;
    let options = Options {
        default_ttl: f(&o.default_ttl),
        ttl_jitter: f(&o.ttl_jitter),
        refresh_ahead: f(&o.refresh_ahead),
        max_stale: f(&o.max_stale),
        negative_ttl: f(&o.negative_ttl),
        retry_base: f(&o.retry_base),
        retry_max: f(&o.retry_max),
        max_entries: f(&o.max_entries),
        timeout: f(&o.timeout),
        revoke_on_close: o.revoke_on_close,
        revoke_replaced_after: f(&o.revoke_replaced_after),
    };
    let binding = [Binding::Python, Binding::Node, Binding::Wasm][input.binding as usize % 3];
    let vault = input.vault.as_ref().map(|(addr, ns, login)| {
        let login = match login {
            FLogin::Token(t) => Login::Token(t.clone()),
            FLogin::AppRole(m) => Login::AppRole { mount: m.clone() },
            FLogin::Kubernetes(m, r) => Login::Kubernetes {
                mount: m.clone(),
                role: r.clone(),
            },
            FLogin::Jwt(m, r) => Login::Jwt {
                mount: m.clone(),
                role: r.clone(),
            },
        };
        (addr.pick(ADDRESSES), ns.clone(), login)
    });
    let aws = input.aws.as_ref().map(|(region, endpoint)| {
        (
            region.pick(REGIONS),
            endpoint.as_ref().map(|e| e.pick(ENDPOINTS)),
        )
    });
    let config = Config {
        binding,
        options,
        vault,
        aws,
    };
    let base = CONFIG_REFS[input.reference as usize % CONFIG_REFS.len()];
    let r = match &input.ttl {
        Some(t) => {
            let (path, field) = match base.split_once('#') {
                Some((p, f)) => (p, format!("#{f}")),
                None => (base, String::new()),
            };
            let with = format!("{path}?ttl={}{field}", t.text());
            if Reference::parse(&with).is_ok() {
                with
            } else {
                base.to_owned()
            }
        }
        None => base.to_owned(),
    };
    let (answers, _) = answers(&input.answers);
    let rig = Rig::new(preflight(input.preflight), answers);
    check_config(&config, &rig, &r);
}
