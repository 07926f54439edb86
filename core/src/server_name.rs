//! `VAULT_TLS_SERVER_NAME`: the name a TLS session presents (SNI) and
//! checks the server's certificate against, when it differs from the host
//! the address names (Vault reached by IP or by an internal alias, with a
//! certificate issued for its public name; a TLS proxy routing on SNI).
//!
//! reqwest takes both from the URL's host and offers no override, so a
//! request for `https://10.0.0.5:8200/v1/…` with server name
//! `vault.example.com` is sent to `https://vault.example.com:8200/v1/…`, and
//! this transport's resolver answers that name with the addresses of
//! `10.0.0.5`, looked up at each connection (DNS-based failover keeps
//! working). The HTTP `Host` header then carries the server name too, as it
//! does for any client addressing the server by that name.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::runtime::TransportError;

/// The rewrite of one transport's requests, and the name → address map its
/// resolver needs. A transport with a server name talks to one address (the
/// Vault it was built for; redirects are never followed).
pub struct ServerNameRoute {
    name: String,
    /// The host the requests were addressed to (first request's).
    target: Mutex<Option<String>>,
}

impl ServerNameRoute {
    /// A DNS name (SNI carries names only; an IP address would also be
    /// where the connection goes, not a name to check).
    pub fn new(name: &str) -> Result<Arc<ServerNameRoute>, TransportError> {
        let name = name.trim_end_matches('.');
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.parse::<std::net::IpAddr>().is_err()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            return Err(TransportError::Connect(format!(
                "TLS server name {:?} is not a DNS name",
                name.chars().take(100).collect::<String>()
            )));
        }
        Ok(Arc::new(ServerNameRoute {
            name: name.to_ascii_lowercase(),
            target: Mutex::new(None),
        }))
    }

    /// `uri` with its host replaced by the server name (https only: plain
    /// http has no TLS session to name).
    pub fn route(&self, uri: &http::Uri) -> Result<String, TransportError> {
        let (Some("https"), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return Ok(uri.to_string());
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.eq_ignore_ascii_case(&self.name) {
            return Ok(uri.to_string());
        }
        {
            let mut target = self.target.lock().unwrap_or_else(|p| p.into_inner());
            match target.as_deref() {
                None => *target = Some(host.to_owned()),
                Some(t) if t == host => {}
                Some(t) => {
                    return Err(TransportError::Connect(format!(
                        "a TLS server name is set for {t}; this client does not send to {host}"
                    )))
                }
            }
        }
        let port = uri.port_u16().unwrap_or(443);
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        Ok(format!("https://{}:{port}{path}", self.name))
    }

    fn lookup_host(&self, name: &str) -> String {
        if name.eq_ignore_ascii_case(&self.name) {
            if let Some(target) = self
                .target
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
            {
                return target;
            }
        }
        name.to_owned()
    }
}

impl reqwest::dns::Resolve for ServerNameRoute {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = self.lookup_host(name.as_str());
        Box::pin(async move {
            // The port is the URL's; reqwest ignores the one given here.
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_to_the_server_name_and_it_resolves_to_their_host() {
        let route = ServerNameRoute::new("Vault.Example.com").unwrap();
        let uri: http::Uri = "https://10.0.0.5:8200/v1/secret/data/a?version=2"
            .parse()
            .unwrap();
        assert_eq!(
            route.route(&uri).unwrap(),
            "https://vault.example.com:8200/v1/secret/data/a?version=2"
        );
        assert_eq!(route.lookup_host("vault.example.com"), "10.0.0.5");
        assert_eq!(route.lookup_host("other.example.com"), "other.example.com");
        // One address per transport.
        let other: http::Uri = "https://10.0.0.6:8200/v1/x".parse().unwrap();
        assert!(route.route(&other).is_err());
        // Plain http has no TLS session: unchanged.
        let plain: http::Uri = "http://127.0.0.1:8200/v1/x".parse().unwrap();
        assert_eq!(route.route(&plain).unwrap(), "http://127.0.0.1:8200/v1/x");
    }

    #[test]
    fn ipv6_hosts_and_bad_names() {
        let route = ServerNameRoute::new("vault.internal").unwrap();
        let uri: http::Uri = "https://[fd00::5]/v1/x".parse().unwrap();
        assert_eq!(
            route.route(&uri).unwrap(),
            "https://vault.internal:443/v1/x"
        );
        assert_eq!(route.lookup_host("vault.internal"), "fd00::5");
        for bad in [
            "",
            "10.0.0.5",
            "::1",
            "a..b",
            "a b",
            "x:8200",
            &"a".repeat(64),
        ] {
            assert!(ServerNameRoute::new(bad).is_err(), "{bad:?}");
        }
    }
}
