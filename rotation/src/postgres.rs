//! The PostgreSQL side of a rotation: log in with a secret's credentials,
//! set a role's password, and (alternating users) create the clone role
//! with the original's grants. Statements that take a role name or a
//! password are built by the server (`format('%I', '%L')`), so quoting is
//! PostgreSQL's own, never ours.

use std::sync::Arc;
use std::time::Duration;

use secretkit::{Error, ErrorKind, Result};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::credentials::Credentials;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connect as the secret's user; the connection runs on a spawned task
/// until the client is dropped.
pub async fn connect(c: &Credentials) -> Result<Client> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&c.host)
        .port(c.port()?)
        .user(&c.username)
        .password(c.password.as_bytes())
        .dbname(c.dbname())
        .application_name("secretkit-rotation")
        .connect_timeout(CONNECT_TIMEOUT)
        .ssl_mode(match c.sslmode.as_deref() {
            Some("disable") => SslMode::Disable,
            Some("require") | Some("verify-full") => SslMode::Require,
            _ => SslMode::Prefer,
        });
    let (client, connection) = config.connect(tls()).await.map_err(|e| {
        db_error(
            &format!(
                "logging in to {}:{} as {}",
                c.host,
                c.port().unwrap_or(0),
                c.username
            ),
            &e,
        )
    })?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Whether `c` logs in: `Ok(false)` when the server refuses the password or
/// the role, an error when the server cannot be reached.
pub async fn logs_in(c: &Credentials) -> Result<bool> {
    match connect(c).await {
        Ok(client) => {
            client
                .simple_query("SELECT 1")
                .await
                .map_err(|e| db_error("SELECT 1", &e))?;
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::Auth => Ok(false),
        Err(e) => Err(e),
    }
}

/// `ALTER ROLE user WITH PASSWORD '...'`, quoted by the server.
pub async fn set_password(admin: &Client, user: &str, password: &str) -> Result<()> {
    let row = admin
        .query_one(
            "SELECT format('ALTER ROLE %I WITH PASSWORD %L', $1::text, $2::text)",
            &[&user, &password],
        )
        .await
        .map_err(|e| db_error("building ALTER ROLE", &e))?;
    let statement: String = row.get(0);
    admin
        .batch_execute(&statement)
        .await
        .map_err(|e| db_error(&format!("setting the password of {user}"), &e))
}

/// Alternating users: create `clone` (if missing) as a login role holding
/// what `original` holds: its role memberships and its privileges on
/// tables, sequences and schemas (the same grants, granted by the master).
pub async fn ensure_clone(
    master: &Client,
    original: &str,
    clone: &str,
    password: &str,
) -> Result<()> {
    let exists = master
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&clone])
        .await
        .map_err(|e| db_error("looking up the clone role", &e))?
        .is_some();
    if !exists {
        let statements = master
            .query(CLONE_STATEMENTS, &[&original, &clone, &password])
            .await
            .map_err(|e| db_error(&format!("reading the grants of {original}"), &e))?;
        for row in statements {
            let statement: String = row.get(0);
            master
                .batch_execute(&statement)
                .await
                .map_err(|e| db_error(&format!("creating {clone} like {original}"), &e))?;
        }
    }
    set_password(master, clone, password).await
}

/// The statements that make `$2` like `$1`, in order: the role, its
/// memberships, then its object grants. Built by the server from the
/// catalogs, with server-side quoting.
const CLONE_STATEMENTS: &str = "
SELECT format('CREATE ROLE %I WITH LOGIN PASSWORD %L', $2::text, $3::text)
UNION ALL
SELECT * FROM (
  SELECT format('GRANT %I TO %I', g.rolname, $2::text)
  FROM pg_auth_members m
  JOIN pg_roles g ON g.oid = m.roleid
  JOIN pg_roles u ON u.oid = m.member
  WHERE u.rolname = $1::text
  ORDER BY g.rolname
) memberships
UNION ALL
SELECT * FROM (
  SELECT format('GRANT %s ON TABLE %I.%I TO %I', string_agg(privilege_type, ', '),
                table_schema, table_name, $2::text)
  FROM information_schema.role_table_grants
  WHERE grantee = $1::text
  GROUP BY table_schema, table_name
  ORDER BY table_schema, table_name
) tables
UNION ALL
SELECT * FROM (
  SELECT format('GRANT USAGE ON SCHEMA %I TO %I', n.nspname, $2::text)
  FROM pg_namespace n
  WHERE has_schema_privilege($1::text, n.oid, 'USAGE')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'public')
    AND n.nspname NOT LIKE 'pg_%'
  ORDER BY n.nspname
) schemas";

/// TLS with rustls: the system's roots (honouring SSL_CERT_FILE, where an
/// RDS CA bundle goes) and the Mozilla roots.
fn tls() -> MakeRustlsConnect {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    match config {
        Ok(config) => MakeRustlsConnect::new(config),
        // The ring provider supports the default versions; unreachable.
        Err(_) => MakeRustlsConnect::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        ),
    }
}

/// A database error as a secretkit error: what we were doing and the
/// server's SQLSTATE and message (PostgreSQL's messages name roles, never
/// passwords); refused logins are `auth`.
fn db_error(doing: &str, e: &tokio_postgres::Error) -> Error {
    let kind = match e.code() {
        Some(code) if *code == SqlState::INVALID_PASSWORD => ErrorKind::Auth,
        Some(code) if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => ErrorKind::Auth,
        Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => ErrorKind::AccessDenied,
        Some(_) => ErrorKind::Unavailable,
        None if e.to_string().contains("timed out") => ErrorKind::Timeout,
        None => ErrorKind::Unavailable,
    };
    let detail = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    Error::new(kind, format!("PostgreSQL, {doing}: {detail}"))
}
