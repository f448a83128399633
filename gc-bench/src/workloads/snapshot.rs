//! `snapshot` — the heap of a real CPython program, from a snapshot file
//! ([format](crate::snapshot)), rebuilt on any backend and collected once.
//!
//! This is the runner's view of a snapshot; `gclab replay` is the exact one. `gclab replay` builds
//! the graph with gclab's own `Gc` and a `Vec` of edges per object, so that every strong count
//! equals CPython's refcount and the collection must find exactly CPython's count. A workload
//! instead speaks [`Backend`], whose nodes have [`MAX_EDGES`] edge slots, so that the same heap
//! can be compared across gclab configurations *and* peer crates:
//!
//! - each object is one node (key = its id; with `payload=1`, a payload of its `size` bytes);
//! - an object with more than [`MAX_EDGES`] references gets a small tree of *helper* nodes: its
//!   targets are grouped by [`MAX_EDGES`] under helpers, the helpers again, until at most
//!   [`MAX_EDGES`] remain for the object's own slots. Reachability is exactly the snapshot's; the
//!   object count is the snapshot's plus the helpers (figure `helper_nodes`);
//! - each object gets `ext` handles from outside; the builder's own handles are dropped.
//!
//! Automatic collections are paused while the graph is built; then one full collection is timed
//! (figure `collect_ms`, next to `cpython_collect_ms` from the file and `ratio_to_cpython`);
//! `unreachable_found` counts the snapshot's objects it dropped (told apart from helpers by their
//! ledger ids) and `freed_by_collect` every node it dropped — `expected_freed` is the snapshot's
//! unreachable objects plus their helpers. A `unreachable_found` other than the header's
//! `cpython_unreachable`, or a `freed_by_collect` other than `expected_freed`, is an error in the
//! run's record (the run fails; its figures stay readable). Then the external handles are
//! dropped, and the measurement's final collection frees the rest.
//!
//! The file is read and checked before the run ([`WorkloadId::check`](super::WorkloadId::check)
//! does it, through [`load`], which keeps it for the run), so reading it is not part of the wall
//! time, and a bad file is refused with its line number instead of failing the run. A workload
//! that cannot know which cycles are garbage cannot run on `std-rc`, and one whose every answer
//! is CPython's count cannot run on a configuration without a cycle detector (`rc`); a peer that
//! caps the references to one object (`rust-cc`) cannot run a snapshot with a more referenced
//! object ([`cannot_replay`]).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use super::Workload;
use crate::backend::{Backend, MAX_EDGES};
use crate::backends::BackendChoice;
use crate::ledger;
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;
use crate::snapshot::{graph, Snapshot};

/// Replays a snapshot file on a backend.
pub struct SnapshotReplay;

/// The key of helper nodes (objects have their id as key).
const HELPER_KEY: u64 = u64::MAX;

/// The largest payload given to one object, 1 GiB: `sys.getsizeof` of a real object stays far
/// below; a larger `size` is a damaged file, and the run fails instead of exhausting memory.
const MAX_PAYLOAD: u64 = 1 << 30;

impl Workload for SnapshotReplay {
    const NAME: &'static str = "snapshot";
    const SUMMARY: &'static str =
        "a CPython program's heap (tools/export_heap.py): rebuilt, released, one timed collection";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::path(
            "file",
            "a gclab heap snapshot file, as tools/export_heap.py writes",
        ),
        ParamSpec::flag(
            "payload",
            "give each object a payload of its size in bytes (sys.getsizeof)",
            false,
        ),
    ];
    const NEEDS_TRACING: Option<&'static str> = Some(
        "its garbage is whatever cycles the Python program left, which an Rc program could not \
         know to break",
    );

    fn run<B: Backend>(params: &Params, heap: &B, probe: &mut Probe) {
        let snapshot = load(params.text("file")).unwrap_or_else(|message| panic!("{message}"));
        let payload = params.flag("payload");
        let objects = &snapshot.objects;
        heap.pause_automatic();

        // The objects' ledger ids are consecutive from here (helpers come after them), so the
        // ledger can tell which objects the collection dropped.
        let first_id = ledger::counts().created;
        let mut nodes: Vec<B::Handle> = Vec::with_capacity(objects.len());
        for (id, object) in objects.iter().enumerate() {
            let bytes = if payload { object.size } else { 0 };
            assert!(
                bytes <= MAX_PAYLOAD,
                "object {id}: a payload of {bytes} bytes is above the limit of {MAX_PAYLOAD}"
            );
            nodes.push(heap.alloc(id as u64, bytes as usize));
        }
        let object_ids = first_id..first_id + objects.len() as u64;
        assert_eq!(
            ledger::counts().created,
            object_ids.end,
            "the backend created nodes of its own while the objects were allocated"
        );
        let mut helpers = vec![0u64; objects.len()];
        for (id, (node, object)) in nodes.iter().zip(objects).enumerate() {
            let targets = object.out.iter().map(|&t| nodes[t].clone()).collect();
            helpers[id] = attach(heap, node, targets);
        }
        let mut external: Vec<B::Handle> = Vec::new();
        for (node, object) in nodes.iter().zip(objects) {
            for _ in 0..object.ext {
                external.push(node.clone());
            }
        }
        drop(nodes);
        probe.sample_with_rss("built", 0, heap);

        let live_before = ledger::live();
        let objects_dropped_before = ledger::dropped_in(object_ids.clone());
        let start = Instant::now();
        heap.collect();
        let collect = start.elapsed();
        let freed = live_before.saturating_sub(ledger::live());
        let found = ledger::dropped_in(object_ids) - objects_dropped_before;
        heap.resume_automatic();
        probe.sample_with_rss("collected", 1, heap);
        drop(external);

        let header = &snapshot.header;
        let reachable = graph::reachable(&snapshot);
        let expected_freed: u64 = (0..objects.len())
            .filter(|&id| !reachable[id])
            .map(|id| 1 + helpers[id])
            .sum();
        let collect_ms = collect.as_secs_f64() * 1e3;
        let cpython_ms = header.cpython_collect_ns as f64 / 1e6;
        probe.figure("objects", objects.len() as f64);
        probe.figure("edges", header.edges as f64);
        probe.figure("helper_nodes", helpers.iter().sum::<u64>() as f64);
        probe.figure("cpython_unreachable", header.cpython_unreachable as f64);
        probe.figure("expected_freed", expected_freed as f64);
        probe.figure("freed_by_collect", freed as f64);
        probe.figure("unreachable_found", found as f64);
        probe.figure("collect_ms", collect_ms);
        probe.figure("cpython_collect_ms", cpython_ms);
        if cpython_ms > 0.0 {
            probe.figure("ratio_to_cpython", collect_ms / cpython_ms);
        }
        if found != header.cpython_unreachable {
            probe.error(format!(
                "the collection found {found} unreachable objects, CPython's gc.collect() {}",
                header.cpython_unreachable
            ));
        } else if freed != expected_freed {
            probe.error(format!(
                "the collection freed {freed} nodes, expected {expected_freed} (the unreachable \
                 objects and their helper nodes)"
            ));
        }
    }
}

/// Points `node` at `targets` (in order, with repeats): directly if they fit in its slots, else
/// through a tree of helper nodes. Returns the number of helpers made.
fn attach<B: Backend>(heap: &B, node: &B::Handle, targets: Vec<B::Handle>) -> u64 {
    let mut helpers = 0;
    let mut level = targets;
    while level.len() > MAX_EDGES {
        let mut parents = Vec::with_capacity(level.len().div_ceil(MAX_EDGES));
        let mut children = level.into_iter().peekable();
        while children.peek().is_some() {
            let helper = heap.alloc(HELPER_KEY, 0);
            for (slot, child) in children.by_ref().take(MAX_EDGES).enumerate() {
                heap.set_edge(&helper, slot, Some(child));
            }
            helpers += 1;
            parents.push(helper);
        }
        level = parents;
    }
    for (slot, target) in level.into_iter().enumerate() {
        heap.set_edge(node, slot, Some(target));
    }
    helpers
}

/// Checks a run's parameters before it starts: the file is a valid snapshot (read and kept by
/// [`load`]) and, with `payload=1`, no object is larger than the payload limit. The error names
/// the file and the line.
pub fn check(params: &Params) -> Result<(), String> {
    let file = params.text("file");
    let snapshot = load(file)?;
    if params.flag("payload") {
        if let Some(id) = snapshot.objects.iter().position(|o| o.size > MAX_PAYLOAD) {
            return Err(format!(
                "{file}: line {}: size {} is above the payload limit of {MAX_PAYLOAD} bytes",
                Snapshot::line_of(id),
                snapshot.objects[id].size
            ));
        }
    }
    Ok(())
}

/// Why `backend` cannot replay `snapshot`, if it cannot: it caps the strong references to one
/// object ([`Peer::max_references`]) below what an object of the snapshot needs while the graph
/// is built — its `ext` plus its in-degree, plus the builder's own handle.
///
/// [`Peer::max_references`]: crate::backends::Peer::max_references
pub fn cannot_replay(snapshot: &Snapshot, backend: &BackendChoice) -> Option<String> {
    let BackendChoice::Peer(peer) = backend else {
        return None;
    };
    let limit = peer.max_references()?;
    let in_degrees = graph::in_degrees(snapshot);
    let (id, needed) = snapshot
        .objects
        .iter()
        .zip(&in_degrees)
        .map(|(object, in_degree)| 1 + object.ext + in_degree)
        .enumerate()
        .max_by_key(|&(_, needed)| needed)?;
    (needed > limit).then(|| {
        format!(
            "{} holds at most {limit} references to one object; object {id} ({}) needs {needed} \
             (its ext, its in-degree and the builder's handle)",
            peer.name(),
            snapshot.objects[id].type_name
        )
    })
}

/// The name of a run on `file` in records and reports: `snapshot-` and the file's stem, with any
/// character other than letters, digits, `_`, `.` and `-` replaced by `_` (the name also names
/// the report's plot files).
pub fn label(file: &str) -> String {
    let stem = Path::new(file)
        .file_stem()
        .map_or_else(|| file.into(), |stem| stem.to_string_lossy());
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("snapshot-{stem}")
}

/// Reads and checks the snapshot in `file`, once per process: later calls get the same
/// snapshot. The error names the file and the line.
pub fn load(file: &str) -> Result<Arc<Snapshot>, String> {
    static LOADED: OnceLock<Mutex<HashMap<String, Arc<Snapshot>>>> = OnceLock::new();
    let loaded = LOADED.get_or_init(Mutex::default);
    if let Some(snapshot) = loaded
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(file)
    {
        return Ok(Arc::clone(snapshot));
    }
    let snapshot =
        Arc::new(Snapshot::read(Path::new(file)).map_err(|error| format!("{file}: {error}"))?);
    loaded
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(file.to_owned(), Arc::clone(&snapshot));
    Ok(snapshot)
}
