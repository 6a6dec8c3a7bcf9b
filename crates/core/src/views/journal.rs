//! `@tags` and search over the private journal.
//!
//! **Tags** are written inline as `@word`: letters and digits of any script, joined by `-` or `_`
//! (`@work`, `@Self-care`, `@día_libre`). They are compared case-insensitively and kept
//! lowercase. An `@` inside a word is not a tag, so an email address like `a@b.com` tags nothing.
//!
//! **Search** ([`search`]) keeps the entries that match every part of a [`Query`]: every text term
//! (a case-insensitive substring of the entry's text), every tag (among the entry's
//! [`JournalEntry::tags`]), the relationship it is about, and the star. Results come newest first.
//!
//! **Case** is folded with Unicode lowercase, plus final sigma (`ς`) read as `σ`, so "ΟΔΟΣ",
//! "οδος" and "Οδός"'s lowercase forms compare as people expect. Folding is char by char, so
//! offsets never matter.
//!
//! **Speed.** The query is folded once per search. Each entry's text is folded into one reused
//! buffer — runs of ASCII with a byte-wise lowercase, only other characters through Unicode's
//! tables — and only after the cheap filters (star, relationship, tags) pass and when there are
//! text terms, so there is no allocation per entry beyond the buffer's growth. Folding every
//! candidate entry on each search is the remaining cost, linear in the text searched: 10,000
//! entries of 600 characters (6 MB, a third with non-ASCII text) take about 2 ms per search in a
//! release build on a busy 2-core machine.

use serde::Serialize;

use crate::docs::JournalDoc;
use crate::ids::Id;
use crate::model::JournalEntry;

/// The `@tags` in a text: lowercase, without the `@`, sorted, each once.
pub fn extract_tags(text: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '@' && !prev.is_some_and(is_word_char) {
            let rest = &text[i + c.len_utf8()..];
            let len = tag_len(rest);
            if len > 0 {
                tags.push(fold(&rest[..len]));
            }
        }
        prev = Some(c);
    }
    tags.sort();
    tags.dedup();
    tags
}

/// A journal search. All of its parts must match; an empty query matches every entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Query {
    /// Text terms; each must occur in the entry's text, ignoring case.
    pub terms: Vec<String>,
    /// Tags, without the `@`; each must be among the entry's tags, ignoring case.
    pub tags: Vec<String>,
    /// Only entries about this relationship.
    pub about: Option<Id>,
    /// Only starred entries.
    pub starred_only: bool,
}

impl Query {
    /// A query from what a person types: `@word` is a tag, anything else a text term, and
    /// `"double quotes"` make a phrase one term. `"@work tired"` means tagged `work` and
    /// mentioning "tired". `about` and `starred_only` are left unset (the CLI has flags for them).
    pub fn parse(input: &str) -> Query {
        let mut query = Query::default();
        let mut rest = input;
        loop {
            rest = rest.trim_start();
            let Some(first) = rest.chars().next() else {
                break;
            };
            if first == '"' {
                let body = &rest[1..];
                let end = body.find('"').unwrap_or(body.len());
                let phrase = body[..end].trim();
                if !phrase.is_empty() {
                    query.terms.push(fold(phrase));
                }
                rest = body.get(end + 1..).unwrap_or("");
                continue;
            }
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            let tag = word
                .strip_prefix('@')
                .map(|t| &t[..tag_len(t)])
                .filter(|t| !t.is_empty());
            match tag {
                Some(tag) => query.tags.push(fold(tag)),
                None => query.terms.push(fold(word)),
            }
        }
        query
    }
}

/// The entries matching `query`, newest first by [`JournalEntry::at`] (ties by id).
pub fn search<'a>(journal: &'a JournalDoc, query: &Query) -> Vec<(Id, &'a JournalEntry)> {
    let matcher = Matcher::new(query);
    let mut text = String::new();
    let mut hits: Vec<(Id, &'a JournalEntry)> = journal
        .entries
        .iter()
        .filter(|(_, e)| matcher.matches(e, &mut text))
        .map(|(id, e)| (*id, e))
        .collect();
    hits.sort_by(|(ia, a), (ib, b)| b.at.cmp(&a.at).then_with(|| ia.cmp(ib)));
    hits
}

/// A query folded once, to test entries against: the one test [`search`] and the journal's
/// index ([`super::journal_index`]) both apply.
#[derive(Debug, Clone)]
pub struct Matcher<'q> {
    query: &'q Query,
    terms: Vec<String>,
    tags: Vec<String>,
}

impl<'q> Matcher<'q> {
    /// Folds `query` (so a hand-built query matches like a parsed one).
    pub fn new(query: &'q Query) -> Self {
        let (terms, tags) = folded_parts(query);
        Matcher { query, terms, tags }
    }

    /// Whether `e` matches every part of the query; `buf` is reused to fold its text, and only
    /// once the cheap parts (star, relationship, tags) passed.
    pub fn matches(&self, e: &JournalEntry, buf: &mut String) -> bool {
        (!self.query.starred_only || e.starred)
            && self.query.about.is_none_or(|id| e.about.contains(&id))
            && self
                .tags
                .iter()
                .all(|tag| e.tags.iter().any(|have| same_tag(have, tag)))
            && (self.terms.is_empty() || {
                fold_into(&e.text, buf);
                contains_all(buf, &self.terms)
            })
    }
}

/// The query's text terms and tags folded as [`search`] compares them (empty terms dropped).
pub fn folded_parts(query: &Query) -> (Vec<String>, Vec<String>) {
    let terms = query
        .terms
        .iter()
        .map(|t| fold(t))
        .filter(|t| !t.is_empty())
        .collect();
    let tags = query
        .tags
        .iter()
        .map(|t| fold(t.strip_prefix('@').unwrap_or(t)))
        .collect();
    (terms, tags)
}

/// Whether folded text holds every folded term: the text test of [`search`].
pub fn contains_all(folded_text: &str, folded_terms: &[String]) -> bool {
    folded_terms
        .iter()
        .all(|t| folded_text.contains(t.as_str()))
}

/// Characters that make an `@` part of a word (an email address) rather than a tag.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '%' | '@')
}

/// The length in bytes of the tag at the start of `s`: letters and digits joined by `-` or `_`.
fn tag_len(s: &str) -> usize {
    // `end` is just past the last letter or digit, so trailing joiners ("@work-") are left out.
    let mut end = 0;
    for (i, c) in s.char_indices() {
        if c.is_alphanumeric() {
            end = i + c.len_utf8();
        } else if !(matches!(c, '-' | '_') && end > 0) {
            break;
        }
    }
    end
}

fn fold_char(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase().map(|l| if l == 'ς' { 'σ' } else { l })
}

/// [`fold`] into a reused buffer.
pub fn fold_into(text: &str, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        // The common case, and the fastest: a checked copy and a vectorised lowercase.
        out.push_str(text);
        out.make_ascii_lowercase();
        return;
    }
    let mut rest = text;
    // Runs of ASCII are lowercased byte-wise (fast, and most text is mostly ASCII); only the
    // other characters go through Unicode's tables.
    while !rest.is_empty() {
        let ascii = ascii_prefix_len(rest);
        let start = out.len();
        out.push_str(&rest[..ascii]);
        out[start..].make_ascii_lowercase();
        rest = &rest[ascii..];
        let other = rest.find(|c: char| c.is_ascii()).unwrap_or(rest.len());
        out.extend(rest[..other].chars().flat_map(fold_char));
        rest = &rest[other..];
    }
}

/// The length of the ASCII run `s` starts with, checked a chunk at a time (`[u8]::is_ascii` is
/// word-at-a-time, a byte loop is several times slower on long entries).
fn ascii_prefix_len(s: &str) -> usize {
    let mut len = 0;
    for chunk in s.as_bytes().chunks(32) {
        if !chunk.is_ascii() {
            return len + chunk.iter().take_while(|b| b.is_ascii()).count();
        }
        len += chunk.len();
    }
    len
}

/// Folds case as search does: Unicode lowercase, final sigma as sigma. The search index keeps
/// entries' text folded this way, so that it finds exactly what [`search`] finds.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// Whether a stored tag equals a folded query tag, without allocating.
fn same_tag(have: &str, folded: &str) -> bool {
    let have = have.strip_prefix('@').unwrap_or(have);
    if have.is_ascii() {
        have.eq_ignore_ascii_case(folded)
    } else {
        have.chars().flat_map(fold_char).eq(folded.chars())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn tags_are_at_words_lowercased_sorted_and_unique() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("no tags here", &[]),
            ("@work", &["work"]),
            ("tired after @work.", &["work"]),
            (
                "@Self-care and @work, then @WORK again",
                &["self-care", "work"],
            ),
            ("(@gym)/@home", &["gym", "home"]),
            ("mail a@b.com or first.last@example.org", &[]),
            ("@ alone, @-dash, @_x", &[]),
            ("@work- trailing and @snake_case_", &["snake_case", "work"]),
            ("@Día_libre y @ÉTÉ", &["día_libre", "été"]),
            ("@ΟΔΟΣ", &["οδοσ"]),
            ("@2026goals", &["2026goals"]),
            ("@@double", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(extract_tags(text), *want, "{text:?}");
        }
    }

    #[test]
    fn folding_lowercases_ascii_runs_and_unicode_alike() {
        let cases = [
            ("", ""),
            ("Plain ASCII, OK?", "plain ascii, ok?"),
            ("CAFÉ au LAIT", "café au lait"),
            ("ÀÉÎ—ÕÜ", "àéî—õü"),
            ("ΟΔΟΣ Οδός", "οδοσ οδόσ"),
            ("Straße STRASSE", "straße strasse"),
            ("日本語 ABC", "日本語 abc"),
            ("x\u{212A}y", "xky"), // the Kelvin sign lowercases to an ASCII k
        ];
        for (text, want) in cases {
            assert_eq!(fold(text), want, "{text:?}");
        }
    }

    #[test]
    fn queries_parse_into_tags_and_terms() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            // (input, terms, tags)
            ("", &[], &[]),
            ("@work tired", &["tired"], &["work"]),
            (
                "  Tired   @Work  @self-care ",
                &["tired"],
                &["work", "self-care"],
            ),
            ("\"long day\" @work", &["long day"], &["work"]),
            ("\"unclosed phrase", &["unclosed phrase"], &[]),
            ("@ a@b", &["@", "a@b"], &[]),
            ("ÉTÉ", &["été"], &[]),
        ];
        for (input, terms, tags) in cases {
            let q = Query::parse(input);
            assert_eq!(q.terms, *terms, "terms of {input:?}");
            assert_eq!(q.tags, *tags, "tags of {input:?}");
            assert_eq!((q.about, q.starred_only), (None, false));
        }
    }

    fn entry(at: i64, text: &str, about: &[Id], starred: bool) -> JournalEntry {
        JournalEntry {
            at: Timestamp(at),
            text: text.into(),
            tags: extract_tags(text),
            about: about.to_vec(),
            starred,
            principles: vec![],
        }
    }

    /// The id of entry "eN": ids that sort in the order of their labels, as ties are broken by id.
    fn entry_id(label: &str) -> Id {
        let n: u8 = label[1..].parse().unwrap();
        Id::from_bytes([0xe0 + n; 16])
    }

    fn journal() -> JournalDoc {
        let sam = Id::from_bytes([1; 16]);
        let kim = Id::from_bytes([2; 16]);
        let mut j = JournalDoc::default();
        for (id, e) in [
            (
                "e1",
                entry(10, "Tired after @work, called Sam", &[sam], false),
            ),
            ("e2", entry(30, "A calm day. @Self-care", &[], true)),
            ("e3", entry(20, "So TIRED. @work @gym", &[kim], true)),
            (
                "e4",
                entry(40, "Τελικά ήμουν ΚΟΥΡΑΣΜΈΝΟΣ @work", &[sam, kim], false),
            ),
            ("e5", entry(20, "tired, but fine", &[], false)),
        ] {
            j.entries.insert(entry_id(id), e);
        }
        j
    }

    #[test]
    fn search_matches_every_part_of_the_query_newest_first() {
        let sam = Id::from_bytes([1; 16]);
        let kim = Id::from_bytes([2; 16]);
        let j = journal();
        let parsed = |s: &str| Query::parse(s);
        let cases: &[(Query, &[&str])] = &[
            (parsed(""), &["e4", "e2", "e3", "e5", "e1"]),
            (parsed("tired"), &["e3", "e5", "e1"]),
            (parsed("@work tired"), &["e3", "e1"]),
            (parsed("@WORK @gym"), &["e3"]),
            (parsed("@work @self-care"), &[]),
            (parsed("\"so tired\""), &["e3"]),
            (parsed("tired sam"), &["e1"]),
            (parsed("κουρασμένος"), &["e4"]),
            (parsed("ΚΟΥΡΑΣΜΈΝΟΣ"), &["e4"]),
            (parsed("κουρασμενος"), &[]), // accents are not folded
            (parsed("nothing-like-this"), &[]),
            (
                Query {
                    about: Some(sam),
                    ..parsed("@work")
                },
                &["e4", "e1"],
            ),
            (
                Query {
                    about: Some(kim),
                    starred_only: true,
                    ..Query::default()
                },
                &["e3"],
            ),
            (
                Query {
                    starred_only: true,
                    ..Query::default()
                },
                &["e2", "e3"],
            ),
            // A hand-built query is folded like a parsed one.
            (
                Query {
                    terms: vec!["TIRED".into()],
                    tags: vec!["@Work".into()],
                    ..Query::default()
                },
                &["e3", "e1"],
            ),
        ];
        for (query, want) in cases {
            let got: Vec<Id> = search(&j, query).into_iter().map(|(id, _)| id).collect();
            let want: Vec<Id> = want.iter().map(|label| entry_id(label)).collect();
            assert_eq!(got, want, "{query:?}");
        }
    }

    #[test]
    fn ten_thousand_entries_are_searched_correctly() {
        let mut j = JournalDoc::default();
        let filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod \
                      tempor incididunt ut labore et dolore magna aliqua. ";
        for i in 0..10_000i64 {
            let mut text = filler.repeat(3);
            if i % 10 == 0 {
                text.push_str("Felt TIRED today. ");
            }
            if i % 4 == 0 {
                text.push_str("@work");
            }
            if i % 1000 == 0 {
                text.push_str(" — café");
            }
            j.entries
                .insert(Id::named(&format!("{i:05}")), entry(i, &text, &[], false));
        }
        let hits = search(&j, &Query::parse("@work tired"));
        assert_eq!(hits.len(), 500);
        assert_eq!(hits[0].0, Id::named("09980"), "newest first");
        assert_eq!(search(&j, &Query::parse("CAFÉ tired")).len(), 10);
    }
}
