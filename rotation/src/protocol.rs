//! The rotation protocol as the service drives it: one Lambda invocation per
//! step with `SecretId`, `ClientRequestToken` (the new version's id) and
//! `Step`. Before any step, the service's own pre-checks: rotation enabled,
//! the token a version of the secret, not already AWSCURRENT (then there is
//! nothing to do), and labelled AWSPENDING.

use std::time::Duration;

use secretkit::{Error, ErrorKind, Result};
use serde::Deserialize;

use crate::credentials::Credentials;
use crate::postgres;
use crate::store::{Store, CURRENT, PENDING, PREVIOUS};

/// The four steps, in the order the service calls them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Step {
    #[serde(rename = "createSecret")]
    Create,
    #[serde(rename = "setSecret")]
    Set,
    #[serde(rename = "testSecret")]
    Test,
    #[serde(rename = "finishSecret")]
    Finish,
}

/// One invocation's event, as the service sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    #[serde(rename = "SecretId")]
    pub secret_id: String,
    #[serde(rename = "ClientRequestToken")]
    pub token: String,
    #[serde(rename = "Step")]
    pub step: Step,
}

impl Event {
    pub fn from_json(text: &str) -> Result<Event> {
        serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "not a rotation event (SecretId, ClientRequestToken, Step: createSecret, \
                 setSecret, testSecret or finishSecret): {e}"
                ),
            )
        })
    }
}

/// How the secret's user is rotated (ROTATION.md compares the two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The secret's own user changes its own password: between `setSecret`
    /// and `finishSecret` the cached old password no longer logs in.
    SingleUser,
    /// Two users, `user` and `user_clone`, take turns: the pending version
    /// names the other one, whose password the master user sets, so the
    /// current credentials keep working until the next rotation.
    AlternatingUsers,
}

impl Strategy {
    /// The strategy a binding names: `single_user` or `alternating_users`.
    pub fn from_name(name: &str) -> Result<Strategy> {
        match name {
            "single_user" => Ok(Strategy::SingleUser),
            "alternating_users" => Ok(Strategy::AlternatingUsers),
            other => Err(Error::new(
                ErrorKind::Config,
                format!("unknown rotation strategy {other:?}: single_user or alternating_users"),
            )),
        }
    }
}

/// The password policy.
#[derive(Debug, Clone)]
pub struct Settings {
    pub password_length: u32,
    /// Characters the new password must not contain.
    pub exclude_characters: String,
    /// Bound on each Secrets Manager call.
    pub timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            password_length: 32,
            // Characters that break connection URLs and shell or SQL quoting.
            exclude_characters: ":/@\"'\\`$ ".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Settings {
    /// The defaults, with `PASSWORD_LENGTH` and `EXCLUDE_CHARACTERS` from
    /// the environment (the names AWS's rotation templates use).
    pub fn from_env() -> Settings {
        let mut s = Settings::default();
        if let Some(n) = std::env::var("PASSWORD_LENGTH")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            s.password_length = n;
        }
        if let Ok(chars) = std::env::var("EXCLUDE_CHARACTERS") {
            s.exclude_characters = chars;
        }
        s
    }
}

/// Run one step against Secrets Manager from the environment.
pub async fn rotate(event: &Event, strategy: Strategy, settings: &Settings) -> Result<()> {
    let store = Store::from_env(settings.timeout).await?;
    rotate_with(&store, event, strategy, settings).await
}

/// Run one step against `store`.
pub async fn rotate_with(
    store: &Store,
    event: &Event,
    strategy: Strategy,
    settings: &Settings,
) -> Result<()> {
    let (id, token) = (event.secret_id.as_str(), event.token.as_str());
    let described = store.describe(id).await?;
    if !described.rotation_enabled {
        return Err(Error::new(
            ErrorKind::Config,
            format!("rotation is not enabled for secret {id}"),
        ));
    }
    let Some(labels) = described.stages.get(token) else {
        return Err(Error::new(
            ErrorKind::Config,
            format!("version {token} is not a version of secret {id}"),
        ));
    };
    if labels.iter().any(|l| l == CURRENT) {
        return Ok(()); // already rotated: every step is done
    }
    if !labels.iter().any(|l| l == PENDING) {
        return Err(Error::new(
            ErrorKind::Config,
            format!("version {token} of secret {id} is not AWSPENDING"),
        ));
    }
    match event.step {
        Step::Create => create(store, id, token, strategy, settings).await,
        Step::Set => set(store, id, token, strategy).await,
        Step::Test => test(store, id, token).await,
        Step::Finish => {
            store
                .promote(id, token, described.version_with(CURRENT))
                .await
        }
    }
}

/// createSecret: write the new credentials as AWSPENDING, unless this
/// token already has them (a retried step).
async fn create(
    store: &Store,
    id: &str,
    token: &str,
    strategy: Strategy,
    settings: &Settings,
) -> Result<()> {
    let current = required(store.get(id, None, CURRENT).await?, id, CURRENT)?;
    if store.get(id, Some(token), PENDING).await?.is_some() {
        return Ok(());
    }
    let mut pending = current.clone();
    if strategy == Strategy::AlternatingUsers {
        pending.username = other_user(&current.username);
    }
    pending.password = store.random_password(settings).await?;
    store.put_pending(id, token, &pending).await
}

/// setSecret: make the database accept the pending credentials.
async fn set(store: &Store, id: &str, token: &str, strategy: Strategy) -> Result<()> {
    let pending = required(store.get(id, Some(token), PENDING).await?, id, PENDING)?;
    if postgres::logs_in(&pending).await? {
        return Ok(()); // set by an earlier try of this step
    }
    let current = required(store.get(id, None, CURRENT).await?, id, CURRENT)?;
    same_database(&current, &pending, id)?;
    match strategy {
        Strategy::SingleUser => {
            if pending.username != current.username {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "secret {id}: the pending version names another user than the current one \
                     (single-user rotation changes one user's password)"
                    ),
                ));
            }
            // The user changes its own password: with the current one, or
            // with the previous one if a failed rotation already changed it.
            let admin = match postgres::connect(&current).await {
                Ok(admin) => admin,
                Err(e) if e.kind() == ErrorKind::Auth => {
                    let previous = store.get(id, None, PREVIOUS).await?.ok_or(e)?;
                    postgres::connect(&previous).await?
                }
                Err(e) => return Err(e),
            };
            postgres::set_password(&admin, &pending.username, &pending.password).await
        }
        Strategy::AlternatingUsers => {
            let master_arn = current.masterarn.as_deref().ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                    "secret {id} has no masterarn: alternating-users rotation needs the ARN of \
                     the secret of a user that may manage the others"
                ),
                )
            })?;
            let master = required(
                store.get(master_arn, None, CURRENT).await?,
                master_arn,
                CURRENT,
            )?;
            let admin = postgres::connect(&master).await?;
            let original = base_user(&current.username);
            postgres::ensure_clone(&admin, original, &pending.username, &pending.password).await
        }
    }
}

/// testSecret: the pending credentials log in and run a query.
async fn test(store: &Store, id: &str, token: &str) -> Result<()> {
    let pending = required(store.get(id, Some(token), PENDING).await?, id, PENDING)?;
    if postgres::logs_in(&pending).await? {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Auth,
            format!(
                "secret {id}: the pending credentials of {} do not log in",
                pending.username
            ),
        ))
    }
}

fn required(found: Option<Credentials>, id: &str, stage: &str) -> Result<Credentials> {
    found.ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!("secret {id} has no {stage} version"),
        )
    })
}

/// A pending version must point at the same database as the current one:
/// a rotation never moves an application to another server.
fn same_database(current: &Credentials, pending: &Credentials, id: &str) -> Result<()> {
    if current.host != pending.host
        || current.port()? != pending.port()?
        || current.dbname() != pending.dbname()
    {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "secret {id}: the pending version points at another database than the current one"
            ),
        ));
    }
    Ok(())
}

const CLONE_SUFFIX: &str = "_clone";

/// `app` <-> `app_clone`.
fn other_user(user: &str) -> String {
    match user.strip_suffix(CLONE_SUFFIX) {
        Some(base) => base.to_owned(),
        None => format!("{user}{CLONE_SUFFIX}"),
    }
}

fn base_user(user: &str) -> &str {
    user.strip_suffix(CLONE_SUFFIX).unwrap_or(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_as_the_service_sends_them() {
        let e = Event::from_json(
            r#"{"SecretId":"arn:aws:secretsmanager:us-east-1:1:secret:x","ClientRequestToken":"t-1","Step":"setSecret","RotationToken":"r"}"#,
        )
        .unwrap();
        assert_eq!((e.step, e.token.as_str()), (Step::Set, "t-1"));
        let bad = Event::from_json(r#"{"SecretId":"x","ClientRequestToken":"t","Step":"dance"}"#);
        assert_eq!(bad.unwrap_err().kind(), ErrorKind::Config);
    }

    #[test]
    fn strategies_are_named_as_the_bindings_name_them() {
        assert_eq!(
            Strategy::from_name("single_user").unwrap(),
            Strategy::SingleUser
        );
        assert_eq!(
            Strategy::from_name("alternating_users").unwrap(),
            Strategy::AlternatingUsers
        );
        let err = Strategy::from_name("multi_user").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("multi_user"));
    }

    #[test]
    fn alternating_users_take_turns() {
        assert_eq!(other_user("app"), "app_clone");
        assert_eq!(other_user("app_clone"), "app");
        assert_eq!(base_user("app_clone"), "app");
    }
}
