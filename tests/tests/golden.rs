//! Golden output: the full text of the pages a person reads most (`show`, `today`, `people`,
//! `history`, the Markdown export, and the goal, journal and ritual lists) for one realistic home
//! on a fixed clock, pinned as text. A change of wording shows here as a diff to review;
//! `UPDATE_EXPECT=1 cargo test -p tapin-e2e --test golden` rewrites the expectations.
//!
//! Ids are random, so every id in the output (8 or 32 hex digits) reads as `<id>`.

use expect_test::{Expect, expect};
use tapin_e2e::Home;

/// Maya's home on the harness's fixed clock (Sunday 2026-11-22, noon UTC): five relationships,
/// one with an emoji and one with a long name, and a record of every kind.
fn maya() -> Home {
    let maya = Home::init("Maya");
    let add = |args: &[&str]| {
        maya.ok(args);
    };
    add(&[
        "person",
        "add",
        "Jordan",
        "--importance",
        "5",
        "--rhythm",
        "1w",
        "--max",
        "2w",
    ]);
    add(&[
        "person",
        "add",
        "Alex",
        "--importance",
        "4",
        "--risk",
        "high",
        "--rhythm",
        "2w",
        "--max",
        "4w",
    ]);
    add(&[
        "person",
        "add",
        "Zoë",
        "--importance",
        "3",
        "--rhythm",
        "1m",
        "--max",
        "2m",
    ]);
    add(&["person", "add", "Sam 🌻", "--importance", "2"]);
    add(&[
        "person",
        "add",
        "Rosalind Ottoline Featherstonehaugh-Smythe the Third",
        "--importance",
        "1",
    ]);

    add(&[
        "log",
        "Jordan",
        "--by",
        "me",
        "--via",
        "call",
        "--reason",
        "just-because",
        "--on",
        "2026-11-20",
        "--note",
        "Talked about his new job",
    ]);
    add(&[
        "log",
        "Jordan",
        "--by",
        "them",
        "--via",
        "text",
        "--reason",
        "support",
        "--on",
        "2026-11-10",
    ]);
    add(&[
        "log",
        "Alex",
        "--by",
        "them",
        "--via",
        "in-person",
        "--on",
        "2026-10-01",
        "--note",
        "Coffee after the argument",
    ]);
    add(&["log", "Sam 🌻", "--by", "me", "--on", "2026-11-01"]);
    add(&[
        "thanks",
        "Jordan",
        "Helped me move the sofa",
        "--on",
        "2026-11-15",
    ]);
    add(&["boundary", "Alex", "No calls after 10pm"]);
    add(&[
        "checkin",
        "Jordan",
        "--rating",
        "4",
        "--went-well",
        "We listened",
        "--to-change",
        "Plan ahead",
        "--on",
        "2026-11-21",
        "--share",
    ]);

    let walk = maya.id(&[
        "goal",
        "add",
        "Jordan",
        "Walk on Sundays",
        "--share",
        "--step",
        "Pick a route",
        "--step",
        "Buy boots",
        "--by",
        "2026-12-20",
    ]);
    add(&["goal", "step", "done", &walk, "1"]);
    add(&[
        "goal",
        "add",
        "Alex",
        "Rebuild trust with Alex",
        "--step",
        "Apologise",
        "--by",
        "2026-11-29",
    ]);

    let sunday = maya.id(&[
        "ritual",
        "add",
        "Jordan",
        "Sunday walk",
        "--weekly-on",
        "sunday",
        "--minutes",
        "60",
        "--start",
        "2026-11-01",
        "--share",
        "--guideline",
        "Phones away",
    ]);
    add(&["ritual", "done", &sunday, "--on", "2026-11-08"]);
    add(&["ritual", "done", &sunday, "--on", "2026-11-15"]);
    add(&[
        "ritual",
        "add",
        "Zoë",
        "Letter",
        "--monthly-on",
        "4",
        "--start",
        "2026-10-01",
    ]);

    add(&[
        "reflect",
        "Alex",
        "--q1a",
        "No",
        "--q1b",
        "Yes",
        "--q2a",
        "Not really, they get defensive",
        "--q2b",
        "Mostly",
        "--q3a",
        "Never",
        "--q3b",
        "Sometimes",
        "--q4a",
        "Drained",
        "--q4b",
        "Not sure",
    ]);

    // Written at different times: entries of the same minute have no order a person would see.
    maya.ok_at(
        "2026-11-21T20:15:00Z",
        &[
            "journal",
            "add",
            "Jordan got the job. I want to be there for the first week.",
            "--about",
            "Jordan",
            "--tag",
            "work",
            "--star",
        ],
    );
    maya.ok_at(
        "2026-11-22T09:30:00Z",
        &[
            "journal",
            "add",
            "Still thinking about what Alex said.",
            "--about",
            "Alex",
            "--tag",
            "trust",
        ],
    );
    maya
}

/// `text` with every id (a word of 8 or 32 lowercase hex digits) as `<id>`. An id need not
/// hold a decimal digit ("bedddcff" is one), and no word the pages print is eight letters of
/// a–f alone.
fn masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let hex = word
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
        if hex && matches!(word.len(), 8 | 32) {
            out.push_str("<id>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn check(home: &Home, args: &[&str], want: Expect) {
    want.assert_eq(&masked(&home.ok(args)));
}

/// The Markdown export: people by name, records in date order, journal entries with the people
/// they are about and their tags.
#[test]
fn the_markdown_export_reads_as_pinned() {
    let maya = maya();
    check(
        &maya,
        &["export", "--format", "markdown"],
        expect![[r#"
            # tapin — Maya

            Exported 2026-11-22 12:00 UTC.

            ## Alex

            Importance 4/5 · high risk · active · every 2 weeks, at most 4 weeks apart

            ### Shared

            - 2026-10-01: Alex reached out (in person): Coffee after the argument
            - 2026-11-22: Boundary: No calls after 10pm

            ### Private

            - Goal: **Rebuild trust with Alex** (active, 0 of 1 step done, by 2026-11-29)
              - [ ] Apologise

            ### Reflection, 2026-11-22

            1. *Is this who I (want to) call when I'm deeply stressed or need attention right away?* No
               *Do I make myself available to them when they are in a similar state?* Yes
            2. *Is their response to me typically empathetic and supportive?* Not really, they get defensive
               *Am I able to respond the same way when they come to me for help?* Mostly
            3. *Do they reach out just because — to brighten my day, or to let me know I'm on their mind?* Never
               *How often do I do the same for them?* Sometimes
            4. *How do I usually feel after spending time around them?* Drained
               *What sense do I have of how they feel after spending time around me?* Not sure

            ## Jordan

            Importance 5/5 · medium risk · active · every week, at most 2 weeks apart

            ### Shared

            - Goal: **Walk on Sundays** (active, 1 of 2 steps done, by 2026-12-20)
              - [x] Pick a route
              - [ ] Buy boots
            - Ritual: **Sunday walk**, weekly on Sunday since 2026-11-01 (kept twice)
            - 2026-11-10: Jordan reached out (text, support)
            - 2026-11-15: Thanks: Helped me move the sofa
            - 2026-11-20: I reached out (call, just because): Talked about his new job
            - 2026-11-21: Check-in, rated 4/5. Went well: We listened. To change: Plan ahead.

            ## Rosalind Ottoline Featherstonehaugh-Smythe the Third

            Importance 1/5 · medium risk · active · no rhythm

            ## Sam 🌻

            Importance 2/5 · medium risk · active · no rhythm

            ### Shared

            - 2026-11-01: I reached out

            ## Zoë

            Importance 3/5 · medium risk · active · every month, at most 2 months apart

            ### Private

            - Ritual: **Letter**, monthly on day 4 since 2026-10-01 (not kept yet)

            ## Journal

            ### 2026-11-21 20:15 UTC ★

            *About Jordan · tagged @work.*

            Jordan got the job. I want to be there for the first week.

            ### 2026-11-22 09:30 UTC

            *About Alex · tagged @trust.*

            Still thinking about what Alex said.

        "#]],
    );
}

#[test]
fn the_pages_read_as_pinned() {
    let maya = maya();
    check(
        &maya,
        &["show", "Jordan"],
        expect![[r#"
            Jordan  not paired

            Staying in touch: last contact Friday 20 November 2026; in touch; next contact due Friday 27 November 2026

            Goals
              Yours
                <id> Walk on Sundays [active, 1/2]
              Theirs
                none shared with you yet

            Rituals
              Sunday walk (mine) — next Sunday 22 November 2026, streak 2 weeks; last 2026-11-15, 2026-11-08

            Check-ins
              2026-11-21 (mine) 4/5 We listened

            Thanks
              2026-11-15 you → Helped me move the sofa

            Reciprocity
               30 days: reached out: you once, they once; thanks: 1 given, 0 received; 1 check-in
               90 days: reached out: you once, they once; thanks: 1 given, 0 received; 1 check-in
              365 days: reached out: you once, they once; thanks: 1 given, 0 received; 1 check-in
              last 12 weeks  you  ···········█
                             them ··········█·
              Not much contact logged in the last 90 days.
        "#]],
    );
    check(
        &maya,
        &["show", "Alex"],
        expect![[r#"
            Alex  not paired

            Staying in touch: last contact Thursday 1 October 2026; past your longest gap since Thursday 29 October 2026

            Goals
              Yours
                <id> Rebuild trust with Alex [active, 0/1] (private)
              Theirs
                none shared with you yet

            Boundaries
              (mine) No calls after 10pm

            Reciprocity
               30 days: reached out: you never, they never; thanks: 0 given, 0 received; 0 check-ins
               90 days: reached out: you never, they once; thanks: 0 given, 0 received; 0 check-ins
              365 days: reached out: you never, they once; thanks: 0 given, 0 received; 0 check-ins
              last 12 weeks  you  ············
                             them ····█·······
              Not much contact logged in the last 90 days.

            Your last reflection (2026-11-22 12:00, only you see this)
              red flag 2A: "Not really, they get defensive" — Their response to you may not usually be empathetic and supportive. That can make it hard for support to flow both ways; it may be worth a gentle, honest look.
              red flag 4A: "Drained" — You didn't describe feeling happy, loved or fulfilled after time with them. Reciprocity may not be possible here; it may be worth a gentle, honest look.
        "#]],
    );
    check(
        &maya,
        &["today"],
        expect![[r#"
            Today, Sunday 22 November 2026

            Rituals
              Letter with Zoë — 18 days overdue
              Sunday walk with Jordan — today

            Staying in touch
              Alex — past your longest gap by 24 days (last contact Thursday 1 October 2026)

            Goals ending soon
              Rebuild trust with Alex — by Sunday 29 November 2026 (in 7 days), 0 of 1 step done
        "#]],
    );
    check(
        &maya,
        &["people"],
        expect![[r#"
            id        name                              imp  risk    last contact  paired                    ritual      touch
            <id>  Jordan                              5  medium  2026-11-20    -                         2026-11-22  fine until 2026-11-27
            <id>  Alex                                4  high    2026-10-01    -                         -           overdue (24 days past max)  ⚑ red flag (private)
            <id>  Zoë                                 3  medium  never         -                         2026-11-04  fine until 2026-12-22
            <id>  Sam 🌻                              2  medium  2026-11-01    -                         -           no rhythm
            <id>  Rosalind Ottoline Featherstoneh…    1  medium  never         -                         -           no rhythm
        "#]],
    );
    check(
        &maya,
        &["history", "Jordan"],
        expect![[r#"
            Jordan
            2026-11-22  <id> shared   goal "Walk on Sundays" (active, 1 of 2 steps done)
            2026-11-21  <id> shared   check-in, rated 4/5; went well: We listened; to change: Plan ahead
            2026-11-20  <id> shared   you reached out (call, just because): Talked about his new job
            2026-11-15  <id> shared   ritual "Sunday walk" kept
            2026-11-15  <id> shared   thanks: Helped me move the sofa
            2026-11-10  <id> shared   they reached out (text, support)
            2026-11-08  <id> shared   ritual "Sunday walk" kept
            2026-11-01  <id> shared   ritual "Sunday walk" started
        "#]],
    );
    check(
        &maya,
        &["history", "Alex"],
        expect![[r#"
            Alex
            2026-11-22  <id> shared   boundary: No calls after 10pm
            2026-11-22  <id> private  goal "Rebuild trust with Alex" (active, 0 of 1 step done)
            2026-11-22  <id> private  reflection (2 red flags)
            2026-10-01  <id> shared   they reached out (in person): Coffee after the argument
        "#]],
    );
    check(
        &maya,
        &["goal", "list"],
        expect![[r#"
            Alex
              <id>  Rebuild trust with Alex by Sunday 29 November 2026  [active, private, 0/1]
                  [ ] 1. Apologise
            Jordan
              <id>  Walk on Sundays by Sunday 20 December 2026  [active, shared, 1/2]
                  [x] 1. Pick a route
                  [ ] 2. Buy boots
        "#]],
    );
    check(
        &maya,
        &["ritual", "list"],
        expect![[r#"
            <id>  Letter with Zoë — monthly on day 4, overdue since Wednesday 4 November 2026, no streak yet
            <id>  Sunday walk with Jordan — weekly on Sunday, due today, streak 2 weeks
                      · Phones away
        "#]],
    );
    check(
        &maya,
        &["journal", "list"],
        expect![[r#"
            2026-11-22 09:30  <id> · about Alex
              Still thinking about what Alex said.
            ★ 2026-11-21 20:15  <id> · about Jordan
              Jordan got the job. I want to be there for the first week.
        "#]],
    );
}

/// The Markdown export of a small home: one relationship, one record of each kind, and a
/// journal entry about them.
#[test]
fn a_small_markdown_export_reads_as_pinned() {
    let sam = Home::init("Sam");
    sam.ok(&["person", "add", "Jordan", "--rhythm", "1w", "--max", "2w"]);
    sam.ok(&[
        "log",
        "Jordan",
        "--by",
        "them",
        "--via",
        "in-person",
        "--reason",
        "just-because",
        "--on",
        "2026-11-20",
        "--note",
        "Dinner at his place",
    ]);
    sam.ok(&["thanks", "Jordan", "The lift home", "--on", "2026-11-20"]);
    sam.ok(&["boundary", "Jordan", "Ask before bringing friends"]);
    sam.ok(&[
        "journal",
        "add",
        "A good evening.",
        "--about",
        "Jordan",
        "--tag",
        "dinner",
    ]);
    check(
        &sam,
        &["export", "--format", "markdown"],
        expect![[r#"
            # tapin — Sam

            Exported 2026-11-22 12:00 UTC.

            ## Jordan

            Importance 3/5 · medium risk · active · every week, at most 2 weeks apart

            ### Shared

            - 2026-11-20: Jordan reached out (in person, just because): Dinner at his place
            - 2026-11-20: Thanks: The lift home
            - 2026-11-22: Boundary: Ask before bringing friends

            ## Journal

            ### 2026-11-22 12:00 UTC

            *About Jordan · tagged @dinner.*

            A good evening.

        "#]],
    );
}
