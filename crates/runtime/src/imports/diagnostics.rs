//! `ferry:host/diagnostics` (since 1.1): vendor details a plugin adds for the error it is about
//! to return (M3's message id, a SQL error number). The frozen `error` variant has no room for
//! them, so they travel beside it: collected here during the call, bounded like logs, and
//! attached to the call's `RoleError` by the adapter when the call returns an error (dropped
//! otherwise; see `roles::guest_call!`).

use crate::bindings::diagnostics::Host;
use crate::state::PluginState;

use super::log::escape_controls;

/// Details one call may add; more are counted, not kept.
const MAX_DETAILS: usize = 16;
const MAX_KEY: usize = 64;
const MAX_VALUE: usize = 512;
/// The key of the entry that says how many details were dropped.
pub(crate) const DROPPED_KEY: &str = "ferry.details-dropped";

/// One call's vendor details, in the order the plugin added them.
#[derive(Debug, Default)]
pub(crate) struct Details {
    kept: Vec<(String, String)>,
    dropped: u32,
}

impl Details {
    fn add(&mut self, key: &str, value: &str) {
        if self.kept.len() >= MAX_DETAILS {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let key = escape_controls(cut(key.trim(), MAX_KEY));
        let value = escape_controls(cut(value.trim(), MAX_VALUE));
        if key.is_empty() {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        self.kept.push((key, value));
    }

    /// Everything collected so far (and how many were dropped, as a last entry), leaving the
    /// collector empty.
    pub(crate) fn take(&mut self) -> Vec<(String, String)> {
        let mut out = std::mem::take(&mut self.kept);
        let dropped = std::mem::take(&mut self.dropped);
        if dropped > 0 {
            out.push((DROPPED_KEY.to_string(), dropped.to_string()));
        }
        out
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Host for PluginState {
    fn add_detail(&mut self, key: String, value: String) {
        self.details.add(&key, &value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_bounded_in_count_and_size_and_escaped() {
        let mut d = Details::default();
        d.add("m3.message-id", " XRE0103 ");
        d.add("m3.field", "CUNO\nINFO forged");
        d.add("", "no key");
        d.add(&"k".repeat(100), &"ü".repeat(400));
        for i in 0..20 {
            d.add("n", &i.to_string());
        }
        let got = d.take();
        assert_eq!(got.len(), MAX_DETAILS + 1);
        assert_eq!(got[0], ("m3.message-id".into(), "XRE0103".into()));
        assert_eq!(got[1].1, "CUNO\\nINFO forged");
        assert_eq!(got[2].0.len(), MAX_KEY);
        assert!(got[2].1.len() <= MAX_VALUE && got[2].1.chars().all(|c| c == 'ü'));
        // 1 empty key + 7 of the 20 over the cap.
        assert_eq!(got[MAX_DETAILS], (DROPPED_KEY.into(), "8".into()));
        assert!(d.take().is_empty(), "taking empties the collector");
    }
}
