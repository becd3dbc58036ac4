//! Who may call the management API: a loopback peer (unless remote access is on),
//! not locked out, presenting the management key.
//!
//! Failed attempts (no key, a wrong key) are counted per peer address: `max-failures`
//! within `failure-window-s` lock that address out for `lockout-s`, during which it is
//! answered 429 with `Retry-After` even when it sends the right key. Other addresses
//! are not affected, and a success clears the address's count.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use crate::config::management::ManagementSettings;

/// Addresses tracked at most; beyond it, addresses without a lockout in force are
/// forgotten first (an address spraying failures stays locked).
const MAX_TRACKED: usize = 10_000;

/// Whether `ip` is a local peer: exactly 127.0.0.1 or ::1 (an IPv4-mapped 127.0.0.1
/// counts as 127.0.0.1). Other 127.x addresses are not local.
pub fn is_local(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    ip == IpAddr::V4(Ipv4Addr::LOCALHOST) || ip == IpAddr::V6(Ipv6Addr::LOCALHOST)
}

/// The management key the request presents: `Authorization: Bearer KEY`, else
/// `X-Management-Key: KEY`. `None` when it presents neither.
pub fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ") {
            return Some(value[7..].trim().to_owned());
        }
    }
    headers
        .get("x-management-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}

#[derive(Debug, Default)]
struct Record {
    /// Failures within the window, oldest first.
    failures: VecDeque<Instant>,
    /// Locked out until then.
    locked_until: Option<Instant>,
}

/// Failed attempts and lockouts by peer address.
#[derive(Debug, Default)]
pub struct Lockouts {
    records: Mutex<HashMap<IpAddr, Record>>,
}

impl Lockouts {
    /// Nobody locked out.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long `ip` is still locked out at `now`, if it is.
    pub fn locked(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let records = self.lock();
        records
            .get(&ip)
            .and_then(|record| record.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// Count a failed attempt from `ip` at `now`; returns the lockout it started, if
    /// this failure was the one too many.
    pub fn fail(
        &self,
        ip: IpAddr,
        now: Instant,
        settings: &ManagementSettings,
    ) -> Option<Duration> {
        let window = Duration::from_secs(settings.failure_window_s);
        let lockout = Duration::from_secs(settings.lockout_s);
        let mut records = self.lock();
        if records.len() >= MAX_TRACKED && !records.contains_key(&ip) {
            records.retain(|_, record| record.locked_until.is_some_and(|until| until > now));
        }
        let record = records.entry(ip).or_default();
        while record
            .failures
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= window)
        {
            record.failures.pop_front();
        }
        record.failures.push_back(now);
        if record.failures.len() >= settings.max_failures.max(1) as usize {
            record.failures.clear();
            record.locked_until = Some(now + lockout);
            return Some(lockout);
        }
        None
    }

    /// A success from `ip`: its failures are forgotten.
    pub fn succeed(&self, ip: IpAddr) {
        let mut records = self.lock();
        if records
            .get(&ip)
            .is_some_and(|record| record.locked_until.is_none())
        {
            records.remove(&ip);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Record>> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_127_0_0_1_and_the_ipv6_loopback_are_local() {
        for local in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(is_local(local.parse().unwrap()), "{local}");
        }
        for remote in [
            "127.0.0.2",
            "10.0.0.1",
            "::ffff:10.0.0.1",
            "fe80::1",
            "0.0.0.0",
        ] {
            assert!(!is_local(remote.parse().unwrap()), "{remote}");
        }
    }

    #[test]
    fn bearer_or_the_management_header_carries_the_key() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented_key(&headers), None);
        headers.insert("x-management-key", " mk-1 ".parse().unwrap());
        assert_eq!(presented_key(&headers).as_deref(), Some("mk-1"));
        headers.insert("authorization", "Bearer mk-2".parse().unwrap());
        assert_eq!(presented_key(&headers).as_deref(), Some("mk-2"));
    }

    #[test]
    fn five_failures_in_the_window_lock_that_address_alone() {
        let settings = ManagementSettings::default();
        let book = Lockouts::new();
        let attacker: IpAddr = "127.0.0.2".parse().unwrap();
        let admin: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            assert_eq!(
                book.fail(attacker, t0 + Duration::from_secs(i), &settings),
                None
            );
        }
        assert_eq!(book.locked(attacker, t0), None);
        assert_eq!(
            book.fail(attacker, t0 + Duration::from_secs(4), &settings),
            Some(Duration::from_secs(1800))
        );
        let later = t0 + Duration::from_secs(5);
        assert_eq!(
            book.locked(attacker, later),
            Some(Duration::from_secs(1799))
        );
        assert_eq!(book.locked(admin, later), None);
        // A success does not lift a lockout in force.
        book.succeed(attacker);
        assert!(book.locked(attacker, later).is_some());
        assert_eq!(
            book.locked(attacker, t0 + Duration::from_secs(4 + 1800)),
            None
        );
    }

    #[test]
    fn failures_older_than_the_window_and_before_a_success_do_not_count() {
        let settings = ManagementSettings::default();
        let book = Lockouts::new();
        let ip: IpAddr = "::1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..4 {
            book.fail(ip, t0 + Duration::from_secs(i), &settings);
        }
        // Ten minutes on, the first four have aged out.
        assert_eq!(
            book.fail(ip, t0 + Duration::from_secs(600), &settings),
            None
        );
        book.succeed(ip);
        for i in 0..4 {
            assert_eq!(
                book.fail(ip, t0 + Duration::from_secs(601 + i), &settings),
                None
            );
        }
        assert!(book.locked(ip, t0 + Duration::from_secs(605)).is_none());
    }
}
