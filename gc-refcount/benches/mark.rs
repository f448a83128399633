//! Criterion benchmarks of parallel marking and of the `MarkSweep` detector, measured in the same
//! run so that the ratios between them mean something.
//!
//! - `mark`: marking alone on a live heap of 4 000 000 `Gc` objects: a random graph of average
//!   out-degree 2 (a random recursive tree, so that one root reaches every object, plus one
//!   random edge per object). `workers/1` is the engine's sequential path
//!   (`gc_core::mark::Marker`), `workers/2` the parallel engine with a rayon pool of two threads;
//!   `finger-workers/1` and `/2` the finger walk (`gc_core::mark::FingerMarker`) over the objects
//!   in allocation order, on one thread and split over two. One iteration marks every object
//!   once; throughput is in objects, so time ÷ 4 000 000 is ns/object.
//! - `full_collection`: `gc::collect()` on a heap of 1 000 000 live objects held by one handle:
//!   `MarkSweep` with 1 and 2 workers (`mark-sweep:2` chooses between one walk and a split one;
//!   `mark-sweep:2-split` always splits) against `TrialDeletion`. Everything survives, so this is
//!   the cost of examining a live heap. Four graphs of average out-degree 2, in two layouts:
//!   - objects whose references sit in a vector of their own, as a Python list's do: `random`
//!     (the graph of `mark`: every edge goes anywhere, so nearly every edge followed is a cache
//!     miss, the worst case) and `local` (each object's parent and extra edge are among the 64
//!     objects allocated just before it, the locality of a program that links what it has just
//!     built: lists, trees, parsed documents);
//!   - objects whose references are fields, as a class instance's with `__slots__` are:
//!     `fields-random` and `fields-local`, a binary tree allocated in preorder (as a recursive
//!     build allocates it) plus one more edge per object, to any object or to one of the 64
//!     allocated just before.
//!
//!   `tools/cpython_full_collection.py` times CPython's `gc.collect()` on the same shapes.
//! - `rings`: 100 000 rings of 10 nodes, every handle dropped, then one `gc::collect()`: the
//!   collect call alone, for `MarkSweep` (1 and 2 workers) and `TrialDeletion`.
//!
//! Run with `cargo bench -p gc-refcount --bench mark`. Every benchmark configures the main
//! thread's heap before it builds anything and leaves no object alive behind it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use gc_refcount::gc_core::header::flags;
use gc_refcount::gc_core::mark::{FingerMarker, HeaderGraph, HeaderNode, Marker, RayonPool};
use gc_refcount::gc_core::{Edge, Header, Visitor};
use gc_refcount::{
    gc, CycleDetector, Gc, GcCell, HeapConfig, Manual, MarkSweep, Trace, TrialDeletion,
};

/// Configures this thread's heap, or panics saying why it could not.
fn configure(detector: impl CycleDetector + 'static) {
    if let Err(error) = gc::configure(HeapConfig::default().detector(detector).scheduler(Manual)) {
        panic!("bench: gc::configure failed: {error} (a previous benchmark left objects alive)");
    }
}

/// Panics unless every gclab object of this thread has been freed.
fn assert_heap_empty(after: &str) {
    let stats = gc::stats();
    assert_eq!(
        stats.objects_allocated, stats.objects_freed,
        "bench: {after} left gclab objects alive"
    );
}

#[derive(Trace)]
struct Node {
    edges: GcCell<Vec<Gc<Node>>>,
}

/// A small deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// `n` objects, each but the first the child of the earlier object `parent(rng, i)` (so object 0
/// reaches all), then each given one more edge, to `extra(rng, i)`: average out-degree 2.
/// Returns all of them (handle 0 is the root).
fn heap_of(
    n: usize,
    seed: u64,
    parent: fn(&mut Rng, usize) -> usize,
    extra: fn(&mut Rng, usize, usize) -> usize,
) -> Vec<Gc<Node>> {
    let mut rng = Rng(seed);
    let nodes: Vec<Gc<Node>> = (0..n)
        .map(|_| {
            Gc::new(Node {
                edges: GcCell::new(Vec::with_capacity(2)),
            })
        })
        .collect();
    for i in 1..n {
        let parent = parent(&mut rng, i);
        nodes[parent].edges.borrow_mut().push(nodes[i].clone());
    }
    for (i, node) in nodes.iter().enumerate() {
        let target = extra(&mut rng, i, n);
        node.edges.borrow_mut().push(nodes[target].clone());
    }
    nodes
}

/// The graph of [`heap_of`] with every edge to a random object.
fn random_heap(n: usize) -> Vec<Gc<Node>> {
    heap_of(
        n,
        0x2545_f491_4f6c_dd1d,
        |rng, i| rng.below(i),
        |rng, _, n| rng.below(n),
    )
}

/// Objects an edge of [`local_heap`] may reach back.
const WINDOW: usize = 64;

/// The graph of [`heap_of`] with each object's parent and extra edge among the [`WINDOW`] objects
/// allocated just before it (the first object's extra edge is to itself).
fn local_heap(n: usize) -> Vec<Gc<Node>> {
    heap_of(
        n,
        0x9e37_79b9_7f4a_7c15,
        |rng, i| i - 1 - rng.below(i.min(WINDOW)),
        |rng, i, _| i - rng.below(i.min(WINDOW) + 1),
    )
}

/// The header of a handle's object: a `Gc`'s `Trace` reports exactly that edge.
fn edge_of(handle: &Gc<Node>) -> Edge {
    struct One(Option<Edge>);
    impl Visitor for One {
        fn visit(&mut self, edge: Edge) {
            self.0 = Some(edge);
        }
    }
    let mut one = One(None);
    handle.trace(&mut one);
    one.0.expect("a Gc reports its edge")
}

// --- mark -----------------------------------------------------------------------------------------

/// Objects in the live heap that `mark` marks.
const MARK_OBJECTS: usize = 4_000_000;

fn mark(c: &mut Criterion) {
    configure(TrialDeletion);
    gc::disable();
    let handles = random_heap(MARK_OBJECTS);
    let headers: Vec<Edge> = handles.iter().map(edge_of).collect();
    let root: HeaderNode = headers[0].into();
    // The set the marker sees: every object flagged examined, as during a collection.
    for &edge in &headers {
        // SAFETY: the handles keep every object alive; no collection runs (disabled, manual).
        unsafe { Header::from_ptr(edge) }.set(flags::EXAMINED);
    }
    let reset = || {
        for &edge in &headers {
            // SAFETY: as above; no marking runs while the words are reset.
            unsafe { Header::from_ptr(edge) }.set_scratch(0);
        }
    };

    let mut group = c.benchmark_group("mark");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(MARK_OBJECTS as u64));
    for workers in [1, 2] {
        let pool = RayonPool::new(workers).expect("bench: a marking pool");
        let mut marker = Marker::parallel(HeaderGraph::new(flags::EXAMINED), pool);
        group.bench_function(BenchmarkId::new("workers", workers), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    reset();
                    let mut roots = vec![root];
                    let start = Instant::now();
                    // SAFETY: every object is alive and examined-flagged, nothing else touches
                    // the scratch words while the marker runs, and `Node`'s `Trace` reads only.
                    let stats = unsafe { marker.mark(black_box(&mut roots)) };
                    timed += start.elapsed();
                    assert_eq!(stats.scanned, MARK_OBJECTS, "bench: marking missed objects");
                }
                timed
            })
        });
    }
    // The finger walk over the same heap, in allocation order: the root is known by its word
    // (`gc_refs > 0`, as after trial deletion's first pass).
    let mut nodes: Vec<HeaderNode> = headers.iter().map(|&edge| HeaderNode::from(edge)).collect();
    for workers in [1, 2] {
        let pool = RayonPool::new(workers).expect("bench: a marking pool");
        let mut marker = FingerMarker::new(HeaderGraph::new(flags::EXAMINED));
        group.bench_function(BenchmarkId::new("finger-workers", workers), |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    reset();
                    // SAFETY: as above.
                    unsafe { Header::from_ptr(root.edge()) }.set_scratch(1);
                    let start = Instant::now();
                    // SAFETY: `nodes` is every examined object once, none marked or passed;
                    // nothing else touches the scratch words, and `Node`'s `Trace` reads only.
                    let stats = unsafe { marker.mark_parallel(black_box(&mut nodes), &pool) };
                    timed += start.elapsed();
                    assert_eq!(stats.scanned, MARK_OBJECTS, "bench: marking missed objects");
                }
                timed
            })
        });
    }
    group.finish();
    reset();
    for &edge in &headers {
        // SAFETY: as above.
        unsafe { Header::from_ptr(edge) }.clear(flags::EXAMINED);
    }
    drop(handles);
    gc::enable();
    gc::collect();
    assert_heap_empty("mark");
}

// --- full_collection ------------------------------------------------------------------------------

/// Live objects in `full_collection`.
const LIVE_OBJECTS: usize = 1_000_000;

/// Builds a live heap of `n` objects and returns the one handle that reaches every one.
type HeapBuilder = fn(usize) -> Box<dyn std::any::Any>;

/// An object that holds its references in fields, as a class instance with `__slots__` does.
#[derive(Trace)]
struct Fields {
    left: GcCell<Option<Gc<Fields>>>,
    right: GcCell<Option<Gc<Fields>>>,
    other: GcCell<Option<Gc<Fields>>>,
}

/// `n` [`Fields`]: a binary tree (the object of heap index `h` has children `2h` and `2h + 1`)
/// allocated in preorder, then one `other` edge per object, to `other(rng, i, n)` (`i` in
/// allocation order). Returns the tree's root.
fn fields_heap(n: usize, seed: u64, other: fn(&mut Rng, usize, usize) -> usize) -> Gc<Fields> {
    let new = || {
        Gc::new(Fields {
            left: GcCell::new(None),
            right: GcCell::new(None),
            other: GcCell::new(None),
        })
    };
    // Allocate in preorder, remembering each object's heap index.
    let mut by_heap_index: Vec<Option<Gc<Fields>>> = vec![None; n + 1];
    let mut in_order = Vec::with_capacity(n);
    let mut stack = vec![1];
    while let Some(h) = stack.pop() {
        let node = new();
        by_heap_index[h] = Some(node.clone());
        in_order.push(node);
        for child in [2 * h + 1, 2 * h] {
            if child <= n {
                stack.push(child);
            }
        }
    }
    let node = |h: usize| {
        by_heap_index[h]
            .clone()
            .expect("bench: every index allocated")
    };
    for h in 1..=n {
        let this = node(h);
        if 2 * h <= n {
            *this.left.borrow_mut() = Some(node(2 * h));
        }
        if 2 * h < n {
            *this.right.borrow_mut() = Some(node(2 * h + 1));
        }
    }
    let mut rng = Rng(seed);
    for (i, this) in in_order.iter().enumerate() {
        *this.other.borrow_mut() = Some(in_order[other(&mut rng, i, n)].clone());
    }
    node(1)
}

fn full_collection_with(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    detector: impl CycleDetector + 'static,
    heap: HeapBuilder,
) {
    configure(detector);
    let root = heap(LIVE_OBJECTS);
    group.bench_function(id, |b| {
        b.iter(|| {
            let found = gc::collect();
            assert_eq!(found, 0, "bench: every object is live");
        })
    });
    drop(root);
    gc::collect();
    assert_heap_empty("full_collection");
}

fn full_collection(c: &mut Criterion) {
    let mut group = c.benchmark_group("full_collection");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(LIVE_OBJECTS as u64));
    let heaps: [(&str, HeapBuilder); 4] = [
        ("random", |n| Box::new(random_heap(n).swap_remove(0))),
        ("local", |n| Box::new(local_heap(n).swap_remove(0))),
        ("fields-random", |n| {
            Box::new(fields_heap(n, 0x2545_f491_4f6c_dd1d, |rng, _, n| {
                rng.below(n)
            }))
        }),
        ("fields-local", |n| {
            Box::new(fields_heap(n, 0x9e37_79b9_7f4a_7c15, |rng, i, _| {
                i - rng.below(i.min(WINDOW) + 1)
            }))
        }),
    ];
    for (graph, heap) in heaps {
        full_collection_with(
            &mut group,
            &format!("{graph}/trial-deletion"),
            TrialDeletion,
            heap,
        );
        full_collection_with(
            &mut group,
            &format!("{graph}/mark-sweep:1"),
            MarkSweep::new(1),
            heap,
        );
        full_collection_with(
            &mut group,
            &format!("{graph}/mark-sweep:2"),
            MarkSweep::new(2),
            heap,
        );
        full_collection_with(
            &mut group,
            &format!("{graph}/mark-sweep:2-split"),
            MarkSweep::new(2).always_split(),
            heap,
        );
    }
    group.finish();
}

// --- rings ----------------------------------------------------------------------------------------

/// Rings per iteration.
const RINGS: usize = 100_000;
/// Nodes per ring.
const RING_LEN: usize = 10;

/// Builds the rings and drops every handle to them.
fn abandon_rings() {
    for _ in 0..RINGS {
        let first = Gc::new(Node {
            edges: GcCell::new(Vec::with_capacity(1)),
        });
        let mut last = first.clone();
        for _ in 1..RING_LEN {
            let node = Gc::new(Node {
                edges: GcCell::new(Vec::with_capacity(1)),
            });
            last.edges.borrow_mut().push(node.clone());
            last = node;
        }
        last.edges.borrow_mut().push(first);
    }
}

fn rings(c: &mut Criterion) {
    let mut group = c.benchmark_group("rings");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements((RINGS * RING_LEN) as u64));
    for (id, workers) in [
        ("trial-deletion", 0),
        ("mark-sweep:1", 1),
        ("mark-sweep:2", 2),
    ] {
        group.bench_function(BenchmarkId::new(id, "collect"), |b| {
            match workers {
                0 => configure(TrialDeletion),
                n => configure(MarkSweep::new(n)),
            }
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    abandon_rings();
                    let start = Instant::now();
                    let found = gc::collect();
                    timed += start.elapsed();
                    assert_eq!(found, RINGS * RING_LEN, "bench: collect missed ring nodes");
                }
                timed
            });
            assert_heap_empty("rings");
        });
    }
    group.finish();
}

/// What `criterion_group!` and `criterion_main!` would generate, written out so that no
/// undocumented public function is left for the `missing_docs` lint.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    mark(&mut criterion);
    full_collection(&mut criterion);
    rings(&mut criterion);
    criterion.final_summary();
}
