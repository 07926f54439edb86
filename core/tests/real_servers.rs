//! The backends against real servers: moto (SSM, Secrets Manager) and an
//! OpenBao dev server, started and seeded by tests/servers.py with
//! `--fixtures` (see tests/fixtures.md). The test command exports their
//! addresses; without them these tests fail, they do not skip.

#![allow(clippy::unwrap_used)] // tests and benches fail loudly by design

mod common;
use common::var;

use std::time::{Duration, Instant};

use secretkit::{AwsSettings, Client, ClientSettings, ErrorKind, VaultSettings};

async fn from_env() -> Client {
    var("AWS_ENDPOINT_URL");
    var("VAULT_ADDR");
    assert_eq!(
        var("SK_FIXTURES"),
        "1",
        "servers were seeded without --fixtures"
    );
    Client::from_env().await.unwrap()
}

async fn reveal(c: &Client, reference: &str) -> String {
    let s = c
        .get(reference)
        .await
        .unwrap_or_else(|e| panic!("{reference}: {e}"));
    s.reveal().unwrap().to_owned()
}

#[tokio::test]
async fn the_three_example_secrets() {
    let c = from_env().await;
    assert_eq!(
        reveal(&c, "ssm:/prod/myapp/db-password").await,
        "s3cureP@ssw0rd!"
    );
    assert_eq!(
        reveal(&c, "asm:prod/myapp/db-credentials#username").await,
        "app_user"
    );
    assert_eq!(
        reveal(&c, "asm:prod/myapp/db-credentials#password").await,
        "s3cureP@ssw0rd!"
    );
    let whole: serde_json::Value =
        serde_json::from_str(&reveal(&c, "asm:prod/myapp/db-credentials").await).unwrap();
    assert_eq!(whole["username"], "app_user");
    assert_eq!(
        reveal(&c, "vault:secret/myapp/config#api_key").await,
        "sk-abc123"
    );
    assert_eq!(
        reveal(&c, "vault:secret/myapp/config#db_host").await,
        "mydb.internal"
    );
    let config: serde_json::Value =
        serde_json::from_str(&reveal(&c, "vault:secret/myapp/config").await).unwrap();
    assert_eq!(config["db_name"], "myapp_prod");
}

#[tokio::test]
async fn redaction_cases_from_the_vectors() {
    let c = from_env().await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/refs.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in v["redaction"]["cases"].as_array().unwrap() {
        let reference = case["ref"].as_str().unwrap();
        let value = case["value"].as_str().unwrap();
        let s = c.get(reference).await.unwrap();
        assert_eq!(s.reveal().unwrap(), value);
        assert_eq!(s.to_string(), case["shown_as"].as_str().unwrap());
        for shown in [format!("{s}"), format!("{s:?}"), format!("{s:#?}")] {
            assert!(!shown.contains(value), "{shown}");
        }
    }
}

#[tokio::test]
async fn ssm_versions_labels_and_metadata() {
    let c = from_env().await;
    assert_eq!(reveal(&c, "ssm:/test/plain").await, "hello");
    assert_eq!(reveal(&c, "ssm:/test/versioned").await, "two");
    assert_eq!(reveal(&c, "ssm:/test/versioned:1").await, "one");
    assert_eq!(reveal(&c, "ssm:/test/versioned?version=1").await, "one");
    assert_eq!(reveal(&c, "ssm:/test/versioned:blue").await, "one");
    let s = c.get("ssm:/test/versioned").await.unwrap();
    assert_eq!(s.version(), Some("2"));
    assert!(s.fetched_at() <= std::time::SystemTime::now());
    let err = c.get("ssm:/test/versioned:9").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn secrets_manager_stages_versions_and_binary() {
    let c = from_env().await;
    assert_eq!(reveal(&c, "asm:test/staged#v").await, "2");
    assert_eq!(reveal(&c, "asm:test/staged?stage=AWSPREVIOUS#v").await, "1");
    let v1 = var("SK_TEST_ASM_STAGED_V1");
    let s = c
        .get(&format!("asm:test/staged?version={v1}#v"))
        .await
        .unwrap();
    assert_eq!(s.reveal().unwrap(), "1");
    assert_eq!(s.version(), Some(v1.as_str()));
    let bin = c.get("asm:test/binary").await.unwrap();
    assert_eq!(bin.reveal_bytes(), b"\xff\x00\x01binary");
    assert_eq!(
        bin.reveal().unwrap_err().reference(),
        Some("asm:test/binary")
    );
}

#[tokio::test]
async fn vault_kv_v1_kv_v2_versions() {
    let c = from_env().await;
    assert_eq!(reveal(&c, "vault:kv1/app#token").await, "v1-token");
    assert_eq!(reveal(&c, "vault:secret/test/versioned#n").await, "2");
    assert_eq!(
        reveal(&c, "vault:secret/test/versioned?version=1#n").await,
        "1"
    );
    let s = c.get("vault:secret/test/versioned").await.unwrap();
    assert_eq!(s.version(), Some("2"));
    assert!(s.lease().is_none());
    let err = c.get("vault:kv1/app?version=1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidReference, "{err}");
}

#[tokio::test]
async fn missing_secrets_are_not_found_in_every_backend() {
    let c = from_env().await;
    for reference in [
        "ssm:/prod/myapp/nope",
        "asm:prod/myapp/nope",
        "vault:secret/myapp/nope",
        "vault:kv1/nope",
        "env:SECRETKIT_TEST_SURELY_UNSET",
        "file:/nonexistent/secretkit/x",
    ] {
        let err = c.get(reference).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{reference}: {err}");
        assert_eq!(err.reference(), Some(reference));
        assert!(err.to_string().contains(reference));
    }
}

#[tokio::test]
async fn fields_of_non_json_and_missing_fields() {
    let c = from_env().await;
    let err = c.get("asm:test/plain-text#password").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
    assert!(!err.to_string().contains("not json"), "{err}");
    let err = c.get("ssm:/prod/myapp/db-password#x").await.unwrap_err();
    assert!(!err.to_string().contains("s3cureP"), "{err}");
    let err = c.get("vault:secret/myapp/config#nope").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(!err.to_string().contains("sk-abc123"), "{err}");
}

#[tokio::test]
async fn invalid_references_fail_before_any_backend_call() {
    let c = from_env().await;
    let err = c.get("s3:bucket/key").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidReference);
    assert!(err.to_string().contains("unknown scheme"), "{err}");
}

#[tokio::test]
async fn env_and_file_references() {
    let c = from_env().await;
    std::env::set_var("SECRETKIT_TEST_ENV_SECRET", "from-env");
    assert_eq!(
        reveal(&c, "env:SECRETKIT_TEST_ENV_SECRET").await,
        "from-env"
    );
    let dir = std::env::temp_dir().join(format!("secretkit-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("creds.json");
    std::fs::write(&file, r#"{"user":"u"}"#).unwrap();
    assert_eq!(
        reveal(&c, &format!("file:{}#user", file.display())).await,
        "u"
    );
    let big = dir.join("big");
    std::fs::write(&big, vec![b'x'; 2 * 1024 * 1024]).unwrap();
    let err = c.get(&format!("file:{}", big.display())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A port nothing listens on: bind, note the port, close.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn servers_that_refuse_give_typed_errors_quickly() {
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let c = Client::builder()
        .aws(AwsSettings {
            region: "us-east-1".into(),
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            session_token: None,
            endpoint: Some(dead.clone()),
        })
        .vault(VaultSettings {
            address: dead,
            token: "t".into(),
            namespace: None,
            tls: Default::default(),
        })
        .settings(ClientSettings {
            timeout: Duration::from_secs(3),
            ..ClientSettings::default()
        })
        .build()
        .await
        .unwrap();
    for reference in ["vault:secret/x", "ssm:/x", "asm:x"] {
        let started = Instant::now();
        let err = c.get(reference).await.unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::Timeout),
            "{reference}: {err}"
        );
        assert_eq!(err.reference(), Some(reference));
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{reference} took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn explicit_configuration_reads_the_same_secrets() {
    let c = Client::builder()
        .aws(AwsSettings {
            region: var("AWS_REGION"),
            access_key_id: var("AWS_ACCESS_KEY_ID"),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
            session_token: None,
            endpoint: Some(var("AWS_ENDPOINT_URL")),
        })
        .vault(VaultSettings {
            address: var("VAULT_ADDR"),
            token: var("VAULT_TOKEN"),
            namespace: None,
            tls: Default::default(),
        })
        .build()
        .await
        .unwrap();
    assert_eq!(
        reveal(&c, "ssm:/prod/myapp/db-password").await,
        "s3cureP@ssw0rd!"
    );
    assert_eq!(
        reveal(&c, "asm:prod/myapp/db-credentials#password").await,
        "s3cureP@ssw0rd!"
    );
    assert_eq!(
        reveal(&c, "vault:secret/myapp/config#db_name").await,
        "myapp_prod"
    );
}

#[tokio::test]
async fn a_wrong_vault_token_is_an_auth_or_access_error() {
    let c = Client::builder()
        .vault(VaultSettings {
            address: var("VAULT_ADDR"),
            token: "not-a-real-token".into(),
            namespace: None,
            tls: Default::default(),
        })
        .build()
        .await
        .unwrap();
    let err = c.get("vault:secret/myapp/config").await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Auth | ErrorKind::AccessDenied),
        "{err}"
    );
}
