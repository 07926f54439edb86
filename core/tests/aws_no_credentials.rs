//! With no AWS credentials anywhere in the chain, a read fails with a
//! `config` error that says so, not as if the network were down. A test
//! binary of its own because it changes the process environment.

#![allow(clippy::unwrap_used)]

use secretkit::{Client, ErrorKind};

#[tokio::test]
async fn an_empty_credential_chain_is_a_config_error() {
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/secretkit/config");
    std::env::set_var(
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/secretkit/credentials",
    );
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::remove_var("VAULT_ADDR");
    std::env::remove_var("BAO_ADDR");
    let client = Client::from_env().await.unwrap();
    let err = client.get("ssm:/prod/myapp/db-password").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert_eq!(err.reference(), Some("ssm:/prod/myapp/db-password"));
}
