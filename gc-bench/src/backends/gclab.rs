//! [`GclabBackend`]: gclab's own heap, under any configuration
//! [`HeapConfig::from_name`](gc_refcount::HeapConfig::from_name) accepts.
//!
//! Nodes are `Gc<GclabNode>` with their edges in a `GcCell` — exactly what a gclab user writes.
//! The heap is the current thread's; [`GclabBackend::configure`] configures it by name, so it
//! must run on a thread whose heap is still empty (the runner gives every run a fresh thread).
//! Pauses, collections and counters come from the heap itself (`gc::stats`,
//! `gc::take_collection_records`), so automatic collections are measured as well as explicit
//! ones; the peak of tracked objects is the heap's own high-water mark.

use std::time::Duration;

use gc_refcount::gc;
use gc_refcount::{ConfigError, Gc, GcCell, HeapConfig, MarkSweep, Trace};

use crate::backend::{Backend, BackendMetrics, MAX_EDGES};
use crate::ledger::DropToken;

/// A workload node in gclab's heap.
#[derive(Trace)]
pub struct GclabNode {
    /// Counts this node's drop in the ledger; holds no `Gc`.
    #[trace(skip)]
    token: DropToken,
    key: u64,
    payload: Box<[u8]>,
    edges: GcCell<[Option<Gc<GclabNode>>; MAX_EDGES]>,
}

impl GclabNode {
    /// The node's payload (kept so the payload is part of the object, not optimised away).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The node's drop token.
    pub fn token(&self) -> &DropToken {
        &self.token
    }
}

/// gclab's heap on the current thread, configured by name.
pub struct GclabBackend {
    full_name: String,
    automatic: bool,
    leaks_cycles: bool,
    /// Whether the detector may split its marking over several threads (`mark-sweep:N`, N > 1).
    splits_marking: bool,
}

impl GclabBackend {
    /// Configures this thread's heap as `name` and turns the per-collection log on.
    ///
    /// Fails if the name is not a configuration or if this thread's heap already holds objects.
    pub fn configure(name: &str) -> Result<GclabBackend, ConfigError> {
        let config = HeapConfig::from_name(name)?;
        let full_name = config.name();
        gc::configure(config)?;
        gc::record_collections(true);
        let parts: Vec<&str> = full_name.split('/').collect();
        Ok(GclabBackend {
            automatic: !parts.contains(&"manual"),
            leaks_cycles: parts.contains(&"none"),
            splits_marking: parts
                .first()
                .and_then(|detector| MarkSweep::from_name(detector))
                .is_some_and(|detector| detector.workers() > 1),
            full_name,
        })
    }

    /// The configuration's full name (`trial-deletion/cpython312/system`).
    pub fn full_name(&self) -> &str {
        &self.full_name
    }
}

impl Drop for GclabBackend {
    fn drop(&mut self) {
        gc::record_collections(false);
    }
}

impl Backend for GclabBackend {
    type Handle = Gc<GclabNode>;

    #[inline]
    fn alloc(&self, key: u64, payload_len: usize) -> Gc<GclabNode> {
        Gc::new(GclabNode {
            token: DropToken::new(),
            key,
            payload: vec![0u8; payload_len].into_boxed_slice(),
            edges: GcCell::new(Default::default()),
        })
    }

    #[inline]
    fn key(&self, node: &Gc<GclabNode>) -> u64 {
        node.key
    }

    #[inline]
    fn edge(&self, node: &Gc<GclabNode>, slot: usize) -> Option<Gc<GclabNode>> {
        node.edges.borrow()[slot].clone()
    }

    #[inline]
    fn set_edge(&self, node: &Gc<GclabNode>, slot: usize, target: Option<Gc<GclabNode>>) {
        let old = std::mem::replace(&mut node.edges.borrow_mut()[slot], target);
        drop(old);
    }

    #[inline]
    fn take_edge(&self, node: &Gc<GclabNode>, slot: usize) -> Option<Gc<GclabNode>> {
        node.edges.borrow_mut()[slot].take()
    }

    #[inline]
    fn same(&self, a: &Gc<GclabNode>, b: &Gc<GclabNode>) -> bool {
        Gc::ptr_eq(a, b)
    }

    fn collect(&self) {
        gc::collect();
    }

    fn collects_automatically(&self) -> bool {
        self.automatic
    }

    fn pause_automatic(&self) {
        gc::disable();
    }

    fn resume_automatic(&self) {
        gc::enable();
    }

    fn leaks_cycles_by_design(&self) -> bool {
        self.leaks_cycles
    }

    fn tracked(&self) -> Option<u64> {
        Some(gc::tracked_count() as u64)
    }

    fn metrics(&self) -> BackendMetrics {
        let stats = gc::stats();
        BackendMetrics {
            objects_allocated: Some(stats.objects_allocated),
            objects_freed: Some(stats.objects_freed),
            bytes_allocated: Some(stats.bytes_allocated),
            bytes_freed: Some(stats.bytes_freed),
            peak_live_bytes: Some(stats.peak_live_bytes),
            peak_tracked: Some(stats.peak_tracked_objects as u64),
            collections: stats
                .generations
                .iter()
                .map(|g| g.collections as u64)
                .collect(),
            examined: Some(stats.generations.iter().map(|g| g.examined as u64).sum()),
            collected: Some(stats.generations.iter().map(|g| g.collected as u64).sum()),
            pause_source: "collector",
            split_markings: self.splits_marking.then(|| {
                stats
                    .generations
                    .iter()
                    .map(|g| g.split_markings as u64)
                    .sum()
            }),
        }
    }

    fn take_pauses(&self) -> Vec<Duration> {
        gc::take_collection_records()
            .into_iter()
            .map(|record| record.pause)
            .collect()
    }
}
