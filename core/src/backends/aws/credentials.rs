//! AWS credentials: given explicitly (the edge, tests), or natively found
//! by the AWS credential chain of `aws-config` (environment, profiles,
//! SSO, web identity, ECS and EC2 metadata), which caches and refreshes
//! them itself. Only the chain keeps an SDK crate in the native build;
//! requests are signed and sent by secretkit's own protocol layer.

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// One set of keys, the secret part wiped on drop.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Option<String>,
}

impl Credentials {
    pub(crate) fn new(access_key_id: &str, secret: &str, session_token: Option<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: Zeroizing::new(secret.to_owned()),
            session_token,
        }
    }
}

/// Where a request's credentials come from.
#[derive(Clone)]
pub(crate) enum Source {
    Static(Credentials),
    /// No credentials were found when the client was built; each read says so.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    Missing,
    #[cfg(not(target_arch = "wasm32"))]
    Chain(aws_credential_types::provider::SharedCredentialsProvider),
}

impl Source {
    pub(crate) async fn get(&self) -> Result<Credentials> {
        match self {
            Source::Static(c) => Ok(c.clone()),
            Source::Missing => Err(Error::config(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a \
                 profile, or run with a role",
            )),
            #[cfg(not(target_arch = "wasm32"))]
            Source::Chain(provider) => chain(provider).await,
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
async fn chain(
    provider: &aws_credential_types::provider::SharedCredentialsProvider,
) -> Result<Credentials> {
    use crate::error::ErrorKind;
    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::ProvideCredentials;
    match provider.provide_credentials().await {
        Ok(c) => Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            c.session_token().map(str::to_owned),
        )),
        Err(e) => {
            let kind = match &e {
                // The chain came up empty or is set up wrong: a setting to fix.
                CredentialsError::CredentialsNotLoaded(_)
                | CredentialsError::InvalidConfiguration(_) => ErrorKind::Config,
                CredentialsError::ProviderTimedOut(_) => ErrorKind::Timeout,
                _ => ErrorKind::Unavailable,
            };
            Err(Error::new(
                kind,
                format!("AWS credentials could not be loaded: {}", chain_text(&e)),
            ))
        }
    }
}

/// An error and its causes on one line.
#[cfg(not(target_arch = "wasm32"))]
fn chain_text(err: &dyn std::error::Error) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
