//! Values while an expression is evaluated: decimals parsed (rust_decimal, never floats), dates
//! as calendar dates, text borrowed from the source document where possible.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::document::Value;

/// A calendar date (proleptic Gregorian), checked on construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if leap => 29,
            _ => 28,
        };
        (day <= days).then_some(Self { year, month, day })
    }

    /// Reads an ISO date (`2025-03-07`, also with a time part after `T` or a space) or a compact
    /// `20250307`.
    pub fn parse_auto(s: &str) -> Option<Self> {
        let s = s.trim();
        let date_part = s.split(['T', ' ']).next().unwrap_or(s);
        if date_part.len() == 8 && date_part.bytes().all(|b| b.is_ascii_digit()) {
            return Self::parse_with(date_part, "yyyyMMdd");
        }
        Self::parse_with(date_part, "yyyy-MM-dd")
    }

    /// Reads a date in a pattern of `yyyy`, `yy`, `MM`, `M`, `dd`, `d` and literal characters.
    pub fn parse_with(s: &str, pattern: &str) -> Option<Self> {
        let (mut y, mut m, mut d) = (None, None, None);
        let mut input = s.trim();
        for token in tokens(pattern) {
            match token {
                Token::Year4 => y = Some(take_digits(&mut input, 4, 4)? as i32),
                Token::Year2 => y = Some(2000 + take_digits(&mut input, 2, 2)? as i32),
                Token::Month2 => m = Some(take_digits(&mut input, 2, 2)? as u8),
                Token::Month => m = Some(take_digits(&mut input, 1, 2)? as u8),
                Token::Day2 => d = Some(take_digits(&mut input, 2, 2)? as u8),
                Token::Day => d = Some(take_digits(&mut input, 1, 2)? as u8),
                Token::Literal(c) => input = input.strip_prefix(c)?,
            }
        }
        if !input.is_empty() {
            return None;
        }
        Self::new(y?, m?, d?)
    }

    /// Writes the date in a pattern (see [`Date::parse_with`]).
    pub fn format(&self, pattern: &str) -> String {
        let mut out = String::with_capacity(pattern.len() + 2);
        for token in tokens(pattern) {
            match token {
                Token::Year4 => out.push_str(&format!("{:04}", self.year)),
                Token::Year2 => out.push_str(&format!("{:02}", self.year % 100)),
                Token::Month2 => out.push_str(&format!("{:02}", self.month)),
                Token::Month => out.push_str(&self.month.to_string()),
                Token::Day2 => out.push_str(&format!("{:02}", self.day)),
                Token::Day => out.push_str(&self.day.to_string()),
                Token::Literal(c) => out.push(c),
            }
        }
        out
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

enum Token {
    Year4,
    Year2,
    Month2,
    Month,
    Day2,
    Day,
    Literal(char),
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        let (token, len) = if rest.starts_with("yyyy") {
            (Token::Year4, 4)
        } else if rest.starts_with("yy") {
            (Token::Year2, 2)
        } else if rest.starts_with("MM") {
            (Token::Month2, 2)
        } else if rest.starts_with('M') {
            (Token::Month, 1)
        } else if rest.starts_with("dd") {
            (Token::Day2, 2)
        } else if rest.starts_with('d') {
            (Token::Day, 1)
        } else {
            (Token::Literal(c), c.len_utf8())
        };
        out.push(token);
        rest = &rest[len..];
    }
    out
}

fn take_digits(input: &mut &str, min: usize, max: usize) -> Option<u32> {
    let n = input
        .bytes()
        .take(max)
        .take_while(u8::is_ascii_digit)
        .count();
    if n < min {
        return None;
    }
    let (digits, rest) = input.split_at(n);
    *input = rest;
    digits.parse().ok()
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V<'a> {
    Null,
    Text(Cow<'a, str>),
    Dec(Decimal),
    Int(i64),
    Bool(bool),
    Date(Date),
}

/// Why an expression could not be evaluated; the engine adds the rule, field and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EvalError(pub String);

pub(crate) type EvalResult<'a> = Result<V<'a>, EvalError>;

pub(crate) fn err<T>(message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError(message.into()))
}

impl<'a> V<'a> {
    /// A document value as an evaluation value. Malformed decimals and dates are errors here,
    /// naming the value (`'abc' is not a decimal`).
    pub fn from_value(value: &'a Value) -> EvalResult<'a> {
        Ok(match value {
            Value::Text(s) => V::Text(Cow::Borrowed(s)),
            Value::Decimal(s) => {
                if s.trim().is_empty() {
                    V::Null
                } else {
                    V::Dec(parse_decimal(s)?)
                }
            }
            Value::Integer(i) => V::Int(*i),
            Value::Boolean(b) => V::Bool(*b),
            Value::Date(s) => {
                if s.trim().is_empty() {
                    V::Null
                } else {
                    V::Date(Date::parse_auto(s).ok_or_else(|| not_a_date(s))?)
                }
            }
            Value::Null => V::Null,
        })
    }

    /// Null, or text that is blank.
    pub fn is_empty(&self) -> bool {
        match self {
            V::Null => true,
            V::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            V::Null => "empty",
            V::Text(_) => "text",
            V::Dec(_) => "decimal",
            V::Int(_) => "integer",
            V::Bool(_) => "boolean",
            V::Date(_) => "date",
        }
    }

    /// The value as text: decimals as they are (scale kept), dates ISO, empty for null.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            V::Null => Cow::Borrowed(""),
            V::Text(s) => Cow::Borrowed(s.as_ref()),
            V::Dec(d) => Cow::Owned(d.to_string()),
            V::Int(i) => Cow::Owned(i.to_string()),
            V::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            V::Date(d) => Cow::Owned(d.to_string()),
        }
    }

    /// The value as a decimal; `None` when empty. Text must hold a decimal number.
    pub fn to_decimal(&self) -> Result<Option<Decimal>, EvalError> {
        match self {
            V::Null => Ok(None),
            V::Dec(d) => Ok(Some(*d)),
            V::Int(i) => Ok(Some(Decimal::from(*i))),
            V::Text(s) if s.trim().is_empty() => Ok(None),
            V::Text(s) => parse_decimal(s).map(Some),
            V::Bool(_) | V::Date(_) => err(format!(
                "'{}' is a {}, not a decimal",
                self.to_text(),
                self.type_name()
            )),
        }
    }

    /// The value as a date; `None` when empty. Text must be ISO (`yyyy-mm-dd`) or `yyyyMMdd`;
    /// other layouts need `date(x, 'pattern')`.
    pub fn to_date(&self) -> Result<Option<Date>, EvalError> {
        match self {
            V::Null => Ok(None),
            V::Date(d) => Ok(Some(*d)),
            V::Text(s) if s.trim().is_empty() => Ok(None),
            V::Text(s) => Date::parse_auto(s).map(Some).ok_or_else(|| not_a_date(s)),
            V::Int(i) => Date::parse_auto(&i.to_string())
                .map(Some)
                .ok_or_else(|| not_a_date(&i.to_string())),
            V::Dec(_) | V::Bool(_) => err(format!(
                "'{}' is a {}, not a date",
                self.to_text(),
                self.type_name()
            )),
        }
    }

    /// Truth for conditions: booleans; `Y`/`yes`/`true`/`1` and `N`/`no`/`false`/`0` as text;
    /// numbers are true when not zero; empty is false.
    pub fn truthy(&self) -> Result<bool, EvalError> {
        match self {
            V::Null => Ok(false),
            V::Bool(b) => Ok(*b),
            V::Int(i) => Ok(*i != 0),
            V::Dec(d) => Ok(!d.is_zero()),
            V::Text(s) => match parse_bool(s) {
                Some(b) => Ok(b),
                None if s.trim().is_empty() => Ok(false),
                None => err(format!("'{s}' is not true or false")),
            },
            V::Date(_) => Ok(true),
        }
    }

    /// The value as the document's typed value.
    pub fn into_value(self) -> Value {
        match self {
            V::Null => Value::Null,
            V::Text(s) => Value::Text(s.into_owned()),
            V::Dec(d) => Value::Decimal(d.to_string()),
            V::Int(i) => Value::Integer(i),
            V::Bool(b) => Value::Boolean(b),
            V::Date(d) => Value::Date(d.to_string()),
        }
    }
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "1" | "t" => Some(true),
        "n" | "no" | "false" | "0" | "f" => Some(false),
        _ => None,
    }
}

pub(crate) fn parse_decimal(s: &str) -> Result<Decimal, EvalError> {
    let t = s.trim();
    // Decimal::from_str accepts "1_000"; a document value with underscores is not a number.
    if t.contains('_') {
        return err(format!("'{s}' is not a decimal"));
    }
    Decimal::from_str(t).or_else(|_| {
        Decimal::from_scientific(t).map_err(|_| EvalError(format!("'{s}' is not a decimal")))
    })
}

fn not_a_date(s: &str) -> EvalError {
    EvalError(format!("'{s}' is not a date (expected yyyy-mm-dd)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_and_format_in_patterns() {
        let d = Date::parse_with("03/07/2025", "MM/dd/yyyy").unwrap();
        assert_eq!(d.format("yyyyMMdd"), "20250307");
        assert_eq!(Date::parse_auto("2025-03-07T10:00:00").unwrap(), d);
        assert_eq!(Date::parse_auto("20250307").unwrap(), d);
        assert_eq!(Date::parse_with("3/7/25", "M/d/yy").unwrap(), d);
        assert!(Date::parse_auto("2025-02-30").is_none());
        assert!(Date::parse_auto("2024-02-29").is_some());
        assert!(Date::parse_with("03/07/2025x", "MM/dd/yyyy").is_none());
    }

    #[test]
    fn decimals_never_accept_garbage() {
        assert_eq!(parse_decimal(" 12.50 ").unwrap().to_string(), "12.50");
        assert_eq!(
            parse_decimal("abc").unwrap_err().0,
            "'abc' is not a decimal"
        );
        assert!(parse_decimal("1_000").is_err());
    }
}
