//! [`EdgeTable`]: the examined objects of one shared collection and the edges the collector
//! recorded between them, when it traced every examined value once to subtract internal
//! references. The marking walks this table rather than tracing again, so that it sees exactly
//! the edges the subtraction saw.

use std::ptr::NonNull;

use super::tracked::TrackedLinks;

/// The examined objects of one collection and their recorded edges: the edges of member `i` are
/// `edges[offsets[i]..offsets[i + 1]]`, each the index of a member.
pub(crate) struct EdgeTable {
    /// The examined objects, by index, in the order the walk of the pages found them.
    pub(crate) members: Vec<NonNull<TrackedLinks>>,
    /// Where each member's edges start in `edges`, and (last) where the last one's end.
    pub(crate) offsets: Vec<u32>,
    /// The members' edges, as member indices.
    pub(crate) edges: Vec<u32>,
}

impl EdgeTable {
    /// An empty table.
    pub(crate) const fn new() -> Self {
        EdgeTable {
            members: Vec::new(),
            offsets: Vec::new(),
            edges: Vec::new(),
        }
    }
}

// SAFETY: addresses of thread-shared objects (their values are `Send + Sync`) and plain indices;
// the table lives in the collector's scratch, behind its mutex, and its addresses are
// dereferenced only by the collecting thread with the world stopped.
unsafe impl Send for EdgeTable {}
