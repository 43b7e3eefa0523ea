//! `${NAME}` and `${NAME:-default}` in string values.

use std::borrow::Cow;

/// Why a string could not be interpolated.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// `${NAME}` with no value and no default.
    Undefined(String),
    /// `${` with no closing `}`.
    Unterminated,
    /// `${...}` whose name is not `[A-Za-z_][A-Za-z0-9_]*`.
    BadName(String),
}

/// Replaces every `${NAME}` / `${NAME:-default}`; `$$` stands for a literal `$`.
pub(crate) fn interpolate<'a>(
    text: &'a str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Cow<'a, str>, Problem> {
    if !text.contains('$') {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or(Problem::Unterminated)?;
            let expr = &body[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (expr, None),
            };
            if !is_name(name) {
                return Err(Problem::BadName(expr.to_owned()));
            }
            match lookup(name).or_else(|| default.map(str::to_owned)) {
                Some(value) => out.push_str(&value),
                None => return Err(Problem::Undefined(name.to_owned())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.internal".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn table() {
        let ok = [
            ("plain", "plain"),
            ("${HOST}", "db.internal"),
            ("pg://${HOST}:5432/${DB:-app}", "pg://db.internal:5432/app"),
            ("${MISSING:-}", ""),
            ("${EMPTY:-fallback}", ""),
            ("cost $$5 and $x", "cost $5 and $x"),
            ("${HOST:-a:-b}", "db.internal"),
        ];
        for (input, want) in ok {
            assert_eq!(interpolate(input, &vars).unwrap(), want, "{input}");
        }
        assert_eq!(
            interpolate("${NOPE}", &vars),
            Err(Problem::Undefined("NOPE".into()))
        );
        assert_eq!(interpolate("x ${HOST", &vars), Err(Problem::Unterminated));
        assert_eq!(
            interpolate("${1X}", &vars),
            Err(Problem::BadName("1X".into()))
        );
        assert_eq!(
            interpolate("${}", &vars),
            Err(Problem::BadName(String::new()))
        );
    }
}
