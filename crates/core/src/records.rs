//! [`Records`]: the records of one kind in a document, keyed by id and read one by one.
//!
//! A document is shared with people who upgrade at different times, so any record in it may have
//! been written by a newer tapin (a field of another type, a value out of this build's range) or
//! be damaged. Reading a map of records whole would let one such record take down the page that
//! shows all of them. A [`Records`] is read entry by entry instead: an entry whose key is not an
//! id, whose value does not have the record's shape, or that does not [`Validate`] is skipped and
//! counted ([`Records::unreadable`]); its neighbours are unaffected.
//!
//! Writing a `Records` back (autosurgeon's [`Reconcile`]) is a patch, never a replacement: it puts
//! the records it holds and deletes only those removed from it with [`Records::remove`]. An
//! entry it could not read is left exactly as it is in the document, so a device on this version
//! never erases what it does not understand.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use automerge::ObjId;
use autosurgeon::reconcile::{MapReconciler, NoKey};
use autosurgeon::{Hydrate, HydrateError, Prop, ReadDoc, Reconcile, Reconciler};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::Id;
use crate::validate::{Mode, Validate};

/// The longest key of an unreadable record kept for display: longer ones are cut.
const MAX_SHOWN_KEY: usize = 64;

/// One record that could not be read: its key as found in the document, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    /// The record's key in its map (cut to 64 characters).
    pub key: String,
    /// What was wrong with it, for logs and `--json`.
    pub why: String,
}

impl Unreadable {
    pub(crate) fn new(key: &str, why: impl fmt::Display) -> Self {
        let mut end = key.len().min(MAX_SHOWN_KEY);
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        Unreadable {
            key: key[..end].to_owned(),
            why: why.to_string(),
        }
    }
}

/// Records of one kind keyed by `K` (an [`Id`] unless said otherwise), read one by one; see the
/// module docs.
///
/// It reads like a `BTreeMap<K, T>` (it dereferences to one) and changes only through
/// [`Records::insert`], [`Records::remove`] and [`Records::get_mut`], so that writing it back
/// knows exactly what was removed.
#[derive(Clone, PartialEq, Eq)]
pub struct Records<T, K = Id> {
    items: BTreeMap<K, T>,
    unreadable: Vec<Unreadable>,
    removed: BTreeSet<K>,
}

impl<T, K> Default for Records<T, K> {
    fn default() -> Self {
        Records {
            items: BTreeMap::new(),
            unreadable: Vec::new(),
            removed: BTreeSet::new(),
        }
    }
}

impl<T: fmt::Debug, K: fmt::Debug> fmt::Debug for Records<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Records");
        d.field("items", &self.items);
        if !self.unreadable.is_empty() {
            d.field("unreadable", &self.unreadable);
        }
        d.finish()
    }
}

impl<T, K> Deref for Records<T, K> {
    type Target = BTreeMap<K, T>;

    fn deref(&self) -> &Self::Target {
        &self.items
    }
}

impl<T, K: Ord> Records<T, K> {
    /// No records.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a record.
    pub fn insert(&mut self, key: K, value: T) -> Option<T> {
        self.removed.remove(&key);
        self.items.insert(key, value)
    }

    /// Takes in the records read from another document of the same kind (the journal's months):
    /// their records and their unreadable ones. A key in both keeps `other`'s record.
    pub fn absorb(&mut self, other: Records<T, K>) {
        self.items.extend(other.items);
        self.unreadable.extend(other.unreadable);
    }

    /// Removes a record; writing these records back deletes it from the document.
    pub fn remove(&mut self, key: &K) -> Option<T>
    where
        K: Clone,
    {
        let removed = self.items.remove(key);
        if removed.is_some() {
            self.removed.insert(key.clone());
        }
        removed
    }

    /// A record to change in place.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut T> {
        self.items.get_mut(key)
    }

    /// Every record, to change in place.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.items.values_mut()
    }

    /// The records of the document that could not be read, and why.
    pub fn unreadable(&self) -> &[Unreadable] {
        &self.unreadable
    }

    /// The readable records, consumed.
    pub fn into_items(self) -> BTreeMap<K, T> {
        self.items
    }
}

impl<T, K: Ord> FromIterator<(K, T)> for Records<T, K> {
    fn from_iter<I: IntoIterator<Item = (K, T)>>(iter: I) -> Self {
        Records {
            items: iter.into_iter().collect(),
            ..Self::default()
        }
    }
}

impl<T, K: Ord> From<BTreeMap<K, T>> for Records<T, K> {
    fn from(items: BTreeMap<K, T>) -> Self {
        Records {
            items,
            ..Self::default()
        }
    }
}

impl<'a, T, K> IntoIterator for &'a Records<T, K> {
    type Item = (&'a K, &'a T);
    type IntoIter = std::collections::btree_map::Iter<'a, K, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<T, K> IntoIterator for Records<T, K> {
    type Item = (K, T);
    type IntoIter = std::collections::btree_map::IntoIter<K, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<T, K> Hydrate for Records<T, K>
where
    T: Hydrate + Validate,
    K: FromStr + Ord,
    K::Err: fmt::Display,
{
    fn hydrate_map<D: ReadDoc>(doc: &D, obj: &ObjId) -> Result<Self, HydrateError> {
        let mut records = Records::default();
        for item in doc.map_range(obj, ..) {
            let key = item.key.as_ref();
            let id = match key.parse::<K>() {
                Ok(id) => id,
                Err(err) => {
                    records.unreadable.push(Unreadable::new(key, err));
                    continue;
                }
            };
            let value = T::hydrate(doc, obj, Prop::Key(key.to_owned().into()))
                .map_err(|err| err.to_string())
                .and_then(|v| {
                    v.validate(Mode::Read)
                        .map(|()| v)
                        .map_err(|err| err.to_string())
                });
            match value {
                Ok(value) => {
                    records.items.insert(id, value);
                }
                Err(why) => records.unreadable.push(Unreadable::new(key, why)),
            }
        }
        Ok(records)
    }
}

impl<T: Reconcile, K: fmt::Display> Reconcile for Records<T, K> {
    type Key<'a> = NoKey;

    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        let mut map = reconciler.map()?;
        for (key, value) in &self.items {
            map.put(key.to_string(), value)?;
        }
        for key in &self.removed {
            let key = key.to_string();
            if map.entry(&key).is_some() {
                map.delete(&key)?;
            }
        }
        Ok(())
    }
}

impl<T: Serialize, K: Serialize> Serialize for Records<T, K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>, K: Deserialize<'de> + Ord> Deserialize<'de> for Records<T, K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(Records::from)
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::*;
    use crate::model::Boundary;
    use crate::time::Timestamp;

    fn boundary(text: &str) -> Boundary {
        Boundary {
            on: None,
            text: text.into(),
            created: Timestamp(1),
        }
    }

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 16])
    }

    /// A map at the root under "b" holding what `f` writes.
    fn doc_with(f: impl FnOnce(&mut AutoCommit, &ObjId)) -> AutoCommit {
        let mut d = AutoCommit::new();
        let map = d.put_object(ROOT, "b", automerge::ObjType::Map).unwrap();
        f(&mut d, &map);
        d
    }

    fn read(d: &AutoCommit) -> Records<Boundary> {
        autosurgeon::hydrate_prop(d, &ROOT, "b").unwrap()
    }

    #[test]
    fn one_unreadable_record_does_not_hide_its_neighbours() {
        let d = doc_with(|d, map| {
            autosurgeon::reconcile_prop(d, map, id(1).to_string().as_str(), boundary("kept"))
                .unwrap();
            // Not an id, a value of another shape, and a field of another type.
            autosurgeon::reconcile_prop(d, map, "x", boundary("bad key")).unwrap();
            d.put(map, id(2).to_string(), "not a record").unwrap();
            let bad = d
                .put_object(map, id(3).to_string(), automerge::ObjType::Map)
                .unwrap();
            d.put(&bad, "text", 7).unwrap();
            d.put(&bad, "created", 1).unwrap();
        });
        let records = read(&d);
        assert_eq!(records.keys().copied().collect::<Vec<_>>(), [id(1)]);
        assert_eq!(records[&id(1)].text, "kept");
        let keys: Vec<&str> = records
            .unreadable()
            .iter()
            .map(|u| u.key.as_str())
            .collect();
        assert_eq!(keys.len(), 3, "{:?}", records.unreadable());
        assert!(keys.contains(&"x"));
    }

    #[test]
    fn writing_back_keeps_what_could_not_be_read_and_deletes_only_what_was_removed() {
        let mut d = doc_with(|d, map| {
            for n in 1..=3 {
                autosurgeon::reconcile_prop(d, map, id(n).to_string().as_str(), boundary("b"))
                    .unwrap();
            }
            d.put(map, id(9).to_string(), "from a newer tapin").unwrap();
        });
        let mut records = read(&d);
        assert_eq!(records.len(), 3);
        records.remove(&id(2));
        records.get_mut(&id(3)).unwrap().text = "changed".into();
        autosurgeon::reconcile_prop(&mut d, ROOT, "b", &records).unwrap();

        let again = read(&d);
        assert_eq!(again.keys().copied().collect::<Vec<_>>(), [id(1), id(3)]);
        assert_eq!(again[&id(3)].text, "changed");
        let map = match d.get(&ROOT, "b").unwrap() {
            Some((_, map)) => map,
            None => panic!("the map is gone"),
        };
        let (value, _) = d.get(&map, id(9).to_string().as_str()).unwrap().unwrap();
        assert_eq!(
            value.into_string().ok().as_deref(),
            Some("from a newer tapin")
        );
    }

    #[test]
    fn serialises_as_a_plain_map() {
        let records: Records<Boundary> = [(id(1), boundary("a"))].into_iter().collect();
        let json = serde_json::to_value(&records).unwrap();
        assert_eq!(json[id(1).to_string()]["text"], "a");
        let back: Records<Boundary> = serde_json::from_value(json).unwrap();
        assert_eq!(back, records);
        let bad = serde_json::json!({ "x": { "text": "a", "created": 1 } });
        assert!(serde_json::from_value::<Records<Boundary>>(bad).is_err());
    }
}
