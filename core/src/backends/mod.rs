//! The backends. Each turns a parsed reference into a `Fetched` value; the
//! client adds caching and `#field` selection on top.

pub mod agent;
pub mod aws;
pub mod local;
pub mod vault;
pub mod vault_auth;
