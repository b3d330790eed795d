//! `ferry:host/secrets`: a plugin asks whether a presented value equals a named secret; it
//! never reads the secret.

use crate::bindings::secrets::Host;
use crate::state::PluginState;

impl Host for PluginState {
    fn matches(&mut self, name: String, presented: String) -> bool {
        match self.grants.secrets.get(&name) {
            Some(secret) => secret.matches(&presented),
            None => {
                tracing::warn!(tenant = %self.grants.tenant, "plugin asked for unknown secret '{name}'");
                false
            }
        }
    }
}
