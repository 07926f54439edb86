//! Secrets Manager rotation for PostgreSQL, written once: the four steps of
//! the service's rotation protocol (`createSecret`, `setSecret`,
//! `testSecret`, `finishSecret`) for a single user or alternating users.
//! The Python and Node Lambda handlers are thin over this crate.
//!
//! Each step is idempotent and safe to retry as the service retries it: an
//! existing AWSPENDING value is reused, a password already set is noticed by
//! logging in with it, and AWSCURRENT moves only in `finishSecret`, so a step
//! that fails leaves the current secret as it was. See ROTATION.md.
//!
//! ```no_run
//! # async fn handler(event_json: &str) -> secretkit::Result<()> {
//! use secretkit_rotation::{rotate, Event, Settings, Strategy};
//! let event = Event::from_json(event_json)?;
//! rotate(&event, Strategy::SingleUser, &Settings::from_env()).await
//! # }
//! ```

mod credentials;
mod postgres;
mod protocol;
mod store;

pub use credentials::Credentials;
pub use protocol::{rotate, rotate_with, Event, Settings, Step, Strategy};
pub use store::Store;
