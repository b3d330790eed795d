//! The engine's document model is the domain's (`ferry-domain`): the same types in the guest
//! component and natively in the host, one copy.

pub use ferry_domain::document::{Document, Field, Line, Value};
pub use ferry_domain::transform::{Context, FieldUsage, Issue, Mapped, Severity};

pub(crate) use ferry_domain::document::get;
