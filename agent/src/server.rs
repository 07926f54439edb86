//! `secretkit agent`: bind (loopback TCP or a Unix socket), serve with a
//! bound on connections, and on SIGTERM / SIGINT stop accepting, finish
//! the requests under way, then close the client (revoking its Vault
//! leases unless `revoke_on_close` is off) and remove the socket file.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::serve::Listener;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Semaphore;

use crate::app::{self, App};
use crate::config::{AgentConfig, Listen};
use crate::connections::Bounded;

/// Runs the agent until a shutdown signal; returns the leases revoked.
/// `client` is built by `build_client` and `token` from the configuration.
pub async fn run(
    config: &AgentConfig,
    listen: &Listen,
    client: secretkit::Client,
    token: &str,
) -> Result<usize, String> {
    let app = App::new(client.clone(), token);
    let router = app::router(app);
    let limit = Arc::new(Semaphore::new(config.max_connections));
    let idle = config.idle_timeout()?;
    match listen {
        Listen::Tcp(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let bound = listener.local_addr().map_err(|e| e.to_string())?;
            eprintln!("secretkit agent: listening on {bound}");
            serve(Bounded::new(listener, limit, idle), router).await?;
        }
        Listen::Unix(path) => {
            let listener = bind_unix(path, config.socket_mode()?)?;
            eprintln!("secretkit agent: listening on unix://{}", path.display());
            let served = serve(Bounded::new(listener, limit, idle), router).await;
            let _ = std::fs::remove_file(path);
            served?;
        }
    }
    let revoked = client.close().await;
    eprintln!("secretkit agent: stopped, {revoked} lease(s) revoked");
    Ok(revoked)
}

/// The agent's one client: the `[cache]` tunables, AWS's standard chain,
/// Vault from `[vault]` or VAULT_* / BAO_*.
pub async fn build_client(config: &AgentConfig) -> Result<secretkit::Client, String> {
    use secretkit::options::Naming;
    let settings = config
        .cache
        .settings(Naming::Snake)
        .map_err(|e| format!("[cache]: {}", e.message()))?;
    let mut builder = secretkit::Client::builder().direct().aws_from_env();
    builder = match config.vault.clone() {
        Some(vault) => {
            let (settings, auth) = vault
                .into_parts(Naming::Snake)
                .map_err(|e| format!("[vault]: {}", e.message()))?;
            builder.vault(settings).vault_auth(auth)
        }
        None => builder.vault_from_env().map_err(|e| e.to_string())?,
    };
    builder
        .settings(settings)
        .build()
        .await
        .map_err(|e| e.to_string())
}

async fn serve<L>(listener: L, router: axum::Router) -> Result<(), String>
where
    L: Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("the server stopped: {e}"))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the agent runs until killed.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    eprintln!("secretkit agent: shutting down");
}

/// Binds a Unix socket reachable only with `mode`: bound under a temporary
/// name, given its permissions, then renamed into place, so no caller ever
/// connects through the final path while the socket has the umask's
/// permissions. A socket file left by an agent that died is replaced; one
/// with a live agent behind it is not.
fn bind_unix(path: &Path, mode: u32) -> Result<UnixListener, String> {
    let shown = path.display();
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!("{shown}: another agent is listening there"));
        }
        std::fs::remove_file(path)
            .map_err(|e| format!("{shown}: cannot remove the stale socket: {e}"))?;
    }
    let temporary = temporary_name(path);
    let _ = std::fs::remove_file(&temporary);
    let listener =
        UnixListener::bind(&temporary).map_err(|e| format!("cannot listen on {shown}: {e}"))?;
    let placed = std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(mode))
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temporary);
        return Err(format!("{shown}: {e}"));
    }
    Ok(listener)
}

fn temporary_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    PathBuf::from(name)
}
