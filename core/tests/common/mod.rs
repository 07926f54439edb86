//! Shared test helpers: a scripted Vault transport for deterministic client
//! tests (it answers the KV v2 mount preflight itself, counts data reads, and
//! can hold reads at a gate), and the helpers of the real-server tests.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use secretkit::{
    BoxFuture, Client, ClientSettings, ManualClock, Runtime, Transport, TransportError,
    VaultSettings,
};

pub type Reply = Result<http::Response<Bytes>, TransportError>;

/// Answers the KV v2 mount preflight itself and every other request with
/// `reply`; counts the data reads. With `gate` set, data reads wait for it.
pub struct ScriptedVault {
    reply: Box<dyn Fn(&str) -> Reply + Send + Sync>,
    pub reads: AtomicUsize,
    pub gate: Mutex<Option<futures::future::Shared<futures::channel::oneshot::Receiver<()>>>>,
}

pub fn json(status: u16, body: &str) -> Reply {
    Ok(http::Response::builder()
        .status(status)
        .body(Bytes::from(body.to_owned()))
        .unwrap())
}

pub fn kv2(data: &str, version: u64) -> Reply {
    json(
        200,
        &format!(r#"{{"data":{{"data":{data},"metadata":{{"version":{version}}}}}}}"#),
    )
}

impl Transport for ScriptedVault {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'static, Reply> {
        let path = request.uri().path().to_owned();
        if path.starts_with("/v1/sys/internal/ui/mounts/") {
            let r = json(
                200,
                r#"{"data":{"path":"secret/","type":"kv","options":{"version":"2"}}}"#,
            );
            return Box::pin(async move { r });
        }
        if path == "/v1/auth/token/lookup-self" {
            let r = json(200, r#"{"data":{"ttl":0,"renewable":false}}"#);
            return Box::pin(async move { r });
        }
        self.reads.fetch_add(1, Ordering::SeqCst);
        let reply = (self.reply)(&path);
        let gate = self.gate.lock().unwrap().clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                let _ = gate.await;
            }
            reply
        })
    }
}

pub fn scripted(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Arc<ScriptedVault> {
    Arc::new(ScriptedVault {
        reply: Box::new(reply),
        reads: AtomicUsize::new(0),
        gate: Mutex::new(None),
    })
}

pub async fn client(transport: Arc<ScriptedVault>, clock: Arc<ManualClock>) -> Client {
    Client::builder()
        .runtime(Runtime { transport, clock })
        .vault(VaultSettings {
            address: "http://127.0.0.1:8200".into(),
            token: "t".into(),
            namespace: None,
            tls: Default::default(),
        })
        .settings(exact_settings())
        .build()
        .await
        .unwrap()
}

/// Settings without randomness or refresh-ahead, so counts are exact;
/// tests that exercise those rules set them explicitly.
pub fn exact_settings() -> ClientSettings {
    ClientSettings {
        timeout: Duration::from_secs(5),
        // One attempt: retries would sleep on the test clock.
        read_attempts: 1,
        ttl_jitter: 0.0,
        refresh_ahead: 1.0,
        ..ClientSettings::default()
    }
}

pub async fn client_with(
    transport: Arc<ScriptedVault>,
    clock: Arc<ManualClock>,
    settings: ClientSettings,
) -> Client {
    Client::builder()
        .runtime(Runtime { transport, clock })
        .vault(VaultSettings {
            address: "http://127.0.0.1:8200".into(),
            token: "t".into(),
            namespace: None,
            tls: Default::default(),
        })
        .settings(settings)
        .build()
        .await
        .unwrap()
}

impl ScriptedVault {
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    /// Hold every data read until the returned sender fires (or is dropped).
    pub fn close_gate(&self) -> futures::channel::oneshot::Sender<()> {
        use futures::FutureExt;
        let (open, gate) = futures::channel::oneshot::channel::<()>();
        *self.gate.lock().unwrap() = Some(gate.shared());
        open
    }

    pub fn open_gate(&self) {
        *self.gate.lock().unwrap() = None;
    }
}

// Shared by the tests against the real servers that scripts/test.sh starts.

/// A variable `tests/servers.py` writes into the env file the suites source.
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run through scripts/test.sh, or source the env file of `tests/servers.py start --fixtures --vault-lifecycle`")
    })
}

/// The OpenBao of `tests/servers.py`, with its root token.
pub fn real_vault() -> VaultSettings {
    VaultSettings {
        address: var("VAULT_ADDR"),
        token: var("VAULT_TOKEN"),
        namespace: None,
        tls: Default::default(),
    }
}

/// moto's credentials from the environment, with `endpoint` (moto itself or
/// a proxy in front of it).
pub fn aws_settings(endpoint: String) -> secretkit::AwsSettings {
    secretkit::AwsSettings {
        region: var("AWS_REGION"),
        access_key_id: var("AWS_ACCESS_KEY_ID"),
        secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
        session_token: None,
        endpoint: Some(endpoint),
    }
}

/// Every event the client emits, kept in order.
pub fn recorder(client: &Client) -> Arc<Mutex<Vec<secretkit::Event>>> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    client.subscribe(move |e| sink.lock().unwrap().push(e.clone()));
    events
}

/// How many of the recorded events are of `kind`.
pub fn count(events: &Mutex<Vec<secretkit::Event>>, kind: secretkit::EventKind) -> usize {
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}
