//! The AWS SDK on our runtime: an SDK HTTP client over `Transport`, and the
//! SDK's sleep and time source over `Clock`.
//!
//! One HTTP stack for every backend (and on wasm the only one there is), and
//! one clock, so the SDK's signing and retries follow the test clock too.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_smithy_async::rt::sleep::{AsyncSleep, Sleep};
use aws_smithy_async::time::TimeSource;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

use crate::runtime::{Runtime, TransportError};

/// The AWS SDK's HTTP client, sleep and time source over a secretkit
/// `Runtime`; public so applications (and our tests) can build their own SDK
/// clients on the same transport.
#[derive(Clone)]
pub struct SdkHttp(pub Runtime);

impl fmt::Debug for SdkHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SdkHttp")
    }
}

impl HttpClient for SdkHttp {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for SdkHttp {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let transport = self.0.transport.clone();
        HttpConnectorFuture::new(async move {
            let request = to_http(request)?;
            let response = transport.send(request).await.map_err(to_connector_error)?;
            from_http(response)
        })
    }
}

fn to_http(request: HttpRequest) -> Result<http::Request<Bytes>, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    let (parts, body) = request.into_parts();
    // SDK request bodies for the calls we make are always in memory.
    let body = body.bytes().map(Bytes::copy_from_slice).ok_or_else(|| {
        ConnectorError::other("streaming request bodies are not supported".into(), None)
    })?;
    Ok(http::Request::from_parts(parts, body))
}

fn from_http(response: http::Response<Bytes>) -> Result<HttpResponse, ConnectorError> {
    let (parts, body) = response.into_parts();
    let status = StatusCode::try_from(parts.status.as_u16())
        .map_err(|e| ConnectorError::other(e.into(), None))?;
    let mut out = HttpResponse::new(status, SdkBody::from(body));
    for (name, value) in parts.headers.iter() {
        if let Ok(value) = value.to_str() {
            out.headers_mut()
                .append(name.as_str().to_owned(), value.to_owned());
        }
    }
    Ok(out)
}

fn to_connector_error(e: TransportError) -> ConnectorError {
    match e {
        TransportError::Timeout => ConnectorError::timeout(e.into()),
        TransportError::Connect(_) | TransportError::Io(_) | TransportError::Untrusted(_) => {
            ConnectorError::io(e.into())
        }
        TransportError::BodyTooLarge => ConnectorError::other(e.into(), None),
    }
}

impl AsyncSleep for SdkHttp {
    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep::new(self.0.clock.sleep(duration))
    }
}

impl TimeSource for SdkHttp {
    fn now(&self) -> SystemTime {
        self.0.clock.now()
    }
}
