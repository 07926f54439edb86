//! The Vault lease lifecycle against a real OpenBao and a real PostgreSQL
//! with password (scram) authentication: generated credentials log in,
//! renewals move VALID UNTIL, rotation happens before max_ttl with no failed
//! login, close() drops the roles, a revoked lease is replaced, and AppRole
//! tokens are renewed and then replaced by a new login. Servers come from
//! `tests/servers.py start --vault-lifecycle` (role TTLs 10 s / 30 s).

#![allow(clippy::unwrap_used)]

mod common;
use common::{count, var};

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secretkit::{Client, ClientSettings, Event, EventKind, SecretSource, VaultAuth, VaultSettings};

fn creds_ref() -> String {
    format!("vault:database/creds/{}", var("SK_VAULT_DB_ROLE"))
}

/// Run one query over TCP as `user` with `password` (a real scram login).
fn psql(user: &str, password: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args(["-h", &var("SK_PG_HOST"), "-p", &var("SK_PG_PORT")])
        .args(["-U", user, "-d", &var("SK_PG_DB"), "-tAc", sql])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Log in as a generated user and read the table the role may read.
fn login(user: &str, password: &str) -> Result<String, String> {
    psql(user, password, "select count(*) from items")
}

/// One query as the admin role.
fn admin(sql: &str) -> String {
    psql(&var("SK_PG_ADMIN_USER"), &var("SK_PG_ADMIN_PASSWORD"), sql).unwrap()
}

fn valid_until(user: &str) -> String {
    admin(&format!(
        "select coalesce(rolvaliduntil::text, 'none') from pg_roles where rolname = '{user}'"
    ))
}

fn role_exists(user: &str) -> bool {
    admin(&format!(
        "select count(*) from pg_roles where rolname = '{user}'"
    )) == "1"
}

async fn client_with(
    settings: ClientSettings,
    auth: Option<VaultAuth>,
) -> (Client, Arc<Mutex<Vec<Event>>>) {
    let mut builder = Client::builder()
        .vault(VaultSettings {
            address: var("VAULT_ADDR"),
            token: if auth.is_some() {
                String::new()
            } else {
                var("VAULT_TOKEN")
            },
            namespace: None,
            tls: Default::default(),
        })
        .settings(settings);
    if let Some(auth) = auth {
        builder = builder.vault_auth(auth);
    }
    let client = builder.build().await.unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    client.subscribe(move |e| sink.lock().unwrap().push(e.clone()));
    (client, events)
}

async fn creds(client: &Client) -> (String, String) {
    let r = creds_ref();
    let user = client.get(&format!("{r}#username")).await.unwrap();
    let pass = client.get(&format!("{r}#password")).await.unwrap();
    (
        user.reveal().unwrap().to_owned(),
        pass.reveal().unwrap().to_owned(),
    )
}

async fn wait_for(events: &Mutex<Vec<Event>>, kind: EventKind, n: usize, limit: Duration) {
    let started = Instant::now();
    while count(events, kind) < n {
        assert!(
            started.elapsed() < limit,
            "no {kind:?} event within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn generated_credentials_log_in_and_renewals_move_valid_until() {
    let (client, events) = client_with(ClientSettings::default(), None).await;
    let (user, pass) = creds(&client).await;
    assert_eq!(login(&user, &pass).unwrap(), "3");
    assert!(
        login(&user, "wrong-password").is_err(),
        "scram authentication is on"
    );
    let before = valid_until(&user);
    wait_for(&events, EventKind::Renewed, 1, Duration::from_secs(15)).await;
    let after = valid_until(&user);
    assert!(after > before, "VALID UNTIL moved: {before} → {after}");
    assert_eq!(creds(&client).await.0, user, "renewed, not replaced");
    assert_eq!(client.close().await, 1);
    assert!(
        !role_exists(&user),
        "close() revoked the lease and the role is gone"
    );
}

#[tokio::test]
async fn ninety_seconds_of_connections_see_no_failed_login_across_rotations() {
    let (client, events) = client_with(ClientSettings::default(), None).await;
    let started = Instant::now();
    let (mut connections, mut failures, mut users) = (0, 0, std::collections::BTreeMap::new());
    while started.elapsed() < Duration::from_secs(90) {
        let (user, pass) = creds(&client).await;
        match login(&user, &pass) {
            Ok(_) => connections += 1,
            Err(e) => {
                failures += 1;
                eprintln!("login as {user} failed: {e}");
            }
        }
        users.insert(user, pass);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rotations = count(&events, EventKind::Rotated);
    let renewals = count(&events, EventKind::Renewed);
    println!(
        "lifecycle loop: 90 s, {connections} connections, {failures} failed logins, {rotations} rotations, {renewals} renewals, {} distinct users",
        users.len()
    );
    assert_eq!(failures, 0);
    assert!(
        rotations >= 2,
        "max_ttl 30 s over 90 s: {rotations} rotations"
    );
    assert_eq!(users.len(), rotations + 1);
    let current = creds(&client).await.0;
    let revoked = client.close().await;
    assert!(revoked >= 1);
    // The lease in force was revoked (its role dropped); the replaced ones
    // ran out at max_ttl. No credential the loop saw logs in any more.
    assert!(!role_exists(&current), "{current} survived close()");
    for (user, pass) in &users {
        assert!(
            login(user, pass).is_err(),
            "{user} still logs in after close()"
        );
    }
}

#[tokio::test]
async fn database_credentials_and_watch_in_one_call_each() {
    let (client, _) = client_with(ClientSettings::default(), None).await;
    let creds = client
        .database_credentials("database", &var("SK_VAULT_DB_ROLE"))
        .await
        .unwrap();
    assert_eq!(
        login(&creds.username, creds.password.reveal().unwrap()).unwrap(),
        "3"
    );
    assert_eq!(
        creds.lease.as_ref().unwrap().duration_secs,
        var("SK_DB_DEFAULT_TTL").parse::<u64>().unwrap()
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    client
        .watch(&creds.reference, move |e| {
            sink.lock().unwrap().push(e.clone())
        })
        .unwrap();
    // The role's max_ttl forces a rotation: the watcher hears of it.
    let max: u64 = var("SK_DB_MAX_TTL").parse().unwrap();
    wait_for(&seen, EventKind::Rotated, 1, Duration::from_secs(max + 5)).await;
    let rotated = seen.lock().unwrap()[0].clone();
    assert_eq!(
        rotated.old_username.as_deref(),
        Some(creds.username.as_str())
    );
    let fresh = client
        .database_credentials("database", &var("SK_VAULT_DB_ROLE"))
        .await
        .unwrap();
    assert_eq!(rotated.username.as_deref(), Some(fresh.username.as_str()));
    assert_eq!(
        login(&fresh.username, fresh.password.reveal().unwrap()).unwrap(),
        "3"
    );
    client.close().await;
}

#[tokio::test]
async fn a_lease_revoked_behind_the_clients_back_is_replaced() {
    let (client, events) = client_with(ClientSettings::default(), None).await;
    let (user, _) = creds(&client).await;
    let lease = client
        .get(&creds_ref())
        .await
        .unwrap()
        .lease()
        .unwrap()
        .id
        .clone();
    let status = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            &format!("X-Vault-Token: {}", var("VAULT_TOKEN")),
        ])
        .args(["-d", &format!(r#"{{"lease_id":"{lease}"}}"#)])
        .arg(format!("{}/v1/sys/leases/revoke", var("VAULT_ADDR")))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(!role_exists(&user));
    wait_for(&events, EventKind::Rotated, 1, Duration::from_secs(15)).await;
    let (new_user, new_pass) = creds(&client).await;
    assert_ne!(new_user, user);
    assert_eq!(login(&new_user, &new_pass).unwrap(), "3");
    client.close().await;
}

#[tokio::test]
async fn from_env_logs_in_with_approle_files() {
    // The only test in this binary that touches the environment.
    std::env::set_var("VAULT_ROLE_ID_FILE", var("SK_APPROLE_ROLE_ID_FILE"));
    std::env::set_var("VAULT_SECRET_ID_FILE", var("SK_APPROLE_SECRET_ID_FILE"));
    let client = Client::builder()
        .vault_from_env()
        .unwrap()
        .build()
        .await
        .unwrap();
    let user = client
        .get(&format!("{}#username", creds_ref()))
        .await
        .unwrap();
    assert!(
        user.reveal().unwrap().starts_with("v-approle-"),
        "logged in with AppRole, not VAULT_TOKEN"
    );
    client.close().await;
}

#[tokio::test]
async fn a_refused_approle_login_is_an_auth_error_that_names_no_secret() {
    let auth = VaultAuth::AppRole {
        mount: "approle".into(),
        role_id: SecretSource::File(var("SK_APPROLE_ROLE_ID_FILE").into()),
        secret_id: SecretSource::Value("not-the-secret-id".into()),
    };
    let (client, _) = client_with(ClientSettings::default(), Some(auth)).await;
    let err = client.get(&creds_ref()).await.unwrap_err();
    assert_eq!(err.kind(), secretkit::ErrorKind::Auth, "{err}");
    assert!(!err.to_string().contains("not-the-secret-id"), "{err}");
}

#[tokio::test]
async fn approle_login_token_renewal_and_relogin() {
    let auth = VaultAuth::AppRole {
        mount: "approle".into(),
        role_id: SecretSource::File(var("SK_APPROLE_ROLE_ID_FILE").into()),
        secret_id: SecretSource::File(var("SK_APPROLE_SECRET_ID_FILE").into()),
    };
    let (client, events) = client_with(ClientSettings::default(), Some(auth)).await;
    let (user, pass) = creds(&client).await;
    assert!(user.starts_with("v-approle-"), "{user}");
    assert_eq!(login(&user, &pass).unwrap(), "3");
    let token_ttl: u64 = var("SK_APPROLE_TOKEN_TTL").parse().unwrap();
    let token_max: u64 = var("SK_APPROLE_TOKEN_MAX_TTL").parse().unwrap();
    // Renewals of the token, then at max TTL a new login whose new token
    // re-reads the credentials the old token owned.
    let token_renewals = || {
        events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.kind == EventKind::Renewed && e.reference == "vault:auth/token/self")
            .count()
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(token_max + token_ttl) {
        let (u, p) = creds(&client).await;
        assert!(login(&u, &p).is_ok(), "{u} after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(token_renewals() >= 2, "{} token renewals", token_renewals());
    assert!(count(&events, EventKind::Rotated) >= 1);
    let (latest, _) = creds(&client).await;
    assert_ne!(latest, user);
    client.close().await;
}
