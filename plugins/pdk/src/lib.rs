//! Ferry's plugin development kit for Rust guests.
//!
//! The host imports (`http`, `sql`, `log`, `config`, `secrets`, `diagnostics`) and the shared
//! `types` are generated once here, so every plugin shares them and gets the helpers below. A
//! plugin then generates only its world's export, mapping the shared interfaces onto this crate:
//!
//! ```ignore
//! wit_bindgen::generate!({
//!     world: "plugin",
//!     path: "../../wit/transform",
//!     with: { "ferry:types/types@1.0.0": ferry_pdk::types, /* "ferry:host/log@1.1.0" ... */ },
//!     // a role world's every import needs its line, `diagnostics` too (erp, quoting):
//!     // "ferry:host/diagnostics@1.1.0": ferry_pdk::diagnostics,
//! });
//! ```

wit_bindgen::generate!({
    world: "imports",
    path: "../../wit/host",
    generate_all,
    // `types` has no functions to pull its types in; plugins use them all.
    generate_unused_types: true,
    // Connectors compare change vocabularies (`entity != Entity::Order`).
    additional_derives: [PartialEq, Eq],
});

pub use ferry::host::{config, diagnostics, http, log, secrets, sql};
pub use ferry::types::types;

mod details;
mod document;
mod errors;
mod logging;
mod names;

#[cfg(not(target_arch = "wasm32"))]
pub use details::take_reported;
pub use details::{WithDetails, detail};
pub use document::{DocumentBuilder, DocumentExt, FieldsExt, LineBuilder, line_error};
pub use errors::field_error;
pub use names::normalize_company_name;
pub use rust_decimal::Decimal;
pub use types::{
    Change, ChangeAction, Document, Entity, Error, Field, FieldError, Line, MatchCriteria, Page,
    PageRequest, Value,
};

/// The tenant's setting for this plugin, or `default` when it is not set.
pub fn setting_or(key: &str, default: &str) -> String {
    config::get(key).unwrap_or_else(|| default.to_string())
}
