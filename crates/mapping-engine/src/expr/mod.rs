//! The expression language of mapping rules: field references, literals, arithmetic on
//! decimals, comparisons, `and`/`or`/`not`, `??` (first non-empty) and a fixed set of functions.
//! Expressions are parsed and checked (functions, arities, tables) once, when the mapping is
//! compiled; evaluation walks the tree.
//!
//! One job a file: `lex` (tokens), `parse` (tree and compile-time checks), `eval` (walking the
//! tree), `functions` (the built-ins); this file holds the tree's types.

mod eval;
mod functions;
mod lex;
mod parse;
#[cfg(test)]
mod tests;

pub(crate) use eval::Env;
pub(crate) use parse::parse;

use std::borrow::Cow;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::document::{Context, Document, Field, get};
use crate::value::{Date, EvalError, EvalResult, V, err, parse_bool, parse_decimal};

/// Where a field reference reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The record the rule maps: the header for header rules, the line for line rules.
    Current,
    /// The source document's header (line rules read header values this way).
    Header,
    /// Fields already mapped at this level (rules run in file order).
    Out,
    /// Ids the host resolved (`id.customer`).
    Id,
    /// Tenant settings (`setting.warehouse`).
    Setting,
    /// `doc.id`, `doc.kind`, `doc.tenant`.
    Doc,
    /// `line.index` (0-based), `line.number` (1-based).
    Line,
}

impl Scope {
    fn from_prefix(s: &str) -> Option<Self> {
        Some(match s {
            "header" => Scope::Header,
            "out" => Scope::Out,
            "id" => Scope::Id,
            "setting" => Scope::Setting,
            "doc" => Scope::Doc,
            "line" => Scope::Line,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Coalesce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Text,
    Decimal,
    Integer,
    Boolean,
    Date,
    FormatDate,
    Round,
    RoundTo,
    FormatNumber,
    Abs,
    Min,
    Max,
    Concat,
    Join,
    Split,
    Upper,
    Lower,
    Trim,
    Left,
    Right,
    Substr,
    Replace,
    Length,
    Contains,
    StartsWith,
    Coalesce,
    If,
    IsEmpty,
    HasFlag,
    Error,
}

/// Name, function, minimum and maximum argument count (`usize::MAX`: any).
const FUNCS: &[(&str, Func, usize, usize)] = &[
    ("text", Func::Text, 1, 1),
    ("decimal", Func::Decimal, 1, 1),
    ("integer", Func::Integer, 1, 1),
    ("boolean", Func::Boolean, 1, 1),
    ("date", Func::Date, 1, 2),
    ("format_date", Func::FormatDate, 2, 2),
    ("round", Func::Round, 1, 3),
    ("round_to", Func::RoundTo, 2, 2),
    ("format_number", Func::FormatNumber, 2, 2),
    ("abs", Func::Abs, 1, 1),
    ("min", Func::Min, 1, usize::MAX),
    ("max", Func::Max, 1, usize::MAX),
    ("concat", Func::Concat, 1, usize::MAX),
    ("join", Func::Join, 2, usize::MAX),
    ("split", Func::Split, 3, 3),
    ("upper", Func::Upper, 1, 1),
    ("lower", Func::Lower, 1, 1),
    ("trim", Func::Trim, 1, 1),
    ("left", Func::Left, 2, 2),
    ("right", Func::Right, 2, 2),
    ("substr", Func::Substr, 2, 3),
    ("replace", Func::Replace, 3, 3),
    ("length", Func::Length, 1, 1),
    ("contains", Func::Contains, 2, 2),
    ("starts_with", Func::StartsWith, 2, 2),
    ("coalesce", Func::Coalesce, 1, usize::MAX),
    ("if", Func::If, 2, 3),
    ("is_empty", Func::IsEmpty, 1, 1),
    ("has_flag", Func::HasFlag, 2, 2),
    ("error", Func::Error, 1, 1),
];

/// The names of every function, for error messages and docs.
pub fn function_names() -> impl Iterator<Item = &'static str> {
    FUNCS
        .iter()
        .map(|(n, ..)| *n)
        .chain(std::iter::once("lookup"))
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Lit(V<'static>),
    Field(Scope, String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    /// `lookup(table, key[, default])`, the table resolved to its index.
    Lookup(usize, Box<Expr>, Option<Box<Expr>>),
}

/// A lookup table: keys to values, and what a missing key gives (`"*"` in the file).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub name: String,
    pub entries: Vec<(String, V<'static>)>,
    pub fallback: Option<V<'static>>,
}
