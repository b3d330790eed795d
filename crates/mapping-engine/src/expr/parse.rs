//! The parser (precedence climbing) and the checks made once, when a mapping is compiled:
//! functions, arities, tables, special fields.

use super::lex::{Tok, lex};
use super::*;

// Parser (precedence climbing): or < and < not < comparison < ?? < + - < * / < unary - < call

pub(super) struct Parser<'t> {
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

pub(super) fn describe(t: &Tok) -> String {
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

pub(super) fn check_special(scope: Scope, field: &str) -> Result<(), String> {
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
