//! A side's history as years of use leave it, for the lab's people and the benches: one automerge
//! change per record, written the way the CLI writes them. Six in ten changes log an interaction,
//! two write a thanks note, two edit the note of an earlier interaction. The records come from
//! `seed`, so every run writes the same history.

use automerge::AutoCommit;
use tapin_core::Id;
use tapin_core::docs::{self, Collection, DocError, Place};
use tapin_core::model::{Channel, Initiator, Interaction, Reason, Thanks};
use tapin_core::time::{Day, Timestamp};

use crate::Rng;

const NOTES: [&str; 6] = [
    "",
    "caught up on everything",
    "quick one, will call again on Sunday",
    "they needed to vent about work",
    "planned the trip in March",
    "long walk by the river, talked about the new job and her sister's wedding",
];

const THANKS: [&str; 4] = [
    "Thank you for the soup when I was ill",
    "Thanks for listening on Tuesday",
    "Thank you for driving me to the airport at 5am",
    "Thanks for remembering my exam",
];

/// Writes `changes` changes into `d` at `place`, committing each: records on days from
/// 2024-01-01 over about three years, created a minute apart from `start`.
pub fn write_side_history(
    d: &mut AutoCommit,
    place: Place,
    changes: usize,
    start: Timestamp,
    seed: u64,
) -> Result<(), DocError> {
    let mut rng = Rng(seed);
    let first_day = Day::ymd(2024, 1, 1).expect("2024-01-01 is a day");
    let mut interactions: Vec<(Id, Interaction)> = Vec::new();
    for i in 0..changes {
        let on = first_day.plus_days((i * 1_000 / changes.max(1)) as u64);
        let created = Timestamp(start.0 + i as i64 * 60_000);
        match i % 10 {
            6 | 7 => {
                let thanks = Thanks {
                    on,
                    text: THANKS[rng.below(THANKS.len())].to_owned(),
                    created,
                };
                docs::put_record(d, place, Collection::Thanks, rng.id(), &thanks)?;
            }
            8 | 9 if !interactions.is_empty() => {
                let k = rng.below(interactions.len());
                let (id, record) = &mut interactions[k];
                record.note = format!("{} (edited, {i})", NOTES[rng.below(NOTES.len())]);
                docs::put_record(d, place, Collection::Interactions, *id, record)?;
            }
            _ => {
                let record = Interaction {
                    on,
                    by: [Initiator::Me, Initiator::Them][rng.below(2)],
                    via: [Channel::Call, Channel::Text, Channel::InPerson][rng.below(3)],
                    reason: [Reason::JustBecause, Reason::Support, Reason::Plan][rng.below(3)],
                    note: NOTES[rng.below(NOTES.len())].to_owned(),
                    created,
                };
                let id = rng.id();
                docs::put_record(d, place, Collection::Interactions, id, &record)?;
                interactions.push((id, record));
            }
        }
        d.commit();
    }
    Ok(())
}
