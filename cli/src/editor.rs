//! Writing text in the person's editor: `$VISUAL`, `$EDITOR`, else the first of `editor`
//! (Debian's choice), `nano` and `vi` found on `PATH`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The editors tried, in order, when neither `$VISUAL` nor `$EDITOR` is set.
const FALLBACKS: [&str; 3] = ["editor", "nano", "vi"];

/// Whether `path` is a file this process could run.
fn executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The first of `names` found on `PATH`.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| executable(p))
    })
}

/// The editor command to run: `$VISUAL`, then `$EDITOR` (each may carry arguments), then a
/// fallback found on `PATH`.
fn editor() -> Result<Vec<String>> {
    for var in ["VISUAL", "EDITOR"] {
        if let Ok(value) = std::env::var(var) {
            let parts: Vec<String> = value.split_whitespace().map(str::to_owned).collect();
            if !parts.is_empty() {
                return Ok(parts);
            }
        }
    }
    match on_path(&FALLBACKS) {
        Some(found) => Ok(vec![found.to_string_lossy().into_owned()]),
        None => bail!(
            "no editor found: $VISUAL and $EDITOR are not set, and none of {} is installed; \
             set one (for example `export EDITOR=nano`), or give the text on the command line",
            FALLBACKS.join(", ")
        ),
    }
}

/// What the editor gave back: every line starting with `#` dropped, then trimmed. `None` when
/// nothing is left, which is how a person cancels.
fn written(draft: &str) -> Option<String> {
    let kept: Vec<&str> = draft
        .lines()
        .filter(|line| !line.starts_with('#'))
        .collect();
    let text = kept.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The draft as the editor opens it: `hint` as `#` lines, then `initial`.
fn draft(hint: &str, initial: &str) -> String {
    let mut out = String::new();
    for line in hint.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("# Lines starting with # are dropped. To cancel, save an empty file.\n");
    if !initial.is_empty() {
        out.push_str(initial);
        out.push('\n');
    }
    out
}

/// Opens the person's editor on `initial` with `hint` above it (what to write), in a draft file
/// inside `dir` (the home: private, rather than a shared /tmp). The text written, or `None` if
/// they saved it empty.
pub(crate) fn compose(dir: &Path, hint: &str, initial: &str) -> Result<Option<String>> {
    let command = editor()?;
    let file = tempfile::Builder::new()
        .prefix(".draft-")
        .suffix(".md")
        .tempfile_in(dir)
        .context("could not create a draft file for the editor")?;
    std::fs::write(file.path(), draft(hint, initial)).context("could not write the draft")?;
    let shown = command.join(" ");
    let status = std::process::Command::new(&command[0])
        .args(&command[1..])
        .arg(file.path())
        .status()
        .with_context(|| format!("could not start the editor {shown:?}"))?;
    if !status.success() {
        bail!("the editor {shown:?} exited with {status}; nothing was saved");
    }
    let text = std::fs::read_to_string(file.path()).context("could not read the draft back")?;
    Ok(written(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_lines_are_dropped_and_an_empty_draft_cancels() {
        let d = draft("Write your entry below.", "old words");
        assert_eq!(written(&d).as_deref(), Some("old words"));
        assert_eq!(written(&draft("Write.", "")), None);
        assert_eq!(
            written("# hint\nfirst\n\n  second\n#dropped\n").as_deref(),
            Some("first\n\n  second")
        );
    }
}
