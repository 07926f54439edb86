//! Bounded connections: at most `max_connections` open at once, each closed
//! after `idle_timeout` without a byte in either direction (60 s by
//! default; the AWS agent closes its connections after 61 s). A connection over the
//! limit is answered 503 at once and closed, not left in the kernel's
//! backlog: otherwise idle keep-alive connections (a big worker pool, or
//! any local process, since opening one needs no token) would leave every
//! new caller, health checks included, waiting forever.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep, Instant, Sleep};

/// The answer to a connection over the limit.
fn overloaded() -> Vec<u8> {
    let body =
        r#"{"error":{"kind":"refused","message":"too many connections: try again shortly"}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub struct Bounded<L> {
    inner: L,
    limit: Arc<Semaphore>,
    idle: Duration,
}

impl<L> Bounded<L> {
    /// At most `limit`'s permits open at once, each closed after `idle`.
    pub fn new(inner: L, limit: Arc<Semaphore>, idle: Duration) -> Self {
        Bounded { inner, limit, idle }
    }
}

impl<L: Listener> Listener for Bounded<L> {
    type Io = Permitted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (mut io, addr) = self.inner.accept().await;
            match self.limit.clone().try_acquire_owned() {
                Ok(permit) => return (Permitted::new(io, permit, self.idle), addr),
                Err(_) => {
                    tokio::spawn(async move {
                        let _ = io.write_all(&overloaded()).await;
                        let _ = io.shutdown().await;
                    });
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection, the permit it holds, and its idle deadline.
pub struct Permitted<T> {
    io: T,
    _permit: OwnedSemaphorePermit,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<T> Permitted<T> {
    fn new(io: T, permit: OwnedSemaphorePermit, idle: Duration) -> Self {
        Permitted {
            io,
            _permit: permit,
            idle,
            deadline: Box::pin(sleep(idle)),
        }
    }

    /// Any progress pushes the deadline back.
    fn active(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    /// A pending operation fails once the connection has been idle too long.
    fn expired<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Permitted<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.active();
                Poll::Ready(result)
            }
            Poll::Pending => this.expired(cx),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Permitted<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(result) => {
                this.active();
                Poll::Ready(result)
            }
            Poll::Pending => this.expired(cx),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
