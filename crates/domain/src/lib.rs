//! Ferry's domain: what flows, the API and the store speak, independent of any plugin contract
//! version or backend.
//!
//! May depend on: serde, thiserror, async-trait. Never on wasmtime, generated WIT bindings, a
//! database driver, an HTTP framework or another Ferry crate. Everything that crosses a seam
//! (checkpoints, audit data, the admin API) is one of these types, in one JSON encoding: the
//! serde derive below (see [`document`] for its shape).

pub mod catalog;
pub mod document;
pub mod error;
pub mod event;
pub mod journal;
pub mod names;
pub mod order;
pub mod roles;
pub mod scoped;
pub mod transform;

pub use catalog::{
    Availability, DocumentPage, ErpCatalog, Price, QuotingCatalog, StockBalance, UpsertReport,
};
pub use document::{Document, Field, Line, Value};
pub use error::{CallFailure, CallFailureKind, ErrorClass, FieldError, RoleError, RoleFailure};
pub use event::{Change, InboundWebhook, QuoteEvent};
pub use order::{Invoice, MatchCriteria, OrderReceipt, PageRequest, QuotePage, QuoteSummary};
pub use roles::{Erp, Quoting, RoleResult, Roles, Transform, map_each};
pub use transform::{Context, FieldUsage, Issue, Mapped, Severity};
