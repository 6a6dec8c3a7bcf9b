//! `tapin reflect PERSON`: the four paired questions, asked interactively or taken as flags.
//! Reflections are private: they live in the private document and never leave this home.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use tapin_core::model::{PairedAnswer, QUESTIONS, Reflection};
use tapin_core::views::reflection::red_flags;
use tapin_core::{DocId, docs};

use crate::app::{self, App};
use crate::args::ReflectArgs;
use crate::output::{self, BOLD, DIM, WARN, paint};

pub(crate) fn run(app: &App, args: ReflectArgs, json: bool) -> Result<()> {
    let private = app.private()?;
    let (rel_id, rel) = app.find_person(&private, &args.person)?;
    let given = [
        (args.q1a, args.q1b),
        (args.q2a, args.q2b),
        (args.q3a, args.q3b),
        (args.q4a, args.q4b),
    ];
    let interactive = std::io::stdin().is_terminal();
    let mut lines = std::io::stdin().lock().lines();
    let mut ask = |question: &str, label: &str| -> Result<String> {
        output::note(format!("{} {question}", paint(BOLD, label)))?;
        if interactive {
            let mut err = std::io::stderr().lock();
            write!(err, "> ")?;
            err.flush()?;
        }
        match lines.next() {
            Some(line) => Ok(line?.trim().to_owned()),
            None => bail!(
                "no answer to {label}; answer the questions at the prompt, or pass them all as --q1a … --q4b"
            ),
        }
    };
    let mut answers = Vec::with_capacity(4);
    if given.iter().any(|(a, b)| a.is_none() || b.is_none()) && !json {
        output::note(format!(
            "Reflecting on {}. Answer in your own words; this stays on your devices.",
            paint(BOLD, &rel.name)
        ))?;
    }
    for (n, ((a, b), (qa, qb))) in given.into_iter().zip(QUESTIONS).enumerate() {
        let about_them = match a {
            Some(a) => a,
            None => ask(qa, &format!("{}A", n + 1))?,
        };
        let about_me = match b {
            Some(b) => b,
            None => ask(qb, &format!("{}B", n + 1))?,
        };
        answers.push(PairedAnswer {
            about_them,
            about_me,
        });
    }
    let reflection = Reflection {
        relationship: rel_id,
        at: app.stamp(),
        answers,
        note: args.note,
    };
    let reflection = app::checked("reflection", reflection)?;
    let id = app::random_id()?;
    app.update(DocId::Private, |d| {
        Ok(docs::put_reflection(d, id, &reflection)?)
    })?;
    let flags = red_flags(&reflection);
    if json {
        return output::json(
            &serde_json::json!({ "id": id.to_string(), "reflection": reflection, "red_flags": flags }),
        );
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "Saved your reflection on {} (private).",
        paint(BOLD, &rel.name)
    )?;
    if flags.is_empty() {
        writeln!(out, "{}", paint(DIM, "No red flags in these answers."))?;
    }
    for flag in &flags {
        writeln!(
            out,
            "{} {}A: {:?} — {}",
            paint(WARN, "red flag"),
            flag.question,
            flag.answer,
            flag.why
        )?;
    }
    if !flags.is_empty() {
        writeln!(
            out,
            "{}",
            paint(
                DIM,
                "Red flags are for you alone: reciprocity may not be possible here. Only you see this."
            )
        )?;
    }
    Ok(())
}
