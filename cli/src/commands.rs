//! One module per group of commands. Each turns arguments into calls on `tapin-core` and
//! `tapin-store`, and prints the result as text or `--json`.

use anyhow::Result;

use crate::app::App;
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
pub(crate) mod reflect;
pub(crate) mod report;
pub(crate) mod ritual;
pub(crate) mod show;
pub(crate) mod sync;
pub(crate) mod today;

/// Runs a command that needs an initialised home.
pub(crate) fn dispatch(app: &App, command: Command, json: bool) -> Result<()> {
    match command {
        Command::Whoami => identity::whoami(app, json),
        Command::Invite {
            for_person,
            expires,
            yes,
            net,
        } => pair::invite(app, for_person, &expires, yes, &net, json),
        Command::Join {
            ticket,
            as_person,
            yes,
            net,
        } => pair::join(app, &ticket, as_person, yes, &net, json),
        Command::Unpair { person } => pair::unpair(app, &person, json),
        Command::Sync { person, net } => sync::sync(app, person.as_deref(), &net, json),
        Command::Serve { net } => sync::serve(app, &net),
        Command::Show { person } => show::run(app, &person, json),
        Command::Report { person, html } => report::run(app, &person, &html, json),
        Command::Today => today::run(app, json),
        Command::Snooze { person, duration } => person::snooze(app, &person, &duration, json),
        Command::Person(cmd) => person::run(app, cmd, json),
        Command::People { all } => person::people(app, all, json),
        Command::Reflect(args) => reflect::run(app, args, json),
        Command::Goal(cmd) => goal::run(app, cmd, json),
        Command::Ritual(cmd) => ritual::run(app, cmd, json),
        Command::Checkin(args) => notes::checkin(app, args, json),
        Command::Log(args) => notes::log(app, args, json),
        Command::Thanks(args) => notes::thanks(app, args, json),
        Command::Boundary(args) => notes::boundary(app, args, json),
        Command::History { person, limit } => history::run(app, &person, limit, json),
        Command::Journal(cmd) => journal::run(app, cmd, json),
        Command::Export(args) => exchange::export(app, args, json),
        Command::Import { file } => exchange::import(app, &file, json),
        Command::Init { .. } | Command::Completions { .. } | Command::Demo { .. } => {
            unreachable!("handled before a home is opened")
        }
    }
}

/// Prints what a write command saved: a line for people, or `{"id": …, …}` with `--json`.
pub(crate) fn saved(
    json: bool,
    id: impl std::fmt::Display,
    text: impl std::fmt::Display,
    extra: serde_json::Value,
) -> Result<()> {
    if json {
        let mut value = serde_json::json!({ "id": id.to_string() });
        if let (Some(obj), serde_json::Value::Object(more)) = (value.as_object_mut(), extra) {
            obj.extend(more);
        }
        crate::output::json(&value)
    } else {
        use std::io::Write;
        writeln!(crate::output::stdout(), "{text}")?;
        Ok(())
    }
}
