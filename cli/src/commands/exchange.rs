//! `tapin export` and `tapin import`: the person's data is never locked in.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use tapin_app::Home;
use tapin_app::exchange::{Exported, write_atomic};
use tapin_app::words;

use crate::args::{ExportArgs, ExportFormat};
use crate::output;

pub(crate) fn export(home: &Home, args: ExportArgs, json: bool) -> Result<()> {
    let exported = match args.format {
        ExportFormat::Json => home.export_json()?,
        ExportFormat::Markdown => home.export_markdown()?,
        ExportFormat::Automerge => {
            let dir = args.out.ok_or_else(|| {
                crate::commands::malformed(
                    "--format automerge needs --out DIR, a directory for the .automerge files",
                )
            })?;
            let written = home.export_automerge(&dir)?;
            if written.is_empty() {
                output::note("Nothing to export yet.")?;
            }
            if json {
                return output::json(&serde_json::json!({ "files": written }));
            }
            for path in &written {
                writeln!(output::stdout(), "{}", path.display())?;
            }
            return Ok(());
        }
    };
    if let Some(note) = exported.note() {
        output::note(note)?;
    }
    if json && args.out.is_none() && args.format == ExportFormat::Markdown {
        let md = String::from_utf8_lossy(&exported.bytes);
        return output::json(&serde_json::json!({ "markdown": md }));
    }
    emit(args.out.as_deref(), &exported, json)
}

fn emit(out: Option<&Path>, exported: &Exported, json: bool) -> Result<()> {
    match out {
        Some(path) => {
            write_atomic(path, &exported.bytes)?;
            if json {
                return output::json(&serde_json::json!({ "files": [path] }));
            }
            output::note(format!("Exported to {}.", path.display()))
        }
        None => {
            std::io::stdout().lock().write_all(&exported.bytes)?;
            Ok(())
        }
    }
}

pub(crate) fn import(home: &Home, file: &Path, json: bool) -> Result<()> {
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("could not read the export from standard input")?;
    } else {
        text = std::fs::read_to_string(file).map_err(|e| {
            anyhow::anyhow!("could not read {}: {}", file.display(), words::io_error(&e))
        })?;
    }
    let imported = home.import(&text, &file.display().to_string())?;
    if json {
        return output::json(&imported);
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "Imported {}, {}, {} and {}{}.",
        words::plural(imported.relationships, "relationship"),
        words::plural(imported.reflections, "reflection"),
        words::count(imported.journal_entries, "journal entry", "journal entries"),
        words::plural(imported.shared_sides, "shared side"),
        if imported.changed {
            ""
        } else {
            " (all already here; nothing changed)"
        }
    )?;
    if let Some(from) = &imported.restored_from {
        writeln!(
            out,
            "This restored {}'s export into this new home. Pairings are never imported: pair \
             with each friend again (`tapin invite` / `tapin join`).",
            from.name
        )?;
    }
    Ok(())
}
