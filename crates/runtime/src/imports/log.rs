//! `ferry:host/log`: plugin logs become tracing events tagged with tenant and plugin, capped
//! in size and count per call so a plugin can't flood the host's logs, with control
//! characters escaped so a plugin can't forge a line of its own (or recolour the terminal).
//! `wasi:logging` (the draft some toolchains emit) goes through the same path.

use crate::bindings::log::{Host, Level};
use crate::state::PluginState;

const MAX_MESSAGE: usize = 4096;

impl Host for PluginState {
    fn log(&mut self, level: Level, message: String) {
        if self.logs_left == 0 {
            self.logs_dropped += 1;
            return;
        }
        self.logs_left -= 1;
        let mut message = message;
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        // After the cut, so the work is bounded by MAX_MESSAGE whatever the plugin sent.
        let message = escape_controls(&message);
        let tenant = self.grants.tenant.as_str();
        let plugin = self.grants.plugin.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "ferry::plugin", tenant, plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "ferry::plugin", tenant, plugin, "{message}"),
            Level::Info => tracing::info!(target: "ferry::plugin", tenant, plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "ferry::plugin", tenant, plugin, "{message}"),
            Level::Error => tracing::error!(target: "ferry::plugin", tenant, plugin, "{message}"),
        }
    }

    /// 1.1: false when the host's filter would drop the message, or this call's log budget is
    /// spent, so the plugin need not format it.
    fn enabled(&mut self, level: Level) -> bool {
        use tracing::Level as L;
        if self.logs_left == 0 {
            return false;
        }
        match level {
            Level::Trace => tracing::enabled!(target: "ferry::plugin", L::TRACE),
            Level::Debug => tracing::enabled!(target: "ferry::plugin", L::DEBUG),
            Level::Info => tracing::enabled!(target: "ferry::plugin", L::INFO),
            Level::Warn => tracing::enabled!(target: "ferry::plugin", L::WARN),
            Level::Error => tracing::enabled!(target: "ferry::plugin", L::ERROR),
        }
    }
}

/// `wasi:logging/logging@0.1.0-draft`: the same sink, cap and escaping as `ferry:host/log`.
impl crate::bindings::wasi_logging::logging::Host for PluginState {
    fn log(
        &mut self,
        level: crate::bindings::wasi_logging::logging::Level,
        context: String,
        message: String,
    ) {
        use crate::bindings::wasi_logging::logging::Level as W;
        let level = match level {
            W::Trace => Level::Trace,
            W::Debug => Level::Debug,
            W::Info => Level::Info,
            W::Warn => Level::Warn,
            W::Error | W::Critical => Level::Error,
        };
        let message = if context.is_empty() {
            message
        } else {
            format!("{context}: {message}")
        };
        Host::log(self, level, message);
    }
}

/// Newlines, carriage returns, ESC and every other control character (C0, DEL, C1), plus
/// Unicode line separators and bidirectional overrides, written as visible escapes
/// (`\n`, `\u{1b}`): the message stays one line and reads the same in any terminal.
pub(super) fn escape_controls(message: &str) -> String {
    let forging = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !message.contains(forging) {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len() + 16);
    for c in message.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if forging(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn control_characters_become_visible_escapes_on_one_line() {
        assert_eq!(
            escape_controls("ok\nINFO forged\r\u{1b}[31mred\u{7f}\u{85}\u{2028}\u{202e}"),
            "ok\\nINFO forged\\r\\u{1b}[31mred\\u{7f}\\u{85}\\u{2028}\\u{202e}"
        );
        assert_eq!(
            escape_controls("plain text, ünïcode"),
            "plain text, ünïcode"
        );
    }
}
