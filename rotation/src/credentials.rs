//! The secret's JSON: the database login and how to reach it, in the
//! structure Secrets Manager uses for RDS secrets (`engine`, `host`,
//! `port`, `username`, `password`, `dbname`, and `masterarn` for
//! alternating users), plus `sslmode`. Fields we do not know are kept as
//! they are when a new version is written.

use std::fmt;

use secretkit::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroize;

#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    pub host: String,
    /// A number, or a string of one (both are seen in the wild).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    port: Option<Value>,
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbname: Option<String>,
    /// Alternating users: the ARN of the secret whose user may change
    /// other users' passwords and create the clone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masterarn: Option<String>,
    /// `disable`, `prefer` (the default) or `require`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sslmode: Option<String>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

impl Credentials {
    /// Parse a secret's value; `what` names the secret and stage in the
    /// error, which never quotes the value.
    pub fn parse(text: &str, what: &str) -> Result<Credentials> {
        let creds: Credentials = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!(
                    "{what} is not a database secret (a JSON object with host, username and \
                     password): {}",
                    classify(&e)
                ),
            )
        })?;
        if let Some(engine) = creds.engine.as_deref() {
            if !matches!(engine, "postgres" | "postgresql" | "aurora-postgresql") {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("{what} is for engine {engine:?}; these handlers rotate PostgreSQL"),
                ));
            }
        }
        creds.port()?;
        Ok(creds)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn port(&self) -> Result<u16> {
        let bad = || {
            Error::new(
                ErrorKind::Config,
                "the secret's port is not a TCP port number",
            )
        };
        match &self.port {
            None => Ok(5432),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse().map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    pub fn dbname(&self) -> &str {
        self.dbname.as_deref().unwrap_or("postgres")
    }
}

/// The kind of a JSON error, without serde's excerpt of the input.
fn classify(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => "a field is missing or of the wrong type".into(),
        Category::Syntax | Category::Eof => "not valid JSON".into(),
        Category::Io => "unreadable".into(),
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("host", &self.host)
            .field("username", &self.username)
            .field("password", &secretkit::REDACTED)
            .finish_non_exhaustive()
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        self.password.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_fields_accepts_string_ports_and_never_quotes_the_value() {
        let c = Credentials::parse(
            r#"{"engine":"postgres","host":"db","port":"6432","username":"app","password":"s3cret","extra":{"a":1}}"#,
            "secret x (AWSCURRENT)",
        )
        .unwrap();
        assert_eq!(c.port().unwrap(), 6432);
        assert!(c.to_json().contains(r#""extra":{"a":1}"#));
        assert!(!format!("{c:?}").contains("s3cret"));
        let bad =
            Credentials::parse(r#"{"host":"db","password":"s3cret"}"#, "secret x").unwrap_err();
        assert!(!bad.to_string().contains("s3cret"), "{bad}");
        let mysql = r#"{"engine":"mysql","host":"db","username":"u","password":"p"}"#;
        assert_eq!(
            Credentials::parse(mysql, "x").unwrap_err().kind(),
            ErrorKind::Config
        );
    }
}
