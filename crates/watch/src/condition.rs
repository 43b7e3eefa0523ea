//! A rule's condition: `FIELD OP NUMBER[UNIT]`, e.g. `error_rate > 5%`, `p95 > 500ms`,
//! `status != 200`, `value >= 0.8`, `memory > 85%`.
//!
//! Units turn the number into the field's own unit: `%` divides by 100 (ratios are
//! 0–1), `us`, `ms`, `s`, `m`, `h` give seconds (latencies are seconds, as in
//! Prometheus), `KB`, `MB`, `GB` (and `KiB`, `MiB`, `GiB`) give bytes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// A parsed condition; it holds when `field OP threshold`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Condition {
    field: String,
    op: Op,
    threshold: f64,
    text: String,
}

/// Why a condition does not parse; the column counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}`, column {column}: {expected}")]
pub struct ConditionError {
    text: String,
    column: usize,
    expected: String,
}

impl Condition {
    /// Parses `FIELD OP NUMBER[UNIT]`.
    pub fn parse(text: &str) -> Result<Self, ConditionError> {
        let fail = |at: usize, expected: &str| ConditionError {
            text: text.to_owned(),
            column: text[..at].chars().count() + 1,
            expected: expected.to_owned(),
        };
        let start = text.len() - text.trim_start().len();
        let rest = &text[start..];
        let field_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let field = &rest[..field_len];
        if field.is_empty() || field.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(fail(
                start,
                "expected a field name, like error_rate or status",
            ));
        }
        let mut at = start + field_len;
        at += text[at..].len() - text[at..].trim_start().len();
        let ops = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        let Some((sym, op)) = ops.iter().find(|(s, _)| text[at..].starts_with(s)) else {
            return Err(fail(at, "expected one of > >= < <= == !="));
        };
        at += sym.len();
        at += text[at..].len() - text[at..].trim_start().len();
        let number = &text[at..];
        let num_len = number
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
            .unwrap_or(number.len());
        let value: f64 = number[..num_len]
            .parse()
            .map_err(|_| fail(at, "expected a number, like 5%, 500ms, 0.8 or 200"))?;
        let unit_at = at + num_len;
        let unit = text[unit_at..].trim();
        let scale = match unit {
            "" => 1.0,
            "%" => 0.01,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "KB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            "GiB" => 1024.0 * 1024.0 * 1024.0,
            _ => {
                return Err(fail(
                    unit_at + (text[unit_at..].len() - text[unit_at..].trim_start().len()),
                    "expected a unit (%, us, ms, s, m, h, KB, MB, GB, KiB, MiB, GiB) or nothing",
                ));
            }
        };
        Ok(Self {
            field: field.to_owned(),
            op: *op,
            threshold: value * scale,
            text: text.trim().to_owned(),
        })
    }

    /// The field it reads.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The limit, in the field's unit.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The comparison.
    pub fn op(&self) -> Op {
        self.op
    }

    /// Whether `value` meets it.
    pub fn holds(&self, value: f64) -> bool {
        match self.op {
            Op::Gt => value > self.threshold,
            Op::Ge => value >= self.threshold,
            Op::Lt => value < self.threshold,
            Op::Le => value <= self.threshold,
            Op::Eq => value == self.threshold,
            Op::Ne => value != self.threshold,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for Condition {
    type Error = ConditionError;
    fn try_from(s: String) -> Result<Self, ConditionError> {
        Self::parse(&s)
    }
}

impl From<Condition> for String {
    fn from(c: Condition) -> String {
        c.text
    }
}

impl Op {
    /// The symbol.
    pub fn symbol(self) -> &'static str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_scale_to_the_fields_unit() {
        let c = Condition::parse("error_rate > 5%").unwrap();
        assert_eq!(
            (c.field(), c.op(), c.threshold()),
            ("error_rate", Op::Gt, 0.05)
        );
        assert!(c.holds(0.1) && !c.holds(0.05));
        assert_eq!(Condition::parse("p95>500ms").unwrap().threshold(), 0.5);
        assert_eq!(Condition::parse("status != 200").unwrap().op(), Op::Ne);
        assert_eq!(
            Condition::parse(" latency >= 1.5s ").unwrap().threshold(),
            1.5
        );
        assert_eq!(
            Condition::parse("used < 2GiB").unwrap().threshold(),
            2147483648.0
        );
        assert_eq!(Condition::parse("x == -1").unwrap().threshold(), -1.0);
    }

    #[test]
    fn errors_name_the_column_and_what_was_expected() {
        let e = Condition::parse("error_rate ~ 5%").unwrap_err();
        assert_eq!(e.column, 12);
        assert!(e.to_string().contains("expected one of >"), "{e}");
        let e = Condition::parse("p95 > fast").unwrap_err();
        assert_eq!(e.column, 7);
        let e = Condition::parse("p95 > 5 parsecs").unwrap_err();
        assert_eq!(e.column, 9, "{e}");
        assert!(Condition::parse("> 5").is_err());
        assert!(Condition::parse("9lives > 5").is_err());
    }
}
