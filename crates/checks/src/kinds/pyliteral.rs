//! Python literals as `repr` writes them (what `diffsettings` prints): `None`, `True`,
//! `False`, integers and floats, strings with their escapes and prefixes (and adjacent
//! strings joined), lists, tuples, sets (`set()` too) and dicts, nested. A value that
//! is not a literal (`PosixPath('/app')`, `<object at 0x…>`) is kept as its text: a
//! setting the checks do not judge.

use serde_json::{Map, Number, Value};

/// `text` as a value; `Err` only for a literal that is broken (an unclosed string, a
/// bad escape): the caller names the line.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        s: text.trim().as_bytes(),
        at: 0,
    };
    match p.value() {
        Ok(v) => {
            p.space();
            if p.at == p.s.len() {
                Ok(v)
            } else {
                Ok(Value::String(text.trim().to_owned()))
            }
        }
        Err(Broken(why)) => Err(why),
        Err(NotLiteral) => Ok(Value::String(text.trim().to_owned())),
    }
}

enum Fail {
    /// Looks like a literal and is broken.
    Broken(String),
    /// Not a literal at all.
    NotLiteral,
}
use Fail::{Broken, NotLiteral};

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn space(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.s[self.at..].starts_with(word.as_bytes()) {
            let after = self.s.get(self.at + word.len()).copied();
            if after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == b'_')) {
                self.at += word.len();
                return true;
            }
        }
        false
    }

    fn value(&mut self) -> Result<Value, Fail> {
        self.space();
        if self.eat("None") {
            return Ok(Value::Null);
        }
        if self.eat("True") {
            return Ok(Value::Bool(true));
        }
        if self.eat("False") {
            return Ok(Value::Bool(false));
        }
        if self.s[self.at..].starts_with(b"set()") {
            self.at += 5;
            return Ok(Value::Array(Vec::new()));
        }
        match self.peek() {
            Some(b'[') => self.sequence(b']').map(Value::Array),
            Some(b'(') => self.sequence(b')').map(Value::Array),
            Some(b'{') => self.braces(),
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'+' || c == b'.' => self.number(),
            Some(_) => self.strings(),
            None => Err(NotLiteral),
        }
    }

    fn sequence(&mut self, close: u8) -> Result<Vec<Value>, Fail> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            self.space();
            if self.peek() == Some(close) {
                self.at += 1;
                return Ok(out);
            }
            out.push(self.value()?);
            self.space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(c) if c == close => {}
                _ => return Err(NotLiteral),
            }
        }
    }

    /// A dict, or a set (as an array: Django takes either as an iterable).
    fn braces(&mut self) -> Result<Value, Fail> {
        self.at += 1;
        let mut map = Map::new();
        let mut set = Vec::new();
        loop {
            self.space();
            if self.peek() == Some(b'}') {
                self.at += 1;
                return Ok(if set.is_empty() {
                    Value::Object(map)
                } else {
                    Value::Array(set)
                });
            }
            let key = self.value()?;
            self.space();
            if self.peek() == Some(b':') {
                self.at += 1;
                let value = self.value()?;
                let key = match key {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                map.insert(key, value);
            } else {
                set.push(key);
            }
            self.space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {}
                _ => return Err(NotLiteral),
            }
        }
    }

    fn number(&mut self) -> Result<Value, Fail> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'+'))
        {
            // A sign only leads, or follows an exponent.
            if matches!(self.peek(), Some(b'-' | b'+'))
                && self.at != start
                && !matches!(self.s[self.at - 1], b'e' | b'E')
            {
                break;
            }
            self.at += 1;
        }
        let text: String = String::from_utf8_lossy(&self.s[start..self.at]).replace('_', "");
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Value::from(n));
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Number::from_f64(f).map_or(Value::Null, Value::Number)),
            _ => Err(NotLiteral),
        }
    }

    /// One or more adjacent string literals, joined as Python joins them.
    fn strings(&mut self) -> Result<Value, Fail> {
        let mut out = String::new();
        let mut any = false;
        loop {
            self.space();
            let start = self.at;
            let mut raw = false;
            while let Some(c) = self.peek().filter(u8::is_ascii_alphabetic) {
                if !matches!(c.to_ascii_lowercase(), b'r' | b'b' | b'u') || self.at - start >= 2 {
                    break;
                }
                raw |= c.eq_ignore_ascii_case(&b'r');
                self.at += 1;
            }
            match self.peek() {
                Some(q @ (b'\'' | b'"')) => {
                    out.push_str(&self.string(q, raw)?);
                    any = true;
                }
                _ => {
                    self.at = start;
                    return if any {
                        Ok(Value::String(out))
                    } else {
                        Err(NotLiteral)
                    };
                }
            }
        }
    }

    fn string(&mut self, quote: u8, raw: bool) -> Result<String, Fail> {
        self.at += 1;
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(Broken("a string is not closed".into()));
            };
            self.at += 1;
            if c == quote {
                return String::from_utf8(bytes)
                    .map_err(|_| Broken("a string is not UTF-8".into()));
            }
            if c != b'\\' || raw {
                bytes.push(c);
                if raw
                    && c == b'\\'
                    && let Some(next) = self.peek()
                {
                    bytes.push(next);
                    self.at += 1;
                }
                continue;
            }
            let Some(e) = self.peek() else {
                return Err(Broken("a string ends in a backslash".into()));
            };
            self.at += 1;
            let mut push = |ch: char| {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            };
            match e {
                b'\\' => push('\\'),
                b'\'' => push('\''),
                b'"' => push('"'),
                b'n' => push('\n'),
                b't' => push('\t'),
                b'r' => push('\r'),
                b'a' => push('\x07'),
                b'b' => push('\x08'),
                b'f' => push('\x0c'),
                b'v' => push('\x0b'),
                b'\n' => {}
                b'x' | b'u' | b'U' => {
                    let len = match e {
                        b'x' => 2,
                        b'u' => 4,
                        _ => 8,
                    };
                    let hex = self
                        .s
                        .get(self.at..self.at + len)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .and_then(char::from_u32)
                        .ok_or_else(|| Broken(format!("a bad \\{} escape", e as char)))?;
                    self.at += len;
                    push(hex);
                }
                b'0'..=b'7' => {
                    let mut n = u32::from(e - b'0');
                    for _ in 0..2 {
                        match self.peek() {
                            Some(d @ b'0'..=b'7') => {
                                n = n * 8 + u32::from(d - b'0');
                                self.at += 1;
                            }
                            _ => break,
                        }
                    }
                    push(char::from_u32(n).unwrap_or('\u{fffd}'));
                }
                // Python keeps an unknown escape as it is.
                other => {
                    bytes.push(b'\\');
                    bytes.push(other);
                }
            }
        }
    }
}

/// `text` without its Python comments (a `#` outside a string, to the end of the line).
#[cfg_attr(not(feature = "database"), allow(dead_code))]
pub(crate) fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut comment = false;
    for c in text.chars() {
        match (quote, c) {
            _ if comment => {
                if c == '\n' {
                    comment = false;
                    out.push(c);
                }
            }
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (None, '#') => comment = true,
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde_json::json;

    #[test]
    fn literals_as_python_reads_them() {
        let cases = [
            ("None", json!(null)),
            ("True", json!(true)),
            ("0.0", json!(0.0)),
            ("31_536_000", json!(31_536_000)),
            ("-1e3", json!(-1000.0)),
            (r"'a\\b\nc'", json!("a\\b\nc")),
            (r#""it's""#, json!("it's")),
            (r"'\x41\u00e9\101'", json!("AéA")),
            ("'ab' \"cd\"", json!("abcd")),
            (r"r'\d+'", json!("\\d+")),
            (
                "{'same-origin', 'origin'}",
                json!(["same-origin", "origin"]),
            ),
            ("set()", json!([])),
            ("('a',)", json!(["a"])),
            (
                "{'default': {'ENGINE': 'x', 'PORT': 5432, 'OPTIONS': {}}}",
                json!({"default": {"ENGINE": "x", "PORT": 5432, "OPTIONS": {}}}),
            ),
            (
                "[1, [2, (3, 4)], {'k': None}]",
                json!([1, [2, [3, 4]], {"k": null}]),
            ),
            ("PosixPath('/app')", json!("PosixPath('/app')")),
            ("<function f at 0x7f>", json!("<function f at 0x7f>")),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap(), want, "{text}");
        }
        assert!(parse("'unclosed").is_err());
    }
}
