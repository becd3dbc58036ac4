//! Provider adapter `kiro`: a Kiro account (AWS CodeWhisperer / Amazon Q Developer).
//!
//! Module owners while it is being built: `auth` (credential kinds, login and refresh
//! specs, endpoints, account setup, usage limits) and the translation modules.

pub mod auth;

use plugboard_sdk::prelude::*;

/// The adapter id config refers to.
pub const ID: &str = "kiro";
