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

/// How many terminal columns `text` takes: an emoji or a CJK character takes two, a combining
/// accent none.
pub(crate) fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `text` cut to at most `max` columns of the terminal, ending in "…" when cut: for table
/// columns, whose width must stay bounded whatever a name holds.
pub(crate) fn fit(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if width(text) <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max.saturating_sub(1) {
            break;
        }
        used += w;
        kept.push(c);
    }
    std::borrow::Cow::Owned(kept + "…")
}

/// `text` cut to `width` columns and padded with spaces to exactly that many, so the columns
/// after it line up whatever characters it holds (`{:<width$}` counts characters, not columns).
pub(crate) fn cell(text: &str, width: usize) -> String {
    let fitted = fit(text, width);
    let pad = width.saturating_sub(self::width(&fitted));
    format!("{fitted}{}", " ".repeat(pad))
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
        // An emoji takes two columns.
        assert_eq!(fit("Sam 🌻 Lee", 6), "Sam …");
        assert_eq!(fit("Sam 🌻 Lee", 7), "Sam 🌻…");
        assert_eq!(width(&fit("🌻🌻🌻🌻", 5)), 5);
        assert_eq!(
            fit(&"x".repeat(65_536), NAME_COLUMN).chars().count(),
            NAME_COLUMN
        );
    }

    #[test]
    fn cells_line_up_by_columns_not_characters() {
        for name in [
            "Sam",
            "Sam 🌻",
            "Zoë",
            "Zoe\u{308}",
            "李小龙",
            &"x".repeat(300),
        ] {
            assert_eq!(width(&cell(name, 10)), 10, "{name:?}");
        }
        assert_eq!(cell("Sam 🌻", 8), "Sam 🌻  ");
    }
}
