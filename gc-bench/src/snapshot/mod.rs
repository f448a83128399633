//! Heap snapshots of real CPython programs, replayed on gclab's heap and checked against
//! CPython's own collector.
//!
//! The model, in three steps:
//!
//! 1. **Export** (`tools/export_heap.py`, not Rust): a Python program runs with automatic
//!    collection off; the exporter writes every object `gc.get_objects()` returns as a node of a
//!    graph — its out-edges from `gc.get_referents`, and `ext`, the references that come from
//!    *outside* the snapshot (frames, globals, untracked objects: the refcount minus the in-snapshot
//!    references). Then it times one `gc.collect()` on that very heap and writes the count it
//!    returned, `cpython_unreachable`, and its time, `cpython_collect_ns`, into the header.
//! 2. **Read** ([`format`](mod@format)): the file is parsed and checked completely — every id,
//!    every edge, every count — before a single object is built. A bad file gives one
//!    [`SnapshotError`] with the 1-based line number.
//! 3. **Replay** ([`replay`]): the graph is rebuilt out of `Gc` objects, each node holding exactly
//!    `ext` handles from outside, so that its strong count equals CPython's refcount (`ext` plus the
//!    in-degree, which is checked). Then one full `gc::collect()` is timed. The objects unreachable
//!    from the nodes with `ext > 0` are exactly the ones CPython's collector found
//!    ([`graph::unreachable`] computes them from the file alone), so every gclab configuration with
//!    a cycle detector must find `cpython_unreachable`, and its time can be compared with
//!    CPython's.
//!
//! ## The file format: gclab heap snapshot, version 1
//!
//! (The exporter's side — how `ext` is measured, and the known limits — is documented with it, in
//! `docs/heap-snapshot.md`; this is what the reader accepts.)
//!
//! JSON Lines (UTF-8, one JSON object per line, `\n`-terminated). Line 1 is the header:
//!
//! ```text
//! {"format": "gclab-heap-snapshot", "version": 1, "python": "3.11.7", "objects": N, "edges": E,
//!  "cpython_unreachable": K, "cpython_collect_ns": T}
//! ```
//!
//! (on one line). Then one line per object, ids dense from 0 to N-1 in order — object `i` is on
//! line `i + 2`:
//!
//! ```text
//! {"id": 0, "type": "list", "size": 72, "ext": 1, "out": [3, 5, 5]}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `format`, `version` | `"gclab-heap-snapshot"` and `1` |
//! | `python` | the version of the Python that was exported (text) |
//! | `objects`, `edges` | N, the number of object lines; E, the total length of all `out` lists |
//! | `cpython_unreachable` | what `gc.collect()` returned right after the export, on the same heap |
//! | `cpython_collect_ns` | how long that call took, in nanoseconds |
//! | `id` | the object's number, `0..N-1`, equal to its position |
//! | `type` | the name of the object's type |
//! | `size` | `sys.getsizeof` of the object, in bytes (the replay's payload with `--payload`) |
//! | `ext` | references to the object from outside the snapshot: its refcount minus the references counted in `out` lists; at least 0 |
//! | `out` | the objects this one references, with multiplicity (a list holding the same object twice lists it twice) |
//!
//! Fields not listed are ignored, so an exporter may add its own. The reader refuses, each time
//! with the line number:
//!
//! - text that is not JSON, or not a JSON object; an empty line (except at the very end);
//! - a wrong `format` or `version`; a missing field, or one of the wrong type;
//! - an `id` out of order (ids must be dense and in order); an `out` id outside `0..N-1`;
//! - a negative `ext`, or one above [`format::MAX_EXT`] (an immortal object's refcount);
//! - an object with no reference at all (`ext` 0 and no incoming edge: CPython would have freed
//!   it);
//! - an object count or an edge count that does not match the header; a `cpython_unreachable`
//!   above the object count, or different from the number of objects the graph itself leaves
//!   unreachable from the objects with `ext > 0` (the exporter checks the same equality, so a file
//!   that breaks it is damaged, and replaying it would blame gclab);
//! - a truncated file: fewer object lines than the header announces, or a last line cut in the
//!   middle of its JSON.

pub mod format;
pub mod graph;
pub mod replay;

pub use format::{Header, ObjectRecord, Snapshot, SnapshotError};
pub use replay::{ReplayError, ReplayOptions, ReplayResult};
