//! # gc-bench: workloads, the `gclab` runner and the comparison report
//!
//! The model, in four words: *workloads* run on *backends*, a *runner* measures each pair in a
//! fresh process, and a *report* puts the measurements side by side.
//!
//! - A **workload** ([`workloads`]) is a program shape — GCBench's binary trees, rings of cyclic
//!   garbage, a doubly linked list, random graph churn, an LRU cache, "build a big list then drop
//!   it", a steady service with bursts of garbage. Each is written once, generic over a
//!   [`Backend`], and has documented parameters with defaults per [`Scale`].
//! - A **backend** ([`backends`]) is a memory manager seen through one small trait: allocate a
//!   node, read and write its edges, collect. One adapter drives gclab's heap under any
//!   configuration that [`gc_refcount::HeapConfig::from_name`] accepts; with the default-on cargo
//!   feature `peers`, others drive `std::rc::Rc` and the crates a Rust user would pick instead
//!   (`bacon_rajan_cc`, `rust-cc`, `gcmodule`, `dumpster`, `gc`).
//! - Every node carries a [`DropToken`](ledger::DropToken): the [`ledger`] counts creations and
//!   drops, so each run checks that every object was dropped exactly once (or, under a policy that
//!   leaks cycles by design, how many were left).
//! - The **measurement** of one run ([`measure`]) gives one [`RunRecord`](record::RunRecord): wall
//!   time, allocations, collections, every pause, resident memory, the drop check. The runner
//!   ([`runner`]) executes each run in a child process of its own, repetitions interleaved, and the
//!   [`report`] turns the records into `report.json`, `report.md` and `index.html` with SVG plots.
//!
//! - **Thread-shared heaps** ([`shared`]): workloads whose objects several threads share, on
//!   gclab's `sync` heap, `std::sync::Arc` and `dumpster::sync`, through a trait of their own
//!   ([`shared::SharedBackend`]), measured into the same records and shown in a table of their
//!   own.
//!
//! - A **snapshot** ([`snapshot`]) is the heap of a real CPython program, exported by
//!   `tools/export_heap.py` as a graph; it is replayed as `Gc` objects and collected under every
//!   gclab configuration, which must find exactly what CPython's `gc.collect()` found.
//!
//! The `gclab` binary (`src/main.rs`) is the command line over this library: `gclab report`,
//! `gclab run`, `gclab replay`, `gclab list`.
#![warn(missing_docs, unsafe_op_in_unsafe_fn)]

pub mod backend;
pub mod backends;
pub mod cpu_time;
pub mod ledger;
pub mod matrix;
pub mod measure;
pub mod params;
pub mod pauses;
pub mod probe;
pub mod record;
pub mod report;
pub mod rng;
pub mod rss;
pub mod runner;
pub mod scale;
pub mod shared;
pub mod snapshot;
pub mod workloads;

pub use backend::Backend;
pub use scale::Scale;
