//! uniffi's command-line generator (`uniffi-bindgen generate …`), built from
//! the same uniffi version as the library so the Ruby it writes matches.
fn main() {
    uniffi::uniffi_bindgen_main()
}
