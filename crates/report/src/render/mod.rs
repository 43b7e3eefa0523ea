//! Renderers: sinks that write a [`Report`] to any writer.

mod console;
mod json;
mod junit;
mod markdown;

use std::io::Write;
use std::time::Duration;

pub use console::Console;
pub use json::{JSON_SCHEMA, Json};
pub use junit::Junit;
pub use markdown::Markdown;

use crate::{Error, Report};

/// Writes a report in one format.
pub trait Render {
    /// Writes `report` to `out`.
    fn render(&self, report: &Report, out: &mut dyn Write) -> Result<(), Error>;

    /// Renders into a string.
    fn render_to_string(&self, report: &Report) -> Result<String, Error> {
        let mut buf = Vec::new();
        self.render(report, &mut buf)?;
        // Every renderer writes UTF-8; a lossy conversion can only matter if one does not.
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}

/// Writes a whole file or nothing: into a temporary file beside `path`, then renamed over
/// it, so a reader never sees half a report. Creates missing parent directories.
pub fn write_atomic(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("report");
    let tmp = path.with_file_name(format!(".{name}.partial"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Text from outside (a command's output, a server's answer, a name in a file) made
/// safe to show on a terminal: control characters (ESC and the rest of C0 except tab,
/// DEL, C1), line breaks and Unicode's bidirectional overrides become visible escapes
/// (`\x1b`, `\n`, `\u{202e}`), so no output can repaint the screen, return the
/// cursor, or fake a line of the report.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    fn hostile(c: char) -> bool {
        (c.is_control() && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(hostile) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if hostile(c) && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if hostile(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Formats a duration the way every renderer shows it: `850µs`, `12ms`, `1.25s`, `2m05s`.
pub fn format_duration(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{}ms", micros / 1_000)
    } else if micros < 60_000_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        let secs = d.as_secs();
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(Duration::from_micros(850)), "850µs");
        assert_eq!(format_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(format_duration(Duration::from_millis(1250)), "1.25s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
    }
}
