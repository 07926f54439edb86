//! A fault proxy for the real-server tests: it sits between a client and a
//! real server (moto, OpenBao), forwards each request, records what it saw,
//! and breaks the answers the way a test asks.
//!
//! One request per connection: the proxy tells both sides `Connection:
//! close`, so every request is a fresh connection and the upstream's answer
//! ends at its EOF (chunked or Content-Length alike, forwarded as raw bytes).
//! HTTP parsing goes only as far as that needs: the request head and a
//! Content-Length body.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to one request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Forward, but hold the answer this long first.
    Latency(Duration),
    /// Forward the answer's head and this many bytes of its body, then
    /// reset the connection (RST: SO_LINGER 0 and close).
    ResetAfter(usize),
    /// Forward the answer `bytes` at a time, `every` apart.
    Trickle { bytes: usize, every: Duration },
    /// Answer this without asking the server.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Answer 307 to the same path at another origin (`http://host:port`).
    RedirectTo(String),
}

impl Fault {
    /// A bare status, the way a load balancer in front of the service says it.
    pub fn status(status: u16) -> Fault {
        Fault::Answer {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: format!("<html><body><h1>{status}</h1></body></html>"),
        }
    }

    /// AWS throttling in the JSON protocols' shape, code in the body's
    /// `__type` (what SSM and Secrets Manager send).
    pub fn aws_throttling() -> Fault {
        Fault::Answer {
            status: 400,
            headers: vec![
                ("Content-Type".into(), "application/x-amz-json-1.1".into()),
                ("x-amzn-RequestId".into(), "00000000-fault-proxy".into()),
            ],
            body: r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into(),
        }
    }

    /// AWS throttling with the code only in the headers: `x-amzn-errortype`
    /// (namespace and URL suffix included, as AWS sends it) and the
    /// query-compatible `x-amzn-query-error`; the body has the message only.
    pub fn aws_throttling_in_headers() -> Fault {
        Fault::Answer {
            status: 400,
            headers: vec![
                ("Content-Type".into(), "application/x-amz-json-1.1".into()),
                (
                    "x-amzn-errortype".into(),
                    "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/"
                        .into(),
                ),
                ("x-amzn-query-error".into(), "ThrottlingException;Sender".into()),
            ],
            body: r#"{"message":"Rate exceeded"}"#.into(),
        }
    }

    /// Vault's rate limit answer.
    pub fn vault_429(retry_after_secs: u64) -> Fault {
        Fault::Answer {
            status: 429,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Retry-After".into(), retry_after_secs.to_string()),
            ],
            body: r#"{"errors":["request path \"secret/\": rate limit quota exceeded"]}"#.into(),
        }
    }

    fn forwards(&self) -> bool {
        !matches!(self, Fault::Answer { .. } | Fault::RedirectTo(_))
    }
}

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The AWS operation (`X-Amz-Target` after its dot), empty for Vault.
    pub operation: String,
    pub fault: Option<Fault>,
    /// The status the client was answered with (0: none, e.g. reset).
    pub status: u16,
}

impl Seen {
    /// `what` is an AWS operation name or a path prefix ("" matches all).
    fn is(&self, what: &str) -> bool {
        self.operation == what || self.path.starts_with(what)
    }
}

struct Rule {
    only: String,
    fault: Fault,
    left: usize,
}

struct State {
    upstream: String,
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<Seen>>,
}

/// A running proxy; dropping it stops accepting.
pub struct Proxy {
    pub port: u16,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every time, until `clear`.
pub const ALWAYS: usize = usize::MAX;

impl Proxy {
    /// A proxy on a free loopback port in front of `upstream`
    /// (`http://127.0.0.1:port`).
    pub async fn start(upstream: &str) -> Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            upstream,
            rules: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = handle(conn, &state).await;
                });
            }
        });
        Proxy { port, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Apply `fault` to the next `times` requests matching `only` (an AWS
    /// operation or a path prefix); later rules wait for earlier ones.
    pub fn inject(&self, only: &str, fault: Fault, times: usize) {
        self.state.rules.lock().unwrap().push(Rule {
            only: only.to_owned(),
            fault,
            left: times,
        });
    }

    /// Forward everything untouched from now on.
    pub fn clear(&self) {
        self.state.rules.lock().unwrap().clear();
    }

    /// Requests matching `only` that reached the proxy.
    pub fn requests(&self, only: &str) -> usize {
        self.seen(only).len()
    }

    /// Requests matching `only` that reached the real server.
    pub fn forwarded(&self, only: &str) -> usize {
        self.seen(only)
            .iter()
            .filter(|s| s.fault.as_ref().is_none_or(Fault::forwards))
            .count()
    }

    pub fn seen(&self, only: &str) -> Vec<Seen> {
        let seen = self.state.seen.lock().unwrap();
        seen.iter().filter(|s| s.is(only)).cloned().collect()
    }
}

impl State {
    /// The fault for this request, if a rule wants it; records the request
    /// and returns its index.
    fn admit(&self, mut seen: Seen) -> (usize, Option<Fault>) {
        let mut rules = self.rules.lock().unwrap();
        let fault = rules
            .iter_mut()
            .find(|r| r.left > 0 && seen.is(&r.only))
            .map(|r| {
                r.left = r.left.saturating_sub(1);
                r.fault.clone()
            });
        seen.fault = fault.clone();
        if let Some(Fault::Answer { status, .. }) = &fault {
            seen.status = *status;
        } else if let Some(Fault::RedirectTo(_)) = &fault {
            seen.status = 307;
        }
        let mut all = self.seen.lock().unwrap();
        all.push(seen);
        (all.len() - 1, fault)
    }

    /// Record the status the server answered request `index` with.
    fn answered(&self, index: usize, answer: &[u8]) {
        let status = std::str::from_utf8(&answer[..answer.len().min(12)])
            .ok()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        self.seen.lock().unwrap()[index].status = status;
    }
}

async fn handle(mut client: TcpStream, state: &State) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or("").to_owned();
    let path = words.next().unwrap_or("").to_owned();
    let operation = header(&head, "x-amz-target")
        .and_then(|t| t.rsplit('.').next().map(str::to_owned))
        .unwrap_or_default();
    let (index, fault) = state.admit(Seen {
        method,
        path: path.clone(),
        operation,
        fault: None,
        status: 0,
    });
    match fault {
        Some(Fault::Answer {
            status,
            headers,
            body,
        }) => {
            let mut answer = format!("HTTP/1.1 {status} Fault\r\n");
            for (name, value) in headers {
                answer.push_str(&format!("{name}: {value}\r\n"));
            }
            answer.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ));
            client.write_all(answer.as_bytes()).await?;
            client.shutdown().await
        }
        Some(Fault::RedirectTo(origin)) => {
            let answer = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {origin}{path}\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            );
            client.write_all(answer.as_bytes()).await?;
            client.shutdown().await
        }
        other => {
            let answer = forward(&state.upstream, &head, &body).await?;
            if !matches!(other, Some(Fault::ResetAfter(_))) {
                state.answered(index, &answer);
            }
            let body_at = find(&answer, b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
            match other {
                Some(Fault::Latency(wait)) => {
                    tokio::time::sleep(wait).await;
                    client.write_all(&answer).await?;
                }
                Some(Fault::ResetAfter(n)) => {
                    let cut = (body_at + n).min(answer.len().saturating_sub(1));
                    client.write_all(&answer[..cut]).await?;
                    client.flush().await?;
                    // Let the partial answer arrive before the reset.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    client.set_zero_linger()?;
                    return Ok(()); // dropped with SO_LINGER 0: RST
                }
                Some(Fault::Trickle { bytes, every }) => {
                    for chunk in answer.chunks(bytes.max(1)) {
                        client.write_all(chunk).await?;
                        client.flush().await?;
                        tokio::time::sleep(every).await;
                    }
                }
                _ => client.write_all(&answer).await?,
            }
            client.shutdown().await
        }
    }
}

/// The request head (text, without the blank line) and its body, or `None`
/// when the client closed without sending one.
async fn read_request(conn: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        assert!(buf.len() < 1 << 20, "request head too large");
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length: usize = header(&head, "content-length")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        header(&head, "transfer-encoding").is_none(),
        "the proxy reads Content-Length request bodies only"
    );
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some((head, body)))
}

/// Send the request to the real server on a connection of its own and read
/// the answer to EOF, with `Connection: close` on both.
async fn forward(upstream: &str, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(closing(head).as_bytes()).await?;
    server.write_all(body).await?;
    let mut answer = Vec::new();
    let read = server.read_to_end(&mut answer);
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .map_err(|_| std::io::Error::other("upstream did not finish its answer"))??;
    let Some(end) = find(&answer, b"\r\n\r\n") else {
        return Ok(answer);
    };
    let mut out = closing(&String::from_utf8_lossy(&answer[..end])).into_bytes();
    out.extend_from_slice(&answer[end + 4..]);
    Ok(out)
}

/// A head with its connection headers replaced by `Connection: close`,
/// ending with the blank line.
fn closing(head: &str) -> String {
    let mut out = String::new();
    for (i, line) in head.split("\r\n").enumerate() {
        let name = line.split(':').next().unwrap_or("").trim();
        let hop = ["connection", "keep-alive", "proxy-connection"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        if i == 0 || !hop {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Another origin that records whatever reaches it: a redirect's target.
pub struct Recorder {
    pub port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    pub async fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    // Record the connection even if nothing arrives on it.
                    let mut buf = vec![0u8; 65536];
                    let read = conn.read(&mut buf);
                    let n = match tokio::time::timeout(Duration::from_secs(2), read).await {
                        Ok(Ok(n)) => n,
                        _ => 0,
                    };
                    log.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                    let _ = conn
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                        )
                        .await;
                });
            }
        });
        Recorder { port, seen, task }
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Everything that reached this origin, one string per connection.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}
