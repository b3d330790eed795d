//! The expression language of mapping rules: field references, literals, arithmetic on
//! decimals, comparisons, `and`/`or`/`not`, `??` (first non-empty) and a fixed set of functions.
//! Expressions are parsed and checked (functions, arities, tables) once, when the mapping is
//! compiled; evaluation walks the tree.

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

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(String),
    Str(String),
    Ident(String),
    /// A backtick-quoted name: never a keyword, may hold any character but a backtick.
    Quoted(String),
    LParen,
    RParen,
    Comma,
    Dot,
    Op(&'static str),
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, String> {
    let mut out = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            b')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            b',' => {
                out.push((start, Tok::Comma));
                i += 1;
            }
            b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                out.push((start, Tok::Dot));
                i += 1;
            }
            b'\'' | b'"' => {
                let quote = c as char;
                let rest = &src[i + 1..];
                let mut text = String::new();
                let mut chars = rest.char_indices();
                let mut end = None;
                while let Some((j, ch)) = chars.next() {
                    if ch == quote {
                        // A doubled quote inside is one literal quote: 'O''Brien'.
                        if rest[j + 1..].starts_with(quote) {
                            text.push(quote);
                            chars.next();
                            continue;
                        }
                        end = Some(j);
                        break;
                    }
                    text.push(ch);
                }
                let end = end.ok_or_else(|| format!("unclosed text starting at {start}"))?;
                out.push((start, Tok::Str(text)));
                i += 1 + end + 1;
            }
            b'`' => {
                let rest = &src[i + 1..];
                let end = rest
                    .find('`')
                    .ok_or_else(|| format!("unclosed `name` starting at {start}"))?;
                out.push((start, Tok::Quoted(rest[..end].to_string())));
                i += 1 + end + 1;
            }
            b'0'..=b'9' | b'.' => {
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                out.push((start, Tok::Num(src[start..i].to_string())));
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push((start, Tok::Ident(src[start..i].to_string())));
            }
            _ => {
                let two = src.get(i..i + 2).unwrap_or("");
                let op = match two {
                    "==" | "!=" | "<=" | ">=" | "??" | "<>" => Some(two),
                    _ => None,
                };
                if let Some(op) = op {
                    let op: &'static str = match op {
                        "==" => "==",
                        "!=" | "<>" => "!=",
                        "<=" => "<=",
                        ">=" => ">=",
                        _ => "??",
                    };
                    out.push((start, Tok::Op(op)));
                    i += 2;
                    continue;
                }
                let op: &'static str = match c {
                    b'+' => "+",
                    b'-' => "-",
                    b'*' => "*",
                    b'/' => "/",
                    b'<' => "<",
                    b'>' => ">",
                    b'=' => "==",
                    _ => {
                        let ch = src[i..].chars().next().unwrap_or('?');
                        return Err(format!("unexpected '{ch}' at {start}"));
                    }
                };
                out.push((start, Tok::Op(op)));
                i += 1;
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Parser (precedence climbing): or < and < not < comparison < ?? < + - < * / < unary - < call

struct Parser<'t> {
    toks: &'t [(usize, Tok)],
    pos: usize,
    tables: &'t [Table],
}

/// Parses and checks one expression. Tables are looked up by name for `lookup(...)`.
pub(crate) fn parse(src: &str, tables: &[Table]) -> Result<Expr, String> {
    let toks = lex(src)?;
    if toks.is_empty() {
        return Err("the expression is empty".to_string());
    }
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        tables,
    };
    let e = p.or()?;
    if let Some((at, t)) = p.toks.get(p.pos) {
        return Err(format!("unexpected {} at {at}", describe(t)));
    }
    Ok(e)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("number {n}"),
        Tok::Str(s) => format!("text '{s}'"),
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Quoted(s) => format!("`{s}`"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Dot => "'.'".into(),
        Tok::Op(o) => format!("'{o}'"),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn next(&mut self) -> Result<Tok, String> {
        let t = self
            .toks
            .get(self.pos)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| "the expression ends too early".to_string())?;
        self.pos += 1;
        Ok(t)
    }

    fn at(&self) -> usize {
        self.toks
            .get(self.pos)
            .map(|(a, _)| *a)
            .unwrap_or(usize::MAX)
    }

    fn keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(k))
    }

    fn op(&self, o: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(x)) if *x == o)
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<(), String> {
        let at = self.at();
        match self.next() {
            Ok(t) if t == want => Ok(()),
            Ok(t) => Err(format!("expected {what} at {at}, found {}", describe(&t))),
            Err(_) => Err(format!("expected {what} at the end")),
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let r = self.and()?;
            l = Expr::Bin(BinOp::Or, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.not()?;
        while self.keyword("and") {
            self.pos += 1;
            let r = self.not()?;
            l = Expr::Bin(BinOp::And, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, String> {
        let l = self.coalesce()?;
        let op = match self.peek() {
            Some(Tok::Op("==")) => BinOp::Eq,
            Some(Tok::Op("!=")) => BinOp::Ne,
            Some(Tok::Op("<")) => BinOp::Lt,
            Some(Tok::Op("<=")) => BinOp::Le,
            Some(Tok::Op(">")) => BinOp::Gt,
            Some(Tok::Op(">=")) => BinOp::Ge,
            _ => return Ok(l),
        };
        self.pos += 1;
        let r = self.coalesce()?;
        Ok(Expr::Bin(op, Box::new(l), Box::new(r)))
    }

    fn coalesce(&mut self) -> Result<Expr, String> {
        let mut l = self.add()?;
        while self.op("??") {
            self.pos += 1;
            let r = self.add()?;
            l = Expr::Bin(BinOp::Coalesce, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn add(&mut self) -> Result<Expr, String> {
        let mut l = self.mul()?;
        loop {
            let op = if self.op("+") {
                BinOp::Add
            } else if self.op("-") {
                BinOp::Sub
            } else {
                return Ok(l);
            };
            self.pos += 1;
            let r = self.mul()?;
            l = Expr::Bin(op, Box::new(l), Box::new(r));
        }
    }

    fn mul(&mut self) -> Result<Expr, String> {
        let mut l = self.unary()?;
        loop {
            let op = if self.op("*") {
                BinOp::Mul
            } else if self.op("/") {
                BinOp::Div
            } else {
                return Ok(l);
            };
            self.pos += 1;
            let r = self.unary()?;
            l = Expr::Bin(op, Box::new(l), Box::new(r));
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.op("-") {
            self.pos += 1;
            let inner = self.unary()?;
            return Ok(match inner {
                Expr::Lit(V::Dec(d)) => Expr::Lit(V::Dec(-d)),
                other => Expr::Neg(Box::new(other)),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let at = self.at();
        match self.next()? {
            Tok::Num(n) => parse_decimal(&n)
                .map(|d| Expr::Lit(V::Dec(d)))
                .map_err(|_| format!("'{n}' at {at} is not a number")),
            Tok::Str(s) => Ok(Expr::Lit(V::Text(Cow::Owned(s)))),
            Tok::LParen => {
                let e = self.or()?;
                self.expect(Tok::RParen, "')'")?;
                Ok(e)
            }
            Tok::Quoted(name) => Ok(Expr::Field(Scope::Current, name)),
            Tok::Ident(name) => {
                match name.to_ascii_lowercase().as_str() {
                    "true" => return Ok(Expr::Lit(V::Bool(true))),
                    "false" => return Ok(Expr::Lit(V::Bool(false))),
                    "null" => return Ok(Expr::Lit(V::Null)),
                    "and" | "or" | "not" => {
                        return Err(format!(
                            "'{name}' at {at} is a keyword; write `{name}` for a field of that name"
                        ));
                    }
                    _ => {}
                }
                match self.peek() {
                    Some(Tok::LParen) => self.call(&name, at),
                    Some(Tok::Dot) => {
                        let scope = Scope::from_prefix(&name).ok_or_else(|| {
                            format!(
                                "'{name}.' at {at}: unknown scope (header, out, id, setting, doc, line); \
                                 write `{name}.…` for a field whose name has a dot"
                            )
                        })?;
                        self.pos += 1;
                        let field = match self.next() {
                            Ok(Tok::Ident(f)) | Ok(Tok::Quoted(f)) => f,
                            _ => return Err(format!("expected a field name after '{name}.'")),
                        };
                        check_special(scope, &field)?;
                        Ok(Expr::Field(scope, field))
                    }
                    _ => Ok(Expr::Field(Scope::Current, name)),
                }
            }
            other => Err(format!("unexpected {} at {at}", describe(&other))),
        }
    }

    fn args(&mut self) -> Result<Vec<Expr>, String> {
        self.expect(Tok::LParen, "'('")?;
        let mut args = Vec::new();
        if matches!(self.peek(), Some(Tok::RParen)) {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.or()?);
            let at = self.at();
            match self.next() {
                Ok(Tok::Comma) => continue,
                Ok(Tok::RParen) => return Ok(args),
                Ok(t) => {
                    return Err(format!(
                        "expected ',' or ')' at {at}, found {}",
                        describe(&t)
                    ));
                }
                Err(_) => return Err("missing ')' at the end".to_string()),
            }
        }
    }

    fn call(&mut self, name: &str, at: usize) -> Result<Expr, String> {
        let lower = name.to_ascii_lowercase();
        if lower == "lookup" {
            // The first argument names a table, not a field.
            self.expect(Tok::LParen, "'('")?;
            let table_at = self.at();
            let table = match self.next() {
                Ok(Tok::Ident(t)) | Ok(Tok::Quoted(t)) | Ok(Tok::Str(t)) => t,
                _ => {
                    return Err(format!(
                        "lookup at {at}: the first argument is a table's name"
                    ));
                }
            };
            let index = self
                .tables
                .iter()
                .position(|t| t.name == table)
                .ok_or_else(|| {
                    let known: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
                    format!(
                        "lookup at {table_at}: no table '{table}' (tables: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )
                })?;
            self.expect(Tok::Comma, "',' after the table name")?;
            // Re-enter the argument list after the table name.
            let mut rest = vec![self.or()?];
            loop {
                let at2 = self.at();
                match self.next() {
                    Ok(Tok::Comma) => rest.push(self.or()?),
                    Ok(Tok::RParen) => break,
                    Ok(t) => {
                        return Err(format!(
                            "expected ',' or ')' at {at2}, found {}",
                            describe(&t)
                        ));
                    }
                    Err(_) => return Err("missing ')' at the end".to_string()),
                }
            }
            if rest.len() > 2 {
                return Err(format!(
                    "lookup at {at} takes a table, a key and an optional default"
                ));
            }
            let mut it = rest.into_iter();
            let key = it.next().map(Box::new).ok_or("lookup needs a key")?;
            let default = it.next().map(Box::new);
            return Ok(Expr::Lookup(index, key, default));
        }
        let (_, func, min, max) = FUNCS.iter().find(|(n, ..)| *n == lower).ok_or_else(|| {
            format!(
                "unknown function '{name}' at {at} (functions: {})",
                function_names().collect::<Vec<_>>().join(", ")
            )
        })?;
        let args = self.args()?;
        if args.len() < *min || args.len() > *max {
            let want = if min == max {
                format!("{min}")
            } else if *max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(format!(
                "{lower}() at {at} takes {want} argument{}, got {}",
                if *max == 1 { "" } else { "s" },
                args.len()
            ));
        }
        Ok(Expr::Call(*func, args))
    }
}

fn check_special(scope: Scope, field: &str) -> Result<(), String> {
    match (scope, field) {
        (Scope::Doc, "id" | "kind" | "tenant") | (Scope::Line, "index" | "number") => Ok(()),
        (Scope::Doc, f) => Err(format!("doc.{f}: doc has id, kind and tenant")),
        (Scope::Line, f) => Err(format!("line.{f}: line has index and number")),
        _ => Ok(()),
    }
}

impl Expr {
    /// Every source field this expression reads (scope, name), for `describe` and `suggest`.
    pub(crate) fn reads(&self, out: &mut Vec<(Scope, String)>) {
        match self {
            Expr::Lit(_) => {}
            Expr::Field(s, n) => {
                if !out.iter().any(|(s2, n2)| s2 == s && n2 == n) {
                    out.push((*s, n.clone()));
                }
            }
            Expr::Neg(e) | Expr::Not(e) => e.reads(out),
            Expr::Bin(_, l, r) => {
                l.reads(out);
                r.reads(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.reads(out)),
            Expr::Lookup(_, k, d) => {
                k.reads(out);
                if let Some(d) = d {
                    d.reads(out);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// What an expression can see.
pub(crate) struct Env<'a> {
    pub current: &'a [Field],
    pub header: &'a [Field],
    pub out: &'a [Field],
    pub doc: &'a Document,
    pub ctx: &'a Context,
    pub line: Option<usize>,
    pub tables: &'a [Table],
}

fn pair<'a>(list: &'a [(String, String)], key: &str) -> V<'a> {
    list.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| V::Text(Cow::Borrowed(v.as_str())))
        .unwrap_or(V::Null)
}

fn field<'a>(fields: &'a [Field], name: &str) -> EvalResult<'a> {
    match get(fields, name) {
        Some(v) => V::from_value(v).map_err(|e| EvalError(format!("{} (from {name})", e.0))),
        None => Ok(V::Null),
    }
}

fn dec_arg(v: &V<'_>, what: &str) -> Result<Option<Decimal>, EvalError> {
    v.to_decimal()
        .map_err(|e| EvalError(format!("{what}: {}", e.0)))
}

fn need_dec(v: &V<'_>, what: &str) -> Result<Decimal, EvalError> {
    dec_arg(v, what)?.ok_or_else(|| EvalError(format!("{what}: a number is needed, found nothing")))
}

fn need_int(v: &V<'_>, what: &str) -> Result<i64, EvalError> {
    let d = need_dec(v, what)?;
    if d.fract() != Decimal::ZERO {
        return err(format!("{what}: '{d}' is not a whole number"));
    }
    i64::try_from(d).or_else(|_| err(format!("{what}: '{d}' is out of range")))
}

fn need_usize(v: &V<'_>, what: &str) -> Result<usize, EvalError> {
    let i = need_int(v, what)?;
    usize::try_from(i).or_else(|_| err(format!("{what}: '{i}' must not be negative")))
}

fn overflow() -> EvalError {
    EvalError("the result is too large for a decimal".to_string())
}

impl Expr {
    pub(crate) fn eval<'a>(&'a self, env: &Env<'a>) -> EvalResult<'a> {
        match self {
            Expr::Lit(v) => Ok(match v {
                V::Text(s) => V::Text(Cow::Borrowed(s.as_ref())),
                other => other.clone(),
            }),
            Expr::Field(scope, name) => match scope {
                Scope::Current => field(env.current, name),
                Scope::Header => field(env.header, name),
                Scope::Out => field(env.out, name),
                Scope::Id => Ok(pair(&env.ctx.ids, name)),
                Scope::Setting => Ok(pair(&env.ctx.settings, name)),
                Scope::Doc => Ok(match name.as_str() {
                    "id" => env
                        .doc
                        .id
                        .as_deref()
                        .map(|s| V::Text(Cow::Borrowed(s)))
                        .unwrap_or(V::Null),
                    "kind" => V::Text(Cow::Borrowed(env.doc.kind.as_str())),
                    _ => V::Text(Cow::Borrowed(env.ctx.tenant.as_str())),
                }),
                Scope::Line => Ok(match (env.line, name.as_str()) {
                    (None, _) => V::Null,
                    (Some(i), "index") => V::Int(i as i64),
                    (Some(i), _) => V::Int(i as i64 + 1),
                }),
            },
            Expr::Neg(e) => match e.eval(env)?.to_decimal()? {
                Some(d) => Ok(V::Dec(-d)),
                None => Ok(V::Null),
            },
            Expr::Not(e) => Ok(V::Bool(!e.eval(env)?.truthy()?)),
            Expr::Bin(op, l, r) => self.binary(*op, l, r, env),
            Expr::Call(f, args) => call(*f, args, env),
            Expr::Lookup(t, key, default) => {
                let table = &env.tables[*t];
                let k = key.eval(env)?;
                let k = k.to_text();
                let k = k.trim();
                if let Some((_, v)) = table.entries.iter().find(|(key, _)| key == k) {
                    return Ok(v.clone());
                }
                if let Some(d) = default {
                    return d.eval(env);
                }
                if let Some(f) = &table.fallback {
                    return Ok(f.clone());
                }
                err(format!(
                    "'{k}' is not in table {} (add it, or a \"*\" default)",
                    table.name
                ))
            }
        }
    }

    fn binary<'a>(&'a self, op: BinOp, l: &'a Expr, r: &'a Expr, env: &Env<'a>) -> EvalResult<'a> {
        match op {
            BinOp::And => {
                return Ok(V::Bool(l.eval(env)?.truthy()? && r.eval(env)?.truthy()?));
            }
            BinOp::Or => {
                return Ok(V::Bool(l.eval(env)?.truthy()? || r.eval(env)?.truthy()?));
            }
            BinOp::Coalesce => {
                let lv = l.eval(env)?;
                return if lv.is_empty() { r.eval(env) } else { Ok(lv) };
            }
            _ => {}
        }
        let lv = l.eval(env)?;
        let rv = r.eval(env)?;
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let (Some(a), Some(b)) = (lv.to_decimal()?, rv.to_decimal()?) else {
                    // Arithmetic with an empty operand is empty; `??` supplies defaults.
                    return Ok(V::Null);
                };
                let result = match op {
                    BinOp::Add => a.checked_add(b),
                    BinOp::Sub => a.checked_sub(b),
                    BinOp::Mul => a.checked_mul(b),
                    _ => {
                        if b.is_zero() {
                            return err(format!("division by zero ({a} / 0)"));
                        }
                        a.checked_div(b)
                    }
                };
                result.map(V::Dec).ok_or_else(overflow)
            }
            _ => {
                let ord = compare(&lv, &rv)?;
                Ok(V::Bool(match op {
                    BinOp::Eq => ord == Some(std::cmp::Ordering::Equal),
                    BinOp::Ne => ord != Some(std::cmp::Ordering::Equal),
                    BinOp::Lt => ord == Some(std::cmp::Ordering::Less),
                    BinOp::Le => matches!(
                        ord,
                        Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                    ),
                    BinOp::Gt => ord == Some(std::cmp::Ordering::Greater),
                    _ => matches!(
                        ord,
                        Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                    ),
                }))
            }
        }
    }
}

/// Orders two values: numbers numerically (text that holds a number counts), dates as dates,
/// text as text. Empty equals empty and is unordered against anything else.
fn compare(a: &V<'_>, b: &V<'_>) -> Result<Option<std::cmp::Ordering>, EvalError> {
    use V::*;
    if a.is_empty() || b.is_empty() {
        return Ok((a.is_empty() && b.is_empty()).then_some(std::cmp::Ordering::Equal));
    }
    Ok(match (a, b) {
        (Dec(_) | Int(_), _) | (_, Dec(_) | Int(_)) => {
            match (a.to_decimal(), b.to_decimal()) {
                (Ok(Some(x)), Ok(Some(y))) => Some(x.cmp(&y)),
                // A number never equals text that is not a number.
                _ => None,
            }
        }
        (Date(_), _) | (_, Date(_)) => match (a.to_date(), b.to_date()) {
            (Ok(Some(x)), Ok(Some(y))) => Some(x.cmp(&y)),
            _ => None,
        },
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        (Bool(x), Text(t)) | (Text(t), Bool(x)) => parse_bool(t).map(|y| x.cmp(&y)),
        (Text(x), Text(y)) => Some(x.as_ref().cmp(y.as_ref())),
        _ => None,
    })
}

fn text_of<'a>(v: V<'a>) -> Cow<'a, str> {
    match v {
        V::Text(s) => s,
        other => Cow::Owned(other.to_text().into_owned()),
    }
}

fn strategy(mode: &str) -> Result<RoundingStrategy, EvalError> {
    Ok(match mode {
        "half-up" | "half_up" => RoundingStrategy::MidpointAwayFromZero,
        "half-even" | "half_even" | "bankers" => RoundingStrategy::MidpointNearestEven,
        "half-down" | "half_down" => RoundingStrategy::MidpointTowardZero,
        "down" | "truncate" => RoundingStrategy::ToZero,
        "up" => RoundingStrategy::AwayFromZero,
        "floor" => RoundingStrategy::ToNegativeInfinity,
        "ceiling" | "ceil" => RoundingStrategy::ToPositiveInfinity,
        other => {
            return err(format!(
                "unknown rounding '{other}' (half-up, half-even, half-down, down, up, floor, ceiling)"
            ));
        }
    })
}

fn call<'a>(f: Func, args: &'a [Expr], env: &Env<'a>) -> EvalResult<'a> {
    // Functions that must not evaluate every argument first.
    match f {
        Func::If => {
            let c = args[0].eval(env)?.truthy()?;
            return match (c, args.get(2)) {
                (true, _) => args[1].eval(env),
                (false, Some(e)) => e.eval(env),
                (false, None) => Ok(V::Null),
            };
        }
        Func::Coalesce => {
            for a in args {
                let v = a.eval(env)?;
                if !v.is_empty() {
                    return Ok(v);
                }
            }
            return Ok(V::Null);
        }
        _ => {}
    }
    let mut vals = Vec::with_capacity(args.len());
    for a in args {
        vals.push(a.eval(env)?);
    }
    let mut it = vals.into_iter();
    let mut arg = || it.next().unwrap_or(V::Null);
    let a0 = arg();
    Ok(match f {
        Func::Text => V::Text(text_of(a0)),
        Func::Decimal => a0.to_decimal()?.map(V::Dec).unwrap_or(V::Null),
        Func::Integer => match a0.to_decimal()? {
            None => V::Null,
            Some(d) if d.fract() != Decimal::ZERO => {
                return err(format!("'{d}' is not a whole number"));
            }
            Some(d) => V::Int(i64::try_from(d).or_else(|_| err(format!("'{d}' is out of range")))?),
        },
        Func::Boolean => match &a0 {
            V::Null => V::Null,
            V::Text(s) if s.trim().is_empty() => V::Null,
            other => V::Bool(other.truthy()?),
        },
        Func::Date => {
            let pattern = arg();
            if pattern.is_empty() {
                a0.to_date()?.map(V::Date).unwrap_or(V::Null)
            } else if a0.is_empty() {
                V::Null
            } else if let V::Date(d) = a0 {
                V::Date(d)
            } else {
                let p = pattern.to_text();
                let s = a0.to_text();
                V::Date(
                    Date::parse_with(&s, &p)
                        .ok_or_else(|| EvalError(format!("'{s}' is not a date in the form {p}")))?,
                )
            }
        }
        Func::FormatDate => match a0.to_date()? {
            None => V::Null,
            Some(d) => V::Text(Cow::Owned(d.format(&arg().to_text()))),
        },
        Func::Round => {
            let Some(d) = dec_arg(&a0, "round")? else {
                return Ok(V::Null);
            };
            let places = arg();
            let places = if places.is_empty() {
                0
            } else {
                need_int(&places, "round places")?
            };
            let places = u32::try_from(places)
                .ok()
                .filter(|p| *p <= 28)
                .ok_or_else(|| EvalError(format!("round: {places} places is out of range")))?;
            let mode = arg();
            let mode = if mode.is_empty() {
                RoundingStrategy::MidpointAwayFromZero
            } else {
                strategy(&mode.to_text())?
            };
            V::Dec(d.round_dp_with_strategy(places, mode))
        }
        Func::RoundTo => {
            let Some(d) = dec_arg(&a0, "round_to")? else {
                return Ok(V::Null);
            };
            let step = need_dec(&arg(), "round_to step")?;
            if step <= Decimal::ZERO {
                return err(format!("round_to: the step must be positive, got {step}"));
            }
            let units = d
                .checked_div(step)
                .ok_or_else(overflow)?
                .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
            V::Dec(units.checked_mul(step).ok_or_else(overflow)?)
        }
        Func::FormatNumber => match dec_arg(&a0, "format_number")? {
            None => V::Null,
            Some(d) => {
                let places = need_int(&arg(), "format_number places")?;
                let places = u32::try_from(places)
                    .ok()
                    .filter(|p| *p <= 28)
                    .ok_or_else(|| EvalError(format!("format_number: {places} places")))?;
                let mut r =
                    d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
                r.rescale(places);
                V::Text(Cow::Owned(r.to_string()))
            }
        },
        Func::Abs => match dec_arg(&a0, "abs")? {
            None => V::Null,
            Some(d) => V::Dec(d.abs()),
        },
        Func::Min | Func::Max => {
            let mut best: Option<Decimal> = dec_arg(&a0, "min/max")?;
            for _ in 1..args.len() {
                if let Some(d) = dec_arg(&arg(), "min/max")? {
                    best = Some(match best {
                        None => d,
                        Some(b) if f == Func::Min => b.min(d),
                        Some(b) => b.max(d),
                    });
                }
            }
            best.map(V::Dec).unwrap_or(V::Null)
        }
        Func::Concat => {
            let mut s = text_of(a0).into_owned();
            for _ in 1..args.len() {
                s.push_str(&arg().to_text());
            }
            V::Text(Cow::Owned(s))
        }
        Func::Join => {
            let sep = text_of(a0).into_owned();
            let mut parts: Vec<String> = Vec::new();
            for _ in 1..args.len() {
                let v = arg();
                let t = v.to_text();
                let t = t.trim();
                if !t.is_empty() {
                    parts.push(t.to_string());
                }
            }
            V::Text(Cow::Owned(parts.join(&sep)))
        }
        Func::Split => {
            let s = a0.to_text().into_owned();
            let sep = arg().to_text().into_owned();
            let n = need_int(&arg(), "split part")?;
            if sep.is_empty() {
                return err("split: the separator is empty");
            }
            let parts: Vec<&str> = s.split(sep.as_str()).map(str::trim).collect();
            // Negative parts count from the end: -1 is the last.
            let idx = if n < 0 {
                parts.len().checked_sub(n.unsigned_abs() as usize)
            } else {
                Some(n as usize)
            };
            match idx.and_then(|i| parts.get(i)) {
                Some(p) if !p.is_empty() => V::Text(Cow::Owned(p.to_string())),
                _ => V::Null,
            }
        }
        Func::Upper => V::Text(Cow::Owned(a0.to_text().to_uppercase())),
        Func::Lower => V::Text(Cow::Owned(a0.to_text().to_lowercase())),
        Func::Trim => V::Text(Cow::Owned(a0.to_text().trim().to_string())),
        Func::Left => {
            let n = need_usize(&arg(), "left count")?;
            V::Text(Cow::Owned(a0.to_text().chars().take(n).collect()))
        }
        Func::Right => {
            let n = need_usize(&arg(), "right count")?;
            let s = a0.to_text();
            let len = s.chars().count();
            V::Text(Cow::Owned(s.chars().skip(len.saturating_sub(n)).collect()))
        }
        Func::Substr => {
            let start = need_usize(&arg(), "substr start")?;
            let len = arg();
            let s = a0.to_text();
            let tail = s.chars().skip(start);
            V::Text(Cow::Owned(if len.is_empty() {
                tail.collect()
            } else {
                tail.take(need_usize(&len, "substr length")?).collect()
            }))
        }
        Func::Replace => {
            let from = arg().to_text().into_owned();
            let to = arg().to_text().into_owned();
            if from.is_empty() {
                return err("replace: the text to replace is empty");
            }
            V::Text(Cow::Owned(a0.to_text().replace(&from, &to)))
        }
        Func::Length => V::Int(a0.to_text().chars().count() as i64),
        Func::Contains => V::Bool(a0.to_text().contains(arg().to_text().as_ref())),
        Func::StartsWith => V::Bool(a0.to_text().starts_with(arg().to_text().as_ref())),
        Func::IsEmpty => V::Bool(a0.is_empty()),
        Func::HasFlag => {
            let flags = if a0.is_empty() {
                0
            } else {
                need_int(&a0, "has_flag value")?
            };
            let bit = need_int(&arg(), "has_flag flag")?;
            V::Bool(bit != 0 && flags & bit == bit)
        }
        Func::Error => return err(a0.to_text().into_owned()),
        Func::If | Func::Coalesce => unreachable!("handled above"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Value;

    fn eval_with(src: &str, fields: &[Field]) -> Result<Value, String> {
        let tables = vec![Table {
            name: "ship".into(),
            entries: vec![("Ground".into(), V::Text(Cow::Owned("01".into())))],
            fallback: None,
        }];
        let e = parse(src, &tables)?;
        let doc = Document::default();
        let ctx = Context {
            tenant: "acme".into(),
            settings: vec![("warehouse".into(), "200".into())],
            ids: vec![("customer".into(), "C100".into())],
        };
        let env = Env {
            current: fields,
            header: fields,
            out: &[],
            doc: &doc,
            ctx: &ctx,
            line: Some(2),
            tables: &tables,
        };
        e.eval(&env).map(V::into_value).map_err(|e| e.0)
    }

    fn eval(src: &str) -> Result<Value, String> {
        eval_with(src, &[])
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(s.into())
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn arithmetic_is_decimal_and_exact() {
        assert_eq!(eval("0.1 + 0.2"), Ok(dec("0.3")));
        assert_eq!(eval("round(10 / 3, 2)"), Ok(dec("3.33")));
        assert_eq!(eval("round(2.345, 2)"), Ok(dec("2.35")));
        assert_eq!(eval("round(2.345, 2, 'half-even')"), Ok(dec("2.34")));
        assert_eq!(eval("round(2.349, 2, 'down')"), Ok(dec("2.34")));
        assert_eq!(eval("round_to(12.32, 0.05)"), Ok(dec("12.30")));
        assert_eq!(eval("format_number(5, 2)"), Ok(text("5.00")));
        assert_eq!(eval("-2 * 3"), Ok(dec("-6")));
        assert_eq!(eval("1 / 0"), Err("division by zero (1 / 0)".into()));
    }

    #[test]
    fn text_functions() {
        assert_eq!(eval("concat('a', 1, 'b')"), Ok(text("a1b")));
        assert_eq!(eval("join(' ', 'Ann', '', 'Lee')"), Ok(text("Ann Lee")));
        assert_eq!(
            eval("split('12 Main St, Springfield', ',', 1)"),
            Ok(text("Springfield"))
        );
        assert_eq!(eval("split('a,b', ',', -1)"), Ok(text("b")));
        assert_eq!(eval("split('a,b', ',', 5)"), Ok(Value::Null));
        assert_eq!(eval("left('abcdef', 3)"), Ok(text("abc")));
        assert_eq!(eval("right('abcdef', 2)"), Ok(text("ef")));
        assert_eq!(eval("substr('abcdef', 1, 2)"), Ok(text("bc")));
        assert_eq!(eval("'O''Brien'"), Ok(text("O'Brien")));
    }

    #[test]
    fn fields_scopes_and_defaults() {
        let fields = vec![
            Field::new("Qty", text("abc")),
            Field::new("Name", text("  ")),
            Field::new("Flags", Value::Integer(17)),
        ];
        assert_eq!(
            eval_with("Qty * 2", &fields),
            Err("'abc' is not a decimal".into())
        );
        assert_eq!(eval_with("Name ?? 'none'", &fields), Ok(text("none")));
        assert_eq!(
            eval_with("Missing ?? setting.warehouse", &fields),
            Ok(text("200"))
        );
        assert_eq!(eval_with("id.customer", &fields), Ok(text("C100")));
        assert_eq!(eval_with("line.number", &fields), Ok(Value::Integer(3)));
        assert_eq!(
            eval_with("has_flag(Flags, 16)", &fields),
            Ok(Value::Boolean(true))
        );
        assert_eq!(
            eval_with("has_flag(Flags, 8)", &fields),
            Ok(Value::Boolean(false))
        );
        assert_eq!(eval_with("Missing * 2", &fields), Ok(Value::Null));
    }

    #[test]
    fn lookups_conditions_and_dates() {
        assert_eq!(eval("lookup(ship, 'Ground')"), Ok(text("01")));
        assert_eq!(
            eval("lookup(ship, 'Boat')"),
            Err("'Boat' is not in table ship (add it, or a \"*\" default)".into())
        );
        assert_eq!(eval("lookup(ship, 'Boat', '99')"), Ok(text("99")));
        assert_eq!(eval("if(2 > 1 and not false, 'y', 'n')"), Ok(text("y")));
        assert_eq!(eval("if('20' == 20, 'y', 'n')"), Ok(text("y")));
        assert_eq!(
            eval("format_date(date('03/07/2025', 'MM/dd/yyyy'), 'yyyyMMdd')"),
            Ok(text("20250307"))
        );
        assert_eq!(
            eval("format_date('2025-03-07', 'yyyyMMdd')"),
            Ok(text("20250307"))
        );
        assert!(eval("format_date('07.03.2025', 'yyyyMMdd')").is_err());
    }

    #[test]
    fn bad_expressions_are_refused_when_compiled() {
        let tables: Vec<Table> = Vec::new();
        assert!(
            parse("foo(1)", &tables)
                .unwrap_err()
                .contains("unknown function 'foo'")
        );
        assert!(
            parse("round()", &tables)
                .unwrap_err()
                .contains("takes 1 to 3")
        );
        assert!(
            parse("lookup(nope, X)", &tables)
                .unwrap_err()
                .contains("no table 'nope'")
        );
        assert!(parse("(1 + 2", &tables).unwrap_err().contains("')'"));
        assert!(parse("'open", &tables).unwrap_err().contains("unclosed"));
        assert!(parse("a b", &tables).unwrap_err().contains("unexpected"));
        assert!(
            parse("bogus.X", &tables)
                .unwrap_err()
                .contains("unknown scope")
        );
        assert!(parse("", &tables).is_err());
        assert!(parse("1 # 2", &tables).is_err());
    }
}
