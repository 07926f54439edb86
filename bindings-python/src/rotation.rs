//! `secretkit.rotation`: one step of a Secrets Manager rotation, run by the
//! Rust handlers of the `secretkit-rotation` crate (ROTATION.md). The Python
//! Lambda handlers in secretkit/rotation/ are thin over this.

use pyo3::prelude::*;
use secretkit_rotation::{Event, Settings, Strategy};

use crate::block_on;
use crate::errors::to_py;

/// Run the step `event_json` names (the service's event, as JSON) with
/// `strategy` ("single_user" or "alternating_users"); raises the
/// `SecretkitError` of a failed step (the service then retries it).
#[pyfunction]
pub fn rotate(py: Python<'_>, event_json: &str, strategy: &str) -> PyResult<()> {
    let strategy = Strategy::from_name(strategy).map_err(to_py)?;
    let event = Event::from_json(event_json).map_err(to_py)?;
    let settings = Settings::from_env();
    block_on(py, secretkit_rotation::rotate(&event, strategy, &settings))?.map_err(to_py)
}
