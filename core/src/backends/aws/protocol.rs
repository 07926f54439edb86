//! The AWS JSON 1.1 protocol, which SSM and Secrets Manager both speak:
//! a signed POST of a JSON document to the service's endpoint, the
//! operation named in `X-Amz-Target`, a JSON answer or a JSON error.
//!
//! secretkit's own layer over its `Transport` (instead of the AWS SDK for
//! Rust, whose runtime was most of the edge module): the same code signs
//! and sends every call on every target, with the core's one retry layer
//! and timeout around it.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use super::credentials::Source;
use super::sigv4;
use crate::error::{Error, ErrorKind, Result};
use crate::runtime::{with_timeout, Runtime, TransportError};

/// One of the two services, and where to reach it.
#[derive(Clone)]
pub(crate) struct Service {
    /// The name SigV4 scopes signatures to.
    signing_name: &'static str,
    /// The prefix of `X-Amz-Target`.
    target_prefix: &'static str,
    /// Resolved when the client is built; a bad region or endpoint is
    /// reported by each read of the service, as a `config` error.
    endpoint: std::result::Result<Endpoint, Error>,
}

pub(crate) const SSM: (&str, &str) = ("ssm", "AmazonSSM");
pub(crate) const SECRETS_MANAGER: (&str, &str) = ("secretsmanager", "secretsmanager");

impl Service {
    /// `(signing name, target prefix)` at `custom` (an endpoint URL) or at
    /// the region's standard endpoint.
    pub(crate) fn new(
        (signing_name, target_prefix): (&'static str, &'static str),
        region: &str,
        custom: Option<&str>,
        variant: Variant,
    ) -> Service {
        let endpoint = match custom {
            Some(url) => Endpoint::parse(url),
            None => Endpoint::standard(signing_name, region, variant),
        };
        Service {
            signing_name,
            target_prefix,
            endpoint,
        }
    }
}

/// FIPS and dual-stack endpoints (AWS_USE_FIPS_ENDPOINT,
/// AWS_USE_DUALSTACK_ENDPOINT).
#[derive(Clone, Copy, Default)]
pub(crate) struct Variant {
    pub fips: bool,
    pub dual_stack: bool,
}

/// A service endpoint: the URL requests go to, and the parts SigV4 signs.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    url: String,
    /// `host` or `host:port` (no port when it is the scheme's default), as
    /// the Host header carries it.
    host: String,
    path: String,
}

impl Endpoint {
    /// A custom endpoint (`AWS_ENDPOINT_URL…`, the `endpoint` setting): a
    /// local moto, a VPC endpoint, a proxy.
    fn parse(url: &str) -> Result<Endpoint> {
        let bad = |why: &str| Error::config(format!("AWS endpoint `{url}` {why}"));
        let uri: http::Uri = url.parse().map_err(|_| bad("is not a URL"))?;
        let default_port = match uri.scheme_str() {
            Some("https") => 443,
            Some("http") => 80,
            _ => return Err(bad("is not an http or https URL")),
        };
        let authority = uri.authority().ok_or_else(|| bad("has no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("holds a user name or password"));
        }
        if uri.query().is_some() {
            return Err(bad("has a query string"));
        }
        let host = match authority.port_u16() {
            Some(p) if p != default_port => format!("{}:{p}", authority.host()),
            _ => authority.host().to_owned(),
        };
        let path = match uri.path() {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        Ok(Endpoint {
            url: format!("{}://{}{}", uri.scheme_str().unwrap_or("https"), host, path),
            host,
            path,
        })
    }

    /// The region's public endpoint, by the partition's DNS suffix.
    fn standard(service: &str, region: &str, variant: Variant) -> Result<Endpoint> {
        check_region(region)?;
        let fips = if variant.fips { "-fips" } else { "" };
        let china = region.starts_with("cn-");
        let suffix = if variant.dual_stack {
            if china {
                "api.amazonwebservices.com.cn"
            } else {
                "api.aws"
            }
        } else if china {
            "amazonaws.com.cn"
        } else if region.starts_with("us-isob-") {
            "sc2s.sgov.gov"
        } else if region.starts_with("us-iso-") {
            "c2s.ic.gov"
        } else {
            "amazonaws.com"
        };
        let host = format!("{service}{fips}.{region}.{suffix}");
        Ok(Endpoint {
            url: format!("https://{host}/"),
            host,
            path: "/".to_owned(),
        })
    }
}

/// A region goes into a host name and a signature: a DNS label or nothing.
pub(crate) fn check_region(region: &str) -> Result<()> {
    let label = !region.is_empty()
        && region.len() <= 63
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if label {
        Ok(())
    } else if region.is_empty() {
        Err(Error::config(
            "no AWS region: set AWS_REGION (or the region setting)",
        ))
    } else {
        Err(Error::config(format!(
            "`{}` is not an AWS region name (lower-case letters, digits and `-`)",
            region.escape_debug()
        )))
    }
}

/// Signs and sends calls for one account and region.
#[derive(Clone)]
pub(crate) struct Caller {
    pub rt: Runtime,
    pub timeout: Duration,
    pub region: String,
    pub credentials: Source,
}

impl Caller {
    /// One call of `operation` with a JSON `input`; the answer's body on
    /// success (a 2xx), a typed error otherwise.
    pub(crate) async fn call(
        &self,
        service: &Service,
        operation: &str,
        input: &Value,
    ) -> Result<Bytes> {
        let endpoint = service.endpoint.clone()?;
        check_region(&self.region)?;
        let credentials = self.credentials.get().await?;
        let body = serde_json::to_vec(input).unwrap_or_default();
        let target = format!("{}.{operation}", service.target_prefix);
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ];
        let signed = sigv4::sign(
            &sigv4::Request {
                host: &endpoint.host,
                path: &endpoint.path,
                headers: &headers,
                body: &body,
            },
            &sigv4::Scope {
                region: &self.region,
                service: service.signing_name,
            },
            &credentials,
            self.rt.clock.wall(),
        );
        let mut request = http::Request::builder()
            .method(http::Method::POST)
            .uri(endpoint.url.as_str());
        for (name, value) in headers.iter().copied() {
            request = request.header(name, value);
        }
        for (name, value) in &signed {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(Bytes::from(body))
            .map_err(|e| Error::config(format!("cannot build an AWS request: {e}")))?;

        let send = self.rt.transport.send(request);
        let response = with_timeout(&*self.rt.clock, self.timeout, send)
            .await
            .ok_or_else(|| Error::new(ErrorKind::Timeout, "AWS did not answer in time"))?
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response.into_body());
        }
        let retry_after = crate::runtime::retry_after(response.headers());
        // The JSON protocol's error header, else the query-compatible one
        // (`Code;Sender`) some services send.
        let header = |name: &str| {
            let value = response.headers().get(name)?.to_str().ok()?;
            Some(value.split(';').next().unwrap_or(value).to_owned())
        };
        let code = header("x-amzn-errortype").or_else(|| header("x-amzn-query-error"));
        Err(answer_error(status, code, response.body()).with_retry_after(retry_after))
    }
}

fn transport_error(e: TransportError) -> Error {
    let kind = match e {
        TransportError::Timeout => ErrorKind::Timeout,
        TransportError::BodyTooLarge => ErrorKind::InvalidResponse,
        TransportError::Untrusted(_) => ErrorKind::Config,
        TransportError::Connect(_) | TransportError::Io(_) => ErrorKind::Unavailable,
    };
    Error::new(kind, format!("AWS request failed: {e}"))
}

/// A non-2xx answer as an error: by the service's error code (the
/// `X-Amzn-ErrorType` header, else the body's `code` or `__type`), or by
/// the HTTP status when there is none (a proxy's or load balancer's page).
pub(crate) fn answer_error(status: u16, header_code: Option<String>, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let code = header_code
        .or_else(|| field("code"))
        .or_else(|| field("__type"))
        .or_else(|| xml_element(body, "Code"))
        .map(|c| error_code(&c).to_owned())
        .filter(|c| !c.is_empty());
    let message = field("message")
        .or_else(|| field("Message"))
        .or_else(|| xml_element(body, "Message"))
        .unwrap_or_default();
    match code {
        Some(code) => service_error(&code, &message),
        None => status_error(status).unwrap_or_else(|| {
            Error::invalid_response(format!("AWS answered HTTP {status} without an error code"))
        }),
    }
}

/// The text of the first `<name>` element: AWS's front end answers some
/// failures before the service does (a signature that does not match) in
/// the XML error shape of the query protocol.
fn xml_element(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find("</")?;
    Some(text[start..start + len].trim().to_owned())
}

/// The bare code of a qualified one: `com.amazonaws.ssm#ParameterNotFound`
/// and `ParameterNotFound:http://internal.amazon.com/…` are `ParameterNotFound`.
fn error_code(wire: &str) -> &str {
    let code = wire.split(':').next().unwrap_or(wire);
    code.rsplit('#').next().unwrap_or(code).trim()
}

/// What an HTTP status says when the answer has no service error code.
fn status_error(status: u16) -> Option<Error> {
    match status {
        300..=399 => Some(Error::new(
            ErrorKind::Unavailable,
            format!(
                "AWS answered with a redirect (HTTP {status}); secretkit never follows \
                 redirects, so the credentials stay with the configured endpoint"
            ),
        )),
        429 => Some(Error::new(
            ErrorKind::Throttled,
            format!("AWS answered HTTP {status} without an error code"),
        )),
        500..=599 => Some(Error::new(
            ErrorKind::Unavailable,
            format!("AWS answered HTTP {status} without an error code"),
        )),
        _ => None,
    }
}

/// A service error code (AWS documents them per API) as one of our kinds.
pub(crate) fn service_error(code: &str, message: &str) -> Error {
    let kind = match code {
        "ParameterNotFound" | "ParameterVersionNotFound" | "ResourceNotFoundException" => {
            ErrorKind::NotFound
        }
        "AccessDeniedException" | "AccessDenied" | "DecryptionFailure" => ErrorKind::AccessDenied,
        "ThrottlingException"
        | "TooManyUpdates"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "ThrottledException"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "SlowDown" => ErrorKind::Throttled,
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "MissingAuthenticationToken"
        | "IncompleteSignature"
        | "SignatureDoesNotMatch" => ErrorKind::Auth,
        "InternalServerError"
        | "InternalServiceError"
        | "InternalFailure"
        | "ServiceUnavailable" => ErrorKind::Unavailable,
        "ValidationException" | "InvalidParameterException" | "InvalidRequestException" => {
            ErrorKind::InvalidReference
        }
        _ => ErrorKind::InvalidResponse,
    };
    Error::new(kind, format!("{code}: {message}"))
}

/// An AWS JSON structure, which is always a JSON object: serde alone would
/// also fill a struct from an array (its fields in order), which AWS never
/// sends and which would let any string land in any field (found by the
/// `aws_response` fuzz target: a secret as a version).
pub(crate) struct Obj<T>(pub T);

impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for Obj<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let object = serde_json::Map::<String, Value>::deserialize(d)?;
        serde_json::from_value(Value::Object(object))
            .map(Obj)
            .map_err(serde::de::Error::custom)
    }
}

/// Decode a 2xx answer into an operation's output shape (a JSON object).
/// serde's messages can quote the offending value (a secret in the wrong
/// place), so only the position is kept.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice::<Obj<T>>(body)
        .map(|o| o.0)
        .map_err(|e| {
            Error::invalid_response(format!(
                "AWS answered {operation} with a body that is not its JSON shape ({} at line {} \
             column {})",
                match e.classify() {
                    serde_json::error::Category::Io => "read error",
                    serde_json::error::Category::Syntax => "syntax error",
                    serde_json::error::Category::Data => "unexpected field type",
                    serde_json::error::Category::Eof => "truncated",
                },
                e.line(),
                e.column()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_without_an_error_code_are_typed_by_their_status() {
        for status in [500, 502, 503, 504] {
            assert_eq!(status_error(status).unwrap().kind(), ErrorKind::Unavailable);
        }
        assert_eq!(status_error(429).unwrap().kind(), ErrorKind::Throttled);
        let redirect = status_error(307).unwrap();
        assert_eq!(redirect.kind(), ErrorKind::Unavailable);
        assert!(redirect.message().contains("redirect"), "{redirect}");
        assert!(status_error(400).is_none());
        let html = answer_error(400, None, b"<html>bad gateway</html>");
        assert_eq!(html.kind(), ErrorKind::InvalidResponse);
    }

    #[test]
    fn codes_come_from_the_header_first_then_the_body() {
        let body = br#"{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"nope"}"#;
        let e = answer_error(400, None, body);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.message(), "ParameterNotFound: nope");
        let header = Some("ThrottlingException:http://internal.amazon.com/coral/".to_owned());
        assert_eq!(answer_error(400, header, body).kind(), ErrorKind::Throttled);
        let xml = b"<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code>\
                    <Message>bad sig</Message></Error></Errors></ErrorResponse>";
        let e = answer_error(403, None, xml);
        assert_eq!(
            (e.kind(), e.message()),
            (ErrorKind::Auth, "SignatureDoesNotMatch: bad sig")
        );
        let code = br#"{"code":"AccessDeniedException","Message":"no"}"#;
        assert_eq!(
            answer_error(400, None, code).kind(),
            ErrorKind::AccessDenied
        );
    }

    #[test]
    fn endpoints() {
        let plain = Variant::default();
        let e = Endpoint::standard("ssm", "eu-west-1", plain).unwrap();
        assert_eq!(e.url, "https://ssm.eu-west-1.amazonaws.com/");
        assert_eq!(e.host, "ssm.eu-west-1.amazonaws.com");
        let e = Endpoint::standard("secretsmanager", "cn-north-1", plain).unwrap();
        assert_eq!(e.host, "secretsmanager.cn-north-1.amazonaws.com.cn");
        let fips = Variant {
            fips: true,
            dual_stack: false,
        };
        let e = Endpoint::standard("ssm", "us-gov-west-1", fips).unwrap();
        assert_eq!(e.host, "ssm-fips.us-gov-west-1.amazonaws.com");
        let dual = Variant {
            fips: false,
            dual_stack: true,
        };
        let e = Endpoint::standard("ssm", "us-east-1", dual).unwrap();
        assert_eq!(e.host, "ssm.us-east-1.api.aws");
        for bad in ["", "us-east-1.evil.com", "a/b", "US-EAST-1", "-x"] {
            let e = Endpoint::standard("ssm", bad, plain).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{bad}");
        }
        let e = Endpoint::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!(
            (e.url.as_str(), e.host.as_str()),
            ("http://127.0.0.1:5000/", "127.0.0.1:5000")
        );
        let e = Endpoint::parse("https://vpce.example:443/prefix").unwrap();
        assert_eq!(
            (e.host.as_str(), e.path.as_str()),
            ("vpce.example", "/prefix")
        );
        for bad in [
            "",
            "ftp://x",
            "http://u:p@host/",
            "http://h/?q=1",
            "not a url",
        ] {
            assert_eq!(
                Endpoint::parse(bad).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }

    #[test]
    fn shape_errors_never_quote_the_value() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Out {
            #[serde(rename = "Version")]
            version: i64,
        }
        let e = decode::<Out>("GetParameter", br#"{"Version":"s3cret-value"}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        assert!(!e.to_string().contains("s3cret"), "{e}");
        // A struct is an object, never an array of its fields in order.
        assert_eq!(
            decode::<Out>("GetParameter", br#"{"Version":3}"#)
                .unwrap()
                .version,
            3
        );
        let e = decode::<Out>("GetParameter", b"[3]").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    }
}
