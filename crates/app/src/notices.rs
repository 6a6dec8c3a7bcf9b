//! What opening a home changed that its person should know, in words.

use std::collections::BTreeMap;

use tapin_store::Tightened;

/// One line per change of mode, naming the files the store made private ("tapin.db (with its
/// -wal file) was open to other users …").
pub(crate) fn tightened(fixed: &[Tightened]) -> Vec<String> {
    let mut by_mode: BTreeMap<(u32, u32), Vec<String>> = BTreeMap::new();
    for f in fixed {
        let name = f.path.file_name().map_or_else(
            || f.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        by_mode.entry((f.before, f.after)).or_default().push(name);
    }
    let mut out = Vec::new();
    for ((before, after), mut names) in by_mode {
        // SQLite makes the log files beside the database with its mode: they are the database's.
        let db = tapin_store::DB_FILE;
        let siblings: Vec<String> = names
            .iter()
            .filter_map(|n| {
                n.strip_prefix(db)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            })
            .collect();
        if names.iter().any(|n| n == db) && !siblings.is_empty() {
            names.retain(|n| !n.starts_with(db) || n == db);
            let files = if siblings.len() == 1 { "file" } else { "files" };
            let with = format!("{db} (with its {} {files})", siblings.join(" and "));
            names
                .iter_mut()
                .filter(|n| *n == db)
                .for_each(|n| *n = with.clone());
        }
        let (names, were, they) = match names.as_slice() {
            [one] => (one.clone(), "was", "it is"),
            [rest @ .., last] => (
                format!("{} and {last}", rest.join(", ")),
                "were",
                "they are",
            ),
            [] => continue,
        };
        out.push(format!(
            "{names} {were} open to other users of this computer (mode {before:03o}); {they} now \
             private to you ({after:03o})."
        ));
    }
    out
}
