//! Records that know when the standby must hear of them. The world keeps its agents, calls
//! and campaign contacts in these containers: they read like a slice or a map, and the only
//! ways to change a record — `get_mut`, `insert`, `remove`, `clear` — mark it when what the
//! standby gets of it ([`Replicated::rep`]) changed. The replication link takes the marks every
//! interval and sends just those records, so the master never builds or compares its whole
//! state to find them. A record changed without these methods does not compile: the items
//! are private to this module.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};

/// A record as the standby gets it.
pub(super) trait Replicated {
    type Rep: PartialEq;
    fn rep(&self) -> Self::Rep;
}

/// How many more marks than live calls may pile up before the calls' marks give up (a feed
/// gone without saying so would otherwise collect the CallID of every call that ends).
const CALL_MARKS_SLACK: usize = 4096;

/// Which records changed since the marks were last taken.
#[derive(Debug)]
struct Marks<K> {
    /// Marks are kept while a standby is fed; otherwise nobody needs them and they cost nothing.
    on: bool,
    /// Too many piled up: the next update must be the whole state.
    lost: bool,
    keys: BTreeSet<K>,
}

impl<K> Default for Marks<K> {
    fn default() -> Self {
        Marks {
            on: false,
            lost: false,
            keys: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Copy> Marks<K> {
    fn wanted(&self) -> bool {
        self.on && !self.lost
    }

    fn mark(&mut self, key: K, limit: usize) {
        if !self.wanted() {
            return;
        }
        self.keys.insert(key);
        if self.keys.len() > limit {
            self.lost = true;
            self.keys.clear();
        }
    }

    fn start(&mut self) {
        self.on = true;
        self.lost = false;
        self.keys.clear();
    }

    fn stop(&mut self) {
        *self = Marks::default();
    }

    /// The keys marked since the last take; `None` when marks are off or were lost.
    fn take(&mut self) -> Option<BTreeSet<K>> {
        self.wanted().then(|| std::mem::take(&mut self.keys))
    }
}

/// A record borrowed for change: when it is given back (dropped) it is marked if its
/// replicated form is not what it was.
pub(super) struct RecordMut<'a, K: Ord + Copy, T: Replicated> {
    item: &'a mut T,
    key: K,
    marks: &'a mut Marks<K>,
    limit: usize,
    /// Its replicated form before the change (`None`: marks are off).
    before: Option<T::Rep>,
}

impl<'a, K: Ord + Copy, T: Replicated> RecordMut<'a, K, T> {
    fn new(item: &'a mut T, key: K, marks: &'a mut Marks<K>, limit: usize) -> Self {
        let before = marks.wanted().then(|| item.rep());
        RecordMut {
            item,
            key,
            marks,
            limit,
            before,
        }
    }
}

impl<K: Ord + Copy, T: Replicated> Deref for RecordMut<'_, K, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.item
    }
}

impl<K: Ord + Copy, T: Replicated> DerefMut for RecordMut<'_, K, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.item
    }
}

impl<K: Ord + Copy, T: Replicated> Drop for RecordMut<'_, K, T> {
    fn drop(&mut self) {
        if let Some(before) = self.before.take() {
            if self.item.rep() != before {
                self.marks.mark(self.key, self.limit);
            }
        }
    }
}

/// A fixed list of records (agents, campaign contacts), marked by their place.
pub(super) struct List<T: Replicated> {
    items: Vec<T>,
    marks: Marks<usize>,
}

impl<T: Replicated> List<T> {
    pub(super) fn new(items: Vec<T>) -> Self {
        List {
            items,
            marks: Marks::default(),
        }
    }

    pub(super) fn get_mut(&mut self, i: usize) -> Option<RecordMut<'_, usize, T>> {
        let item = self.items.get_mut(i)?;
        Some(RecordMut::new(item, i, &mut self.marks, usize::MAX))
    }

    /// Mark from now on, starting from nothing marked.
    pub(super) fn start_marks(&mut self) {
        self.marks.start();
    }

    pub(super) fn stop_marks(&mut self) {
        self.marks.stop();
    }

    /// The places marked since the last take (`None`: marks are off or were lost).
    pub(super) fn take_marks(&mut self) -> Option<BTreeSet<usize>> {
        self.marks.take()
    }
}

impl<T: Replicated> Deref for List<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<'a, T: Replicated> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// Records by CallID (calls), marked by their ID: one that is gone when the marks are taken
/// was removed.
pub(super) struct Map<T: Replicated> {
    items: BTreeMap<u32, T>,
    marks: Marks<u32>,
}

impl<T: Replicated> Map<T> {
    pub(super) fn new() -> Self {
        Map {
            items: BTreeMap::new(),
            marks: Marks::default(),
        }
    }

    fn limit(&self) -> usize {
        self.items.len().saturating_add(CALL_MARKS_SLACK)
    }

    pub(super) fn get_mut(&mut self, id: &u32) -> Option<RecordMut<'_, u32, T>> {
        let limit = self.limit();
        let item = self.items.get_mut(id)?;
        Some(RecordMut::new(item, *id, &mut self.marks, limit))
    }

    pub(super) fn insert(&mut self, id: u32, item: T) -> Option<T> {
        let limit = self.limit();
        self.marks.mark(id, limit);
        self.items.insert(id, item)
    }

    pub(super) fn remove(&mut self, id: &u32) -> Option<T> {
        let gone = self.items.remove(id)?;
        let limit = self.limit();
        self.marks.mark(*id, limit);
        Some(gone)
    }

    pub(super) fn clear(&mut self) {
        let limit = self.limit();
        for id in self.items.keys() {
            self.marks.mark(*id, limit);
        }
        self.items.clear();
    }

    /// Mark from now on, starting from nothing marked.
    pub(super) fn start_marks(&mut self) {
        self.marks.start();
    }

    pub(super) fn stop_marks(&mut self) {
        self.marks.stop();
    }

    /// The IDs marked since the last take (`None`: marks are off or were lost).
    pub(super) fn take_marks(&mut self) -> Option<BTreeSet<u32>> {
        self.marks.take()
    }
}

impl<T: Replicated> Deref for Map<T> {
    type Target = BTreeMap<u32, T>;
    fn deref(&self) -> &BTreeMap<u32, T> {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Rec {
        shown: u32,
        local: u32,
    }

    impl Replicated for Rec {
        type Rep = u32;
        fn rep(&self) -> u32 {
            self.shown
        }
    }

    fn rec(shown: u32) -> Rec {
        Rec { shown, local: 0 }
    }

    #[test]
    fn a_list_marks_what_changed_in_what_the_standby_gets_and_only_while_asked() {
        let mut list = List::new(vec![rec(0), rec(0), rec(0)]);
        if let Some(mut r) = list.get_mut(0) {
            r.shown = 1;
        }
        assert_eq!(
            list.take_marks(),
            None,
            "marks are off until a feed starts them"
        );
        list.start_marks();
        if let Some(mut r) = list.get_mut(1) {
            r.shown = 7;
        }
        if let Some(mut r) = list.get_mut(2) {
            r.local = 9; // not replicated: no mark
        }
        if let Some(mut r) = list.get_mut(0) {
            r.shown = 5;
            r.shown = 1; // back as it was: no mark
        }
        assert_eq!(list.take_marks(), Some(BTreeSet::from([1])));
        assert_eq!(list.take_marks(), Some(BTreeSet::new()));
        list.stop_marks();
        assert_eq!(list.take_marks(), None);
    }

    #[test]
    fn a_map_marks_new_changed_and_removed_records_and_gives_up_past_its_limit() {
        let mut map = Map::new();
        map.insert(1, rec(0));
        map.start_marks();
        map.insert(2, rec(0));
        if let Some(mut r) = map.get_mut(&1) {
            r.shown = 3;
        }
        map.remove(&9); // not there: nothing to tell
        assert_eq!(map.take_marks(), Some(BTreeSet::from([1, 2])));
        map.remove(&2);
        assert_eq!(map.take_marks(), Some(BTreeSet::from([2])));
        map.clear();
        assert_eq!(map.take_marks(), Some(BTreeSet::from([1])));
        // Nobody takes the marks: they pile up to the limit, then the next take says so.
        for id in 0..=u32::try_from(CALL_MARKS_SLACK).unwrap_or(u32::MAX) {
            map.insert(id, rec(0));
            map.remove(&id);
        }
        assert_eq!(map.take_marks(), None);
        map.start_marks();
        assert_eq!(map.take_marks(), Some(BTreeSet::new()));
    }
}
