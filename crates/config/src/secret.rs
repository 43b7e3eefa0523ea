use std::cell::RefCell;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a secret shows instead of its value.
const MASK: &str = "[redacted]";

/// A configuration value that must never be printed: a password, a token, a webhook URL.
///
/// `Debug`, `Display` and `Serialize` show `[redacted]`. The value is reachable only
/// through [`Secret::expose`], which makes every use easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself: for connecting, signing, sending. Never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({MASK})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

thread_local! {
    /// Secrets deserialized during the current `Document::section` call on this thread.
    /// Scoped to one synchronous call, so parallel loads never see each other's.
    static COLLECTED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Runs `f`, returning what it returned and every secret it deserialized.
pub(crate) fn collecting<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let previous = COLLECTED.with(|c| c.borrow_mut().replace(Vec::new()));
    let out = f();
    let collected = COLLECTED.with(|c| std::mem::replace(&mut *c.borrow_mut(), previous));
    (out, collected.unwrap_or_default())
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        COLLECTED.with(|c| {
            if let Some(list) = c.borrow_mut().as_mut() {
                list.push(value.clone());
            }
        });
        Ok(Secret(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_its_value() {
        let s = Secret::new("hunter2-hunter2");
        assert!(!format!("{s:?} {s} {s:#?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-hunter2");
    }
}
