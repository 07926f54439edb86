//! Leak canary (RELIABILITY.md, "Leak canary"). tests/servers.py plants one
//! random value, SK_CANARY, in every backend (SSM SecureString, Secrets
//! Manager plain and JSON, Vault KV v2, the environment, a file). This test
//! reads it through every scheme and read call, and formats the secrets,
//! errors (and their sources), events of every kind a read makes, stats and
//! settings with Display, Debug and `{:#?}`. Nothing may contain the canary,
//! or any 12 characters of its random part, in text or as a byte list; only
//! `reveal()` gives it. Everything formatted is also written to
//! `$SK_CANARY_OUT/core.log`, which scripts/test.sh scans with the whole
//! run's output; the proof line at the end is what the scan requires.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;
use common::{recorder, var};

use std::fmt::Debug;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secretkit::{Client, ClientSettings, Event, EventKind, VaultSettings};

const SCHEMES: [&str; 6] = ["ssm", "asm", "asm-json", "vault", "env", "file"];
/// As scripts/leak_scan.py: any 12 characters of the random part count.
const WINDOW: usize = 12;

struct Outputs {
    windows: Vec<String>,
    /// The windows as Debug prints bytes: `[97, 98, …]` without brackets.
    byte_lists: Vec<String>,
    log: PathBuf,
    file: std::fs::File,
    count: usize,
}

impl Outputs {
    fn new(canary: &str, dir: PathBuf) -> Outputs {
        let tail = canary.split_once('-').unwrap().1.to_owned();
        let windows: Vec<String> = (0..=tail.len() - WINDOW)
            .map(|i| tail[i..i + WINDOW].to_owned())
            .collect();
        let byte_lists = windows
            .iter()
            .map(|w| {
                let list = format!("{:?}", w.as_bytes());
                list[1..list.len() - 1].to_owned()
            })
            .collect();
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("core.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        Outputs {
            windows,
            byte_lists,
            log,
            file,
            count: 0,
        }
    }

    fn leaks(&self, text: &str) -> bool {
        let low = text.to_ascii_lowercase();
        self.windows.iter().any(|w| low.contains(w.as_str()))
            || self.byte_lists.iter().any(|b| text.contains(b.as_str()))
    }

    /// `text` with every window (any case) and byte list starred out, for
    /// a failure message that does not spread the value further.
    fn masked(&self, text: &str) -> String {
        let low = text.to_ascii_lowercase(); // same byte offsets as `text`
        let mut hide = vec![false; text.len()];
        let found = |hay: &str, needle: &str, hide: &mut Vec<bool>| {
            for (i, _) in hay.match_indices(needle) {
                hide[i..i + needle.len()].iter_mut().for_each(|h| *h = true);
            }
        };
        for w in &self.windows {
            found(&low, w, &mut hide);
        }
        for b in &self.byte_lists {
            found(text, b, &mut hide);
        }
        // Hidden bytes are ASCII (hex digits, digits, ", "): '*' keeps UTF-8 valid.
        let bytes: Vec<u8> = text
            .bytes()
            .zip(&hide)
            .map(|(c, h)| if *h { b'*' } else { c })
            .collect();
        String::from_utf8(bytes).unwrap()
    }

    /// Logs `text`; fails the test, without repeating the value, if it holds the canary.
    fn check(&mut self, label: &str, text: &str) {
        self.count += 1;
        writeln!(self.file, "[{label}] {text}").unwrap();
        if let Err(message) = self.verdict(label, text) {
            panic!("{message}");
        }
    }

    fn verdict(&self, label: &str, text: &str) -> Result<(), String> {
        if !self.leaks(text) {
            return Ok(());
        }
        let shown: String = self.masked(text).chars().take(500).collect();
        Err(format!("LEAK: {label} shows the canary: {shown}"))
    }

    /// Display, Debug and pretty Debug of `value`.
    fn all<T: std::fmt::Display + Debug>(&mut self, label: &str, value: &T) {
        self.check(&format!("{label} display"), &format!("{value}"));
        self.check(&format!("{label} display :>90"), &format!("{value:>90}"));
        self.debug(label, value);
    }

    fn debug<T: Debug + ?Sized>(&mut self, label: &str, value: &T) {
        self.check(&format!("{label} debug"), &format!("{value:?}"));
        self.check(&format!("{label} debug pretty"), &format!("{value:#?}"));
    }

    fn error(&mut self, label: &str, e: &secretkit::Error) {
        self.all(label, e);
        self.check(&format!("{label} message"), e.message());
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            self.check(&format!("{label} source"), &format!("{s} / {s:?}"));
            source = s.source();
        }
    }
}

fn refs() -> Vec<(&'static str, String)> {
    SCHEMES
        .iter()
        .map(|s| {
            (
                *s,
                var(&format!("SK_CANARY_{}", s.to_uppercase().replace('-', "_"))),
            )
        })
        .collect()
}

fn failing(refs: &[(&str, String)]) -> Vec<(&'static str, String)> {
    let r = |s: &str| refs.iter().find(|(k, _)| *k == s).unwrap().1.clone();
    let base = |s: &str| r(s).split('#').next().unwrap().to_owned();
    vec![
        (
            "missing JSON field",
            format!("{}#missing_field", base("asm-json")),
        ),
        (
            "missing Vault field",
            format!("{}#missing_field", base("vault")),
        ),
        (
            "field of a non-JSON SSM value",
            format!("{}#password", r("ssm")),
        ),
        (
            "field of a non-JSON ASM value",
            format!("{}#password", r("asm")),
        ),
        (
            "field of a non-JSON env value",
            format!("{}#password", r("env")),
        ),
        (
            "field of a non-JSON file",
            format!("{}#password", r("file")),
        ),
        (
            "wrong Vault ?version=",
            format!("{}?version=9#password", base("vault")),
        ),
        (
            "wrong ASM ?version=",
            format!("{}?version=00000000-0000-4000-8000-000000000000", r("asm")),
        ),
        (
            "missing ASM stage",
            format!("{}?stage=AWSPREVIOUS", r("asm")),
        ),
        ("wrong SSM version", format!("{}:99", r("ssm"))),
        ("invalid reference", format!("{}?ttl=forever", r("ssm"))),
    ]
}

/// The check itself: a made-up canary in each form is caught, and the
/// failure message does not repeat it.
#[test]
fn the_check_catches_copies_and_masks_them() {
    let canary = "canary-0123456789abcdef0123456789abcdef";
    let dir = std::env::temp_dir().join(format!("secretkit-canary-self-{}", std::process::id()));
    let out = Outputs::new(canary, dir.clone());
    assert_eq!(
        out.verdict("clean", "Secret(ssm:/test/canary, <redacted>)"),
        Ok(())
    );
    for text in [
        format!("Secret({canary})"),
        canary.to_uppercase(),
        format!("… {} (truncated)", &canary[12..26]),
        format!("{:?}", canary.as_bytes()),
    ] {
        let message = out.verdict("planted", &text).unwrap_err();
        assert!(message.starts_with("LEAK: planted"), "{message}");
        assert!(
            !out.leaks(&message),
            "the message repeats the value: {message}"
        );
    }
    drop(out);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_canary_never_leaks() {
    let canary = var("SK_CANARY");
    let refs = refs();
    let dir = std::env::var_os("SK_CANARY_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("secretkit-canary-{}", std::process::id()))
        });
    let mut out = Outputs::new(&canary, dir);

    // Reads through every scheme: get, a hit, refresh, get_many.
    let client = Client::from_env().await.unwrap();
    let seen = recorder(&client);
    let watched = Arc::new(Mutex::new(Vec::new()));
    for (scheme, reference) in &refs {
        let w = watched.clone();
        client
            .watch(reference, move |e| w.lock().unwrap().push(e.clone()))
            .unwrap();
        let s = client.get(reference).await.unwrap();
        assert!(
            s.reveal().unwrap() == canary,
            "{scheme}: {reference} is not the planted canary"
        );
        assert!(s.reveal_bytes() == canary.as_bytes());
        out.all(&format!("get({scheme})"), &s);
        out.check(&format!("get({scheme}) redacted"), &s.redacted());
        out.debug(&format!("get({scheme}) lease"), &s.lease());
        let hit = client.get_cached(reference).unwrap().unwrap();
        out.all(&format!("cached({scheme})"), &hit);
        let again = client.refresh(reference).await.unwrap();
        assert!(again.reveal().unwrap() == canary);
        out.debug(
            &format!("refresh({scheme}) Ok"),
            &Ok::<_, secretkit::Error>(again),
        );
    }
    let fresh = Client::from_env().await.unwrap();
    let names: Vec<&str> = refs.iter().map(|(_, r)| r.as_str()).collect();
    let many = fresh.get_many(&names).await;
    assert!(many
        .iter()
        .all(|r| r.as_ref().unwrap().reveal().unwrap() == canary));
    out.debug("get_many", &many);
    out.debug("prefetch", &fresh.prefetch("ssm:/test/").await);

    // Errors: cached value, straight from the backend, and in a batch.
    let mut kinds = std::collections::BTreeSet::new();
    for (what, reference) in failing(&refs) {
        let e = client.get(&reference).await.unwrap_err();
        kinds.insert(e.kind().as_str());
        out.error(&format!("error {what}"), &e);
        let e = Client::from_env()
            .await
            .unwrap()
            .get(&reference)
            .await
            .unwrap_err();
        out.error(&format!("error uncached {what}"), &e);
    }
    let failing_refs = failing(&refs);
    let mixed: Vec<&str> = failing_refs
        .iter()
        .map(|(_, r)| r.as_str())
        .chain(names.iter().copied())
        .collect();
    for (i, item) in fresh.get_many(&mixed).await.iter().enumerate() {
        match item {
            Ok(s) => out.all(&format!("get_many item {i}"), s),
            Err(e) => out.error(&format!("get_many item {i}"), e),
        }
    }
    for kind in ["not_found", "invalid_response", "invalid_reference"] {
        assert!(kinds.contains(kind), "{kinds:?}");
    }

    // changed: a file whose value changes (to one that still holds the canary).
    let dir = std::env::temp_dir().join(format!("secretkit-canary-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("value");
    std::fs::write(&file, &canary).unwrap();
    let file_ref = format!("file:{}", file.display());
    client.get(&file_ref).await.unwrap();
    std::fs::write(&file, format!("{canary}-rotated")).unwrap();
    assert_eq!(
        client.refresh(&file_ref).await.unwrap().reveal().unwrap(),
        format!("{canary}-rotated")
    );
    std::fs::remove_dir_all(&dir).unwrap();

    // evicted: a one-entry cache; error: a backend that fails the read itself.
    let small = Client::builder()
        .aws_from_env()
        .vault_from_env()
        .unwrap()
        .settings(ClientSettings {
            max_entries: 1,
            ..ClientSettings::default()
        })
        .build()
        .await
        .unwrap();
    let small_seen = recorder(&small);
    small.get(&refs[0].1).await.unwrap();
    small.get(&refs[3].1).await.unwrap();
    let broken = Client::builder()
        .vault(VaultSettings {
            address: "http://127.0.0.1:9".into(),
            token: "t".into(),
            namespace: None,
            tls: Default::default(),
        })
        .settings(ClientSettings {
            timeout: Duration::from_secs(2),
            ..ClientSettings::default()
        })
        .build()
        .await
        .unwrap();
    let broken_seen = recorder(&broken);
    let e = broken.get(&refs[3].1).await.unwrap_err();
    out.error("broken read", &e);

    tokio::time::sleep(Duration::from_millis(100)).await; // listeners run on the reading task; be generous
    let mut events: Vec<Event> = Vec::new();
    for list in [&seen, &small_seen, &broken_seen, &watched] {
        events.extend(list.lock().unwrap().iter().cloned());
    }
    let got: std::collections::BTreeSet<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        EventKind::Created,
        EventKind::Refreshed,
        EventKind::Changed,
        EventKind::Evicted,
        EventKind::Error,
    ] {
        assert!(
            got.contains(kind.as_str()),
            "no {} event; got {got:?}",
            kind.as_str()
        );
    }
    for (i, event) in events.iter().enumerate() {
        out.debug(&format!("event {i} {}", event.kind.as_str()), event);
        if let Some(e) = &event.error {
            out.error(&format!("event {i} error"), e);
        }
    }

    // Stats, settings, and a read after close.
    out.debug("stats", &client.stats());
    out.debug("settings", &ClientSettings::default());
    out.check("closed", &client.close().await.to_string());
    let e = client.get(&refs[0].1).await.unwrap_err();
    out.error("read after close", &e);

    let log = std::fs::read_to_string(&out.log).unwrap();
    assert!(!out.leaks(&log), "the canary log holds the canary");
    println!(
        "leak canary: core read {}: ok ({} bytes each), {} outputs checked, 0 occurrences; log {}",
        SCHEMES.join(" "),
        canary.len(),
        out.count,
        out.log.display()
    );
}
