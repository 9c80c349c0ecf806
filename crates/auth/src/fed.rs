//! State an authorizer answers from, kept in memory and fed by watch events.
//!
//! Authorizers run on every request, so they never read the store: each keeps
//! an index (RBAC's roles and bindings by subject, the Node authorizer's pod →
//! node graph) that a feed updates from the API server's watch caches. The
//! locking, the relist that swaps a whole new index in at once, and the mapping
//! of watch event types live here once, generic over the index and the object
//! type so this crate stays free of the API's types.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// An index a watch feed keeps: it takes in an object added or changed, and
/// lets go of one deleted.
pub trait Feed<O>: Default {
    fn apply(&mut self, object: &O);
    fn remove(&mut self, object: &O);
}

/// A shared, watch-fed index; clones share it, so the feed and the server stack
/// can each hold one.
pub struct Fed<S> {
    state: Arc<RwLock<S>>,
}

impl<S> Clone for Fed<S> {
    fn clone(&self) -> Self {
        Fed { state: self.state.clone() }
    }
}

impl<S: Default> Default for Fed<S> {
    fn default() -> Self {
        Fed { state: Arc::default() }
    }
}

impl<S> Fed<S> {
    /// The index as it stands. A writer that panicked left only whole entries
    /// behind (each update is one insert or removal), so a poisoned lock is read.
    pub fn read(&self) -> RwLockReadGuard<'_, S> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, S> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An object was added or changed.
    pub fn apply<O>(&self, object: &O)
    where
        S: Feed<O>,
    {
        self.write().apply(object);
    }

    /// An object was deleted.
    pub fn remove<O>(&self, object: &O)
    where
        S: Feed<O>,
    {
        self.write().remove(object);
    }

    /// Replaces the whole index with one built from `objects` (a relist), so
    /// requests never see a half-loaded index.
    pub fn replace<O>(&self, objects: impl IntoIterator<Item = O>)
    where
        S: Feed<O>,
    {
        let mut fresh = S::default();
        for object in objects {
            fresh.apply(&object);
        }
        *self.write() = fresh;
    }

    /// Feeds one watch event as the resource service names it (`ADDED`,
    /// `MODIFIED`, `DELETED`; bookmarks and errors carry nothing to keep).
    pub fn observe<O>(&self, event_type: &str, object: &O)
    where
        S: Feed<O>,
    {
        match event_type {
            "ADDED" | "MODIFIED" => self.apply(object),
            "DELETED" => self.remove(object),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[derive(Default)]
    struct Names(BTreeSet<String>);

    impl Feed<&'static str> for Names {
        fn apply(&mut self, object: &&'static str) {
            self.0.insert(object.to_string());
        }
        fn remove(&mut self, object: &&'static str) {
            self.0.remove(*object);
        }
    }

    fn names(fed: &Fed<Names>) -> Vec<String> {
        fed.read().0.iter().cloned().collect()
    }

    #[test]
    fn events_update_the_index_and_a_relist_replaces_it_whole() {
        let fed = Fed::<Names>::default();
        let clone = fed.clone();
        fed.observe("ADDED", &"a");
        fed.observe("MODIFIED", &"b");
        fed.observe("BOOKMARK", &"c");
        assert_eq!(names(&clone), ["a", "b"], "clones share the index; a bookmark keeps nothing");
        fed.observe("DELETED", &"a");
        assert_eq!(names(&fed), ["b"]);
        fed.replace(["x", "y"]);
        assert_eq!(names(&clone), ["x", "y"], "a relist leaves nothing of the old index");
    }
}
