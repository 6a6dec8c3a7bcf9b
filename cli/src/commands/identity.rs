//! `tapin init` and `tapin whoami`.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tapin_app::{Clock, Home, NewHome};

use crate::output::{self, BOLD, DIM, paint};

/// Creates a home: see [`Home::create`].
pub(crate) fn init(path: &Path, new: &NewHome, clock: Clock, json: bool) -> Result<()> {
    let created = Home::create(path, new, clock)?;
    if json {
        return output::json(&created);
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "Welcome, {}. Your home is {}.",
        paint(BOLD, &created.name),
        created.home.display()
    )?;
    let short = |id: &str| id.chars().take(8).collect::<String>();
    let ids = format!(
        "person {}  device {}",
        short(&created.person),
        short(&created.device)
    );
    writeln!(out, "{}", paint(DIM, ids))?;
    writeln!(
        out,
        "Next: `tapin person add NAME` for someone you want to nurture a relationship with."
    )?;
    Ok(())
}

/// Shows the identity of this home.
pub(crate) fn whoami(home: &Home, json: bool) -> Result<()> {
    let me = home.whoami();
    if json {
        return output::json(&me);
    }
    let mut out = output::stdout();
    writeln!(out, "{}", paint(BOLD, &me.name))?;
    writeln!(out, "person  {}", me.person)?;
    writeln!(out, "device  {} ({})", me.device, me.device_name)?;
    writeln!(out, "home    {}", me.home.display())?;
    Ok(())
}
