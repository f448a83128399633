//! # gc-generational: when to collect, and what to examine
//!
//! Implementations of [`gc_core::Scheduler`]. A scheduler sees only counts and names generation
//! lists; the heap (in `gc-refcount`) does the work. The allocation fast path is the heap's: a
//! counter update and a compare against [`Scheduler::threshold`]; the scheduler is consulted only
//! when that threshold is crossed.
//!
//! | scheduler | preset name | what it models |
//! |---|---|---|
//! | [`CpythonGenerations`] | `cpython312` `(700, 10, 10)`, `cpython313` `(2000, 10, 10)` | CPython's classic three generations with the long-lived 25% rule |
//! | [`SingleGeneration`] | `single-gen` | free-threaded CPython: one generation, threshold scaled by the live heap |
//! | [`Threshold`] | `threshold:N` | a young generation collected every N allocations, an old one only on demand |
//! | [`Manual`] | `manual` | only `gc::collect()` |
//!
//! ```
//! use gc_core::Scheduler;
//! use gc_generational::CpythonGenerations;
//!
//! let mut schedule = CpythonGenerations::cpython312();
//! assert_eq!(schedule.thresholds(), [700, 10, 10]);
//! // 701 net allocations, and generation 1 has been collected 11 times: collect generation 1.
//! assert_eq!(schedule.choose(&[701, 11, 0]), Some(1));
//! ```
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]

mod cpython;
mod manual;
mod single_generation;
mod threshold;

pub use cpython::CpythonGenerations;
pub use gc_core::Scheduler;
pub use manual::Manual;
pub use single_generation::SingleGeneration;
pub use threshold::Threshold;
