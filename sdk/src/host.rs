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

/// The config's `extra-headers` object as (name, value) pairs, in config order: the
/// convention every adapter follows for headers an account needs (OpenRouter's
/// `x-title`, an Anthropic beta...). Non-string values are skipped.
pub fn extra_headers() -> Vec<(String, String)> {
    match config().get("extra-headers") {
        Some(Value::Object(extra)) => extra
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_string())))
            .collect(),
        _ => Vec::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_headers_come_in_config_order_and_skip_what_is_not_text() {
        set_config_for_tests(serde_json::json!({
            "extra-headers": {"x-title": "plugboard", "x-count": 3, "http-referer": "https://example.test"}
        }));
        assert_eq!(
            extra_headers(),
            vec![
                ("x-title".to_string(), "plugboard".to_string()),
                (
                    "http-referer".to_string(),
                    "https://example.test".to_string()
                ),
            ]
        );
        set_config_for_tests(serde_json::json!({"extra-headers": "x-title: no"}));
        assert_eq!(extra_headers(), Vec::new());
    }
}
