//! `tapin reflect PERSON`: the four paired questions, asked interactively or taken as flags.
//! Reflections are private: they live in the private document and never leave this home.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use tapin_app::Home;
use tapin_app::core::model::QUESTIONS;

use crate::args::ReflectArgs;
use crate::output::{self, BOLD, DIM, WARN, paint};

pub(crate) fn run(home: &Home, args: ReflectArgs, json: bool) -> Result<()> {
    let (rel_id, rel) = home.find_person(&args.person)?;
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
    if given.iter().any(|(a, b)| a.is_none() || b.is_none()) && !json {
        output::note(format!(
            "Reflecting on {}. Answer in your own words; this stays on your devices.",
            paint(BOLD, &rel.name)
        ))?;
    }
    let mut answers: [(String, String); 4] = Default::default();
    for (n, ((a, b), (qa, qb))) in given.into_iter().zip(QUESTIONS).enumerate() {
        let about_them = match a {
            Some(a) => a,
            None => ask(qa, &format!("{}A", n + 1))?,
        };
        let about_me = match b {
            Some(b) => b,
            None => ask(qb, &format!("{}B", n + 1))?,
        };
        answers[n] = (about_them, about_me);
    }
    let saved = home.reflect(rel_id, answers, args.note)?;
    if json {
        return output::json(&saved);
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "Saved your reflection on {} (private).",
        paint(BOLD, &saved.person)
    )?;
    if saved.red_flags.is_empty() {
        writeln!(out, "{}", paint(DIM, "No red flags in these answers."))?;
    }
    for flag in &saved.red_flags {
        writeln!(
            out,
            "{} {}A: \"{}\" — {}",
            paint(WARN, "red flag"),
            flag.question,
            flag.answer,
            flag.why
        )?;
    }
    if !saved.red_flags.is_empty() {
        let alone =
            "Red flags are for you alone: reciprocity may not be possible here. Only you see this.";
        writeln!(out, "{}", paint(DIM, alone))?;
    }
    Ok(())
}
