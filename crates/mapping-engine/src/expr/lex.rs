//! The lexer: an expression's text as tokens with their byte offsets.

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

pub(super) fn lex(src: &str) -> Result<Vec<(usize, Tok)>, String> {
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
