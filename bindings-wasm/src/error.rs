//! secretkit errors as JS `Error`s carrying `code`, `kind` and `reference`.
//! The JS layer (js/api.mjs) turns them into `SecretkitError` instances.

use js_sys::Reflect;
use secretkit::{Error, ErrorKind};
use wasm_bindgen::JsValue;

pub fn to_js(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("SecretkitError");
    let reference = e.reference().map_or(JsValue::NULL, JsValue::from_str);
    // Setting a property on a fresh Error cannot fail; ignore the Result.
    let _ = Reflect::set(&err, &"code".into(), &e.kind().code().into());
    let _ = Reflect::set(&err, &"kind".into(), &e.kind().as_str().into());
    let _ = Reflect::set(&err, &"reference".into(), &reference);
    err.into()
}

pub fn config_error(message: impl Into<String>) -> JsValue {
    to_js(&Error::new(ErrorKind::Config, message))
}

/// A reference argument that is not a string.
pub fn reference_arg(value: &JsValue) -> Result<String, JsValue> {
    value.as_string().ok_or_else(not_a_string)
}

pub fn not_a_string() -> JsValue {
    to_js(&Error::new(
        ErrorKind::InvalidReference,
        "a reference must be a string such as `ssm:/prod/myapp/db-password`",
    ))
}
