//! The native Secret: the value stays in Rust until `reveal()`; index.js adds
//! the redacting toString / toJSON / inspect on top.

use napi::bindgen_prelude::Buffer;
use napi::Result;
use napi_derive::napi;

use crate::error::to_napi;

#[napi(object)]
pub struct Lease {
    pub id: String,
    /// Seconds, as the server granted it.
    pub duration: f64,
    pub renewable: bool,
}

impl From<&secretkit::Lease> for Lease {
    fn from(l: &secretkit::Lease) -> Self {
        Lease {
            id: l.id.clone(),
            duration: l.duration_secs as f64,
            renewable: l.renewable,
        }
    }
}

#[napi(js_name = "NativeSecret")]
pub struct Secret {
    inner: secretkit::Secret,
}

impl From<secretkit::Secret> for Secret {
    fn from(inner: secretkit::Secret) -> Self {
        Secret { inner }
    }
}

#[napi]
impl Secret {
    #[napi]
    pub fn reveal(&self) -> Result<String> {
        self.inner.reveal().map(str::to_owned).map_err(to_napi)
    }

    #[napi]
    pub fn reveal_bytes(&self) -> Buffer {
        self.inner.reveal_bytes().to_vec().into()
    }

    #[napi(getter)]
    pub fn reference(&self) -> String {
        self.inner.reference().to_owned()
    }

    #[napi(getter)]
    pub fn version(&self) -> Option<String> {
        self.inner.version().map(str::to_owned)
    }

    /// Milliseconds since the epoch; the JS layer turns it into a Date.
    #[napi(getter)]
    pub fn fetched_at_ms(&self) -> f64 {
        crate::events::epoch_ms(self.inner.fetched_at())
    }

    /// The backend read this value came from (the hit path compares it).
    #[napi(getter)]
    pub fn serial(&self) -> f64 {
        crate::serial(self.inner.serial())
    }

    #[napi(getter)]
    pub fn lease(&self) -> Option<Lease> {
        self.inner.lease().map(Lease::from)
    }

    /// `Secret(<ref>, <redacted>)`.
    #[napi]
    pub fn redacted(&self) -> String {
        self.inner.redacted()
    }
}
