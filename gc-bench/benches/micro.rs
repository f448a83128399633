//! Criterion micro-benchmarks of gclab's hot paths, small and fast (`cargo bench -p gc-bench`):
//!
//! - `handle_clone_drop`: cloning and dropping a handle, gclab `Gc` against `std::rc::Rc` — no
//!   allocation, no dynamic dispatch, no lock is the design rule (not named `clone_drop`: that
//!   group of `gc-refcount`'s benches has the same ids, and criterion, which keeps every result
//!   under `target/criterion/GROUP/ID`, would compare the two);
//! - `allocate`: allocating and freeing a leaf object of 16, 64 and 256 bytes, and a container
//!   node (tracked), gclab against `Rc`;
//! - `trial_deletion`: one full collection over 100 000 objects of garbage rings, per object;
//! - `mark_per_object`: one full collection of a live heap of 200 000 objects (a random graph of
//!   average out-degree 2, all reachable from one handle), per object, under the presets `mark-sweep`
//!   (`mark-sweep:1`, sequential marking) and `mark-sweep-par` (`mark-sweep:2`, the parallel
//!   marking engine of `gc_core::mark` with two workers), and under `cpython312` (trial deletion,
//!   the same schedule) for reference. Everything survives, so this is the cost of finding the
//!   roots and marking every live object once; `cargo bench -p gc-refcount --bench mark` times
//!   the marking engine alone on a larger heap;
//! - `young_collection`: a generation-0 collection of 700 new objects beside an old generation
//!   of 100 000 (what CPython's `(700, 10, 10)` schedule does all day).
//!
//! Every group is kept short (10 samples, about a second of measurement each) so that the whole
//! `cargo bench -p gc-bench` takes well under two minutes; `--measurement-time` and
//! `--sample-size` on the command line override that for a careful measurement.
//!
//! Criterion runs everything on the main thread, whose gclab heap can only be reconfigured while
//! it is empty: each benchmark configures the heap it needs and leaves no object behind. `main`
//! is written by hand (not `criterion_main!`) because the workspace denies undocumented items.

use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use gc_bench::rng::Rng;
use gc_refcount::{gc, Gc, GcCell, HeapConfig, Trace};

/// A container node: tracked by the collector.
#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
}

impl Node {
    fn new() -> Gc<Node> {
        Gc::new(Node {
            next: GcCell::new(None),
        })
    }
}

/// A container node with any number of edges, for the random live heap of `mark`.
#[derive(Trace)]
struct GraphNode {
    edges: GcCell<Vec<Gc<GraphNode>>>,
}

/// Configures this thread's heap, or panics saying why it could not.
fn configure(name: &str) {
    let config = HeapConfig::from_name(name).unwrap_or_else(|e| panic!("bad config {name}: {e}"));
    gc::configure(config)
        .unwrap_or_else(|e| panic!("configure {name}: {e} (a benchmark left objects alive)"));
}

fn clone_drop(c: &mut Criterion) {
    configure("trial-deletion/manual/system");
    let mut group = c.benchmark_group("handle_clone_drop");
    let handle = Node::new();
    group.bench_function("gclab", |b| {
        b.iter(|| drop(black_box(handle.clone())));
    });
    let rc = Rc::new(0u64);
    group.bench_function("rc", |b| b.iter(|| drop(black_box(rc.clone()))));
    group.finish();
    drop(handle);
}

fn allocate(c: &mut Criterion) {
    configure("trial-deletion/manual/system");
    let mut group = c.benchmark_group("allocate");
    group.bench_function(BenchmarkId::new("gclab-leaf", 16), |b| {
        b.iter(|| drop(black_box(Gc::new([0u8; 16]))))
    });
    group.bench_function(BenchmarkId::new("gclab-leaf", 64), |b| {
        b.iter(|| drop(black_box(Gc::new([0u8; 64]))))
    });
    group.bench_function(BenchmarkId::new("gclab-leaf", 256), |b| {
        b.iter(|| drop(black_box(Gc::new([0u8; 256]))))
    });
    group.bench_function("gclab-node", |b| b.iter(|| drop(black_box(Node::new()))));
    group.bench_function(BenchmarkId::new("rc-leaf", 64), |b| {
        b.iter(|| drop(black_box(Rc::new([0u8; 64]))))
    });
    group.finish();
}

/// Builds `rings` rings of 10 nodes and drops every handle: all of it cyclic garbage.
fn make_ring_garbage(rings: usize) {
    for _ in 0..rings {
        let first = Node::new();
        let mut last = first.clone();
        for _ in 1..10 {
            let node = Node::new();
            *last.next.borrow_mut() = Some(node.clone());
            last = node;
        }
        *last.next.borrow_mut() = Some(first);
    }
}

fn trial_deletion(c: &mut Criterion) {
    configure("trial-deletion/manual/system");
    const RINGS: usize = 10_000;
    let mut group = c.benchmark_group("trial_deletion");
    // Each sample builds 100 000 objects of garbage: fewer, flat samples fit the time budget.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(RINGS as u64 * 10));
    group.bench_function("collect-100k-ring-objects", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                make_ring_garbage(RINGS);
                let start = Instant::now();
                let found = gc::collect();
                total += start.elapsed();
                assert_eq!(found, RINGS * 10);
            }
            total
        })
    });
    group.finish();
}

/// Panics unless every gclab object of this thread has been freed.
fn assert_heap_empty(after: &str) {
    let stats = gc::stats();
    assert_eq!(
        stats.objects_allocated, stats.objects_freed,
        "bench: {after} left gclab objects alive"
    );
}

/// `n` live objects held by the returned handle: each object but the first is the child of a
/// random earlier one (so the first reaches all of them), and each gets one more edge to a random
/// object — average out-degree 2, with shared children and cycles.
fn random_live_heap(n: usize) -> Gc<GraphNode> {
    let mut rng = Rng::new(7);
    let nodes: Vec<Gc<GraphNode>> = (0..n)
        .map(|_| {
            Gc::new(GraphNode {
                edges: GcCell::new(Vec::with_capacity(2)),
            })
        })
        .collect();
    for i in 1..n {
        let parent = rng.below(i);
        nodes[parent].edges.borrow_mut().push(nodes[i].clone());
    }
    for node in &nodes {
        node.edges.borrow_mut().push(nodes[rng.below(n)].clone());
    }
    nodes[0].clone()
}

fn mark(c: &mut Criterion) {
    const LIVE: usize = 200_000;
    let mut group = c.benchmark_group("mark_per_object");
    // Each sample is a few collections of 200 000 objects: fewer, flat samples fit the budget.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(LIVE as u64));
    for (id, preset) in [
        ("mark-sweep:1", "mark-sweep"),
        ("mark-sweep:2", "mark-sweep-par"),
        ("trial-deletion", "cpython312"),
    ] {
        configure(preset);
        // Built with automatic collections off, so the setup stays quick; `gc::collect` below
        // examines every generation regardless.
        gc::disable();
        let root = random_live_heap(LIVE);
        group.bench_function(BenchmarkId::new(id, "200k-live"), |b| {
            b.iter(|| {
                let found = gc::collect();
                assert_eq!(found, 0, "bench: every object is live");
            })
        });
        drop(root);
        gc::collect();
        gc::enable();
        assert_heap_empty("mark_per_object");
    }
    group.finish();
}

fn young_collection(c: &mut Criterion) {
    configure("trial-deletion/cpython312/system");
    gc::disable();
    const OLD: usize = 100_000;
    const YOUNG: usize = 700;
    // An old generation: one long chain, moved to the oldest generation by a full collection.
    let head = Node::new();
    let mut tail = head.clone();
    for _ in 1..OLD {
        let node = Node::new();
        *tail.next.borrow_mut() = Some(node.clone());
        tail = node;
    }
    drop(tail);
    gc::collect();
    let mut group = c.benchmark_group("young_collection");
    group.throughput(Throughput::Elements(YOUNG as u64));
    group.bench_function("700-young-beside-100k-old", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                make_ring_garbage(YOUNG / 10);
                let start = Instant::now();
                let found = gc::collect_generation(0).expect("generation 0 exists");
                total += start.elapsed();
                assert_eq!(found, YOUNG);
            }
            total
        })
    });
    group.finish();
    // Free the chain from its head iteratively (the heap frees at zero without recursion).
    drop(head);
    gc::collect();
    gc::enable();
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    clone_drop(&mut criterion);
    allocate(&mut criterion);
    trial_deletion(&mut criterion);
    mark(&mut criterion);
    young_collection(&mut criterion);
    criterion.final_summary();
}
