//! Red flags in a reflection, and the latest reflection on a relationship.
//!
//! The brief: an answer to 2A ("Is their response to me typically empathetic and supportive?")
//! other than "yes", or an answer to 4A ("How do I usually feel after spending time around
//! them?") other than a variant of happy / loved / fulfilled, is a red flag — reciprocity may
//! not be possible in this relationship. Red flags are private by nature: they are shown only to
//! the person who answered.
//!
//! People answer in their own words, so the reading is deliberately forgiving but not naive.
//! Answers are compared word by word, case-insensitively (Unicode lowercase, curly apostrophes
//! read as straight ones).
//!
//! **2A is a yes** when its first word is an affirmative (`yes`, `yeah`, `yep`, `yup`, `absolutely`,
//! `definitely`, `always`, `of course`, …) and nothing in it hedges the yes: no `but`, `not`, `no`,
//! `never`, `sometimes`, `mostly`, `rarely`, `though`, `except`, `kind of`, a `n't` word, ….
//! So "Yes", "yes!", "yes, always" and "yep" are yes; "mostly", "no", "sometimes", "not really",
//! "yes and no" and "yes, but not lately" are red flags.
//!
//! **4A reads as happy / loved / fulfilled** when it contains a word of those families (happy,
//! happier, happiness, love, loved, loving, fulfilled, fulfilling, fulfilment, fulfillment, …)
//! or a close variant of them (joyful, content, cherished, cared for, valued, uplifted, …; see
//! `POSITIVE` in the source), none of those words is negated, and it has no negative form
//! (unhappy, unloved, unfulfilled, …). A word is negated when one of `not`, `never`, `no`,
//! `hardly`, `rarely`, `sometimes`, `less`, a `n't` word, … comes up to three words before it in
//! the same clause (clauses end at `, . ; : ! ?` and dashes), so "not happy", "never loved",
//! "don't feel fulfilled" and "less happy than before" are red flags while "happy, not drained"
//! is not. Lukewarm words ("fine", "ok", "good") are not variants of happy, loved or fulfilled and
//! so are red flags: the brief sets that bar on purpose.
//!
//! **Unanswered is not a red flag.** An answer with no letters or digits in it (empty, blank, a
//! lone "-" or "?") is unanswered: it raises no flag, and [`check`] reports it in
//! [`ReflectionCheck::unanswered`] so the app can say the question was skipped rather than
//! silently passing it.

use serde::Serialize;

use crate::ids::Id;
use crate::model::Reflection;

/// The question whose "A" answer other than "yes" is a red flag.
pub const SUPPORT_QUESTION: u8 = 2;
/// The question whose "A" answer other than happy / loved / fulfilled is a red flag.
pub const FEELING_QUESTION: u8 = 4;

/// A red flag raised by one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedFlag {
    /// The question, 2 or 4 (always the "A" half, about them).
    pub question: u8,
    /// The answer as written.
    pub answer: String,
    /// Why it is a flag, in gentle words meant to be shown to the person.
    pub why: &'static str,
}

/// Which half of a paired question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Part {
    /// "A": how the other person shows up for me.
    AboutThem,
    /// "B": how I show up for them.
    AboutMe,
}

/// One half of one question, left unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Unanswered {
    /// The question, 1–4.
    pub question: u8,
    /// Which half.
    pub part: Part,
}

/// What reading a reflection found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ReflectionCheck {
    /// Red flags, in question order.
    pub red_flags: Vec<RedFlag>,
    /// Every half-question left unanswered, in question order (A before B). An unanswered 2A or
    /// 4A raises no red flag; it is listed here instead.
    pub unanswered: Vec<Unanswered>,
}

const WHY_SUPPORT: &str = "Their response to you may not usually be empathetic and supportive. \
     That can make it hard for support to flow both ways; it may be worth a gentle, honest look.";
const WHY_FEELING_NOT_GOOD: &str = "You didn't describe feeling happy, loved or fulfilled after time \
     with them. Reciprocity may not be possible here; it may be worth a gentle, honest look.";
const WHY_FEELING_NEGATED: &str = "Your answer suggests you don't feel happy, loved or fulfilled \
     after time with them. Reciprocity may not be possible here; it may be worth a gentle, honest look.";

/// Reads a reflection: its red flags and its unanswered questions. See the module docs for how
/// answers are read.
pub fn check(r: &Reflection) -> ReflectionCheck {
    let mut out = ReflectionCheck::default();
    for question in 1..=4u8 {
        let answer = r.answer(usize::from(question));
        for (part, text) in [
            (Part::AboutThem, &answer.about_them),
            (Part::AboutMe, &answer.about_me),
        ] {
            if is_unanswered(text) {
                out.unanswered.push(Unanswered { question, part });
            }
        }
        if is_unanswered(&answer.about_them) {
            continue;
        }
        let why = match question {
            SUPPORT_QUESTION => (!is_yes(&answer.about_them)).then_some(WHY_SUPPORT),
            FEELING_QUESTION => match feeling(&answer.about_them) {
                Feeling::Good => None,
                Feeling::NotGood => Some(WHY_FEELING_NOT_GOOD),
                Feeling::Negated => Some(WHY_FEELING_NEGATED),
            },
            _ => None,
        };
        if let Some(why) = why {
            out.red_flags.push(RedFlag {
                question,
                answer: answer.about_them,
                why,
            });
        }
    }
    out
}

/// The red flags of a reflection (the flags of [`check`]).
pub fn red_flags(r: &Reflection) -> Vec<RedFlag> {
    check(r).red_flags
}

/// The latest reflection on `relationship`, by [`Reflection::at`] (ties broken by the larger id,
/// so the answer does not depend on iteration order).
pub fn latest_reflection<'a>(
    reflections: impl Iterator<Item = (Id, &'a Reflection)>,
    relationship: Id,
) -> Option<(Id, &'a Reflection)> {
    reflections
        .filter(|(_, r)| r.relationship == relationship)
        .max_by(|(ia, a), (ib, b)| a.at.cmp(&b.at).then_with(|| ia.cmp(ib)))
}

fn is_unanswered(text: &str) -> bool {
    !text.chars().any(char::is_alphanumeric)
}

/// The words of a text, lowercased, grouped into clauses.
fn clauses(text: &str) -> Vec<Vec<String>> {
    let mut clauses = Vec::new();
    let mut clause = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let c = if matches!(c, '\u{2019}' | '\u{2018}' | '`') {
            '\''
        } else {
            c
        };
        if c.is_alphanumeric() || c == '\'' {
            word.extend(c.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            clause.push(std::mem::take(&mut word));
        }
        if matches!(
            c,
            ',' | '.' | ';' | ':' | '!' | '?' | '\n' | '\u{2013}' | '\u{2014}' | '(' | ')'
        ) && !clause.is_empty()
        {
            clauses.push(std::mem::take(&mut clause));
        }
    }
    if !word.is_empty() {
        clause.push(word);
    }
    if !clause.is_empty() {
        clauses.push(clause);
    }
    for clause in &mut clauses {
        for w in clause.iter_mut() {
            // "'yes'" and "yes'" read as "yes"; "don't" keeps its apostrophe.
            let trimmed = w.trim_matches('\'');
            if trimmed.len() != w.len() {
                *w = trimmed.to_owned();
            }
        }
        clause.retain(|w| !w.is_empty());
    }
    clauses.retain(|c| !c.is_empty());
    clauses
}

const AFFIRMATIVE: &[&str] = &[
    "yes",
    "yeah",
    "yeh",
    "yea",
    "yep",
    "yup",
    "ya",
    "yah",
    "aye",
    "y",
    "absolutely",
    "definitely",
    "always",
    "certainly",
    "indeed",
    "totally",
    "sure",
    "100",
];

/// Words that turn a yes into something less than a yes.
const HEDGES: &[&str] = &[
    "but",
    "no",
    "not",
    "nope",
    "never",
    "sometimes",
    "mostly",
    "partly",
    "partially",
    "somewhat",
    "rarely",
    "seldom",
    "occasionally",
    "hardly",
    "barely",
    "except",
    "although",
    "though",
    "unless",
    "depends",
    "maybe",
    "perhaps",
    "kinda",
    "sorta",
    "less",
    "used",
    "dont",
    "doesnt",
    "didnt",
    "isnt",
    "arent",
    "wasnt",
    "werent",
    "cant",
    "cannot",
    "wont",
];

fn is_negative_word(w: &str) -> bool {
    w.ends_with("n't")
}

fn is_yes(text: &str) -> bool {
    let words: Vec<String> = clauses(text).into_iter().flatten().collect();
    let Some(first) = words.first() else {
        return false;
    };
    let opens_with_yes = AFFIRMATIVE.contains(&first.as_str())
        || (first == "of" && words.get(1).is_some_and(|w| w == "course"));
    let hedged = words.iter().enumerate().any(|(i, w)| {
        HEDGES.contains(&w.as_str())
            || is_negative_word(w)
            || (matches!(w.as_str(), "kind" | "sort")
                && words.get(i + 1).is_some_and(|n| n == "of"))
    });
    opens_with_yes && !hedged
}

/// Words of the happy / loved / fulfilled families and their close variants.
const POSITIVE: &[&str] = &[
    // happy
    "happy",
    "happier",
    "happiest",
    "happiness",
    "happily",
    "joy",
    "joyful",
    "joyous",
    "glad",
    "content",
    "contented",
    "uplifted",
    "elated",
    "delighted",
    // loved
    "loved",
    "love",
    "loving",
    "lovingly",
    "beloved",
    "lovable",
    "loveable",
    "cherished",
    "cared",
    "valued",
    "appreciated",
    "seen",
    "accepted",
    // fulfilled
    "fulfilled",
    "fulfilling",
    "fulfilment",
    "fulfillment",
    "fulfil",
    "fulfill",
    "satisfied",
    "nourished",
    "enriched",
    "energized",
    "energised",
    "recharged",
];

/// Negative forms of the positive words: saying one is a red flag wherever it stands.
const NEGATIVE_FORMS: &[&str] = &[
    "unhappy",
    "unhappier",
    "unhappiness",
    "unloved",
    "unlovable",
    "unloveable",
    "loveless",
    "unfulfilled",
    "unfulfilling",
    "joyless",
    "discontent",
    "discontented",
    "unappreciated",
    "unvalued",
    "undervalued",
    "unseen",
    "dissatisfied",
    "unsatisfied",
];

/// Words that negate or weaken a positive word that follows closely.
const NEGATORS: &[&str] = &[
    "not",
    "no",
    "never",
    "neither",
    "nor",
    "hardly",
    "barely",
    "rarely",
    "seldom",
    "sometimes",
    "occasionally",
    "less",
    "least",
    "without",
    "un",
    "dont",
    "doesnt",
    "didnt",
    "isnt",
    "arent",
    "wasnt",
    "werent",
    "cant",
    "cannot",
    "wont",
];

/// How many words before a positive word a negator still reaches ("don't really feel loved").
const NEGATION_REACH: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feeling {
    Good,
    NotGood,
    Negated,
}

fn feeling(text: &str) -> Feeling {
    let mut positive = false;
    for clause in clauses(text) {
        for (i, w) in clause.iter().enumerate() {
            if NEGATIVE_FORMS.contains(&w.as_str()) {
                return Feeling::Negated;
            }
            if !POSITIVE.contains(&w.as_str()) {
                continue;
            }
            let before = &clause[i.saturating_sub(NEGATION_REACH)..i];
            if before
                .iter()
                .any(|b| NEGATORS.contains(&b.as_str()) || is_negative_word(b))
            {
                return Feeling::Negated;
            }
            positive = true;
        }
    }
    if positive {
        Feeling::Good
    } else {
        Feeling::NotGood
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PairedAnswer;
    use crate::time::Timestamp;

    fn reflection(a2: &str, a4: &str) -> Reflection {
        let answer = |a: &str| PairedAnswer {
            about_them: a.into(),
            about_me: "b".into(),
        };
        Reflection {
            relationship: Id::from_bytes([1; 16]),
            at: Timestamp(0),
            answers: vec![answer("a"), answer(a2), answer("a"), answer(a4)],
            note: String::new(),
        }
    }

    #[test]
    fn question_2a_is_a_flag_unless_it_is_a_yes() {
        let cases = [
            ("yes", false),
            ("Yes", false),
            ("YES", false),
            ("yes!", false),
            ("Yes.", false),
            ("yes, always", false),
            ("Yes — always has been", false),
            ("yeah", false),
            ("yep", false),
            ("Yup, every time", false),
            ("absolutely", false),
            ("Always", false),
            ("of course", false),
            ("yes, usually", false),
            ("‘yes’", false),
            ("mostly", true),
            ("no", true),
            ("No.", true),
            ("nope", true),
            ("sometimes", true),
            ("not really", true),
            ("yes and no", true),
            ("yes, but not lately", true),
            ("yes mostly", true),
            ("yes, kind of", true),
            ("yeah, though it depends", true),
            ("yes, they didn’t use to be", true),
            ("I think so", true),
            ("maybe", true),
            ("they try", true),
        ];
        for (answer, flagged) in cases {
            let flags = red_flags(&reflection(answer, "happy"));
            assert_eq!(!flags.is_empty(), flagged, "2A {answer:?}: {flags:?}");
            if flagged {
                assert_eq!(flags[0].question, 2);
                assert_eq!(flags[0].answer, answer);
            }
        }
    }

    #[test]
    fn question_4a_is_a_flag_unless_it_reads_happy_loved_or_fulfilled() {
        let cases = [
            ("happy", None),
            ("Happy!", None),
            ("happier than before", None),
            ("so much happiness", None),
            ("loved", None),
            ("I feel love", None),
            ("warm and loving", None),
            ("fulfilled", None),
            ("it's fulfilling", None),
            ("a sense of fulfilment", None),
            ("a sense of fulfillment", None),
            ("Joyful and cared for", None),
            ("happy, not drained", None),
            ("tired but happy", None),
            ("HAPPY", None),
            ("not happy", Some(WHY_FEELING_NEGATED)),
            ("Not very happy", Some(WHY_FEELING_NEGATED)),
            ("unhappy", Some(WHY_FEELING_NEGATED)),
            ("never loved", Some(WHY_FEELING_NEGATED)),
            ("I don't feel fulfilled", Some(WHY_FEELING_NEGATED)),
            ("I don’t really feel loved", Some(WHY_FEELING_NEGATED)),
            ("less happy than I used to", Some(WHY_FEELING_NEGATED)),
            ("sometimes happy", Some(WHY_FEELING_NEGATED)),
            ("loved, but unfulfilled", Some(WHY_FEELING_NEGATED)),
            ("neither happy nor loved", Some(WHY_FEELING_NEGATED)),
            ("drained", Some(WHY_FEELING_NOT_GOOD)),
            ("fine", Some(WHY_FEELING_NOT_GOOD)),
            ("ok I guess", Some(WHY_FEELING_NOT_GOOD)),
            ("anxious", Some(WHY_FEELING_NOT_GOOD)),
            ("it happens", Some(WHY_FEELING_NOT_GOOD)),
        ];
        for (answer, why) in cases {
            let flags = red_flags(&reflection("yes", answer));
            let got = flags.first().map(|f| (f.question, f.why));
            assert_eq!(got, why.map(|w| (4, w)), "4A {answer:?}");
        }
    }

    #[test]
    fn an_unanswered_question_is_reported_not_flagged() {
        for blank in ["", "   ", "-", "?"] {
            let c = check(&reflection(blank, blank));
            assert_eq!(c.red_flags, [], "{blank:?}");
            let want = [
                Unanswered {
                    question: 2,
                    part: Part::AboutThem,
                },
                Unanswered {
                    question: 4,
                    part: Part::AboutThem,
                },
            ];
            assert_eq!(c.unanswered, want, "{blank:?}");
        }
        // A reflection with fewer than four answers reads the missing ones as unanswered.
        let short = Reflection {
            answers: vec![],
            ..reflection("yes", "happy")
        };
        let c = check(&short);
        assert_eq!(c.red_flags, []);
        assert_eq!(c.unanswered.len(), 8);
    }

    #[test]
    fn both_flags_are_raised_in_question_order() {
        let flags = red_flags(&reflection("mostly", "drained"));
        let questions: Vec<u8> = flags.iter().map(|f| f.question).collect();
        assert_eq!(questions, [2, 4]);
        let json = serde_json::to_value(&flags[0]).unwrap();
        assert_eq!(json["question"], 2);
        assert_eq!(json["answer"], "mostly");
    }

    #[test]
    fn the_latest_reflection_is_the_newest_for_that_relationship() {
        let sam = Id::from_bytes([1; 16]);
        let kim = Id::from_bytes([2; 16]);
        let at = |rel: Id, t: i64| Reflection {
            relationship: rel,
            at: Timestamp(t),
            ..reflection("yes", "happy")
        };
        let all = [
            (Id::named("a"), at(sam, 10)),
            (Id::named("b"), at(sam, 30)),
            (Id::named("c"), at(kim, 50)),
            (Id::named("d"), at(sam, 20)),
        ];
        let iter = || all.iter().map(|(id, r)| (*id, r));
        assert_eq!(
            latest_reflection(iter(), sam).map(|(id, _)| id),
            Some(Id::named("b"))
        );
        assert_eq!(
            latest_reflection(iter(), kim).map(|(id, _)| id),
            Some(Id::named("c"))
        );
        let nobody = Id::from_bytes([3; 16]);
        assert_eq!(latest_reflection(iter(), nobody), None);
    }
}
