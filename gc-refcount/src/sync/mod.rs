//! Thread-shared objects: [`Gc<T>`] handles that any thread may clone, drop and read,
//! [`GcLock<T>`] to mutate them, and [`AtomicGc<T>`] slots to share them mutably — free-threaded
//! CPython's object model (PEP 703), in Rust.
//!
//! ```
//! use gc_refcount::sync::{self, AtomicGc, Gc, GcLock};
//! use gc_refcount::Trace;
//!
//! #[derive(Trace)]
//! struct Node { value: u32, next: GcLock<Option<Gc<Node>>> }
//!
//! let first = Gc::new(Node { value: 1, next: GcLock::new(None) });
//! let slot = AtomicGc::new(Some(first.clone()));
//! std::thread::scope(|s| {
//!     for i in 0..2 {
//!         let slot = &slot;
//!         s.spawn(move || {
//!             let seen = slot.load().unwrap();              // a counted handle
//!             let node = Gc::new(Node { value: 10 + i, next: GcLock::new(Some(seen)) });
//!             slot.store(Some(node));                       // the old one's count drops
//!         });
//!     }
//! });
//! let last = slot.load().unwrap();
//! assert!(last.value >= 10);
//! drop((first, last, slot));
//! sync::safepoint(); // merge what other threads dropped of this thread's objects
//! ```
//!
//! ## The model
//!
//! A shared object is a header and a value, counted like an `Arc`: each [`Gc`] handle and each
//! [`AtomicGc`] slot holds one reference, and the value is dropped — exactly once, on whichever
//! thread lets go last — when none remains. *How* the count is kept is a type parameter, the
//! counting discipline ([`Counts`]):
//!
//! - [`BiasedCounts`] (the default): the thread that allocated an object *owns* it and counts its
//!   references with plain loads and stores; other threads use an atomic count. When another
//!   thread drops a reference the owner counted, it queues the object to the owner, which
//!   merges the two counts at its next *safepoint*: its next allocation or [`safepoint()`] call.
//!   See [`BiasedCounts`] for the protocol.
//! - [`AtomicCounts`]: one atomic count, as `Arc`.
//!
//! [`AtomicGc::load`] may race with a `store` that drops the last reference to the object it is
//! loading; crossbeam-epoch keeps that object's memory until the loader is done, and the count is
//! never raised from zero. See [`AtomicGc`] for exactly which frees are deferred and why.
//!
//! ## What is not built yet
//!
//! This is the first part of the shared heap. **Cycles are not collected**: a cycle of shared
//! objects (through `GcLock`s) leaks until the shared collector lands — there is no
//! `sync::collect()` yet. Neither is the stop-the-world machinery: no registry of mutators to
//! stop, no `sync::blocking`; a safepoint today only merges the biased counts queued to the
//! calling thread. A thread that never allocates again and never calls [`safepoint()`] keeps the
//! objects queued to it (they are merged when it exits). [`Gc`] does not report its edges to a
//! [`Visitor`](gc_core::Visitor) (to the thread-local heaps a shared object is outside, like an
//! `Arc`); the shared collector will need a second kind of edge in gc-core's `Visitor`. Dropping
//! a very long chain of shared objects recurses (there is no trashcan for shared objects yet).
//!
//! ## Where the unsafe code is
//!
//! `object.rs` (layout, allocation, the free), `handle.rs` (`Gc`), `atomic.rs` (`AtomicGc`), the
//! counting disciplines `counts.rs` and `biased.rs`, and `runtime.rs` (crossbeam-epoch, memory).
//! Every concurrent step goes through the runtime's atomics (gc-core's sync facade), so that the
//! models in `loom-tests` check this code, not a copy.

mod atomic;
mod biased;
mod counts;
mod handle;
mod lock;
mod object;
mod runtime;

pub use atomic::{AtomicGc, CompareExchangeError};
pub use biased::{BiasedCounts, Queued};
pub use counts::{AtomicCounts, Counts};
pub use handle::Gc;
pub use lock::{GcLock, GcLockGuard};
pub use object::{SharedHeader, SharedTypeInfo};
#[cfg(feature = "loom")]
pub use runtime::exit_loom_thread;
pub use runtime::{Runtime, ANONYMOUS};

/// A safepoint for the calling thread: merges the shared objects that other threads queued to
/// it (biased counting), freeing those whose last reference is gone. Every allocation of a shared
/// object is one too. Cheap when nothing is queued.
///
/// Stop-the-world collection will also stop here; it is not built yet.
pub fn safepoint() {
    <BiasedCounts as Counts>::safepoint();
}
