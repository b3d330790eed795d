//! `ferry:plugin/log`: plugin logs become tracing events tagged with tenant and plugin, capped
//! in size and count per call so a plugin can't flood the host's logs.

use crate::runtime::bindings::log::{Host, Level};
use crate::runtime::state::PluginState;

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
}
