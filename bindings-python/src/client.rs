//! `Client`: a newtype over the core client (a cheap `Arc` clone) whose
//! methods delegate in one line each.

use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use secretkit::{AwsSettings, ClientBuilder, ClientSettings, Error, ErrorKind, VaultSettings};

use crate::block_on;
use crate::errors::to_py;
use crate::secret::Secret;

#[pyclass(frozen, name = "Client", module = "secretkit")]
pub struct Client(secretkit::Client);

#[pymethods]
impl Client {
    /// A client with explicit AWS and/or Vault settings (plain dicts).
    #[new]
    #[pyo3(signature = (aws=None, vault=None, *, default_ttl=None, max_entries=None, timeout=None))]
    fn new(
        py: Python<'_>,
        aws: Option<&Bound<'_, PyDict>>,
        vault: Option<&Bound<'_, PyDict>>,
        default_ttl: Option<f64>,
        max_entries: Option<usize>,
        timeout: Option<f64>,
    ) -> PyResult<Self> {
        let mut builder = secretkit::Client::builder()
            .settings(settings(default_ttl, max_entries, timeout).map_err(to_py)?);
        if let Some(aws) = aws {
            builder = builder.aws(aws_settings(aws)?);
        }
        if let Some(vault) = vault {
            builder = builder.vault(vault_settings(vault)?);
        }
        build(py, builder)
    }

    /// A client configured like the CLIs: AWS's standard chain and VAULT_* / BAO_*.
    #[staticmethod]
    #[pyo3(signature = (*, default_ttl=None, max_entries=None, timeout=None))]
    fn from_env(
        py: Python<'_>,
        default_ttl: Option<f64>,
        max_entries: Option<usize>,
        timeout: Option<f64>,
    ) -> PyResult<Self> {
        let settings = settings(default_ttl, max_entries, timeout).map_err(to_py)?;
        let builder = secretkit::Client::builder()
            .settings(settings)
            .aws_from_env()
            .vault_from_env()
            .map_err(to_py)?;
        build(py, builder)
    }

    /// Blocking read. A fresh cache hit is answered right here, holding the
    /// GIL and without touching tokio; a miss waits with the GIL released.
    fn get(&self, py: Python<'_>, reference: String) -> PyResult<Secret> {
        if let Some(hit) = self.0.get_cached(&reference) {
            return hit.map(Secret).map_err(to_py);
        }
        block_on(py, self.0.get(&reference))?
            .map(Secret)
            .map_err(to_py)
    }

    /// Awaitable read on the shared tokio runtime (pyo3-async-runtimes bridge).
    fn get_async<'py>(&self, py: Python<'py>, reference: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.0.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            client.get(&reference).await.map(Secret).map_err(to_py)
        })
    }

    fn invalidate(&self, reference: String) -> PyResult<()> {
        self.0.invalidate(&reference).map_err(to_py)
    }

    fn clear(&self) {
        self.0.clear()
    }
}

fn build(py: Python<'_>, builder: ClientBuilder) -> PyResult<Client> {
    block_on(py, builder.build())?.map(Client).map_err(to_py)
}

/// Defaults from the core, overridden by whatever the caller passed (seconds).
fn settings(
    default_ttl: Option<f64>,
    max_entries: Option<usize>,
    timeout: Option<f64>,
) -> Result<ClientSettings, Error> {
    let mut s = ClientSettings::default();
    if let Some(ttl) = default_ttl {
        s.default_ttl = seconds("default_ttl", ttl)?;
    }
    if let Some(n) = max_entries {
        s.max_entries = n;
    }
    if let Some(t) = timeout {
        s.timeout = seconds("timeout", t)?;
    }
    Ok(s)
}

fn seconds(name: &str, value: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        Error::new(
            ErrorKind::Config,
            format!("{name} must be a non-negative number of seconds"),
        )
    })
}

/// A typo such as `endpont=` must not silently send requests to real AWS.
fn only_keys(dict: &Bound<'_, PyDict>, what: &str, allowed: &[&str]) -> PyResult<()> {
    for key in dict.keys() {
        let key: String = key.extract()?;
        if !allowed.contains(&key.as_str()) {
            return Err(PyTypeError::new_err(format!(
                "unknown {what} setting {key:?}; expected some of {allowed:?}"
            )));
        }
    }
    Ok(())
}

#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct AwsArgs {
    region: String,
    access_key_id: String,
    secret_access_key: String,
    #[pyo3(default)]
    session_token: Option<String>,
    #[pyo3(default)]
    endpoint: Option<String>,
}

fn aws_settings(dict: &Bound<'_, PyDict>) -> PyResult<AwsSettings> {
    only_keys(
        dict,
        "aws",
        &[
            "region",
            "access_key_id",
            "secret_access_key",
            "session_token",
            "endpoint",
        ],
    )?;
    let a: AwsArgs = dict.extract()?;
    Ok(AwsSettings {
        region: a.region,
        access_key_id: a.access_key_id,
        secret_access_key: a.secret_access_key,
        session_token: a.session_token,
        endpoint: a.endpoint,
    })
}

#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct VaultArgs {
    address: String,
    token: String,
    #[pyo3(default)]
    namespace: Option<String>,
}

fn vault_settings(dict: &Bound<'_, PyDict>) -> PyResult<VaultSettings> {
    only_keys(dict, "vault", &["address", "token", "namespace"])?;
    let v: VaultArgs = dict.extract()?;
    Ok(VaultSettings {
        address: v.address,
        token: v.token,
        namespace: v.namespace,
    })
}
