use std::fmt::Write as _;

/// What a masked secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not masked: they cannot be told apart from ordinary
/// text, and shipgate's env checks reject them as weak anyway.
const MIN_SECRET_LEN: usize = 4;

/// Masks known secret values in text.
///
/// Each secret is masked as written and in its percent-encoded form, which is how a
/// password appears when a driver echoes a connection URL in an error message.
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// A redactor for these secret values.
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut needles = Vec::new();
        for secret in secrets {
            let secret = secret.as_ref();
            if secret.len() < MIN_SECRET_LEN {
                continue;
            }
            let encoded = percent_encode(secret);
            if encoded != secret {
                needles.push(encoded);
            }
            needles.push(secret.to_owned());
        }
        // Longest first, so a secret that contains another is masked whole.
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Self { needles }
    }

    /// A redactor for the password in a URL's userinfo (`https://user:PASSWORD@host/`),
    /// if it has one: a URL given on a command line is masked like a configured secret.
    pub fn for_url(url: &str) -> Self {
        let password = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
            .and_then(|authority| authority.rsplit_once('@'))
            .and_then(|(userinfo, _)| userinfo.split_once(':'))
            .map(|(_, password)| password);
        Self::new(password)
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// Returns `text` with every secret masked.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        self.redact_in_place(&mut out);
        out
    }

    /// Masks every secret in `text`.
    pub fn redact_in_place(&self, text: &mut String) {
        for needle in &self.needles {
            if text.contains(needle.as_str()) {
                *text = text.replace(needle.as_str(), REDACTED);
            }
        }
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values themselves.
        f.debug_struct("Redactor")
            .field("secrets", &self.needles.len())
            .finish()
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_plain_and_percent_encoded_forms() {
        let r = Redactor::new(["p@ss:word/1"]);
        let text = "postgres://u:p%40ss%3Aword%2F1@h/db failed; raw p@ss:word/1";
        let out = r.redact(text);
        assert!(!out.contains("p@ss"), "{out}");
        assert!(!out.contains("p%40ss"), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 2);
    }

    #[test]
    fn longer_secret_containing_a_shorter_one_is_masked_whole() {
        let r = Redactor::new(["abcd", "abcdefgh"]);
        assert_eq!(r.redact("x abcdefgh y"), format!("x {REDACTED} y"));
    }

    #[test]
    fn a_urls_password_is_masked_and_nothing_else() {
        let r = Redactor::for_url("http://ops:s3cret-pw@127.0.0.1:8080/health?user=ops");
        assert_eq!(
            r.redact("GET http://ops:s3cret-pw@127.0.0.1:8080/health failed"),
            "GET http://ops:[redacted]@127.0.0.1:8080/health failed"
        );
        assert!(Redactor::for_url("http://127.0.0.1:8080/a@b:c").is_empty());
        assert!(Redactor::for_url("http://ops@127.0.0.1/").is_empty());
    }

    #[test]
    fn debug_never_shows_values() {
        let r = Redactor::new(["hunter2-hunter2"]);
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn very_short_values_are_not_masked() {
        assert!(Redactor::new(["ab", ""]).is_empty());
    }
}
