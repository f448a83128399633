//! # gc-core: gclab's object model and policy traits
//!
//! gclab studies garbage collection the way CPython does it — reference counting, a generational
//! cycle detector, a small-object allocator — with each mechanism behind a trait so that one can be
//! swapped and measured. This crate holds what every policy shares:
//!
//! - [`Trace`] — how the collector finds the managed pointers in a value, with a compile-time
//!   answer to "can this type hold one at all?" ([`Trace::MAY_CONTAIN_GC`]);
//! - [`Header`], [`TypeInfo`], [`ObjectBox`] — the layout of a managed object;
//! - [`ObjectList`] — intrusive tracked-object lists, the generations;
//! - the policy traits: [`CycleDetector`], [`Scheduler`], [`Allocator`], and the refcount
//!   [`Discipline`];
//! - [`CollectionRecord`] and friends — statistics.
//!
//! Handles (`Gc<T>`), the heap and the detectors live in `gc-refcount`; this crate has no notion
//! of a current heap.
//!
//! ```
//! use gc_core::{Trace, Visitor, Edge};
//!
//! // Leaves are known at compile time: neither is ever tracked.
//! assert!(!String::MAY_CONTAIN_GC);
//! assert!(!<Vec<(u32, Option<Box<str>>)>>::MAY_CONTAIN_GC);
//!
//! // A visitor that counts edges; a leaf reports none.
//! struct Count(usize);
//! impl Visitor for Count {
//!     fn visit(&mut self, _edge: Edge) { self.0 += 1 }
//! }
//! let mut count = Count(0);
//! vec![1u8, 2, 3].trace(&mut count);
//! assert_eq!(count.0, 0);
//! ```
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]

pub mod alloc;
pub mod detector;
pub mod discipline;
pub mod header;
pub mod list;
pub mod mark;
pub mod prefetch;
pub mod scheduler;
pub mod stats;
pub mod sync;
pub mod trace;
pub mod trial_visitors;
pub mod type_info;

pub use alloc::{Allocator, AllocatorStats, PoolAllocator, PoolStats, SystemAllocator};
pub use detector::{CycleDetector, Detection, Examined};
pub use discipline::Discipline;
pub use header::Header;
pub use list::ObjectList;
pub use scheduler::{Scheduler, ThresholdError, MAX_GENERATIONS};
pub use stats::{CollectionRecord, GenerationStats};
pub use trace::{Edge, Trace, Visitor};
pub use type_info::{ObjectBox, TypeInfo};
