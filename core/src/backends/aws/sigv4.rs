//! AWS Signature Version 4 for the one request shape secretkit sends: a
//! JSON POST with no query string (the AWS JSON 1.1 protocol).
//!
//! Written from AWS's published description of SigV4 rather than taken from
//! the SDK's `aws-sigv4` crate: that crate brings the SDK's type crates with
//! it (a third of the edge module before this layer), and what we sign is
//! one fixed shape. The unit tests check it against AWS's own test-suite
//! example, and the `sigv4_matches_the_sdk` test against `aws-sigv4` on
//! generated requests.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::credentials::Credentials;

/// What is signed: the request's parts that SigV4 covers.
pub(crate) struct Request<'a> {
    /// `host` or `host:port`, as the Host header will carry it.
    pub host: &'a str,
    /// The URL path, already percent-encoded as it goes on the wire.
    pub path: &'a str,
    /// Headers other than host, x-amz-date and x-amz-security-token:
    /// lower-case names, sorted by name.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// Where the signature is valid: the credential scope's region and service.
pub(crate) struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
}

/// The headers to add to the request: `x-amz-date`, the session token if
/// any, and `authorization`.
pub(crate) fn sign(
    request: &Request<'_>,
    scope: &Scope<'_>,
    credentials: &Credentials,
    at: SystemTime,
) -> Vec<(&'static str, String)> {
    let (date, amz_date) = timestamp(at);
    let token = credentials.session_token.as_deref();

    // Canonical headers: the given ones plus host, x-amz-date and the token,
    // all sorted by name.
    let mut headers: Vec<(&str, &str)> = request.headers.to_vec();
    headers.push(("host", request.host));
    headers.push(("x-amz-date", &amz_date));
    if let Some(token) = token {
        headers.push(("x-amz-security-token", token));
    }
    headers.sort_by(|a, b| a.0.cmp(b.0));
    let mut canonical_headers = String::new();
    for (name, value) in &headers {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&trim_value(value));
        canonical_headers.push('\n');
    }
    let signed_headers = headers.iter().map(|h| h.0).collect::<Vec<_>>().join(";");

    let canonical_request = format!(
        "POST\n{}\n\n{canonical_headers}\n{signed_headers}\n{}",
        canonical_uri(request.path),
        hex(&Sha256::digest(request.body)),
    );
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{credential_scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );

    let secret = Zeroizing::new(format!("AWS4{}", credentials.secret_access_key.as_str()));
    let key = hmac(secret.as_bytes(), date.as_bytes());
    let key = hmac(&key[..], scope.region.as_bytes());
    let key = hmac(&key[..], scope.service.as_bytes());
    let key = hmac(&key[..], b"aws4_request");
    let signature = hex(&hmac(&key[..], string_to_sign.as_bytes())[..]);

    let mut out = vec![("x-amz-date", amz_date.clone())];
    if let Some(token) = token {
        out.push(("x-amz-security-token", token.to_owned()));
    }
    out.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{credential_scope}, SignedHeaders={signed_headers}, \
             Signature={signature}",
            credentials.access_key_id
        ),
    ));
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    // HMAC takes keys of any length: new_from_slice cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(data);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces
/// made one.
fn trim_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The path encoded once more, as SigV4 asks of every service but S3: each
/// byte outside the unreserved set (and `/`) percent-encoded, so an
/// already-encoded `%2F` becomes `%252F`.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    crate::runtime::percent_encode(path, b"/")
}

/// `YYYYMMDD` and `YYYYMMDDTHHMMSSZ` in UTC. Times before 1970 (a broken
/// clock) sign as 1970; AWS then refuses the request as skewed, which is
/// the truth.
fn timestamp(at: SystemTime) -> (String, String) {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let date = format!("{y:04}{m:02}{d:02}");
    let amz = format!(
        "{date}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    (date, amz)
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), by
/// counting 400-year eras of 146,097 days from 0000-03-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146_096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn example_credentials(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
        )
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(16_677), (2015, 8, 30));
        assert_eq!(civil_from_days(20_794), (2026, 12, 7));
        let at = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        assert_eq!(
            timestamp(at),
            ("20150830".to_owned(), "20150830T123600Z".to_owned())
        );
    }

    /// AWS's SigV4 test suite, `post-x-www-form-urlencoded`: a POST to `/`
    /// with a content-type header and a body, signed for `service` in
    /// us-east-1 at 2015-08-30T12:36:00Z.
    #[test]
    fn the_aws_test_suite_example() {
        let at = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let request = Request {
            host: "example.amazonaws.com",
            path: "/",
            headers: &[("content-type", "application/x-www-form-urlencoded")],
            body: b"Param1=value1",
        };
        let scope = Scope {
            region: "us-east-1",
            service: "service",
        };
        let headers = sign(&request, &scope, &example_credentials(None), at);
        let auth = &headers.iter().find(|h| h.0 == "authorization").unwrap().1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    #[test]
    fn a_session_token_is_sent_and_signed() {
        let at = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let request = Request {
            host: "ssm.us-east-1.amazonaws.com",
            path: "/",
            headers: &[],
            body: b"{}",
        };
        let scope = Scope {
            region: "us-east-1",
            service: "ssm",
        };
        let headers = sign(&request, &scope, &example_credentials(Some("tok")), at);
        assert!(headers.contains(&("x-amz-security-token", "tok".to_owned())));
        let auth = &headers.iter().find(|h| h.0 == "authorization").unwrap().1;
        assert!(auth.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"));
    }

    #[test]
    fn paths_are_encoded_once_more() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a b/%2F"), "/a%20b/%252F");
    }
}
