//! [`DumpsterSyncBackend`]: the `dumpster` crate's thread-safe collector, `dumpster::sync` — a
//! reference-counted `Gc` whose drops to a non-zero count mark the object "dirty" in a
//! thread-local list, delivered to a global one; a collection searches the dirty objects'
//! reachable subgraphs for cycles whose counts are all internal. It collects by itself (when
//! more handles were dropped since the last collection than exist), on whichever thread drops
//! the handle that tips it over; those collections run inside the crate and are not timed. An
//! explicit [`SharedBackend::collect`] is timed as a whole.
//!
//! ## A work-around: no collection from inside a node's drop
//!
//! `dumpster` 2.1.0 can deadlock: a collection holds the crate's collecting lock (a
//! `parking_lot::RwLock`, not re-entrant) while it drops what it freed; each `Gc` dropped there
//! asks the collect condition, and if it says yes, the same thread calls the collection again and
//! waits for the lock it holds (seen in `shared-churn`: the other threads then wait for it too).
//! So this adapter's nodes drop their edges inside their own `Drop`, counting the depth in a
//! thread-local, and its collect condition — the crate's default otherwise — declines while a
//! node's drop is under way on the thread. A collection is then started only by a handle dropped
//! at the top level, as the workloads do; one triggered in a cascade waits for the next drop.

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use dumpster::sync::{collect, default_collect_condition, set_collect_condition, CollectInfo, Gc};
use dumpster::{TraceWith, Visitor};

use super::ledger::SharedToken;
use super::{Collection, SharedBackend, MAX_EDGES};

/// Collections in a row after a run (see [`DumpsterSyncBackend`]'s `final_collect`).
const FINAL_ROUNDS: usize = 16;

/// The edges of a node.
type Edges = Mutex<[Option<Gc<DumpsterSyncNode>>; MAX_EDGES]>;

/// A workload node behind `dumpster::sync::Gc`.
pub struct DumpsterSyncNode {
    _token: SharedToken,
    key: u64,
    /// Dropped by the node's `Drop`, inside the depth count (see the module docs).
    edges: ManuallyDrop<Edges>,
}

// SAFETY: the node's only handles are in `edges`, all visited in slot order through the `Mutex`
// impl (which reports a lock it cannot take as an error, as the crate requires).
unsafe impl<V: Visitor> TraceWith<V> for DumpsterSyncNode {
    fn accept(&self, visitor: &mut V) -> Result<(), ()> {
        (*self.edges).accept(visitor)
    }
}

thread_local! {
    /// How many node drops are under way on this thread.
    static DROPPING: Cell<usize> = const { Cell::new(0) };
}

impl Drop for DumpsterSyncNode {
    fn drop(&mut self) {
        /// Counts the drop out even if an edge's drop panics.
        struct Depth;
        impl Drop for Depth {
            fn drop(&mut self) {
                DROPPING.set(DROPPING.get() - 1);
            }
        }
        DROPPING.set(DROPPING.get() + 1);
        let _depth = Depth;
        // SAFETY: `edges` is dropped once, here, and never used after.
        unsafe { ManuallyDrop::drop(&mut self.edges) };
    }
}

/// The crate's default collect condition, except inside a node's drop (see the module docs).
fn not_while_dropping(info: &CollectInfo) -> bool {
    DROPPING.get() == 0 && default_collect_condition(info)
}

/// The `dumpster` crate, `sync` flavour.
#[derive(Debug)]
pub struct DumpsterSyncBackend {
    explicit: Mutex<Vec<Collection>>,
}

impl Default for DumpsterSyncBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl DumpsterSyncBackend {
    /// The crate's global collector, on its default schedule (but for the work-around in the
    /// module docs).
    pub fn new() -> Self {
        set_collect_condition(not_while_dropping);
        DumpsterSyncBackend {
            explicit: Mutex::new(Vec::new()),
        }
    }
}

impl SharedBackend for DumpsterSyncBackend {
    type Handle = Gc<DumpsterSyncNode>;

    #[inline]
    fn alloc(&self, key: u64) -> Self::Handle {
        Gc::new(DumpsterSyncNode {
            _token: SharedToken::new(),
            key,
            edges: ManuallyDrop::new(Mutex::new(Default::default())),
        })
    }

    #[inline]
    fn key(&self, node: &Self::Handle) -> u64 {
        node.key
    }

    #[inline]
    fn edge(&self, node: &Self::Handle, slot: usize) -> Option<Self::Handle> {
        node.edges.lock().unwrap_or_else(PoisonError::into_inner)[slot].clone()
    }

    #[inline]
    fn replace_edge(
        &self,
        node: &Self::Handle,
        slot: usize,
        target: Option<Self::Handle>,
    ) -> Option<Self::Handle> {
        let mut edges = node.edges.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut edges[slot], target)
    }

    #[inline]
    fn same(&self, a: &Self::Handle, b: &Self::Handle) -> bool {
        Gc::ptr_eq(a, b)
    }

    fn collect(&self) {
        let start = Instant::now();
        collect();
        let pause = start.elapsed();
        self.explicit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Collection {
                stop: None,
                pause,
                teardown: None,
                examined: None,
                found: None,
                phases: None,
                explicit: true,
            });
    }

    /// `dumpster::sync::collect` "might not collect every single unreachable allocation" (its
    /// docs): objects that a collection's own tear-down marks dirty wait for the next one. So the
    /// final collection is repeated.
    fn final_collect(&self) {
        for _ in 0..FINAL_ROUNDS {
            collect();
        }
    }

    /// "Due to concurrency issues, this might not collect every single unreachable allocation
    /// that currently exists" (`dumpster::sync::collect`'s docs): after a `shared-churn` run a
    /// few hundred of 300 000 nodes are sometimes left, however many times it is called.
    fn may_leave_garbage(&self) -> bool {
        true
    }

    fn take_collections(&self) -> Vec<Collection> {
        std::mem::take(&mut *self.explicit.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn pause_source(&self) -> &'static str {
        "explicit"
    }
}
