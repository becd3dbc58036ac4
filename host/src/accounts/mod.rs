//! Accounts: the credential store, logins, refresh and token exchange, all run by
//! the host. A token never enters a guest or a log.

pub mod file;
pub mod import;
pub mod oauth;
pub mod store;
