//! `tapin invite`, `tapin join` and `tapin unpair`: pairing two people's devices. The engine runs
//! the pairing; this prints the ticket and its QR code, and asks the person to compare the code.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tapin_app::Home;
use tapin_app::pairing::{Clash, Confirm, Invitation, InviteEvent, InviteRequest, Paired};

use crate::args::NetArgs;
use crate::output::{self, BOLD, GOOD, paint};

/// Threads for blocking work (SQLite, the gate, a prompt reading stdin) in a network command.
const BLOCKING_THREADS: usize = 4;

/// Runs a future on a fresh Tokio runtime: only the network commands need one.
pub(crate) fn block_on<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // Store work and the gate's checks each take turns on a lock, so more threads only
        // wait: 150 friends connecting at once to `tapin serve` grew the default pool (512) to
        // ~150 threads, each keeping its stack and its malloc arena (docs/PERFORMANCE.md,
        // section 4). A blocking stdin read may hold one for good.
        .max_blocking_threads(BLOCKING_THREADS)
        .worker_threads(2)
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let out = runtime.block_on(fut);
    // Store work still on a blocking thread finishes in far less than this; a prompt nobody
    // answered (the friend stopped waiting) may be reading stdin for ever, and is left behind.
    runtime.shutdown_timeout(Duration::from_secs(1));
    out
}

/// "10m", "1h", "2d" → a duration.
fn parse_expiry(s: &str) -> Result<Duration> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    // A value that cannot be read is a malformed command line (exit 2), said in words: not
    // "cannot parse integer from empty string".
    let n: u64 = n.parse().map_err(|_| {
        crate::commands::malformed(format!(
            "--expires {s:?}: expected a number and a unit, like 10m or 1h"
        ))
    })?;
    let unit = match unit.trim() {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(crate::commands::malformed(format!(
                "--expires {s:?}: the unit must be s, m, h or d"
            )));
        }
    };
    // The engine checks the range; a product too large for seconds is past it too.
    Ok(Duration::from_secs(n.saturating_mul(unit)))
}

/// What this side says when its person pressed Ctrl-C.
const CANCELLED: &str = "cancelled; nothing was paired";

/// Runs a pairing command's work until it ends or the person presses Ctrl-C. On Ctrl-C the work
/// is dropped, and with it the pairing under way, which tells the friend's device at once that
/// this side cancelled (`Confirm` and the network's pending pairing close their connection with
/// a "cancelled" code when dropped unanswered).
async fn until_ctrl_c(work: impl Future<Output = Result<()>>) -> Result<()> {
    tokio::select! {
        done = work => done,
        _ = tokio::signal::ctrl_c() => {
            // A moment for the close to leave before the command's node shuts down.
            tokio::time::sleep(Duration::from_millis(200)).await;
            bail!("{CANCELLED}")
        }
    }
}

/// Reads one line from stdin on a blocking thread (the rest of the command may still write).
async fn read_line(prompt: String) -> Result<String> {
    let read = tokio::task::spawn_blocking(move || -> Result<String> {
        {
            let mut err = std::io::stderr().lock();
            write!(err, "{prompt}")?;
            err.flush()?;
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim().to_owned())
    });
    read.await.context("could not read the answer")?
}

/// Asks who a friend whose name is taken here is: the existing person (to link the pairing to
/// them) or someone new, by a name. `None` if the person stopped (an empty answer).
async fn ask_who(clash: &Clash, friend: &str) -> Result<Option<String>> {
    output::note(format!("{}.", capitalised(&clash.words())))?;
    let prompt = if clash.paired_with_someone_else {
        format!("Type a new name for {friend}, or press Enter to stop: ")
    } else {
        format!(
            "Is {friend} the same person? Type y to link this pairing to {}, or a new name to add \
             {friend} as someone new (Enter to stop): ",
            clash.name
        )
    };
    let answer = read_line(prompt).await?;
    Ok(match answer.to_lowercase().as_str() {
        "" => None,
        "y" | "yes" if !clash.paired_with_someone_else => Some(clash.name.clone()),
        _ => Some(answer),
    })
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Settles a name clash on this side while the friend waits: asks on a terminal; elsewhere (or
/// if the person stops) ends the pairing and tells the friend why. `flag` is the option that
/// names the relationship for this command.
async fn settle_clash(mut confirm: Confirm, flag: &str) -> Result<Confirm> {
    while let Some(clash) = confirm.clash.clone() {
        let chosen = if std::io::stdin().is_terminal() {
            ask_who(&clash, &confirm.friend).await?
        } else {
            None
        };
        match chosen {
            Some(name) => {
                confirm.choose(&name).await?;
            }
            None => {
                let words = clash.words();
                let friend = confirm.friend.clone();
                confirm.refuse_clash().await;
                bail!(
                    "{words}; nothing was paired, and {friend} was told why. Pair again with \
                     `{flag} \"{}\"` to link the pairing to them, or `{flag} NEW-NAME` to add \
                     {friend} as someone new",
                    clash.name
                );
            }
        }
    }
    Ok(confirm)
}

/// Asks the person to compare the codes (`--yes` answers for them) for as long as the friend
/// waits, then answers; once accepted, hands over to this home's `tapin serve` if it runs. If
/// the friend's side ends the pairing meanwhile (declines, cancels, cannot store it), says so at
/// once.
async fn confirm(confirm: Confirm, yes: bool, json: bool, flag: &str) -> Result<()> {
    let ended = confirm.friend_ended();
    tokio::pin!(ended);
    let confirm = if confirm.clash.is_some() && std::io::stdin().is_terminal() {
        // While the person is asked, the friend may give up.
        tokio::select! {
            settled = settle_clash(confirm, flag) => settled?,
            why = &mut ended => bail!("{why}"),
        }
    } else {
        settle_clash(confirm, flag).await?
    };
    // Whatever goes wrong while asking, the friend hears no.
    let asked = tokio::select! {
        answer = ask(&confirm, yes) => Ok(answer),
        why = &mut ended => Err(why),
    };
    let answer = match asked {
        Ok(answer) => answer,
        Err(why) => {
            // The friend ended it: this side's node ends here, before the command returns, not
            // in a task the runtime's shutdown may cut short.
            confirm.decline().await;
            bail!("{why}");
        }
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(err) => {
            confirm.decline().await;
            return Err(err);
        }
    };
    if !answer {
        let friend = confirm.friend.clone();
        confirm.decline().await;
        bail!("you did not confirm the safety code; nothing was paired, and {friend} was told");
    }
    let accepted = confirm.accept().await?;
    // The node ends in `hand_over` whatever printing does.
    let printed = print_paired(json, &accepted.paired);
    let friend = accepted.paired.friend.clone();
    let Some(wait) = accepted.hand_over_wait().filter(|_| printed.is_ok()) else {
        accepted.hand_over().await;
        return printed;
    };
    output::note(format!(
        "Your `tapin serve` holds this home's port: waiting up to {wait:?} for {friend}'s \
         device to sync once, so your server and theirs find each other…"
    ))?;
    let said = if accepted.hand_over().await {
        format!("{friend}'s device synced; your `tapin serve` takes it from here.")
    } else {
        format!(
            "{friend}'s device did not sync in time; your `tapin serve` keeps dialling it, and \
             tells it where your server listens at their first contact."
        )
    };
    output::note(said)
}

/// Shows the code and asks whether it matches, for as long as the friend waits.
async fn ask(confirm: &Confirm, yes: bool) -> Result<bool> {
    output::note(format!(
        "Safety code: {}  — check that {} sees the same code.",
        paint(BOLD, &confirm.code),
        confirm.friend
    ))?;
    if yes {
        return Ok(true);
    }
    let asked = read_line("Do the codes match? [y/N] ".to_owned());
    let within = confirm.answer_within();
    match tokio::time::timeout(within, asked).await {
        Ok(answer) => Ok(matches!(answer?.to_lowercase().as_str(), "y" | "yes")),
        Err(_) => {
            output::note(format!(
                "No answer within {within:?}: the codes count as not compared."
            ))?;
            Ok(false)
        }
    }
}

fn print_paired(json: bool, paired: &Paired) -> Result<()> {
    if json {
        return output::json(paired);
    }
    // Their own name only when it is not what they are called here; their device's name only
    // when it says something.
    let mut about = Vec::new();
    if paired.friend != paired.paired {
        about.push(format!("who calls themselves {}", paired.friend));
    }
    if !tapin_app::words::says_nothing(&paired.device_name) {
        about.push(format!("device {}", paired.device_name));
    }
    let about = if about.is_empty() {
        String::new()
    } else {
        format!(" ({})", about.join(", "))
    };
    writeln!(
        output::stdout(),
        "{} Paired with {}{about}. Code {}.{}",
        paint(GOOD, "✓"),
        paint(BOLD, &paired.paired),
        paired.code,
        if paired.new_relationship {
            " A new relationship was added."
        } else {
            ""
        }
    )?;
    Ok(())
}

/// `tapin invite`.
pub(crate) fn invite(
    home: Home,
    for_person: Option<String>,
    expires: &str,
    yes: bool,
    net: &NetArgs,
    json: bool,
) -> Result<()> {
    let request = InviteRequest {
        for_person,
        expires: parse_expiry(expires)?,
        net: net.overrides(),
    };
    let home = Arc::new(home);
    block_on(async {
        let mut invitation = home.invite(request).await?;
        // However this ends, the invitation is closed and its node shut down.
        let result = until_ctrl_c(serve_invitation(&mut invitation, yes, json)).await;
        invitation.close().await;
        result
    })
}

/// Shows the ticket, waits for a friend, and pairs.
async fn serve_invitation(invitation: &mut Invitation, yes: bool, json: bool) -> Result<()> {
    for note in &invitation.notes {
        output::note(note)?;
    }
    {
        let mut out = std::io::stdout().lock();
        if json {
            writeln!(
                out,
                "{}",
                serde_json::json!({ "ticket": invitation.ticket, "qr": invitation.qr })
            )?;
        } else {
            writeln!(out, "{}", invitation.ticket)?;
        }
        out.flush()?;
    }
    if !json {
        // Through the output stream that keeps colours only on a terminal without NO_COLOR.
        let mut out = output::stdout();
        let payload = invitation.qr.as_deref().unwrap_or(&invitation.ticket);
        for line in qr(payload)? {
            writeln!(out, "{}", paint(QR_COLOURS, line))?;
        }
        out.flush()?;
    }
    let until = invitation.valid_until.with_timezone(&chrono::Local);
    let until = if until.date_naive() == chrono::Local::now().date_naive() {
        until.format("%H:%M").to_string()
    } else {
        until.format("%a %-d %b %H:%M").to_string()
    };
    // On a terminal the spinner carries the whole message on one line, so the ticket, the QR
    // code and it fit an 80×24 terminal together.
    let spinner = spinner(&format!(
        "waiting for your friend to run `tapin join` (valid until {until})…"
    ));
    if spinner.is_none() {
        output::note(format!(
            "Waiting for your friend to run `tapin join` with this invitation (valid until \
             {until})."
        ))?;
    }
    let joined = loop {
        match invitation.next().await {
            Ok(InviteEvent::Joined(joined)) => break Ok(joined),
            Ok(InviteEvent::Refused(why)) => {
                let line = format!("A device tried to join and was refused: {why}");
                match &spinner {
                    Some(s) => s.suspend(|| output::note(line))?,
                    None => output::note(line)?,
                }
            }
            Err(err) => break Err(err),
        }
    };
    if let Some(s) = &spinner {
        s.finish_and_clear();
    }
    match joined {
        Ok(joined) => confirm(*joined, yes, json, "--for").await,
        Err(err) => Err(err.into()),
    }
}

/// `tapin join`.
pub(crate) fn join(
    home: Home,
    ticket: &str,
    as_person: Option<String>,
    yes: bool,
    net: &NetArgs,
    json: bool,
) -> Result<()> {
    let pasted;
    let from_stdin = ticket == "-";
    let ticket = if from_stdin {
        pasted = ticket_from_stdin()?;
        pasted.as_str()
    } else {
        ticket
    };
    let name = home.check_ticket(ticket)?;
    let mut as_person = as_person;
    // A name taken here is settled before connecting: the inviter is not asked to compare a code
    // for a pairing this side could not store.
    while let Some(clash) = home.join_clash(ticket, as_person.as_deref())? {
        if !std::io::stdin().is_terminal() || from_stdin {
            bail!(
                "{}; nothing was sent to {name}. Is this invitation from them? Join with \
                 `--as \"{}\"` to link the pairing to them, or `--as NEW-NAME` to add {name} as \
                 someone new",
                clash.words(),
                clash.name
            );
        }
        let chosen = block_on(ask_who(&clash, &name))?;
        match chosen {
            Some(chosen) => as_person = Some(chosen),
            None => bail!("{}; nothing was sent to {name}", clash.words()),
        }
    }
    let home = Arc::new(home);
    block_on(until_ctrl_c(async {
        output::note(format!("Connecting to {name}'s device…"))?;
        let joined = home.join(ticket, as_person, &net.overrides()).await?;
        confirm(joined, yes, json, "--as").await
    }))
}

/// The invitation for `tapin join -`: the lines of stdin up to an empty line after it (or the
/// end of input), so a ticket pasted with the line breaks a terminal or a chat added still reads
/// whole, and the safety-code question can still be answered on stdin afterwards.
fn ticket_from_stdin() -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        output::note("Paste the invitation, then press Enter on an empty line:")?;
    }
    let mut ticket = String::new();
    let mut lines = stdin.lock();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line)? == 0 {
            break;
        }
        if line.trim().is_empty() {
            if ticket.is_empty() {
                continue;
            }
            break;
        }
        ticket.push_str(&line);
    }
    if ticket.trim().is_empty() {
        bail!("no invitation on standard input: paste the text `tapin invite` printed");
    }
    Ok(ticket)
}

/// `tapin unpair`.
pub(crate) fn unpair(home: &Home, person: &str, quietly: bool, json: bool) -> Result<()> {
    let unpaired = home.unpair(person, quietly)?;
    if json {
        return output::json(&unpaired);
    }
    let name = &unpaired.unpaired;
    let told = if unpaired.notice {
        format!(
            "{name}'s tapin will be told at the next contact between your devices, and will say \
             that you ended the pairing."
        )
    } else {
        format!(
            "Nothing is sent: to {name}'s tapin your devices look offline, and it keeps the pairing."
        )
    };
    writeln!(
        output::stdout(),
        "Unpaired {}. Nothing will sync between you again; the relationship and its history stay here.\n\
         {told}\n\
         What {name} already received from you stays on their devices — tapin cannot take it back.",
        paint(BOLD, name),
    )?;
    Ok(())
}

/// Dark modules on a light ground, whatever the terminal's own colours: a QR code drawn in a
/// dark terminal's light-on-dark would be inverted, which many scanners do not read.
const QR_COLOURS: anstyle::Style = anstyle::Style::new()
    .fg_color(Some(anstyle::Color::Ansi(anstyle::AnsiColor::Black)))
    .bg_color(Some(anstyle::Color::Ansi(anstyle::AnsiColor::BrightWhite)));

/// The ticket as a QR code, one string per terminal row: two modules a row (half blocks), a
/// quiet zone of two modules all round (drawn in the light colour, so it shows on a dark
/// terminal too).
fn qr(ticket: &str) -> Result<Vec<String>> {
    let code = qrcode::QrCode::with_error_correction_level(ticket.as_bytes(), qrcode::EcLevel::L)
        .context("the invitation is too long for a QR code")?;
    let width = code.width();
    let dark = |x: i64, y: i64| -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < width
            && code[(x as usize, y as usize)] == qrcode::Color::Dark
    };
    const QUIET: i64 = 2;
    let side = width as i64 + 2 * QUIET;
    let mut rows = Vec::new();
    let mut y = 0;
    while y < side {
        let row: String = (0..side)
            .map(|x| {
                let (top, bottom) = (dark(x - QUIET, y - QUIET), dark(x - QUIET, y + 1 - QUIET));
                match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                }
            })
            .collect();
        rows.push(row);
        y += 2;
    }
    Ok(rows)
}

/// A spinner with `message` on stderr, when stderr is a terminal.
fn spinner(message: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}
