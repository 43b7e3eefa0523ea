use std::fmt::Write as _;
use std::sync::{Arc, RwLock};

/// What a masked secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not masked: they cannot be told apart from ordinary
/// text, and shipgate's env checks reject them as weak anyway.
const MIN_SECRET_LEN: usize = 4;

/// Masks known secret values in text: an append-only registry of secrets, shared by
/// every clone.
///
/// One registry per process: the configuration document adds each secret the moment
/// it is deserialized, and the logger and every report hold clones of the same
/// registry, so a section read late is masked from its first byte. Nothing is ever
/// taken out of it.
///
/// Each secret is masked in every form it travels in: as written; percent-encoded
/// (upper- and lower-case hex, as drivers echo a connection URL) and percent-decoded;
/// a URL's password on its own, in those forms too; and `user:password` in base64, as
/// an `Authorization: Basic` header carries it (for a URL's userinfo and for a secret
/// that is itself a `user:password` pair).
#[derive(Clone, Default)]
pub struct Redactor {
    needles: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// A new registry holding these secret values.
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let r = Self::default();
        r.add(secrets);
        r
    }

    /// Adds secret values to the registry (and so to every clone of it).
    pub fn add<I, S>(&self, secrets: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.add_needles(secrets.into_iter().flat_map(|s| forms(s.as_ref())));
    }

    fn add_needles(&self, new: impl IntoIterator<Item = String>) {
        let new: Vec<String> = new
            .into_iter()
            .filter(|n| n.len() >= MIN_SECRET_LEN)
            .collect();
        if new.is_empty() {
            return;
        }
        let mut needles = self.needles.write().unwrap_or_else(|e| e.into_inner());
        needles.extend(new);
        // Longest first, so a secret that contains another is masked whole.
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
    }

    /// A registry for the password in a URL's userinfo (`https://user:PASSWORD@host/`),
    /// if it has one: a URL given on a command line is masked like a configured secret.
    pub fn for_url(url: &str) -> Self {
        let r = Self::default();
        r.add_url(url);
        r
    }

    /// Adds the password in a URL's userinfo, if it has one (and its Basic header).
    pub fn add_url(&self, url: &str) {
        if let Some((user, password)) = userinfo(url) {
            self.add([password]);
            self.add_needles(basic_forms(user, password));
        }
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.needles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Returns `text` with every secret masked.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        self.redact_in_place(&mut out);
        out
    }

    /// Masks every secret in `text`.
    pub fn redact_in_place(&self, text: &mut String) {
        let needles = self.needles.read().unwrap_or_else(|e| e.into_inner());
        for needle in needles.iter() {
            if text.contains(needle.as_str()) {
                *text = text.replace(needle.as_str(), REDACTED);
            }
        }
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values themselves.
        let n = self.needles.read().map_or(0, |n| n.len());
        f.debug_struct("Redactor").field("secrets", &n).finish()
    }
}

/// A URL's `user` and `password`, when its authority has both.
fn userinfo(url: &str) -> Option<(&str, &str)> {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
}

/// The forms of one secret.
fn forms(secret: &str) -> Vec<String> {
    let mut out = text_forms(secret);
    if let Some((user, password)) = userinfo(secret) {
        out.extend(text_forms(password));
        out.extend(basic_forms(user, password));
    } else if let Some((user, password)) = secret.split_once(':')
        && !user.is_empty()
        && !password.is_empty()
        && !secret.contains("://")
    {
        out.extend(basic_forms(user, password));
    }
    out
}

/// As written, percent-encoded in either case, percent-decoded.
fn text_forms(s: &str) -> Vec<String> {
    let mut out = vec![s.to_owned(), lower_hex(s), upper_hex(s)];
    let decoded = percent_decode(s);
    for base in std::iter::once(s).chain(decoded.as_deref()) {
        let upper = percent_encode(base);
        out.push(lower_hex(&upper));
        out.push(upper);
    }
    out.extend(decoded);
    out
}

/// `%2F` for `%2f`.
fn upper_hex(encoded: &str) -> String {
    hex_case(encoded, char::to_ascii_uppercase)
}

/// `user:password` in base64 (with and without padding), for the password as written
/// and as decoded.
fn basic_forms(user: &str, password: &str) -> Vec<String> {
    use base64::Engine as _;
    let decode = |s: &str| percent_decode(s).unwrap_or_else(|| s.to_owned());
    let mut out = Vec::new();
    for pair in [
        format!("{user}:{password}"),
        format!("{}:{}", decode(user), decode(password)),
    ] {
        out.push(base64::engine::general_purpose::STANDARD.encode(&pair));
        out.push(base64::engine::general_purpose::STANDARD_NO_PAD.encode(&pair));
    }
    out
}

/// `%2f` for `%2F`.
fn lower_hex(encoded: &str) -> String {
    hex_case(encoded, char::to_ascii_lowercase)
}

fn hex_case(encoded: &str, case: fn(&char) -> char) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for h in chars.by_ref().take(2) {
                out.push(case(&h));
            }
        }
    }
    out
}

/// The text with `%XX` decoded, when it has any and they decode to UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
        .filter(|d| d != s)
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
    fn a_url_secrets_password_is_masked_in_every_form_it_travels_in() {
        use base64::Engine as _;
        let url = "postgres://app:s%2Fcr%40t-pw@db:5432/shop";
        let r = Redactor::new([url]);
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for text in [
            url.to_owned(),
            "s%2Fcr%40t-pw".to_owned(),
            "s%2fcr%40t-pw".to_owned(),
            "s/cr@t-pw".to_owned(),
            format!("Authorization: Basic {}", b64("app:s/cr@t-pw")),
            format!("Authorization: Basic {}", b64("app:s%2Fcr%40t-pw")),
        ] {
            let out = r.redact(&format!("error: {text} (end)"));
            assert!(out.contains(REDACTED), "{text} -> {out}");
            for leak in ["s/cr@t", "s%2Fcr", "s%2fcr", &b64("app:s/cr@t-pw")] {
                assert!(!out.contains(leak), "{text} -> {out}");
            }
        }
        let pair = Redactor::new(["ops:hunter2-pw"]);
        let header = format!("Basic {}", b64("ops:hunter2-pw"));
        assert_eq!(pair.redact(&header), format!("Basic {REDACTED}"));
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
