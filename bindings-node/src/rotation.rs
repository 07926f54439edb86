//! `secretkit/rotation`: one step of a Secrets Manager rotation, run by the
//! Rust handlers of the `secretkit-rotation` crate (ROTATION.md); the
//! Lambda handlers in rotation.js are thin over this.

use napi::Result;
use napi_derive::napi;
use secretkit_rotation::{Event, Settings, Strategy};

use crate::error::to_napi;

/// Run the step the event names (the service's event, as JSON) with
/// `strategy` ("single_user" or "alternating_users"); rejects with the
/// error of a failed step (the service then retries it).
#[napi]
pub async fn rotate(event_json: String, strategy: String) -> Result<()> {
    let strategy = Strategy::from_name(&strategy).map_err(to_napi)?;
    let event = Event::from_json(&event_json).map_err(to_napi)?;
    secretkit_rotation::rotate(&event, strategy, &Settings::from_env())
        .await
        .map_err(to_napi)
}
