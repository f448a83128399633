//! [`GclabSyncBackend`]: gclab's thread-shared heap, [`gc_refcount::sync`], under either counting
//! discipline — `sync-biased` ([`BiasedCounts`], the default: the allocating thread counts its
//! own references without atomics, other threads' drops are queued to it and merged at its
//! safepoints) or `sync-atomic` ([`AtomicCounts`]: one atomic count, as `Arc`).
//!
//! Nodes are `sync::Gc<SyncNode<C>, C>` with their edges in a `GcLock` — what a gclab user writes.
//! Cycles are found by the shared collector: automatically, on free-threaded CPython's schedule
//! (`sync-biased`, `sync-atomic`) or on the generational one (`sync-biased-gen`,
//! `sync-atomic-gen`: young collections, and full ones once a quarter of the heap was promoted),
//! with the default threshold (set when the backend is made), and fully at every
//! [`SharedBackend::collect`].
//! Every collection is read from [`sync::take_collection_log`]: time to stop the world, pause,
//! tear-down, objects examined and found.

use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use gc_refcount::sync::{
    self, AtomicCounts, BiasedCounts, Counts, Gc, GcLock, SharedCollection, SharedSchedule,
    DEFAULT_THRESHOLD,
};
use gc_refcount::{Trace, Visitor};

use super::ledger::SharedToken;
use super::{Collection, SharedBackend, MAX_EDGES};

/// The edge slots of a node counted by `C`.
type Edges<C> = GcLock<[Option<Gc<SyncNode<C>, C>>; MAX_EDGES]>;

/// A workload node in gclab's shared heap, counted by `C`.
pub struct SyncNode<C: Counts> {
    /// Books this node's drop; holds no handle.
    _token: SharedToken,
    key: u64,
    edges: Edges<C>,
}

// SAFETY: [1] the node's only handles are in `edges`, traced through `GcLock`'s impl (which
// reports every edge of the array when it can take the lock, none when it cannot: a missed edge,
// which `Trace` allows); the token and the key hold none; [2] the trace only reads; [3] the type
// may hold handles, so it is not a leaf. Written by hand because `#[derive(Trace)]` would ask the
// discipline `C` to be `Trace` (it appears in a traced field's type).
unsafe impl<C: Counts> Trace for SyncNode<C> {
    const MAY_CONTAIN_GC: bool = true;

    fn trace(&self, visitor: &mut dyn Visitor) {
        self.edges.trace(visitor);
    }
}

/// gclab's shared heap, counted by `C`.
pub struct GclabSyncBackend<C: Counts> {
    /// Collections taken from the log by [`SharedBackend::collect`] (its own, flagged explicit,
    /// and the automatic ones logged before it), until [`SharedBackend::take_collections`].
    log: Mutex<Vec<Collection>>,
    _counts: PhantomData<fn() -> C>,
}

/// `sync-biased`.
pub type BiasedBackend = GclabSyncBackend<BiasedCounts>;
/// `sync-atomic`.
pub type AtomicBackend = GclabSyncBackend<AtomicCounts>;

impl<C: Counts> GclabSyncBackend<C> {
    /// The shared heap with the default automatic-collection threshold and schedule (the
    /// free-threaded one) and an empty collection log. The shared heap is the process's: make
    /// one backend per run.
    pub fn new() -> Self {
        Self::with_schedule(SharedSchedule::FreeThreaded)
    }

    /// As [`new`](GclabSyncBackend::new), on `schedule`.
    pub fn with_schedule(schedule: SharedSchedule) -> Self {
        sync::set_threshold(DEFAULT_THRESHOLD);
        sync::set_schedule(schedule);
        let _ = sync::take_collection_log();
        GclabSyncBackend {
            log: Mutex::new(Vec::new()),
            _counts: PhantomData,
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Vec<Collection>> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C: Counts> Default for GclabSyncBackend<C> {
    fn default() -> Self {
        Self::new()
    }
}

/// A logged collection as the runner records it.
fn collection(logged: &SharedCollection, explicit: bool) -> Collection {
    Collection {
        stop: Some(logged.stop),
        pause: logged.pause,
        teardown: Some(logged.teardown),
        examined: Some(logged.examined as u64),
        found: Some(logged.found as u64),
        phases: Some(logged.phases),
        explicit,
    }
}

impl<C: Counts> SharedBackend for GclabSyncBackend<C> {
    type Handle = Gc<SyncNode<C>, C>;

    #[inline]
    fn alloc(&self, key: u64) -> Self::Handle {
        Gc::new_counted(SyncNode {
            _token: SharedToken::new(),
            key,
            edges: GcLock::new(Default::default()),
        })
    }

    #[inline]
    fn key(&self, node: &Self::Handle) -> u64 {
        node.key
    }

    #[inline]
    fn edge(&self, node: &Self::Handle, slot: usize) -> Option<Self::Handle> {
        node.edges.lock()[slot].clone()
    }

    #[inline]
    fn replace_edge(
        &self,
        node: &Self::Handle,
        slot: usize,
        target: Option<Self::Handle>,
    ) -> Option<Self::Handle> {
        std::mem::replace(&mut node.edges.lock()[slot], target)
    }

    #[inline]
    fn same(&self, a: &Self::Handle, b: &Self::Handle) -> bool {
        Gc::ptr_eq(a, b)
    }

    fn collect(&self) {
        sync::collect();
        // `collect` logs its collection before it returns, and until this thread reaches a
        // safepoint or a blocking section no other collection can stop the world, so none can
        // log after it: its entry is the last one. (A collection that stopped the world before
        // this one logs at the end of its tear-down, which this one's stop waited for.)
        let mut logged = sync::take_collection_log();
        let mine = logged.pop();
        let mut kept = self.kept();
        kept.extend(logged.iter().map(|c| collection(c, false)));
        kept.extend(mine.iter().map(|c| collection(c, true)));
    }

    #[inline]
    fn wait<R>(&self, f: impl FnOnce() -> R) -> R {
        sync::blocking(f)
    }

    #[inline]
    fn safepoint(&self) {
        sync::safepoint();
    }

    fn take_collections(&self) -> Vec<Collection> {
        let mut all = std::mem::take(&mut *self.kept());
        all.extend(
            sync::take_collection_log()
                .iter()
                .map(|c| collection(c, false)),
        );
        all
    }

    fn pause_source(&self) -> &'static str {
        "collector"
    }
}
