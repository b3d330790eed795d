//! Evaluation: walks the tree over the document, the line, the context and what was mapped.

use super::functions::call;
use super::*;

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

pub(super) fn pair<'a>(list: &'a [(String, String)], key: &str) -> V<'a> {
    list.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| V::Text(Cow::Borrowed(v.as_str())))
        .unwrap_or(V::Null)
}

pub(super) fn field<'a>(fields: &'a [Field], name: &str) -> EvalResult<'a> {
    match get(fields, name) {
        Some(v) => V::from_value(v).map_err(|e| EvalError(format!("{} (from {name})", e.0))),
        None => Ok(V::Null),
    }
}

pub(super) fn dec_arg(v: &V<'_>, what: &str) -> Result<Option<Decimal>, EvalError> {
    v.to_decimal()
        .map_err(|e| EvalError(format!("{what}: {}", e.0)))
}

pub(super) fn need_dec(v: &V<'_>, what: &str) -> Result<Decimal, EvalError> {
    dec_arg(v, what)?.ok_or_else(|| EvalError(format!("{what}: a number is needed, found nothing")))
}

pub(super) fn need_int(v: &V<'_>, what: &str) -> Result<i64, EvalError> {
    let d = need_dec(v, what)?;
    if d.fract() != Decimal::ZERO {
        return err(format!("{what}: '{d}' is not a whole number"));
    }
    i64::try_from(d).or_else(|_| err(format!("{what}: '{d}' is out of range")))
}

pub(super) fn need_usize(v: &V<'_>, what: &str) -> Result<usize, EvalError> {
    let i = need_int(v, what)?;
    usize::try_from(i).or_else(|_| err(format!("{what}: '{i}' must not be negative")))
}

pub(super) fn overflow() -> EvalError {
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
pub(super) fn compare(a: &V<'_>, b: &V<'_>) -> Result<Option<std::cmp::Ordering>, EvalError> {
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

pub(super) fn text_of<'a>(v: V<'a>) -> Cow<'a, str> {
    match v {
        V::Text(s) => s,
        other => Cow::Owned(other.to_text().into_owned()),
    }
}
