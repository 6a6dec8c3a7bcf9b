//! One module per group of commands. Each turns arguments into one call on the engine
//! (`tapin-app`), and prints its result as text or `--json`.

use anyhow::Result;
use tapin_app::Home;

use crate::args::Command;

pub(crate) mod demo;
pub(crate) mod exchange;
pub(crate) mod goal;
pub(crate) mod history;
pub(crate) mod identity;
pub(crate) mod journal;
pub(crate) mod notes;
pub(crate) mod pair;
pub(crate) mod person;
pub(crate) mod records;
pub(crate) mod reflect;
pub(crate) mod ritual;
pub(crate) mod show;
pub(crate) mod sync;
pub(crate) mod today;

/// Runs a command that needs an initialised home.
pub(crate) fn dispatch(home: Home, command: Command, json: bool) -> Result<()> {
    let home = match command {
        Command::Invite {
            for_person,
            expires,
            yes,
            net,
        } => return pair::invite(home, for_person, &expires, yes, &net, json),
        Command::Join {
            ticket,
            as_person,
            yes,
            net,
        } => return pair::join(home, &ticket, as_person, yes, &net, json),
        Command::Sync { person, net } => return sync::sync(home, person.as_deref(), &net, json),
        Command::Serve { net } => return sync::serve(home, &net),
        _ => &home,
    };
    match command {
        Command::Whoami => identity::whoami(home, json),
        Command::Unpair { person, quietly } => pair::unpair(home, &person, quietly, json),
        Command::Show { person } => show::run(home, &person, json),
        Command::Report { person, html } => {
            if html == std::path::Path::new("-") {
                let page = home.report_html(&person)?;
                return std::io::Write::write_all(&mut std::io::stdout().lock(), page.as_bytes())
                    .map_err(Into::into);
            }
            let written = home.report(&person, &html)?;
            saved(json, &written, written.file.display())
        }
        Command::Today => today::run(home, json),
        Command::Snooze {
            person,
            duration,
            off,
        } => person::snooze(home, &person, duration.as_deref(), off, json),
        Command::Edit(args) => records::edit(home, args, json),
        Command::Delete { id, yes } => records::delete(home, &id, yes, json),
        Command::Person(cmd) => person::run(home, cmd, json),
        Command::People { all } => person::people(home, all, json),
        Command::Reflect(args) => reflect::run(home, args, json),
        Command::Goal(cmd) => goal::run(home, cmd, json),
        Command::Ritual(cmd) => ritual::run(home, cmd, json),
        Command::Checkin(args) => notes::checkin(home, args, json),
        Command::Log(args) => notes::log(home, args, json),
        Command::Thanks(args) => notes::thanks(home, args, json),
        Command::Boundary(args) => notes::boundary(home, args, json),
        Command::History { person, limit } => history::run(home, &person, limit, json),
        Command::Journal(cmd) => journal::run(home, cmd, json),
        Command::Export(args) => exchange::export(home, args, json),
        Command::Import { file } => exchange::import(home, &file, json),
        Command::Invite { .. }
        | Command::Join { .. }
        | Command::Sync { .. }
        | Command::Serve { .. }
        | Command::Init { .. }
        | Command::Completions { .. }
        | Command::Demo { .. } => {
            unreachable!("handled before the engine's home is opened")
        }
    }
}

/// Prints what a command did: `text` for people, or the engine's result with `--json`.
pub(crate) fn saved(
    json: bool,
    result: &impl serde::Serialize,
    text: impl std::fmt::Display,
) -> Result<()> {
    if json {
        crate::output::json(result)
    } else {
        use std::io::Write;
        writeln!(crate::output::stdout(), "{text}")?;
        Ok(())
    }
}

/// A mistake in how the command was written that clap cannot see (a flag that needs another, a
/// value of a shape only the command knows): exit 2, like any malformed command line.
pub(crate) fn malformed(message: impl Into<String>) -> anyhow::Error {
    tapin_app::Error::Malformed(message.into()).into()
}
