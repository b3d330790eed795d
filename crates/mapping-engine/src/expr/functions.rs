//! The built-in functions, evaluated (rounding modes included).

use super::eval::{dec_arg, need_dec, need_int, need_usize, overflow, text_of};
use super::*;

pub(super) fn strategy(mode: &str) -> Result<RoundingStrategy, EvalError> {
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

pub(super) fn call<'a>(f: Func, args: &'a [Expr], env: &Env<'a>) -> EvalResult<'a> {
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
