//! Parallel marking: several threads trace one object graph, each object marked and scanned
//! exactly once.
//!
//! ## The algorithm
//!
//! Marking is the tricolour traversal: *white* objects have not been reached, *grey* ones have
//! been reached (marked) but not scanned, *black* ones have been scanned — every edge out of them
//! followed. Marking starts with the roots grey and ends when no grey object is left; the
//! reachable objects are then exactly the marked ones.
//!
//! To do it with several workers, the engine follows Endo, Taura and Yonezawa ("A Scalable
//! Mark-Sweep Garbage Collector on Large-Scale Shared-Memory Machines", SC 1997) and Flood,
//! Detlefs, Shavit and Zhang ("Parallel Garbage Collection for Shared Memory Multiprocessors",
//! JVM 2001):
//!
//! 1. **Per-worker stacks, work stealing.** Each worker keeps its grey objects in a private
//!    stack (a `Vec`: depth-first, no synchronisation at all) and, whenever its public deque is
//!    empty, moves the older half of that stack there; a worker that runs dry steals from the
//!    other end of someone else's deque ([`queue`]). Roots are handed out in chunks from a
//!    shared cursor — the injector. (Popping every object through the deque, as the first
//!    version did, cost crossbeam's fence per pop; 2 workers then marked 1.50× as fast as one,
//!    against 1.72–1.78× with the private stack.)
//! 2. **Atomic test-and-set mark, on the way out.** The stacks and deques hold *work items*:
//!    edges not yet followed, pushed untested. A worker takes an item, prefetches its object,
//!    and a few dozen items later tests it — is it a node of the graph, and does one atomic
//!    read-modify-write flip its mark? Only the worker that flips the bit scans the object, so
//!    every object is scanned by exactly one worker, however many edges lead to it. (Marking on
//!    the way in, as the first versions did, read each child's header the moment it was found,
//!    one cache miss after another: 1 worker marked 4 000 000 objects in 466 ms and 2 in 269;
//!    testing on the way out, 304 and 186.) In tricolour terms, an object is grey while an item
//!    names it and it is unmarked, or it is marked and being scanned.
//! 3. **Termination detection.** The phase ends when no worker holds, or can still obtain, a
//!    work item: a count of active workers that a worker leaves only with empty hands
//!    ([`termination`], and the protocol with its proof in `TERMINATION.md` beside this file).
//!
//! With one worker, none of this is needed: [`Marker::mark_from`] is a plain depth-first loop
//! (with the same prefetch FIFO and test on the way out) with a load and a store per mark, no
//! atomic read-modify-write and no deque.
//!
//! ## The parts
//!
//! | module | what | production | model checking (`loom-tests`) |
//! |---|---|---|---|
//! | [`engine`] | the [`Graph`] trait, [`Marker`], the worker loop | — | the same code |
//! | [`finger`] | [`FingerMarker`]: marking in walk order, sequential or in chunks | — | the same code |
//! | [`crate::sync`] | atomics, spin/yield | [`Std`](crate::sync::Std) | `Loom` |
//! | [`queue`] | per-worker deques | crossbeam-deque | `LoomDeque` |
//! | [`spawn`] | starting and joining workers | [`RayonPool`] | `LoomThreads` |
//! | [`headers`] | gclab's objects as a [`Graph`] | [`HeaderGraph`] | a small graph of loom atomics |
//!
//! The engine is generic over all of them, so the loom models run the engine's own marking,
//! stealing hand-off and termination logic, not a copy.
//!
//! ## Why other threads may trace a thread-local heap
//!
//! A gclab heap belongs to one thread: `Gc<T>` is `!Send`, headers are `Cell`s, and values need
//! not be `Sync`. Yet the workers read headers and run `Trace` impls on other threads. That is
//! sound because of *when* they do it, and of what they do:
//!
//! - **The owner is blocked.** The heap's thread starts the workers inside a collection and waits
//!   until every one has returned. Starting them happens-before anything they do, and their
//!   return happens-before the owner resumes, so every access by a worker is ordered with every
//!   access by the owner: none can race. While it waits, the owner runs no user code; the
//!   heap's objects are frozen.
//! - **Workers only read, but for mark words.** A worker reads headers (flags, the per-type
//!   record) and calls `Header::trace`, which runs the object's `Trace` impl. `Trace` impls are
//!   deterministic and side-effect free (rule 2 of [`Trace`](crate::Trace)'s safety contract):
//!   they report edges and write nothing. Concurrent reads are not data races. The one word a
//!   worker writes — the scratch word, for the mark — it writes through an atomic view
//!   ([`Header::scratch_atomic`](crate::Header::scratch_atomic)), and nobody accesses it
//!   non-atomically during the phase.
//! - **`GcCell` is a `RefCell` read from another thread.** Its `Trace` impl calls
//!   `try_borrow_unguarded`, which *reads* the borrow flag (a `Cell<isize>`) and, if the cell is
//!   not mutably borrowed, reads the value; it writes nothing (unlike `borrow`, which would
//!   increment and decrement the flag). The flag is written only by the owner thread, which is
//!   blocked in the collection, so these reads race with nothing. If the owner was holding a
//!   mutable borrow when the collection started, the flag says so, the cell reports no edges,
//!   and its contents count as externally referenced — as for the single-threaded detectors.
//! - **What `!Sync` still forbids.** A `Trace` impl that broke rule 2 by writing shared memory
//!   (say, `RefCell::borrow` on a cell that two objects share through an `Rc`) would race with
//!   another worker tracing the other object; one that depended on the thread it runs on
//!   (thread-locals) would see a worker's. Both already break `Trace`'s contract; the parallel
//!   marker is where the breach would become a data race rather than a wrong edge list.
//!
//! [`Header::scratch_atomic`]'s safety comment gives the same argument for the mark word.
//!
//! [`Header::scratch_atomic`]: crate::Header::scratch_atomic

pub mod engine;
pub mod finger;
pub mod headers;
pub mod queue;
pub mod spawn;
pub mod termination;

#[cfg(test)]
mod tests;

pub use engine::{
    Graph, MarkStats, Marker, WorkerStats, DEFAULT_ROOT_CHUNK, MARK_BIT, PREFETCH_DISTANCE,
};
pub use finger::{FingerGraph, FingerMarker, KeepAll, Retire, PASSED_BIT};
pub use headers::{is_marked, HeaderGraph, HeaderNode};
#[cfg(feature = "loom")]
pub use queue::LoomDeque;
pub use queue::{MutexDeque, MutexStealer, Steal, Stealer, WorkQueue};
#[cfg(feature = "loom")]
pub use spawn::LoomThreads;
pub use spawn::{RayonPool, ScopedThreads, Spawn};
pub use termination::{Termination, Wait};
