//! Thread-shared heaps: workloads whose objects several threads make, link, unlink and drop,
//! run on the memory managers a Rust program would share between threads — gclab's
//! [`gc_refcount::sync`], `std::sync::Arc`, and `dumpster::sync` — and measured by the same
//! runner and report as the single-threaded workloads (issue 9).
//!
//! ## The model
//!
//! It mirrors the single-threaded one ([`Backend`](crate::Backend), [`workloads`](crate::workloads))
//! with one difference that changes every type: a handle crosses threads. So the shared side has
//! its own small trait, [`SharedBackend`], whose handles are `Send + Sync` and whose nodes keep
//! their edges behind a lock, and its own workloads ([`SharedWorkloadId`]):
//!
//! | workload | what it is | what it measures |
//! |---|---|---|
//! | [`churn`] (`shared-churn`) | T threads (2 by default) mutate one graph: allocate nodes and small rings, link them to nodes other threads made, publish them in shared slots, unlink; a coordinator thread runs a full collection every few milliseconds | throughput (ns per node) against `Arc`; the collector's time to stop the world |
//! | [`producer_consumer`] (`producer-consumer`) | one thread allocates and sends batches through a channel, another drops them | the cross-thread drop: for biased counting, the queue to the owner and its merge |
//!
//! The backends ([`SharedBackendChoice`]):
//!
//! | name | what it is |
//! |---|---|
//! | `sync-biased` | `gc_refcount::sync::Gc` with biased reference counts (the default), `GcLock` edges |
//! | `sync-atomic` | the same with `AtomicCounts` (one atomic count, as `Arc`) |
//! | `sync-biased-gen`, `sync-atomic-gen` | the same two on the generational schedule (`SharedSchedule::Generational`): automatic collections examine the young objects, and every object once a quarter of the heap was promoted |
//! | `arc` | `std::sync::Arc` with `Mutex` edges; cycles broken by hand — the baseline |
//! | `dumpster-sync` | `dumpster::sync::Gc` with `Mutex` edges (with the `peers` feature) |
//!
//! ## Threads and the shared collector
//!
//! gclab's shared collector stops the world: every thread registered with the shared heap must
//! reach a safepoint (an allocation, [`sync::safepoint`](gc_refcount::sync::safepoint)) or be
//! inside a [`sync::blocking`](gc_refcount::sync::blocking) section. So every wait of a workload
//! thread for another thread — a barrier, a channel, a `join`, the coordinator's sleep — goes
//! through [`SharedBackend::wait`], which is a blocking section for gclab and a plain call for the
//! others; and a thread calls [`SharedBackend::safepoint`] before it ends, so that biased
//! counting merges what other threads queued to it.
//!
//! ## Measurement
//!
//! [`measure`] runs one (workload, backend) pair in this process and returns the same
//! [`RunRecord`](crate::record::RunRecord) as the single-threaded runs, so the runner, `gclab
//! run` and `report.json` handle both; the report summarises the shared runs apart, in the table
//! "Thread-shared heaps", with every time relative to `arc` measured in the same report. gclab's
//! collections come from [`take_collection_log`](gc_refcount::sync::take_collection_log): the
//! time to stop the world, the pause and the tear-down of every collection, automatic or
//! explicit.
//!
//! The drop check is kept by a [`ledger`] of its own, which books creations and drops per thread
//! (a shared counter would add a contended atomic to every operation measured).

pub mod arc;
pub mod choice;
pub mod churn;
#[cfg(feature = "peers")]
pub mod dumpster_sync;
pub mod gclab_sync;
pub mod ledger;
pub mod measure;
pub mod producer_consumer;
pub mod selection;
pub mod workload;

use std::time::Duration;

pub use choice::{SharedBackendChoice, SharedUser};
pub use workload::{SharedWorkload, SharedWorkloadId};

/// The number of edge slots of every shared node.
pub const MAX_EDGES: usize = 4;

/// A memory manager whose objects threads share, as the shared workloads use it. See the
/// [module docs](self).
///
/// A node is a drop token, a `u64` key and [`MAX_EDGES`] edge slots behind a lock; a handle is a
/// strong reference that any thread may clone, drop and send.
pub trait SharedBackend: Sync {
    /// A strong handle to a node.
    type Handle: Clone + Send + Sync + 'static;

    /// Allocates a node with `key` and empty edges, on the calling thread.
    fn alloc(&self, key: u64) -> Self::Handle;

    /// The node's key.
    fn key(&self, node: &Self::Handle) -> u64;

    /// A new handle to the target of edge `slot` of `node`, if any (under the node's lock).
    fn edge(&self, node: &Self::Handle, slot: usize) -> Option<Self::Handle>;

    /// Points edge `slot` of `node` at `target` (or clears it) under the node's lock, and returns
    /// the previous target — released by the caller after the lock is, so that a cascade of frees
    /// never runs under a lock.
    fn replace_edge(
        &self,
        node: &Self::Handle,
        slot: usize,
        target: Option<Self::Handle>,
    ) -> Option<Self::Handle>;

    /// Whether two handles point to the same node.
    fn same(&self, a: &Self::Handle, b: &Self::Handle) -> bool;

    /// Whether the workload must break its cycles by hand before dropping them (`Arc`).
    fn breaks_cycles_by_hand(&self) -> bool {
        false
    }

    /// A full collection, from the calling thread: afterwards no unreachable node should remain.
    /// A no-op for a backend without a cycle collector.
    fn collect(&self);

    /// Whether the collector may leave unreachable nodes behind even after
    /// [`final_collect`](SharedBackend::final_collect), as its documentation warns (`dumpster`'s
    /// "might not collect every single unreachable allocation"): the drop check then reports what
    /// was left instead of failing (a double drop still fails it).
    fn may_leave_garbage(&self) -> bool {
        false
    }

    /// The full collection after a run, which must leave no unreachable node behind: by default
    /// one [`collect`](SharedBackend::collect). Not timed as one of the run's collections.
    fn final_collect(&self) {
        self.collect();
    }

    /// Runs `f`, a wait for another thread (a join, a channel, a barrier, a sleep), in a way that
    /// lets a collection proceed without this thread: a blocking section for gclab.
    fn wait<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }

    /// A safepoint of the calling thread: for gclab, parks for a running collection and merges
    /// what other threads queued to this thread. Called by every workload thread before it ends.
    fn safepoint(&self) {}

    /// The collections since the last call, oldest first where the backend can tell (see
    /// [`Collection`]).
    fn take_collections(&self) -> Vec<Collection>;

    /// Where [`Collection`]s come from: `"collector"` (every collection, automatic ones
    /// included), `"explicit"` (only the workload's collect calls) or `"none"` (no collector).
    fn pause_source(&self) -> &'static str;
}

/// One collection of a shared heap, as far as the backend can tell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Collection {
    /// From the request to the moment every other registered thread was stopped: the
    /// time-to-safepoint (gclab only).
    pub stop: Option<Duration>,
    /// From the request to the restart: how long the other threads could not run heap code (for
    /// a backend that does not say, the collect call's duration).
    pub pause: Duration,
    /// The tear-down of the garbage after the restart (gclab only).
    pub teardown: Option<Duration>,
    /// Tracked objects examined (gclab only).
    pub examined: Option<u64>,
    /// Unreachable objects found (gclab only).
    pub found: Option<u64>,
    /// How long each step of the search for garbage took (gclab only).
    pub phases: Option<gc_refcount::sync::CollectionPhases>,
    /// An explicit [`SharedBackend::collect`] call — from a workload's coordinator, a thread that
    /// runs no heap code of its own, so that every mutator thread had to be stopped — rather than
    /// an automatic collection started at some mutator's allocation.
    pub explicit: bool,
}
