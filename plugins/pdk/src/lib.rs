//! Ferry's plugin development kit for Rust guests.
//!
//! The host imports (`http`, `sql`, `log`, `config`, `secrets`) and the shared `types` are
//! generated once here, so every plugin shares them and gets the helpers below. A plugin then
//! generates only its world's export, mapping the shared interfaces onto this crate:
//!
//! ```ignore
//! wit_bindgen::generate!({
//!     world: "transform",
//!     path: "../../wit",
//!     with: { "ferry:plugin/types@0.1.0": ferry_pdk::types, /* log, config, ... likewise */ },
//! });
//! ```

wit_bindgen::generate!({
    world: "imports",
    path: "../../wit",
    generate_all,
});

pub use ferry::plugin::{config, http, log, secrets, sql, types};

mod document;
mod errors;
mod logging;
mod names;

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
