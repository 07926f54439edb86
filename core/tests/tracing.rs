//! The `tracing` feature: cache events and backend-read spans reach a
//! `tracing` subscriber (target `secretkit`), and never a value.
//! `cargo test -p secretkit --features tracing` (scripts/test.sh does).
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::fmt::{Debug, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use secretkit::Client;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Writes each span opened and each event as one line of text.
#[derive(Clone, Default)]
struct Lines {
    lines: Arc<Mutex<Vec<String>>>,
    next_id: Arc<AtomicU64>,
}

struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Lines {
    fn push(&self, line: String) {
        self.lines.lock().unwrap().push(line);
    }

    fn all(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Subscriber for Lines {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("secretkit")
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = Text(format!("span {}", span.metadata().name()));
        span.record(&mut text);
        self.push(text.0);
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = Text(event.metadata().level().to_string());
        event.record(&mut text);
        self.push(text.0);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn events_and_read_spans_reach_a_tracing_subscriber_without_values() {
    let lines = Lines::default();
    // This thread's subscriber: the current-thread runtime runs the client's
    // tasks here too.
    let _guard = tracing::subscriber::set_default(lines.clone());
    std::env::set_var("SK_TRACING_PROBE", "tracing-probe-value");
    let client = Client::builder().build().await.unwrap();
    let secret = client.get("env:SK_TRACING_PROBE").await.unwrap();
    assert_eq!(secret.reveal().unwrap(), "tracing-probe-value");
    client.refresh("env:SK_TRACING_PROBE").await.unwrap();

    let all = lines.all();
    let has = |prefix: &str, parts: &[&str]| {
        all.iter()
            .any(|l| l.starts_with(prefix) && parts.iter().all(|p| l.contains(p)))
    };
    assert!(
        has("span secretkit.read", &["reference=env:SK_TRACING_PROBE"]),
        "{all:#?}"
    );
    assert!(
        has(
            "DEBUG",
            &["kind=\"created\"", "reference=env:SK_TRACING_PROBE"]
        ),
        "{all:#?}"
    );
    assert!(
        has(
            "DEBUG",
            &["kind=\"refreshed\"", "reference=env:SK_TRACING_PROBE"]
        ),
        "{all:#?}"
    );
    assert!(
        all.iter().all(|l| !l.contains("tracing-probe-value")),
        "{all:#?}"
    );
}
