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
//! ## Cycles: the shared collector
//!
//! A cycle of shared objects (through `GcLock`s or `AtomicGc`s) is found by the shared
//! collector: [`collect()`] by hand, or automatically on free-threaded CPython's schedule
//! ([`set_threshold`]; a collection when the tracked objects allocated since the last one exceed
//! 2000 and a quarter of its survivors) — or on a generational schedule whose collections examine
//! the young objects only ([`SharedSchedule`], [`collect_young`]). A collection **stops the
//! world**: every thread that uses
//! the shared heap is registered, and stops at its next *safepoint* — every allocation is one,
//! [`safepoint()`] is another — or is claimed while it runs code declared with [`blocking`],
//! which does not touch the heap. Then trial deletion runs over the examined objects, and the
//! garbage is torn down once the world runs again. See [`collect`] for what a stopped thread may
//! hold and why tracing stays sound, and the `world` module (source) for the handshake, which
//! `loom-tests` checks.
//!
//! **The contract for threads:** a thread that waits for another thread (a `join`, a channel, a
//! std lock) outside a [`blocking`] section holds a collection up until the wait ends; an explicit
//! [`collect()`] waits for it, an automatic one gives up after [`AUTOMATIC_PATIENCE`] and tries
//! again later. [`GcLock::lock`] waits inside a blocking section on its own.
//!
//! ## What is not built yet
//!
//! No `sync::Weak`. Leaf objects carry the collector's number word unused (see
//! [`SharedHeader`]). A value aligned to more than 128 bytes cannot be shared yet (the pages
//! serve alignments up to that; such an allocation panics).
//!
//! The collection's trace and resolve walks are shared with the mutators parked at their
//! safepoints (the `help_board` module); its marking, its sweep and the tear-down run on the
//! collecting thread alone (a shared marking was tried: see the collector's `mark`), and only
//! the walks stop the world: the marking and the sweep follow the restart. Splitting
//! the walks in two halves, one on a second thread (a rayon pool of one), was tried first on the 2-core reference machine and not kept: on `shared-churn`
//! (`--scale medium`, about 57 000 examined objects) each half took 1.0–1.3 ms where the whole
//! walk took 1.5–2.2 ms on one thread — the walks wait on memory, and two cores did not wait
//! twice as fast — and waking the pool's thread took 30–90 µs, sometimes 600 µs. Over five
//! alternating runs, the medians of the numbering and resolving phases moved by +2 % and −8 %
//! (`sync-atomic`) and by −25 % and −39 % (`sync-biased`), the wall-time ratios within the
//! noise, and the `sync_collect` bench's collection of a cached heap got 25–35 % slower.
//!
//! Issue 9's target for `shared-churn` — at most twice `Arc`'s time, cycles broken by hand —
//! is not met. Median ratios (`--scale medium`, 2 mutators, 5 rounds of alternating runs, each
//! against `arc` in its round): 2.42× for `sync-atomic` and 3.21× for `sync-biased` with the
//! workload's full collection every 10 ms; 2.14× and 3.00× with `collect_ms=0` (automatic
//! collections only). Single rounds range from 1.6× to 4×: `arc` itself took 333–630 ms. Where
//! the time goes, for `sync-atomic`:
//!
//! - **Pauses**: 84 automatic collections (119 with the coordinator's) of about 52 000 examined
//!   objects, 4.2–4.4 ms each (p50), are about 40 % of the run. During a pause only the
//!   collecting thread works, and the stopped mutators' core idles (in one `perf` profile, 19 %
//!   of the samples were in `sched_yield` and the scheduler: the parked mutators' wait). Each
//!   collection examines the whole heap, and with a quarter of the steps making a ring the heap
//!   grows by a quarter every 10 ms or so: about three examinations per node allocated.
//! - **Tear-downs**: 115–210 ms per run (medians), on the collecting thread, with the world
//!   running.
//! - **The mutators' own work**, outside pauses: about 1.3× `arc`'s. `glibc`'s allocator takes
//!   about the same share of both profiles (13–16 % of the samples).
//! - **In CPU time** (`perf stat`, two runs each, `collect_ms=0`): `arc`'s run used 383–476 ms,
//!   `sync-atomic`'s 1229–1346 ms, of which 244–256 ms in the kernel — the parked mutators'
//!   `sched_yield` during pauses (the `world` module says why they yield rather than sleep).
//!   The runner now measures every run's CPU time (`cpu_ms`, and a column of the report's
//!   thread-shared table): over 7 rounds of alternating runs (`collect_ms=0`) `arc` used
//!   245–421 ms, and the medians of the per-round ratios were 3.09× for `sync-atomic` (wall
//!   time 2.64× in the same rounds) and 3.74× for `sync-biased` (2.94×), a fifth of it in the
//!   kernel. The CPU ratios were no steadier than the wall-time ones (2.4–4.2× for
//!   `sync-atomic`).
//!
//! So a stop-the-world collector of the whole heap on two cores stays above 2× on this workload
//! whatever its constant factors; what is left is the algorithm. Examining only what a
//! decrement could have made garbage (Bacon and Rajan's candidates, which the thread-local heap
//! has) was prototyped and not kept (branch `wip/shared-candidates`): a drop that may leave the
//! count above zero buffered the object, a buffered object freed kept its memory for the
//! collection, and automatic collections examined the candidates and what they reach. On
//! `shared-churn` every live node is read through a clone and a drop, so nearly every one became a
//! candidate: the examined objects fell only to 64 % (2.72 million over 84 collections, against
//! 4.25 million), the walk in discovery order lost the lists' locality (trace p50 2.5 ms for
//! about 32 000 objects, against 1.5–1.9 ms for 50 000), and the buffered objects' memory went
//! back on the collecting thread. Runs took 993–1025 ms against 814–902 with `collect_ms=0`, and
//! 1406 against 1095 with the default full collection every 10 ms (one or two runs each).
//!
//! Collecting concurrently with the mutators is what remains, so that the second core keeps
//! working during a collection. Trial deletion needs counts and edges that do not change while
//! it runs; the literature's answer is Bacon and Rajan's concurrent Recycler (ECOOP 2001): the
//! mutators log their count updates instead of applying them, a collector thread applies the
//! logs in epochs and searches candidates' subgraphs meanwhile, and a cycle it finds is freed
//! only if it passes two checks — its members' counts, recomputed, are all accounted for by
//! edges within it (the Σ-test), and no logged update touched a member during the search (the
//! Δ-test). That is a third counting discipline (deferred counts) beside the atomic and biased
//! ones, with its own loom models; the candidate buffers of the prototype above would carry over.
//!
//! How much there is to win by keeping both cores busy, bounded with the runner's CPU times
//! (7 rounds of alternating runs, `collect_ms=0`): `sync-atomic`'s user time, spread evenly over
//! the two cores, would take 1.76× `arc`'s wall time (median of the rounds; 1.29–2.13×), where
//! its runs took 2.58×; `sync-biased`'s 2.07× where its runs took 2.87×. (`arc`'s own threads
//! kept only 1.22–1.49 cores busy, `sync-atomic`'s 1.66–1.72, its parked mutators' yields
//! included.) So the target is within reach only if nearly all of the collector's work runs
//! beside the mutators' or is shared between both cores, and the Recycler's mutation logs, each
//! entry applied later to an object out of the cache, add work that eats into that margin on two
//! cores — its gains in the paper came from spare processors and from not counting stack
//! references, which a Rust library cannot scan. The nearer step is to share the stopped world's
//! work with the parked mutators, which are awake and yielding (no 30–90 µs wake-up, unlike the
//! rayon thread tried above). If every phase of a pause sped up as the walks did on two cores
//! (1.5×), the pauses (about 40 % of the run) would shrink by a third and the run by 13 %: by
//! this arithmetic `sync-atomic` would come to about 2.2×, not under 2×.
//!
//! That step is built for the two walks (the trace and the resolving walk; the marking did not
//! gain, see above). On `shared-churn` (`--scale medium`, `sync-atomic`, `collect_ms=0`) the
//! trace took 0.74–0.91 ms (p50) against 1.08–1.14 ms, the resolving walk 0.42–0.51 against
//! 0.72–0.76, the pauses 167–191 ms in all against 211–228 (three alternating runs), and a
//! parked mutator helped with 75–96 % of the collections. Over 16 rounds of alternating runs
//! with `arc` (a noisier day than the figures above: `arc` took 143 ns per node), each build's
//! runs took, as the median of the per-round ratios of the new build to the old: 0.81×
//! (`sync-atomic`) and 0.82× (`sync-biased`) with `collect_ms=0`, faster in 16 and 15 rounds;
//! 0.71× and 0.78× with the workload's collection every 10 ms, faster in 13 of 16. Against
//! `arc`: 2.70× (`sync-atomic`, old build 3.35×) and 3.54× (`sync-biased`, 4.36×) with
//! `collect_ms=0`; 3.12× (4.17×) and 4.45× (5.35×) with the collections every 10 ms. Still
//! not under 2×.
//!
//! The marking and the sweep then moved out of the pause: they read nothing a mutator changes
//! (the edge table, and garbage that no thread can reach), so the world restarts once the walks
//! are done, and the collector keeps its role — no other collection starts — until the garbage
//! has left the lists. On `shared-churn` (`--scale medium`, alternating runs against the build
//! before, each round with its `arc` run) the pauses' p50 became 0.51× (`sync-atomic`, 12
//! rounds: 1.36–1.70 ms → 0.67–0.86 ms; 0.51× for `sync-biased` and with the collections every
//! 10 ms, 8 rounds each) and their total 0.54×, but at first the runs' wall time did not move
//! (1.01×). The other mutator was not running meanwhile: it made about 26 objects during a
//! marking and sweep, where some 2 000 fit. It had found the same collection due, and waited
//! for the collector role, which the collection now keeps after the restart. A thread waiting
//! for the role now gives up once its automatic collection is no longer wanted (the schedule
//! was reset by the collection that holds the role), and then made about 2 100. Over 30 rounds
//! of alternating runs (`sync-atomic`, `collect_ms=0`) against the build before both changes,
//! the runs took 0.956× its time (median of the per-round ratios; faster in 22 rounds), and
//! 439 ms of CPU time against 470 (medians) — less yielding; `sync-biased` 0.976× (20 rounds,
//! faster in 14), and with the workload's collection every 10 ms 0.88× (16 rounds, faster in
//! 14). Still not under 2×.
//!
//! Then the mutators' own work was measured apart: with `cycle_fraction=0` (no rings, so the
//! collector has next to nothing to do) `sync-atomic` still took 1.6–2.2× `arc`'s time per
//! node — not the 1.3× estimated above — and taking the lists of tracked objects out (an
//! experiment that left the collector blind) made those runs 0.78× as long (14 alternating
//! rounds, faster in all). Keeping the lists cost every allocation and every free a lock, a push
//! or a move, and half the frees a remote batch. So the objects now live in pages (the `pages`
//! module: free-threaded CPython's mimalloc heaps, small), which the collector walks instead:
//! nothing is linked or unlinked, a free by the thread that holds the page is a push onto the
//! page's free list, and another thread's free is one compare-and-swap onto a remote list
//! (`remote_list.rs`, which `loom-tests` checks). Against the build before (alternating runs,
//! `--scale medium`, medians of the per-round ratios):
//!
//! | config, `collect_ms` | rounds | wall time | CPU time | pause total | against `arc`, before → after |
//! |---|---|---|---|---|---|
//! | `sync-atomic`, 0 | 16 | 0.89× (faster in 13) | 552 → 458 ms (an earlier series) | 1.32× | 2.61× → 2.25× |
//! | `sync-atomic`, 10 | 10 | 0.85× (faster in 7) | 528 → 427 ms | 1.29× | 2.71× → 2.51× |
//! | `sync-biased`, 0 | 10 | 0.83× (faster in 9) | 596 → 493 ms | 1.17× | 3.41× → 2.85× |
//! | `sync-atomic`, 0, `cycle_fraction=0` | 8 | — | — | — | 1.68× → 1.41× (per node) |
//!
//! The pauses grew: the walk over the pages (free blocks too) runs on the collecting thread
//! before the split walks (the collector's `examine` says which other shapes were tried), and
//! its trace phase, which now includes that walk, took 1.63× as long (p50). The sweep took 0.53×
//! (it only flags the garbage) and the tear-down 0.69×. Still not under 2× `arc` on
//! `shared-churn`, though single rounds now reach it.

//! ## Where the unsafe code is
//!
//! `object.rs` (layout, allocation, the free), `pages.rs` (the memory: pages of blocks, which
//! the collector walks) and `remote_list.rs` (the blocks other threads free), `handle.rs` (`Gc`), `atomic.rs` (`AtomicGc`), the counting disciplines
//! `counts.rs` and `biased.rs`, `runtime.rs` (crossbeam-epoch, memory), `tracked.rs` (the
//! collector's header words), `collector.rs` (trial deletion, tear-down) and `help_board.rs`
//! (work the collector shares with the parked mutators).
//! Every concurrent step goes through the runtime's atomics (gc-core's sync facade), so that the
//! models in `loom-tests` check this code, not a copy.

mod atomic;
mod biased;
mod collector;
mod counts;
mod edge_table;
mod handle;
pub mod help_board;
mod lock;
mod object;
mod pages;
mod parts;
pub mod raw_lock;
mod registry;
pub mod remote_list;
mod runtime;
mod schedule;
mod tracked;
mod trashcan;
pub mod world;

pub use atomic::{AtomicGc, CompareExchangeError};
pub use biased::{BiasedCounts, Queued};
pub use collector::{
    collect, collect_young, take_collection_log, CollectionPhases, SharedCollection,
    AUTOMATIC_PATIENCE, LOG_CAPACITY,
};
pub use counts::{AtomicCounts, Counts};
use gc_core::sync::Std;
pub use handle::Gc;
pub use help_board::{HelpBoard, SharedWork};
pub use lock::{GcLock, GcLockGuard};
pub use object::{Published, SharedHeader, SharedTypeInfo};
pub use registry::{blocking, HeapAccess};
#[cfg(feature = "loom")]
pub use runtime::exit_loom_thread;
pub use runtime::{AtomicSlot, Runtime, ANONYMOUS};
pub use schedule::{
    schedule, set_schedule, set_threshold, threshold, Scope, SharedSchedule, DEFAULT_THRESHOLD,
};
pub use tracked::TrackedLinks;
pub use world::{ThreadState, World};

/// A safepoint for the calling thread: parks it while a shared collection runs (and runs one if
/// it is due), then merges the shared objects that other threads queued to it (biased counting),
/// freeing those whose last reference is gone. Every allocation of a shared object is a safepoint
/// too.
///
/// Cheap when there is nothing to do: two loads of global flags and one of the mailbox's.
///
/// A thread that runs long without allocating calls it now and then, or runs that code inside
/// [`blocking`]: a collection waits for every running thread to reach a safepoint.
pub fn safepoint() {
    <Std as Runtime>::poll();
    <BiasedCounts as Counts>::safepoint();
}
