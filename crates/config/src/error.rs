use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A line and column in a configuration file, both counted from 1; the column in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
}

/// The kind of an [`Error`]; match on this, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    Read,
    /// The text is not valid TOML (an unterminated string, a duplicate key, ...).
    Syntax,
    /// A key the schema does not know.
    UnknownKey,
    /// A value of the wrong type or form.
    InvalidValue,
    /// `${NAME}` where `NAME` is defined nowhere and has no default.
    UndefinedVariable,
    /// The selected environment has no `[environments.<name>]` table.
    UnknownEnvironment,
}

/// A configuration error that says where: file, line, column, the line itself, and a hint.
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    path: PathBuf,
    location: Option<Location>,
    message: String,
    snippet: Option<Snippet>,
    hint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[derive(Debug)]
struct Snippet {
    line_text: String,
    width: usize,
}

impl Error {
    /// An error about a span of `source`, the text of the file at `path`.
    pub(crate) fn at(
        kind: ErrorKind,
        path: &Path,
        source: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let mut err = Self::new(kind, path, message);
        if let Some(span) = span {
            let err_inner = &mut err.0;
            let start = floor_char_boundary(source, span.start.min(source.len()));
            let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = source[start..]
                .find('\n')
                .map_or(source.len(), |i| start + i);
            let line = source[..start].matches('\n').count() + 1;
            let column = source[line_start..start].chars().count() + 1;
            let end = floor_char_boundary(source, span.end.clamp(start, line_end));
            let line_text = source[line_start..line_end]
                .trim_end_matches('\r')
                .to_owned();
            err_inner.location = Some(Location { line, column });
            err_inner.snippet = Some(Snippet {
                width: source[start..end].chars().count().max(1),
                line_text,
            });
        }
        err
    }

    /// An error about the file as a whole.
    pub(crate) fn new(kind: ErrorKind, path: &Path, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            path: path.to_owned(),
            location: None,
            message: message.into(),
            snippet: None,
            hint: None,
            source: None,
        }))
    }

    pub(crate) fn with_hint(mut self, hint: Option<String>) -> Self {
        self.0.hint = hint;
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Where in the file, when the error is about one place.
    pub fn location(&self) -> Option<Location> {
        self.0.location
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// A suggestion, e.g. "did you mean `timeout`?".
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let this = &self.0;
        write!(f, "{}", this.path.display())?;
        if let Some(loc) = this.location {
            write!(f, ":{}:{}", loc.line, loc.column)?;
        }
        write!(f, ": {}", this.message)?;
        if let (Some(loc), Some(snippet)) = (this.location, &this.snippet) {
            let gutter = loc.line.to_string().len();
            write!(f, "\n{:gutter$} |", "")?;
            write!(f, "\n{} | {}", loc.line, snippet.line_text)?;
            write!(
                f,
                "\n{:gutter$} | {:pad$}{}",
                "",
                "",
                "^".repeat(snippet.width),
                pad = loc.column - 1
            )?;
        }
        if let Some(hint) = &this.hint {
            write!(f, "\n  = help: {hint}")?;
        }
        Ok(())
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// "did you mean `x`?" when one of `candidates` is close to `word`.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let src = "a = 1\né = \"x\"\nbad";
        let err = Error::at(
            ErrorKind::Syntax,
            Path::new("f.toml"),
            src,
            Some(15..18),
            "oops",
        );
        assert_eq!(err.location(), Some(Location { line: 3, column: 1 }));
        let err = Error::at(
            ErrorKind::Syntax,
            Path::new("f.toml"),
            src,
            Some(11..14),
            "oops",
        );
        assert_eq!(err.location(), Some(Location { line: 2, column: 5 }));
        assert_eq!(
            err.to_string(),
            "f.toml:2:5: oops\n  |\n2 | é = \"x\"\n  |     ^^^"
        );
    }

    #[test]
    fn hints_only_close_words() {
        assert_eq!(
            did_you_mean("tiemout", ["timeout", "name"]).as_deref(),
            Some("did you mean `timeout`?")
        );
        assert_eq!(did_you_mean("zzz", ["timeout", "name"]), None);
    }
}
