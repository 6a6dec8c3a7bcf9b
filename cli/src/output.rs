//! Output: colour only on a terminal and never with `NO_COLOR` (anstream strips styles
//! otherwise), JSON documents on stdout, messages on stderr.

use std::io::Write;

use anstyle::{AnsiColor, Style};
use anyhow::Result;
use serde::Serialize;

pub(crate) const BOLD: Style = Style::new().bold();
pub(crate) const DIM: Style = Style::new().dimmed();
pub(crate) const GOOD: Style = AnsiColor::Green.on_default();
pub(crate) const WARN: Style = AnsiColor::Yellow.on_default();
pub(crate) const BAD: Style = AnsiColor::Red.on_default();

/// Standard output, with styles stripped when it is not a terminal or `NO_COLOR` is set.
pub(crate) fn stdout() -> anstream::AutoStream<std::io::StdoutLock<'static>> {
    anstream::AutoStream::auto(std::io::stdout().lock())
}

/// Writes `value` as one pretty JSON document on stdout.
pub(crate) fn json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A message for the person (not data): goes to stderr, so `--json` output stays clean.
pub(crate) fn note(message: impl std::fmt::Display) -> Result<()> {
    let mut err = anstream::AutoStream::auto(std::io::stderr().lock());
    writeln!(err, "{message}")?;
    Ok(())
}

/// A warning the engine returned beside a result (a plan set on a past day): on stderr, so
/// `--json` output stays clean, and said whether or not the command printed JSON.
pub(crate) fn warn(warning: Option<&str>) -> Result<()> {
    match warning {
        Some(w) => note(format!("{}: {w}.", paint(WARN.bold(), "warning"))),
        None => Ok(()),
    }
}

/// `text` in `style`.
pub(crate) fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// `text` cut to at most `max` characters, ending in "…" when cut: for table columns, whose
/// width must stay bounded whatever a name holds.
pub(crate) fn fit(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    std::borrow::Cow::Owned(kept + "…")
}

/// The widest a name column grows in a table; longer names are cut with [`fit`].
pub(crate) const NAME_COLUMN: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_long_text_at_a_character_boundary() {
        assert_eq!(fit("Jordan", 8), "Jordan");
        assert_eq!(fit("Jordan Lee", 8), "Jordan …");
        assert_eq!(fit("ÄÖÜäöüßé", 4), "ÄÖÜ…");
        assert_eq!(
            fit(&"x".repeat(65_536), NAME_COLUMN).chars().count(),
            NAME_COLUMN
        );
    }
}
