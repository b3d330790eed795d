//! `ferry:host/config`: the non-secret settings the tenant gave this plugin.

use crate::bindings::config::Host;
use crate::state::PluginState;

impl Host for PluginState {
    fn get(&mut self, key: String) -> Option<String> {
        self.grants.settings.get(&key).cloned()
    }

    fn all(&mut self) -> Vec<(String, String)> {
        self.grants
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
