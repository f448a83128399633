//! Replaying a [`Snapshot`] on gclab's heap: rebuild the graph out of `Gc` objects, give each
//! node its external references, time one full collection, and compare with CPython.
//!
//! A node is a [`ReplayNode`]: its out-edges in a cell (with multiplicity, as in the file) and,
//! with [`ReplayOptions::payload`], a payload of the object's `size` bytes, so that memory and
//! cache behaviour resemble the Python heap's. Up to [`INLINE_EDGES`] edges sit in the node
//! itself, as CPython keeps a tuple's items and (3.11+) an instance's attribute values in the
//! object; a node with more keeps them in a vector of their own, as a list keeps its item array.
//! The steps, on the current thread's heap:
//!
//! 1. **Automatic collection off** ([`gc::disable`]). The build allocates N tracked objects; an
//!    automatic collection in the middle would free nothing (the builder still holds every node)
//!    but would cost time and age the objects into older generations. It is turned back on (if it
//!    was on) at the end.
//! 2. **Build**: every node first, with no edges; then each node's edges, by cloning the
//!    builder's handles; then `ext` clones of each node, kept in one vector — the references from
//!    outside the snapshot.
//! 3. **Release** the builder's handles, keeping only a [`Weak`] to each node. Now each node's
//!    strong count must equal CPython's refcount, `ext` + in-degree — **checked** for every node
//!    (through [`Weak::strong_count`], which adds no reference), and the weak handles are dropped
//!    before the collection so the collector sees nothing the Python heap did not have. No
//!    count reaches zero on the way: the reader refuses objects with no reference at all.
//! 4. **Time one full [`gc::collect`]**: the objects it reports unreachable must be exactly
//!    `cpython_unreachable`.
//! 5. **Clean up**: drop the external handles and collect again; the heap must end as it began
//!    (no object left), or the replay fails.
//!
//! [`replay`] runs all of that for one configuration on a fresh thread of its own (gclab heaps are
//! per thread and can only be configured while empty; a panic stays on that thread);
//! [`replay_here`] runs it on the current thread's heap as configured.

use std::time::Instant;

use gc_refcount::{gc, ConfigError, Gc, GcCell, HeapConfig, Trace, Weak};
use serde::{Deserialize, Serialize};

use super::format::Snapshot;
use super::graph;
use crate::backends::default_configurations;
use crate::measure::{panic_message, RUN_STACK_BYTES};

/// One object of a replayed snapshot.
#[derive(Trace)]
pub struct ReplayNode {
    edges: GcCell<ReplayEdges>,
    payload: Vec<u8>,
}

/// Out-edges a node keeps in itself; a node with more keeps them in a vector.
///
/// Nearly every object of the example snapshots has at most three references (an instance: its
/// class and two attribute values; a small tuple). Kept in the node, they cost no allocation of
/// their own, and tearing the node down frees nothing but the node: CPython's layout, which the
/// replay should resemble. Measured on the largest example (204 770 objects, 96 000 unreachable):
/// with every node's edges in a `Vec`, glibc's `free` was 28% of the collection's instructions.
pub const INLINE_EDGES: usize = 3;

/// A node's out-edges, in the node or in a vector (see [`INLINE_EDGES`]).
#[derive(Trace)]
enum ReplayEdges {
    /// At most [`INLINE_EDGES`] edges, filled from the front.
    Inline([Option<Gc<ReplayNode>>; INLINE_EDGES]),
    /// More edges than fit in the node.
    Spilled(Vec<Gc<ReplayNode>>),
}

impl ReplayEdges {
    /// The edges to `targets` (with multiplicity).
    fn new(targets: impl ExactSizeIterator<Item = Gc<ReplayNode>>) -> ReplayEdges {
        if targets.len() > INLINE_EDGES {
            return ReplayEdges::Spilled(targets.collect());
        }
        let mut inline = [const { None }; INLINE_EDGES];
        for (slot, target) in inline.iter_mut().zip(targets) {
            *slot = Some(target);
        }
        ReplayEdges::Inline(inline)
    }

    /// The number of edges.
    fn len(&self) -> usize {
        match self {
            ReplayEdges::Inline(inline) => inline.iter().flatten().count(),
            ReplayEdges::Spilled(edges) => edges.len(),
        }
    }
}

impl ReplayNode {
    /// The node's payload (empty without [`ReplayOptions::payload`]).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The number of out-edges.
    pub fn out_degree(&self) -> usize {
        self.edges.borrow().len()
    }
}

/// How to replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Give every node a payload of its `size` bytes (`sys.getsizeof`).
    pub payload: bool,
}

/// The outcome of one replay under one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayResult {
    /// The configuration as named (`cpython312`).
    pub config: String,
    /// Its full name (`trial-deletion/cpython312/system`).
    pub config_full: String,
    /// Objects built.
    pub objects: usize,
    /// Edges built.
    pub edges: u64,
    /// Unreachable objects gclab's collection found.
    pub unreachable: usize,
    /// What CPython's `gc.collect()` returned on the exported heap.
    pub cpython_unreachable: u64,
    /// The time of gclab's collection, in nanoseconds.
    pub collect_ns: u64,
    /// The time of CPython's collection, in nanoseconds.
    pub cpython_collect_ns: u64,
    /// `collect_ns / cpython_collect_ns` (below 1: gclab was faster); `None` if CPython's time
    /// is 0.
    pub ratio: Option<f64>,
    /// Whether gclab found exactly CPython's number.
    pub matches: bool,
}

/// Why a replay did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayError {
    /// The configuration name is not valid, or the heap could not be configured.
    Config(String),
    /// The configuration has no cycle detector (`rc`): it cannot find cycles, by design.
    NoDetector {
        /// The configuration's full name.
        config_full: String,
    },
    /// A node's strong count after the build is not `ext` + in-degree.
    WrongCount {
        /// The object's id.
        id: usize,
        /// `ext` + in-degree.
        expected: u64,
        /// The strong count found.
        found: usize,
    },
    /// Memory for the replay could not be allocated (a payload, the external handles).
    Memory(String),
    /// Objects were left in the heap after the external handles were released and collected.
    NotEmpty {
        /// Objects still live.
        live: u64,
    },
    /// The replay panicked (a collector bug).
    Panicked(String),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Config(message) => f.write_str(message),
            ReplayError::NoDetector { config_full } => write!(
                f,
                "{config_full} has no cycle detector: it cannot find unreachable cycles"
            ),
            ReplayError::WrongCount {
                id,
                expected,
                found,
            } => write!(
                f,
                "after the build, object {id} has strong count {found}, expected {expected} \
                 (ext + in-degree)"
            ),
            ReplayError::Memory(what) => write!(f, "cannot allocate {what}"),
            ReplayError::NotEmpty { live } => write!(
                f,
                "{live} objects were left in the heap after the external references were \
                 released and a collection ran"
            ),
            ReplayError::Panicked(message) => write!(f, "the replay {message}"),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Whether the configuration named `name` has a cycle detector, and its full name. Fails if the
/// name is not a configuration.
pub fn has_detector(name: &str) -> Result<(bool, String), ConfigError> {
    let config = HeapConfig::from_name(name)?;
    let full = config.name();
    let finds_cycles = !full.split('/').any(|part| part == "none");
    Ok((finds_cycles, full))
}

/// A configuration: (the name as given, its full name).
pub type NamedConfig = (String, String);

/// The configurations a replay runs by default, and those it leaves out: every gclab preset
/// (read from [`gc_refcount::PRESETS`] at run time, aliases folded as in the report's matrix, see
/// [`default_configurations`]) whose detector finds cycles goes in the first list, the others
/// (`rc`) in the second. Each as (name, full name).
pub fn default_configs() -> (Vec<NamedConfig>, Vec<NamedConfig>) {
    let mut run = Vec::new();
    let mut skipped = Vec::new();
    for (name, full, _aliases) in default_configurations() {
        match has_detector(&name) {
            Ok((true, _)) => run.push((name, full)),
            _ => skipped.push((name, full)),
        }
    }
    (run, skipped)
}

/// Replays `snapshot` under the configuration named `config`, on a fresh thread whose heap is
/// configured by name first (see the [module docs](self)).
pub fn replay(
    snapshot: &Snapshot,
    config: &str,
    options: ReplayOptions,
) -> Result<ReplayResult, ReplayError> {
    let (finds_cycles, config_full) =
        has_detector(config).map_err(|error| ReplayError::Config(error.to_string()))?;
    if !finds_cycles {
        return Err(ReplayError::NoDetector { config_full });
    }
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name(format!("replay-{config}"))
            .stack_size(RUN_STACK_BYTES)
            .spawn_scoped(scope, || {
                gc::configure_by_name(config).map_err(|error| {
                    ReplayError::Config(format!("cannot configure gclab as {config:?}: {error}"))
                })?;
                let mut result = replay_here(snapshot, options)?;
                config.clone_into(&mut result.config);
                Ok(result)
            })
            .map_err(|error| {
                ReplayError::Config(format!("cannot start the replay's thread: {error}"))
            })?;
        match thread.join() {
            Ok(result) => result,
            Err(payload) => Err(ReplayError::Panicked(panic_message(payload.as_ref()))),
        }
    })
}

/// Replays `snapshot` on the current thread's heap, as it is configured (see the
/// [module docs](self)). The result's `config` is the heap's full configuration name.
pub fn replay_here(
    snapshot: &Snapshot,
    options: ReplayOptions,
) -> Result<ReplayResult, ReplayError> {
    let was_enabled = gc::isenabled();
    gc::disable();
    let live_before = gc::stats().live_objects();
    let outcome = build_and_collect(snapshot, options);
    // Whatever happened, release everything and leave the heap as it was.
    let (external, outcome) = match outcome {
        Ok((external, measured)) => (external, Ok(measured)),
        Err((external, error)) => (external, Err(error)),
    };
    drop(external);
    gc::collect();
    let live_after = gc::stats().live_objects();
    if was_enabled {
        gc::enable();
    }
    let (unreachable, collect_ns) = outcome?;
    if live_after > live_before {
        return Err(ReplayError::NotEmpty {
            live: live_after - live_before,
        });
    }
    let header = &snapshot.header;
    let config_full = gc::config_name();
    Ok(ReplayResult {
        config: config_full.clone(),
        config_full,
        objects: snapshot.objects.len(),
        edges: header.edges,
        unreachable,
        cpython_unreachable: header.cpython_unreachable,
        collect_ns,
        cpython_collect_ns: header.cpython_collect_ns,
        ratio: (header.cpython_collect_ns > 0)
            .then(|| collect_ns as f64 / header.cpython_collect_ns as f64),
        matches: unreachable as u64 == header.cpython_unreachable,
    })
}

/// The external handles that the caller releases after the collection.
type External = Vec<Gc<ReplayNode>>;

/// Steps 2 to 4: returns the external handles (to be released by the caller, also on failure)
/// and the number found and time of the timed collection.
#[allow(clippy::type_complexity)]
fn build_and_collect(
    snapshot: &Snapshot,
    options: ReplayOptions,
) -> Result<(External, (usize, u64)), (External, ReplayError)> {
    let objects = &snapshot.objects;

    // Every node first, with no edges.
    let mut nodes: Vec<Gc<ReplayNode>> = Vec::with_capacity(objects.len());
    for (id, object) in objects.iter().enumerate() {
        let mut payload = Vec::new();
        if options.payload && object.size > 0 {
            let fits = usize::try_from(object.size)
                .ok()
                .filter(|&size| payload.try_reserve_exact(size).is_ok());
            let Some(size) = fits else {
                drop(nodes); // no edges yet: refcounting frees every node
                let what = format!("the {}-byte payload of object {id}", object.size);
                return Err((Vec::new(), ReplayError::Memory(what)));
            };
            payload.resize(size, 0);
        }
        nodes.push(Gc::new(ReplayNode {
            edges: GcCell::new(ReplayEdges::new(std::iter::empty())),
            payload,
        }));
    }

    // Then the edges, by cloning the builder's handles.
    for (node, object) in nodes.iter().zip(objects) {
        let edges = ReplayEdges::new(object.out.iter().map(|&target| nodes[target].clone()));
        *node.edges.borrow_mut() = edges;
    }

    // Then `ext` handles from outside per node.
    let total_ext: u64 = objects.iter().map(|object| object.ext).sum();
    let mut external: External = Vec::new();
    let reserved = usize::try_from(total_ext)
        .ok()
        .filter(|&total| external.try_reserve_exact(total).is_ok());
    if reserved.is_none() {
        let what = format!("{total_ext} external handles");
        return Err((external, ReplayError::Memory(what)));
    }
    for (node, object) in nodes.iter().zip(objects) {
        for _ in 0..object.ext {
            external.push(node.clone());
        }
    }

    // Release the builder's handles; check every count through a weak handle.
    let weak: Vec<Weak<ReplayNode>> = nodes.iter().map(Gc::downgrade).collect();
    drop(nodes);
    let in_degrees = graph::in_degrees(snapshot);
    let wrong = weak.iter().enumerate().find_map(|(id, node)| {
        let expected = objects[id].ext + in_degrees[id];
        let found = node.strong_count();
        (found as u64 != expected).then_some(ReplayError::WrongCount {
            id,
            expected,
            found,
        })
    });
    drop(weak);
    if let Some(error) = wrong {
        return Err((external, error));
    }

    // The timed collection.
    let start = Instant::now();
    let unreachable = gc::collect();
    let collect_ns = start.elapsed().as_nanos().min(u64::MAX as u128) as u64;
    Ok((external, (unreachable, collect_ns)))
}
