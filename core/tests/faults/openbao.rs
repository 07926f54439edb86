//! OpenBao for the fault tests: Vault's HTTP API without secretkit (for
//! setting up), and dedicated dev servers with a TLS listener that the
//! tests start, kill and restart themselves.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use secretkit::runtime::native::ReqwestTransport;
use secretkit::{TlsSettings, Transport};

/// Vault's HTTP API without secretkit, for setting up: (status, JSON body).
pub async fn vault_api(
    address: &str,
    token: &str,
    ca: Option<&Path>,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let tls = TlsSettings {
        ca_files: ca.map(Path::to_path_buf).into_iter().collect(),
        ..Default::default()
    };
    vault_api_tls(address, token, &tls, method, path, body).await
}

/// `vault_api` trusting `tls`.
pub async fn vault_api_tls(
    address: &str,
    token: &str,
    tls: &TlsSettings,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let transport = ReqwestTransport::with_tls(Duration::from_secs(5), tls).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{address}/v1/{path}"))
        .header("X-Vault-Token", token)
        .body(Bytes::from(body))
        .unwrap();
    match transport.send(request).await {
        Ok(r) => (
            r.status().as_u16(),
            serde_json::from_slice(r.body()).unwrap_or_default(),
        ),
        Err(e) => (0, serde_json::json!({ "transport": e.to_string() })),
    }
}

pub const BAO_TOKEN: &str = "sk-faults-root";

fn bao_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SK_BAO_BIN") {
        return bin.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/bao");
    if venv.exists() {
        return venv;
    }
    "bao".into()
}

/// A free loopback port whose next port is free too (OpenBao's cluster
/// listener takes port + 1).
fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port < 65535 && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free pair of loopback ports");
}

/// An OpenBao dev server with a TLS listener on `port`, killed (and its
/// directory removed) on drop, whatever the test's outcome.
pub struct Bao {
    child: Option<Child>,
    dir: PathBuf,
    host: &'static str,
    port: u16,
}

impl Bao {
    /// `bao server -dev -dev-tls`: OpenBao generates a CA and a server
    /// certificate for 127.0.0.1; they are kept in `dir/tls` (the dev server
    /// deletes its own copies when it stops).
    pub async fn start_tls(name: &str) -> Bao {
        Bao::start_tls_at(name, "127.0.0.1").await
    }

    /// Listening on `host` (a loopback address). The certificate names
    /// `localhost` and 127.0.0.1 only, so on another address it is reached
    /// with the TLS server name `localhost` (`tls()`).
    pub async fn start_tls_at(name: &str, host: &'static str) -> Bao {
        let dir =
            std::env::temp_dir().join(format!("secretkit-faults-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("gen")).unwrap();
        let mut bao = Bao {
            child: None,
            port: free_port_pair(),
            host,
            dir,
        };
        bao.spawn(&[
            "-dev-tls".into(),
            format!("-dev-tls-cert-dir={}", bao.dir.join("gen").display()),
            format!("-dev-listen-address={host}:{}", bao.port),
        ]);
        let gen = bao.dir.join("gen");
        let files = ["vault-ca.pem", "vault-cert.pem", "vault-key.pem"];
        let tls = TlsSettings {
            ca_files: vec![gen.join("vault-ca.pem")],
            ..bao.tls()
        };
        bao.wait_ready(&tls, || files.iter().all(|f| gen.join(f).exists()))
            .await;
        std::fs::create_dir_all(bao.dir.join("tls")).unwrap();
        for f in files {
            std::fs::copy(gen.join(f), bao.dir.join("tls").join(f)).unwrap();
        }
        bao
    }

    pub fn url(&self) -> String {
        format!("https://{}:{}", self.host, self.port)
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("tls/vault-ca.pem")
    }

    /// What a client trusts to reach this server.
    pub fn tls(&self) -> TlsSettings {
        TlsSettings {
            ca_files: vec![self.ca()],
            server_name: (self.host != "127.0.0.1").then(|| "localhost".to_owned()),
            ..Default::default()
        }
    }

    fn spawn(&mut self, args: &[String]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("bao.log"))
            .unwrap();
        let mut cmd = Command::new(bao_bin());
        cmd.args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={BAO_TOKEN}"))
            .args(args)
            .env("HOME", &self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (name, _) in std::env::vars() {
            if name.starts_with("VAULT_") || name.starts_with("BAO_") {
                cmd.env_remove(name);
            }
        }
        self.child = Some(cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run {} (scripts/install-deps.sh installs it): {e}",
                bao_bin().display()
            )
        }));
    }

    /// Until the TLS listener answers `sys/health` (trusting `tls`).
    async fn wait_ready(&mut self, tls: &TlsSettings, files_ready: impl Fn() -> bool) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let log = std::fs::read_to_string(self.dir.join("bao.log")).unwrap_or_default();
                panic!("bao exited ({status}) before it was ready:\n{log}");
            }
            if files_ready() {
                let (status, _) =
                    vault_api_tls(&self.url(), BAO_TOKEN, tls, "GET", "sys/health", None).await;
                if status == 200 {
                    return;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "bao did not come up on {}",
                self.url()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start again on the same port with the same certificate (the dev
    /// server's own listener moves to a spare port).
    pub async fn restart(&mut self) {
        self.kill();
        let tls = self.dir.join("tls");
        let config = self.dir.join("listener.hcl");
        std::fs::write(
            &config,
            format!(
                "listener \"tcp\" {{\n  address = \"{}:{}\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
                self.host,
                self.port,
                tls.join("vault-cert.pem").display(),
                tls.join("vault-key.pem").display()
            ),
        )
        .unwrap();
        self.spawn(&[
            format!("-dev-listen-address=127.0.0.1:{}", free_port_pair()),
            format!("-config={}", config.display()),
        ]);
        let tls = self.tls();
        self.wait_ready(&tls, || true).await;
    }

    pub async fn put(&self, path: &str, data: serde_json::Value) {
        let (status, answer) = vault_api_tls(
            &self.url(),
            BAO_TOKEN,
            &self.tls(),
            "POST",
            &format!("secret/data/{path}"),
            Some(serde_json::json!({ "data": data })),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
