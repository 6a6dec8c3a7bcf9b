//! Reflections: the four paired questions, answered about one relationship. Private: they live in
//! the private document and never leave this person's devices.

use serde::Serialize;
use tapin_core::docs;
use tapin_core::model::{PairedAnswer, Reflection, Relationship};
use tapin_core::views::reflection::{RedFlag, red_flags};
use tapin_core::{DocId, Id};

use crate::error::{Error, Result};
use crate::home::{Home, checked, random_id};
use crate::reading::{Docs, find_person};

/// A reflection saved, with the red flags in its answers (for its author alone).
#[derive(Debug, Clone, Serialize)]
pub struct Reflected {
    /// Its id.
    pub id: Id,
    /// The reflection.
    pub reflection: Reflection,
    /// Red flags in the answers.
    pub red_flags: Vec<RedFlag>,
    /// What I call the person.
    #[serde(skip)]
    pub person: String,
}

impl Home {
    /// Finds a relationship by name (case-insensitive), unique name prefix, or id prefix. A
    /// lookup a front-end makes before the use case it leads to, so it writes nothing, not even
    /// a cache: a command that fails after it leaves the home as it was.
    pub fn find_person(&self, query: &str) -> Result<(Id, Relationship)> {
        self.peek(|r| find_person(&r.private()?, query))
    }

    /// Saves a reflection on the relationship `rel_id` (found with [`Home::find_person`] before
    /// the questions were asked): four pairs of answers (about them, about me) and a note.
    pub fn reflect(
        &self,
        rel_id: Id,
        answers: [(String, String); 4],
        note: String,
    ) -> Result<Reflected> {
        let id = random_id()?;
        let at = self.stamp();
        self.write(|w| {
            let rel = w
                .private()?
                .relationships
                .get(&rel_id)
                .cloned()
                .ok_or_else(|| Error::not_found("the relationship was removed"))?;
            let reflection = checked(
                "reflection",
                Reflection {
                    relationship: rel_id,
                    at,
                    answers: answers
                        .into_iter()
                        .map(|(about_them, about_me)| PairedAnswer {
                            about_them,
                            about_me,
                        })
                        .collect(),
                    note,
                },
            )?;
            w.update(DocId::Private, |d| {
                Ok(docs::put_reflection(d, id, &reflection)?)
            })?;
            Ok(Reflected {
                id,
                red_flags: red_flags(&reflection),
                reflection,
                person: rel.name,
            })
        })
    }
}
