//! The Vault lease lifecycle on a test clock, against a scripted Vault that
//! enforces default and max TTLs the way the database engine does.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use secretkit::{
    BoxFuture, Client, ClientSettings, Clock, Event, EventKind, ManualClock, Runtime, Transport,
    TransportError, VaultSettings,
};
use serde_json::{json, Value};

type Reply = Result<http::Response<Bytes>, TransportError>;

#[derive(Default)]
struct Leases {
    next: u32,
    /// lease id → (issued at ms, expires at ms)
    live: HashMap<String, (u64, u64)>,
    revoked: Vec<String>,
    renewals: u32,
    reads: u32,
    failing: bool,
}

/// database/creds/ro: 10 s leases, 30 s max, like the test role.
struct FakeVault {
    clock: Arc<ManualClock>,
    leases: Mutex<Leases>,
}

const DEFAULT_TTL: u64 = 10;
const MAX_TTL: u64 = 30;

fn ms(clock: &ManualClock) -> u64 {
    clock
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn reply(status: u16, body: Value) -> Reply {
    Ok(http::Response::builder()
        .status(status)
        .body(Bytes::from(body.to_string()))
        .unwrap())
}

impl FakeVault {
    fn answer(&self, method: &str, path: &str, body: &[u8]) -> Reply {
        let now = ms(&self.clock);
        let mut l = self.leases.lock().unwrap();
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        match (method, path) {
            ("GET", "/v1/auth/token/lookup-self") => {
                reply(200, json!({"data": {"ttl": 0, "renewable": false}}))
            }
            ("GET", p) if p.starts_with("/v1/sys/internal/ui/mounts/") => reply(
                200,
                json!({"data": {"path": "database/", "type": "database", "options": null}}),
            ),
            ("GET", "/v1/database/creds/ro") => {
                l.next += 1;
                l.reads += 1;
                let id = format!("database/creds/ro/{}", l.next);
                l.live.insert(id.clone(), (now, now + DEFAULT_TTL * 1000));
                reply(
                    200,
                    json!({"lease_id": id, "lease_duration": DEFAULT_TTL, "renewable": true,
                           "data": {"username": format!("v-ro-{}", l.next), "password": format!("pw-{}", l.next)}}),
                )
            }
            ("PUT", "/v1/sys/leases/renew") => {
                l.renewals += 1;
                if l.failing {
                    return reply(503, json!({"errors": ["Vault is sealed"]}));
                }
                let id = body["lease_id"].as_str().unwrap().to_owned();
                let increment = body["increment"].as_u64().unwrap();
                let Some((issued, expires)) = l.live.get(&id).copied().filter(|(_, e)| *e > now)
                else {
                    return reply(
                        400,
                        json!({"errors": ["lease not found or lease is not renewable"]}),
                    );
                };
                let new_expiry = (now + increment * 1000)
                    .min(issued + MAX_TTL * 1000)
                    .max(expires);
                l.live.insert(id.clone(), (issued, new_expiry));
                reply(
                    200,
                    json!({"lease_id": id, "lease_duration": (new_expiry - now) / 1000, "renewable": true}),
                )
            }
            ("PUT", "/v1/sys/leases/revoke") => {
                let id = body["lease_id"].as_str().unwrap().to_owned();
                l.live.remove(&id);
                l.revoked.push(id);
                reply(204, Value::Null)
            }
            _ => reply(404, json!({"errors": []})),
        }
    }

    /// Whether the lease behind a username is valid right now.
    fn valid(&self, username: &str) -> bool {
        let n = username.trim_start_matches("v-ro-");
        let now = ms(&self.clock);
        let l = self.leases.lock().unwrap();
        l.live
            .get(&format!("database/creds/ro/{n}"))
            .is_some_and(|(_, expires)| *expires > now)
    }
}

impl Transport for FakeVault {
    fn send(&self, request: http::Request<Bytes>) -> BoxFuture<'static, Reply> {
        let r = self.answer(
            request.method().as_str(),
            request.uri().path(),
            request.body(),
        );
        Box::pin(async move { r })
    }
}

async fn setup(
    settings: ClientSettings,
) -> (
    Client,
    Arc<FakeVault>,
    Arc<ManualClock>,
    Arc<Mutex<Vec<Event>>>,
) {
    let clock = ManualClock::new();
    let vault = Arc::new(FakeVault {
        clock: clock.clone(),
        leases: Mutex::default(),
    });
    let client = Client::builder()
        .runtime(Runtime {
            transport: vault.clone(),
            clock: clock.clone(),
        })
        .vault(VaultSettings {
            address: "http://127.0.0.1:8200".into(),
            token: "root".into(),
            namespace: None,
            tls: Default::default(),
        })
        .settings(settings)
        .build()
        .await
        .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    client.subscribe(move |e| sink.lock().unwrap().push(e.clone()));
    (client, vault, clock, events)
}

fn exact() -> ClientSettings {
    ClientSettings {
        ttl_jitter: 0.0,
        retry_base: Duration::from_secs(1),
        retry_max: Duration::from_secs(4),
        read_attempts: 1,
        ..Default::default()
    }
}

/// Advance the clock in 100 ms steps, letting the lifecycle task run.
async fn run_for(clock: &ManualClock, seconds: u64) {
    for _ in 0..seconds * 10 {
        step(clock).await;
    }
}

async fn step(clock: &ManualClock) {
    clock.advance(Duration::from_millis(100));
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

fn kinds(events: &Mutex<Vec<Event>>, kind: EventKind) -> Vec<Event> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn leases_are_renewed_then_rotated_before_max_ttl_without_a_gap() {
    let (client, vault, clock, events) = setup(exact()).await;
    let first = client
        .get("vault:database/creds/ro#username")
        .await
        .unwrap();
    assert_eq!(first.reveal().unwrap(), "v-ro-1");
    assert_eq!(first.lease().unwrap().duration_secs, 10);

    // 90 s of a pool asking for credentials every 100 ms: always valid ones.
    let mut handed_out = Vec::new();
    for _ in 0..900 {
        step(&clock).await;
        let user = client
            .get("vault:database/creds/ro#username")
            .await
            .unwrap();
        let user = user.reveal().unwrap().to_owned();
        assert!(
            vault.valid(&user),
            "{user} handed out with an expired lease at {:?}",
            clock.now()
        );
        handed_out.push(user);
    }
    let rotated = kinds(&events, EventKind::Rotated);
    // 30 s max_ttl over 90 s: rotations at ~26.7 s, ~53 s, ~80 s.
    assert_eq!(rotated.len(), 3, "{rotated:#?}");
    assert_eq!(rotated[0].old_username.as_deref(), Some("v-ro-1"));
    assert_eq!(rotated[0].username.as_deref(), Some("v-ro-2"));
    assert_eq!(
        rotated[0].old_lease_id.as_deref(),
        Some("database/creds/ro/1")
    );
    assert_eq!(rotated[0].lease_id.as_deref(), Some("database/creds/ro/2"));
    assert!(kinds(&events, EventKind::Renewed).len() >= 9);
    assert!(kinds(&events, EventKind::Expired).is_empty());
    let l = vault.leases.lock().unwrap();
    assert_eq!(l.reads, 4, "one read per max_ttl window");
    // Renewals at 2/3 of each 10 s grant: 4 per 30 s window, the last one short.
    assert!(
        l.renewals >= 9 && l.renewals <= 13,
        "{} renewals",
        l.renewals
    );
    // No password appears in any event.
    for e in events.lock().unwrap().iter() {
        assert!(!format!("{e:?}").contains("pw-"), "{e:?}");
    }
}

#[tokio::test]
async fn a_lease_revoked_behind_the_clients_back_is_replaced_at_its_next_renewal() {
    let (client, vault, clock, events) = setup(exact()).await;
    client.get("vault:database/creds/ro").await.unwrap();
    vault.leases.lock().unwrap().live.clear();
    run_for(&clock, 8).await;
    let rotated = kinds(&events, EventKind::Rotated);
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0].username.as_deref(), Some("v-ro-2"));
    let now_user = client
        .get("vault:database/creds/ro#username")
        .await
        .unwrap();
    assert_eq!(now_user.reveal().unwrap(), "v-ro-2");
    assert_eq!(
        kinds(&events, EventKind::Error).len(),
        1,
        "the refusal is reported"
    );
}

#[tokio::test]
async fn renewal_failures_back_off_and_stop_at_expiry() {
    let (client, vault, clock, events) = setup(exact()).await;
    client.get("vault:database/creds/ro").await.unwrap();
    vault.leases.lock().unwrap().failing = true;
    run_for(&clock, 12).await;
    let renewals = vault.leases.lock().unwrap().renewals;
    // First attempt at 6.7 s, then 1, 2, 4 s backoff capped by expiry at 10 s.
    assert!(
        (2..=4).contains(&renewals),
        "{renewals} attempts: no hot loop"
    );
    let expired = kinds(&events, EventKind::Expired);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].username.as_deref(), Some("v-ro-1"));
    assert!(kinds(&events, EventKind::Error).len() >= 2);
    // Once Vault answers again, a read gets fresh credentials.
    vault.leases.lock().unwrap().failing = false;
    let fresh = client
        .get("vault:database/creds/ro#username")
        .await
        .unwrap();
    assert_eq!(fresh.reveal().unwrap(), "v-ro-2");
    // Watchers hear of the new credentials as a rotation, as if in time.
    let rotated = kinds(&events, EventKind::Rotated);
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0].old_username.as_deref(), Some("v-ro-1"));
    assert_eq!(rotated[0].username.as_deref(), Some("v-ro-2"));
    assert_eq!(
        kinds(&events, EventKind::Created).len(),
        1,
        "only the first read is `created`"
    );
}

#[tokio::test]
async fn close_revokes_the_leases_the_client_holds() {
    let (client, vault, _clock, _events) = setup(exact()).await;
    client.get("vault:database/creds/ro").await.unwrap();
    client.refresh("vault:database/creds/ro").await.unwrap();
    assert_eq!(
        client.close().await,
        1,
        "the replaced lease is not the client's any more"
    );
    let err = client.get("vault:database/creds/ro").await.unwrap_err();
    assert_eq!(
        err.kind(),
        secretkit::ErrorKind::Config,
        "a closed client reads nothing: {err}"
    );
    let l = vault.leases.lock().unwrap();
    assert_eq!(l.revoked, ["database/creds/ro/2"]);
}

#[tokio::test]
async fn replaced_leases_can_be_revoked_after_a_grace_period() {
    let (client, vault, clock, _events) = setup(ClientSettings {
        revoke_replaced_after: Some(Duration::from_secs(5)),
        ..exact()
    })
    .await;
    client.get("vault:database/creds/ro").await.unwrap();
    run_for(&clock, 32).await; // rotation at ~26.7 s, revoke ~31.7 s
    assert_eq!(
        vault.leases.lock().unwrap().revoked,
        ["database/creds/ro/1"]
    );
}
