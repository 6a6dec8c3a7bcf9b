//! What the engine's integration tests share.

use tapin_app::{Clock, Home, NetSettings, NewHome};

/// Maya's new home, on Sunday 22 November 2026 at noon UTC (the tests run in UTC unless TZ says
/// otherwise, and noon is the same day in every zone within twelve hours of it). The directory
/// lives as long as the returned guard.
pub(crate) fn home() -> (tempfile::TempDir, Home) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("maya");
    let new = NewHome {
        name: "Maya".into(),
        device: "laptop".into(),
        net: NetSettings::default(),
    };
    let at = "2026-11-22T12:00:00Z".parse().expect("a time");
    Home::create(&path, &new, Clock::Fixed(at)).expect("created");
    let home = Home::open(&path, Clock::Fixed(at)).expect("opened");
    (dir, home)
}
