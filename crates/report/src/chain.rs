//! An error and its causes as one line, for a finding's message or a console line.

use std::error::Error;

/// `what failed: why: the root cause`: the error's text, then each source's, joined by
/// `": "`. A cause whose text the line already ends with is not repeated, so an error
/// that (wrongly) quotes its source still reads once.
pub fn error_line(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !line.ends_with(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Wrap(&'static str, #[source] std::io::Error);

    #[test]
    fn causes_follow_the_message_once() {
        let e = Wrap(
            "cannot write notify state x",
            std::io::Error::other("disk full"),
        );
        assert_eq!(error_line(&e), "cannot write notify state x: disk full");
        let quoted = Wrap(
            "cannot write x: disk full",
            std::io::Error::other("disk full"),
        );
        assert_eq!(error_line(&quoted), "cannot write x: disk full");
    }
}
