//! # gc-refcount: `Gc<T>` with reference counting and CPython's cycle collector
//!
//! Objects live in `Gc<T>` handles, counted like `Rc<T>` and freed the moment their count
//! reaches zero. Cycles never reach zero; a cycle detector finds them — by default CPython's
//! trial deletion ([`TrialDeletion`]), run automatically on CPython's generational schedule
//! ([`CpythonGenerations::cpython312`], thresholds `(700, 10, 10)`) and on demand by
//! [`gc::collect`]. The [`gc`] module mirrors Python's.
//!
//! ```
//! use gc_refcount::{gc, Gc, GcCell, Trace, Weak};
//!
//! #[derive(Trace)]
//! struct Node { name: String, next: GcCell<Option<Gc<Node>>> }
//!
//! let a = Gc::new(Node { name: "a".into(), next: GcCell::new(None) });
//! *a.next.borrow_mut() = Some(a.clone());      // a cycle: a -> a
//! let w: Weak<Node> = Gc::downgrade(&a);
//! drop(a);                                     // refcount alone cannot free it
//! assert_eq!(gc::collect(), 1);                // one unreachable object found and freed
//! assert!(w.upgrade().is_none());
//! ```
//!
//! ## The heap
//!
//! Each thread has its own heap (`Gc` is `!Send`), configured once with [`gc::configure`]: a
//! [cycle detector](gc_core::CycleDetector), a [scheduler](gc_core::Scheduler) and an
//! [allocator](gc_core::Allocator). Without configuration a thread gets `TrialDeletion`,
//! `CpythonGenerations::cpython312()` and the system allocator. Configuration is refused once the heap holds
//! objects (until they are all freed).
//!
//! ## Dropping garbage cycles
//!
//! A `Drop` impl of a member of a garbage cycle may read another member: it sees it intact if that
//! member's value has not been dropped yet, and gets a panic naming the problem otherwise — never
//! freed memory. The full rule, and how it compares with CPython's `tp_clear` and PEP 442, is in
//! the docs of the tear-down (`teardown.rs`); in short: weak handles are cleared first, no
//! member is freed while the values drop, memory is freed last.
//!
//! ## Deep structures
//!
//! Freeing at zero is iterative (CPython's "trashcan"): dropping the head of a 10 000 000-node list
//! uses constant stack. Trial deletion is iterative too.
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]

extern crate self as gc_refcount;

mod any;
mod callbacks;
mod cell;
pub mod config;
mod debug;
pub mod detect;
pub mod gc;
mod handle;
mod heap;
mod object;
mod scratch;
mod stats;
pub mod sync;
mod teardown;
mod weak;

pub use any::GcAny;
pub use cell::GcCell;
pub use config::{AllocatorChoice, ConfigError, HeapConfig, PRESETS};
pub use detect::{BaconRajan, MarkSweep, NoCycles, TrialDeletion};
pub use gc_core::{
    Allocator, CollectionRecord, CycleDetector, Discipline, Edge, GenerationStats, PoolAllocator,
    Scheduler, SystemAllocator, Trace, Visitor,
};
pub use gc_derive::Trace;
pub use gc_generational::{CpythonGenerations, Manual, SingleGeneration, Threshold};
pub use handle::Gc;
pub use stats::HeapStats;
pub use weak::Weak;

/// Re-export of the object model, for implementing detectors, schedulers and allocators.
pub use gc_core;
/// Re-export of the schedulers.
pub use gc_generational;

/// The README's examples, compiled and run as doctests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme_examples {}
