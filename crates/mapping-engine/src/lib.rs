//! Ferry's declarative mapping engine.
//!
//! May depend on: the domain (its document model), rust_decimal, serde and toml; nothing
//! host-only or wasm-only (it compiles into the `mapping` component and into the host).
//!
//! A mapping file (TOML) names, for each target field, an expression over the source document:
//! copies with type conversion, conditionals, lookup tables, concat/split, decimal formulas with
//! rounding rules, defaults, date and number formats, and per-field length rules. Lines map with
//! the same rules and can read header values. [`Mapping::parse`] checks the whole file once;
//! [`Mapping::map`] then runs it over documents.
//!
//! The crate is plain Rust with its own [`Document`] model: it is compiled into the `mapping`
//! transform component (wasm32-wasip2) and natively into the host (`ferry mapping test`,
//! `suggest`, and the benchmark's native baseline). The README's "Mappings" section documents the
//! format.
//!
//! ```
//! use ferry_mapping_engine::{Context, Document, Field, Mapping, Value};
//!
//! let mapping = Mapping::parse(r#"
//!     [mapping]
//!     kind = "quote-to-order"
//!     [tables.ship_via]
//!     Ground = "01"
//!     "*" = "99"
//!     [header]
//!     CUOR = { value = "DocNo", required = true, max = 20 }
//!     MODL = "lookup(ship_via, ShipVia)"
//!     RLDT = "format_date(DocDate, 'yyyyMMdd')"
//! "#).unwrap();
//! let quote = Document {
//!     kind: "quote".into(),
//!     fields: vec![
//!         Field::new("DocNo", Value::Text("AAAQ1001".into())),
//!         Field::new("ShipVia", Value::Text("Ground".into())),
//!         Field::new("DocDate", Value::Date("2025-03-07".into())),
//!     ],
//!     ..Document::default()
//! };
//! let order = mapping.map(&quote, &Context::default()).unwrap().document;
//! assert_eq!(order.get("MODL"), Some(&Value::Text("01".into())));
//! assert_eq!(order.get("RLDT"), Some(&Value::Text("20250307".into())));
//! ```

mod defaults;
mod document;
mod expr;
mod mapping;
mod value;

pub use defaults::{DEFAULTS, default_text};
pub use document::{Context, Document, Field, FieldUsage, Issue, Line, Mapped, Severity, Value};
pub use expr::function_names;
pub use mapping::{Level, Mapping, MappingError, OutType, RuleInfo};
pub use value::Date;
