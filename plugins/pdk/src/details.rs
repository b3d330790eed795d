//! Vendor details for an error (`ferry:host/diagnostics`, host 1.1): what the remote system said
//! in its own terms (M3's message id and field, the MI program and transaction, a SQL error
//! number), for the operator who reads the held or dead job. The classified `Error` stays what
//! flows decide on; details travel beside it, and the host keeps them only when the call
//! returns an error.
//!
//! ```ignore
//! return Err(Error::invalid("CUNO", text).with_details(&[("m3.message-id", &code)]));
//! ```

use crate::types::Error;

/// Adds one detail to the error this call returns (keys: short, dotted, prefixed by the
/// system: `m3.message-id`, `sql.error-number`). Empty values are skipped.
pub fn detail(key: &str, value: &str) {
    if value.trim().is_empty() {
        return;
    }
    imp::add(key, value);
}

/// Attaches details to an error as it is returned.
pub trait WithDetails: Sized {
    /// Reports each `(key, value)` (see [`detail`]) and returns `self`.
    fn with_details(self, details: &[(&str, &str)]) -> Self;
}

impl WithDetails for Error {
    fn with_details(self, details: &[(&str, &str)]) -> Self {
        for (key, value) in details {
            detail(key, value);
        }
        self
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    pub(super) fn add(key: &str, value: &str) {
        crate::diagnostics::add_detail(key, value);
    }
}

/// On the host target (the plugins' own unit tests) there is no host to call: details are kept
/// per thread, so a test can check what a connector reports.
#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::RefCell;

    thread_local! {
        static DETAILS: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn add(key: &str, value: &str) {
        DETAILS.with(|d| d.borrow_mut().push((key.to_string(), value.to_string())));
    }

    pub fn take() -> Vec<(String, String)> {
        DETAILS.with(|d| std::mem::take(&mut *d.borrow_mut()))
    }
}

/// The details reported on this thread since the last call (host-target unit tests only).
#[cfg(not(target_arch = "wasm32"))]
pub fn take_reported() -> Vec<(String, String)> {
    imp::take()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn details_ride_with_the_error_and_empty_values_are_skipped() {
        let _ = take_reported();
        let e = Error::not_found("no such customer")
            .with_details(&[("m3.message-id", "XRE0103"), ("m3.field", " ")]);
        assert!(matches!(e, Error::NotFound(_)));
        assert_eq!(
            take_reported(),
            vec![("m3.message-id".to_string(), "XRE0103".to_string())]
        );
    }
}
