//! The parsers the fuzz targets drive, compiled from the plugins' own source files: the QuoteWerks
//! webhook body, ION's BODs and M3's MI REST answers. (The mapping engine is a normal crate.)

#[path = "../../plugins/quotewerks/src/webhook.rs"]
#[allow(dead_code)]
pub mod webhook;

#[path = "../../plugins/m3/src/bod.rs"]
#[allow(dead_code)]
pub mod bod;

#[path = "../../plugins/m3/src/mi/mod.rs"]
#[allow(dead_code)]
pub mod mi;
