//! What a failed guest call means for the client and for routing.

use crate::routing::Verdict;
use crate::runtime::{GuestError, ProviderInfo, TrapReason};
use crate::surfaces::collect::adapter_client_error;
use crate::surfaces::{ClientError, ErrorKind};

/// Turns `GuestError`s of one attempt into client errors that name the component.
#[derive(Debug, Clone)]
pub struct GuestErrors {
    /// `id@version` of the provider adapter.
    adapter: String,
    /// The guest call deadline, for the message.
    timeout_ms: u64,
}

impl GuestErrors {
    /// For an attempt served by the adapter described by `info`.
    pub fn new(info: &ProviderInfo, timeout_ms: u64) -> Self {
        Self {
            adapter: format!("{}@{}", info.id, info.version),
            timeout_ms,
        }
    }

    /// The provider adapter, `id@version`.
    pub fn component(&self) -> &str {
        &self.adapter
    }

    /// The client error for a guest failure:
    /// an adapter's invalid-request/unsupported is the client's 400, a trap is our 500
    /// naming the component and why, a host-side sandbox failure is a 503.
    pub fn client_error(&self, error: &GuestError) -> ClientError {
        match error {
            GuestError::Adapter { error, .. } => adapter_client_error(error),
            GuestError::Trap { component, reason } => {
                let role = if *component == self.adapter {
                    "adapter"
                } else {
                    "fixup"
                };
                let what = match reason {
                    TrapReason::Timeout => {
                        format!("exceeded its {} ms time limit", self.timeout_ms)
                    }
                    TrapReason::OutOfMemory => "exceeded its memory limit".to_owned(),
                    TrapReason::Panic(message) if message.is_empty() => "panicked".to_owned(),
                    TrapReason::Panic(message) => format!("panicked: {message}"),
                    TrapReason::Other(message) => format!("trapped: {message}"),
                };
                ClientError::new(ErrorKind::Internal, format!("{role} {component} {what}"))
                    .code("adapter_trapped")
            }
            GuestError::Host { component, message } => {
                ClientError::new(ErrorKind::Overloaded, format!("{component}: {message}"))
            }
        }
    }

    /// Routing's verdict: guest failures are answered, not retried (the same adapter
    /// would fail the same way), except an upstream error the adapter reported.
    pub fn verdict(&self, error: GuestError) -> Verdict {
        tracing::warn!(error = %error, "guest call failed");
        let client = self.client_error(&error);
        match client.kind {
            ErrorKind::Upstream => Verdict::TryNext(client),
            _ => Verdict::Answer(client),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{AdapterError, ErrorKind as IrErrorKind};
    use crate::runtime::AuthScheme;

    fn errors() -> GuestErrors {
        let info = ProviderInfo {
            id: "test-spin".into(),
            version: "0.1.0".into(),
            contract_version: "0.1.0".into(),
            description: String::new(),
            models: vec![],
            native_dialects: vec![],
            auth: AuthScheme::None,
            hosts: vec![],
            default_base_url: None,
            default_fixups: vec![],
        };
        GuestErrors::new(&info, 2000)
    }

    #[test]
    fn a_timed_out_adapter_is_a_500_naming_it_and_the_limit() {
        let error = GuestError::Trap {
            component: "test-spin@0.1.0".into(),
            reason: TrapReason::Timeout,
        };
        let client = errors().client_error(&error);
        assert_eq!(client.kind.status(), 500);
        assert_eq!(
            client.message,
            "adapter test-spin@0.1.0 exceeded its 2000 ms time limit"
        );
    }

    #[test]
    fn a_panicking_fixup_is_named_as_a_fixup() {
        let error = GuestError::Trap {
            component: "merge-turns@0.2.0".into(),
            reason: TrapReason::Panic("boom".into()),
        };
        assert_eq!(
            errors().client_error(&error).message,
            "fixup merge-turns@0.2.0 panicked: boom"
        );
    }

    #[test]
    fn an_unsupported_request_is_the_clients_400_and_not_retried() {
        let error = GuestError::Adapter {
            component: "test-spin@0.1.0".into(),
            error: AdapterError {
                kind: IrErrorKind::Unsupported,
                message: "no images".into(),
            },
        };
        match errors().verdict(error) {
            Verdict::Answer(client) => {
                assert_eq!(client.kind.status(), 400);
                assert_eq!(client.message, "no images");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_sandbox_the_host_could_not_build_is_a_503() {
        let error = GuestError::Host {
            component: "test-spin@0.1.0".into(),
            message: "pool exhausted".into(),
        };
        assert_eq!(errors().client_error(&error).kind.status(), 503);
    }
}
