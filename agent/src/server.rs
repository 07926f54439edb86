//! `secretkit agent`: bind (loopback TCP or a Unix socket), serve with a
//! bound on connections, and on SIGTERM / SIGINT stop accepting, finish
//! the requests under way, then close the client (revoking its Vault
//! leases unless `revoke_on_close` is off) and remove the socket file.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::app::{self, App};
use crate::config::{AgentConfig, Listen};

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
    match listen {
        Listen::Tcp(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let bound = listener.local_addr().map_err(|e| e.to_string())?;
            eprintln!("secretkit agent: listening on {bound}");
            serve(Bounded::new(listener, limit), router).await?;
        }
        Listen::Unix(path) => {
            let listener = bind_unix(path, config.socket_mode()?)?;
            eprintln!("secretkit agent: listening on unix://{}", path.display());
            let served = serve(Bounded::new(listener, limit), router).await;
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

/// A listener that accepts a connection only while fewer than the limit are
/// open: each connection holds a permit until it closes.
struct Bounded<L> {
    inner: L,
    limit: Arc<Semaphore>,
}

impl<L> Bounded<L> {
    fn new(inner: L, limit: Arc<Semaphore>) -> Self {
        Bounded { inner, limit }
    }
}

impl<L: Listener> Listener for Bounded<L> {
    type Io = Permitted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so acquiring cannot fail.
        let permit = self.limit.clone().acquire_owned().await;
        let (io, addr) = self.inner.accept().await;
        (
            Permitted {
                io,
                _permit: permit.ok(),
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection and the permit it holds.
struct Permitted<T> {
    io: T,
    _permit: Option<OwnedSemaphorePermit>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Permitted<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Permitted<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
