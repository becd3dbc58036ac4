//! What the host offers a guest: its log and the provider entry's config block.
//!
//! On the native target (unit tests) there is no host: logs go to stderr and
//! `config()` returns what the test set with [`set_config_for_tests`] (`{}` otherwise).

use serde_json::{Map, Value};

use crate::types::LogLevel;

/// Write to the host's log, tagged by the host with this component's id and version.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::__bindings::provider::plugboard::adapter::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Log at debug level.
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Log at warn level.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// The serving provider entry's `config:` block as text (`{}` when unset).
pub fn config_text() -> String {
    #[cfg(target_arch = "wasm32")]
    return crate::__bindings::provider::plugboard::adapter::host::config();
    #[cfg(not(target_arch = "wasm32"))]
    return TEST_CONFIG.with(|config| config.borrow().clone());
}

/// The serving provider entry's `config:` block as a JSON object; anything that is
/// not an object reads as empty (the host validates config, so this is a guard only).
pub fn config() -> Map<String, Value> {
    match serde_json::from_str(&config_text()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    static TEST_CONFIG: std::cell::RefCell<String> = std::cell::RefCell::new("{}".to_string());
}

/// Native only: make `config()` return `value` on this thread (each test runs on its own).
#[cfg(not(target_arch = "wasm32"))]
pub fn set_config_for_tests(value: Value) {
    TEST_CONFIG.with(|config| *config.borrow_mut() = value.to_string());
}
