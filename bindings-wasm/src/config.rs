//! The JS config object: `{ aws?, vault?, agent?, defaultTtl?, ttlJitter?,
//! refreshAhead?, maxStale?, negativeTtl?, retryBase?, retryMax?, maxEntries?,
//! timeout?, revokeOnClose?, revokeReplacedAfter?, allowHttp?, allowLocal?, readAttempts? }` (times in seconds,
//! fractions as numbers in [0, 1]); `vault.auth` is in auth.rs. Unknown keys are refused so a typo such as
//! `defaultTTL` fails loudly instead of being ignored (checked by hand:
//! serde-wasm-bindgen looks fields up by name, so `deny_unknown_fields`
//! never sees the extra ones).

use std::time::Duration;

use secretkit::{AwsSettings, ClientSettings, VaultAuth, VaultSettings};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::config_error;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Config {
    aws: Option<AwsConfig>,
    vault: Option<VaultConfig>,
    agent: Option<AgentConfig>,
    default_ttl: Option<f64>,
    ttl_jitter: Option<f64>,
    refresh_ahead: Option<f64>,
    max_stale: Option<f64>,
    negative_ttl: Option<f64>,
    retry_base: Option<f64>,
    retry_max: Option<f64>,
    max_entries: Option<f64>,
    timeout: Option<f64>,
    revoke_on_close: Option<bool>,
    revoke_replaced_after: Option<f64>,
    allow_http: Option<bool>,
    allow_local: Option<bool>,
    read_attempts: Option<f64>,
    audit: Option<AuditConfig>,
}

/// `audit: { interval }` (js/api.mjs keeps `onRecords` and takes the records).
#[derive(Deserialize, Default)]
struct AuditConfig {
    interval: Option<f64>,
}

const KEYS: [&str; 18] = [
    "audit",
    "aws",
    "vault",
    "agent",
    "defaultTtl",
    "ttlJitter",
    "refreshAhead",
    "maxStale",
    "negativeTtl",
    "retryBase",
    "retryMax",
    "maxEntries",
    "timeout",
    "revokeOnClose",
    "revokeReplacedAfter",
    "allowHttp",
    "allowLocal",
    "readAttempts",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AwsConfig {
    region: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    endpoint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VaultConfig {
    address: String,
    /// May be left out when `auth` logs in.
    token: Option<String>,
    namespace: Option<String>,
    auth: Option<crate::auth::AuthConfig>,
}

/// `agent: { address, token }`: read `ssm:`, `asm:` and `vault:` through a
/// `secretkit agent` at an http address (a sidecar next to the isolate).
#[derive(Deserialize)]
struct AgentConfig {
    address: String,
    token: String,
}

pub struct Parsed {
    pub agent: Option<secretkit::AgentSettings>,
    pub aws: Option<AwsSettings>,
    pub vault: Option<VaultSettings>,
    pub vault_auth: Option<VaultAuth>,
    pub settings: ClientSettings,
    pub audit: Option<secretkit::AuditSettings>,
}

pub fn parse(value: JsValue) -> Result<Parsed, JsValue> {
    let config: Config = if value.is_undefined() || value.is_null() {
        Config::default()
    } else {
        check_keys(&value, "", &KEYS)?;
        check_keys(
            &get(&value, "aws"),
            "aws.",
            &[
                "region",
                "accessKeyId",
                "secretAccessKey",
                "sessionToken",
                "endpoint",
            ],
        )?;
        let vault = get(&value, "vault");
        check_keys(&vault, "vault.", &["address", "token", "namespace", "auth"])?;
        crate::auth::check(&get(&vault, "auth"))?;
        check_keys(&get(&value, "audit"), "audit.", &["interval"])?;
        check_keys(&get(&value, "agent"), "agent.", &["address", "token"])?;
        serde_wasm_bindgen::from_value(value)
            .map_err(|e| config_error(format!("invalid client config: {}", without_strings(&e))))?
    };
    // The option checks every binding shares (core options.rs), with the
    // names spelled as JS callers write them.
    let tunables = secretkit::options::Tunables {
        default_ttl: config.default_ttl,
        ttl_jitter: config.ttl_jitter,
        refresh_ahead: config.refresh_ahead,
        max_stale: config.max_stale,
        negative_ttl: config.negative_ttl,
        retry_base: config.retry_base,
        retry_max: config.retry_max,
        max_entries: config.max_entries,
        timeout: config.timeout,
        read_attempts: config.read_attempts,
        revoke_on_close: config.revoke_on_close,
        revoke_replaced_after: config.revoke_replaced_after,
        allow_http: config.allow_http,
        allow_local: config.allow_local,
    };
    let settings = tunables
        .settings(secretkit::options::Naming::Camel)
        .map_err(|e| config_error(e.message().to_owned()))?;
    // No file and no timer on the edge: records are kept for js/api.mjs,
    // which takes them in backgroundWork() once `interval` has passed.
    let audit = config.audit.map(|a| secretkit::AuditSettings {
        keep: true,
        interval: a
            .interval
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(Duration::from_secs(1)),
        ..Default::default()
    });
    let (vault, vault_auth) = match config.vault {
        Some(v) => {
            let auth = v.auth.map(crate::auth::AuthConfig::into_auth).transpose()?;
            let settings = VaultSettings {
                address: v.address,
                token: v.token.unwrap_or_default(),
                namespace: v.namespace,
                // The host's fetch decides whom to trust on the edge.
                tls: Default::default(),
            };
            (Some(settings), auth)
        }
        None => (None, None),
    };
    Ok(Parsed {
        audit,
        agent: config.agent.map(|a| secretkit::AgentSettings {
            address: a.address,
            token: a.token.into(),
        }),
        aws: config.aws.map(|a| AwsSettings {
            region: a.region,
            access_key_id: a.access_key_id,
            secret_access_key: a.secret_access_key,
            session_token: a.session_token,
            endpoint: a.endpoint,
        }),
        vault,
        vault_auth,
        settings,
    })
}

pub fn get(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

pub fn check_keys(object: &JsValue, prefix: &str, allowed: &[&str]) -> Result<(), JsValue> {
    let Some(object) = object.dyn_ref::<js_sys::Object>() else {
        return Ok(()); // not an object: serde reports the type
    };
    for key in js_sys::Object::keys(object)
        .iter()
        .filter_map(|k| k.as_string())
    {
        if !allowed.contains(&key.as_str()) {
            return Err(config_error(format!(
                "unknown config key `{prefix}{key}`; expected one of: {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

/// serde quotes a string it did not expect (`invalid type: string "…"`);
/// that string may be a token put in the wrong place, so leave it out.
fn without_strings(e: &serde_wasm_bindgen::Error) -> String {
    let msg = e.to_string();
    let msg = msg.strip_prefix("Error: ").unwrap_or(&msg).to_owned();
    if !msg.contains("string \"") {
        return msg;
    }
    match msg.rfind(", expected ") {
        Some(i) => format!("invalid type: a string{}", &msg[i..]),
        None => "invalid type: a string".into(),
    }
}
