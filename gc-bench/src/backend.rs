//! [`Backend`]: a memory manager as the workloads see it.
//!
//! Every workload builds its structures out of one kind of object, a *node*: a drop token (see
//! [`ledger`](crate::ledger)), a `u64` key, an optional byte payload (a separate boxed slice, so
//! that a workload can mix object sizes) and [`MAX_EDGES`] mutable edge slots, each empty or a
//! strong handle to another node. Trees, rings, lists, graphs and caches are all nodes and edges,
//! so each workload is written once, generic over `Backend`, and each memory manager needs only
//! an adapter that defines the node type and these few operations — with static dispatch, so the
//! adapters add nothing to the hot paths they measure.
//!
//! Two questions tell workloads how a backend copes with cycles:
//!
//! - [`Backend::breaks_cycles_by_hand`]: a backend with no cycle collector (`std::rc::Rc`) asks
//!   the workload to clear the edges of a cyclic structure before dropping it, as a careful `Rc`
//!   user does. A workload that cannot know which cycles are garbage (random graph churn) cannot
//!   run on such a backend, and says so ([`Workload::NEEDS_TRACING`](crate::workloads::Workload)).
//! - [`Backend::collects_automatically`]: a backend that never collects by itself (a manual
//!   schedule, `gcmodule`, `bacon_rajan_cc`) gets an explicit [`Backend::collect`] where a program
//!   would call `gc.collect()`: every so many steps, as each workload documents.

use std::time::Duration;

/// The number of edge slots in every node. Workloads document which slot means what.
pub const MAX_EDGES: usize = 4;

/// A memory manager, as the workloads use it. See the [module docs](self).
pub trait Backend {
    /// A strong handle to a node; cloning it adds a reference.
    type Handle: Clone;

    /// Allocates a node with `key`, a zeroed payload of `payload_len` bytes and empty edges.
    fn alloc(&self, key: u64, payload_len: usize) -> Self::Handle;

    /// The node's key.
    fn key(&self, node: &Self::Handle) -> u64;

    /// A new handle to the target of edge `slot` of `node`, if any.
    fn edge(&self, node: &Self::Handle, slot: usize) -> Option<Self::Handle>;

    /// Points edge `slot` of `node` at `target` (or clears it). The previous target's handle is
    /// dropped after the node's edges are released, so a cascade of frees never meets a borrowed
    /// cell.
    fn set_edge(&self, node: &Self::Handle, slot: usize, target: Option<Self::Handle>);

    /// Clears edge `slot` of `node` and returns its previous target.
    fn take_edge(&self, node: &Self::Handle, slot: usize) -> Option<Self::Handle>;

    /// Whether two handles point to the same node.
    fn same(&self, a: &Self::Handle, b: &Self::Handle) -> bool;

    /// A full collection, as `gc.collect()`: afterwards no unreachable node should remain (except
    /// under a policy that leaks cycles by design).
    fn collect(&self);

    /// Whether the workload must break cycles by hand before dropping them (the backend has no
    /// cycle collector and its users are expected to do that).
    fn breaks_cycles_by_hand(&self) -> bool {
        false
    }

    /// Whether the backend collects cycles by itself; if not, workloads call
    /// [`Backend::collect`] periodically.
    fn collects_automatically(&self) -> bool;

    /// Stops automatic collections until [`Backend::resume_automatic`], for a measurement in
    /// which one explicit collect call must do all the work. A no-op for backends that never
    /// collect by themselves.
    fn pause_automatic(&self) {}

    /// Lets automatic collections run again (the backend's default schedule).
    fn resume_automatic(&self) {}

    /// Whether the configured policy leaks garbage cycles by design (gclab's `none` detector): the
    /// drop check then expects leaked nodes instead of failing on them.
    fn leaks_cycles_by_design(&self) -> bool {
        false
    }

    /// The number of objects the collector tracks now, where the backend can tell.
    fn tracked(&self) -> Option<u64> {
        None
    }

    /// The backend's own counters so far (see [`BackendMetrics`]).
    fn metrics(&self) -> BackendMetrics;

    /// Takes the pauses recorded since the last call, oldest first.
    fn take_pauses(&self) -> Vec<Duration>;
}

/// What a backend can say about its own work. `None` where it cannot tell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackendMetrics {
    /// Objects allocated by the manager (every object, not only workload nodes).
    pub objects_allocated: Option<u64>,
    /// Objects whose memory went back to the allocator.
    pub objects_freed: Option<u64>,
    /// Bytes allocated, headers included.
    pub bytes_allocated: Option<u64>,
    /// Bytes freed.
    pub bytes_freed: Option<u64>,
    /// The most bytes live at once.
    pub peak_live_bytes: Option<u64>,
    /// The most objects tracked by the collector at once.
    pub peak_tracked: Option<u64>,
    /// Collections per generation, youngest first (one entry for a non-generational manager).
    pub collections: Vec<u64>,
    /// Objects examined by collections.
    pub examined: Option<u64>,
    /// Unreachable objects found by collections.
    pub collected: Option<u64>,
    /// Where the pauses come from: `"collector"` (every collection, automatic ones included) or
    /// `"explicit"` (only the collect calls the workload made: the manager's automatic
    /// collections cannot be observed from outside).
    pub pause_source: &'static str,
    /// Collections whose marking was split over several threads, for a manager that may split
    /// it (gclab's `mark-sweep:N` with N > 1); `None` for the others.
    pub split_markings: Option<u64>,
}
