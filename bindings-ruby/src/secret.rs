//! The native Secret: the value stays in Rust until `reveal`; lib/secretkit.rb
//! adds the redacting `to_s` / `inspect` / `to_json` / `pretty_print`.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use crate::Result;

#[derive(uniffi::Record)]
pub struct Lease {
    pub id: String,
    /// Seconds, as the server granted it.
    pub duration: u64,
    pub renewable: bool,
}

impl From<&secretkit::Lease> for Lease {
    fn from(l: &secretkit::Lease) -> Self {
        Lease {
            id: l.id.clone(),
            duration: l.duration_secs,
            renewable: l.renewable,
        }
    }
}

#[derive(uniffi::Object)]
pub struct NativeSecret {
    inner: secretkit::Secret,
}

impl NativeSecret {
    pub fn new(inner: secretkit::Secret) -> Arc<Self> {
        Arc::new(NativeSecret { inner })
    }
}

#[uniffi::export]
impl NativeSecret {
    /// The value as text; a value that is not UTF-8 is an `invalid_response`
    /// error naming the reference (use `reveal_bytes`).
    pub fn reveal(&self) -> Result<String> {
        Ok(self.inner.reveal()?.to_owned())
    }

    pub fn reveal_bytes(&self) -> Vec<u8> {
        self.inner.reveal_bytes().to_vec()
    }

    pub fn reference(&self) -> String {
        self.inner.reference().to_owned()
    }

    pub fn version(&self) -> Option<String> {
        self.inner.version().map(str::to_owned)
    }

    /// Seconds since the epoch (uniffi's timestamp type does not survive
    /// Ruby's conversion to `Time` exactly; the Ruby layer makes the `Time`).
    pub fn fetched_at(&self) -> f64 {
        self.inner
            .fetched_at()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    pub fn lease(&self) -> Option<Lease> {
        self.inner.lease().map(Lease::from)
    }

    /// `Secret(<ref>, <redacted>)`.
    pub fn redacted(&self) -> String {
        self.inner.redacted()
    }
}
