//! Tests of the marking engine with `std`: a graph of plain atomics, and gclab's own headers.
//! (The loom models, which explore interleavings, are in `loom-tests`.)

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

use super::finger::DEFAULT_CHUNK;
use super::*;
use crate::header::flags;
use crate::sync::Std;
use crate::{Edge, Header, ObjectBox, Trace, Visitor};

/// A graph of numbered nodes with std atomics; counts every scan.
#[derive(Clone)]
struct VecGraph(Arc<Nodes>);

struct Nodes {
    edges: Vec<Vec<usize>>,
    marks: Vec<AtomicUsize>,
    scans: Vec<AtomicUsize>,
    /// Nodes taken out of the graph by a retiring walk (`is_node` is false for them).
    retired: Vec<AtomicBool>,
    /// Tracing this node panics.
    poison: Option<usize>,
}

impl VecGraph {
    fn new(edges: Vec<Vec<usize>>) -> Self {
        let n = edges.len();
        VecGraph(Arc::new(Nodes {
            edges,
            marks: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            scans: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            retired: (0..n).map(|_| AtomicBool::new(false)).collect(),
            poison: None,
        }))
    }

    fn marked(&self) -> Vec<bool> {
        self.0
            .marks
            .iter()
            .map(|m| m.load(Relaxed) & MARK_BIT != 0)
            .collect()
    }

    fn scans(&self) -> Vec<usize> {
        self.0.scans.iter().map(|s| s.load(Relaxed)).collect()
    }

    /// What a sequential depth-first search reaches.
    fn reachable(&self, roots: &[usize]) -> Vec<bool> {
        let mut seen = vec![false; self.0.edges.len()];
        let mut stack = roots.to_vec();
        while let Some(n) = stack.pop() {
            if !std::mem::replace(&mut seen[n], true) {
                stack.extend(&self.0.edges[n]);
            }
        }
        seen
    }
}

// SAFETY: one atomic per node, in a vector that lives as long as the graph; `trace` only reads
// the immutable edge lists (and counts scans atomically).
unsafe impl Graph for VecGraph {
    type Platform = Std;
    type Node = usize;

    unsafe fn mark_word(&self, node: usize) -> &AtomicUsize {
        &self.0.marks[node]
    }

    unsafe fn trace(&self, node: usize, visit: &mut impl FnMut(usize)) {
        assert_ne!(self.0.poison, Some(node), "trace of the poisoned node");
        self.0.scans[node].fetch_add(1, Relaxed);
        for &child in &self.0.edges[node] {
            visit(child);
        }
    }

    unsafe fn is_node(&self, target: usize) -> bool {
        !self.0.retired[target].load(Relaxed)
    }
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

/// `n` nodes, out-degree 0 to 3 at random.
fn random_edges(n: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = Rng(seed | 1);
    (0..n)
        .map(|_| (0..rng.below(4)).map(|_| rng.below(n)).collect())
        .collect()
}

/// Marks with `marker` and checks: reachable ⇔ marked, each reachable node scanned once.
fn check<S: Spawn>(mut marker: Marker<VecGraph, S>, roots: &[usize]) -> MarkStats {
    let graph = marker.graph().clone();
    let mut root_vec = roots.to_vec();
    // SAFETY: every node index reached is in range; nothing else touches the marks.
    let stats = unsafe { marker.mark(&mut root_vec) };
    assert!(root_vec.is_empty());
    let reachable = graph.reachable(roots);
    assert_eq!(graph.marked(), reachable);
    let expected: Vec<usize> = reachable.iter().map(|&r| usize::from(r)).collect();
    assert_eq!(graph.scans(), expected);
    assert_eq!(stats.scanned, expected.iter().sum::<usize>());
    stats
}

fn shapes() -> Vec<(Vec<Vec<usize>>, Vec<usize>)> {
    vec![
        // a chain 0 → 1 → 2 → 3, and an unreachable 4 → 0
        (vec![vec![1], vec![2], vec![3], vec![], vec![0]], vec![0]),
        // a diamond
        (vec![vec![1, 2], vec![3], vec![3], vec![]], vec![0]),
        // a cycle, entered twice, and a self loop
        (vec![vec![1], vec![2], vec![0, 0], vec![3]], vec![1, 1, 3]),
        // no roots
        (vec![vec![1], vec![0]], vec![]),
        // a fan: one root, many children (the others must steal)
        (
            (0..40)
                .map(|i| if i == 0 { (1..40).collect() } else { vec![] })
                .collect(),
            vec![0],
        ),
    ]
}

#[test]
fn sequential_marks_exactly_the_reachable_nodes() {
    for (edges, roots) in shapes() {
        check(
            Marker::<_, ScopedThreads>::sequential(VecGraph::new(edges)),
            &roots,
        );
    }
}

#[test]
fn one_worker_takes_the_sequential_path() {
    let (edges, roots) = shapes().remove(1);
    let marker = Marker::parallel(VecGraph::new(edges), ScopedThreads::new(1));
    assert_eq!(check(marker, &roots).workers, 1);
}

#[test]
fn scoped_threads_mark_exactly_the_reachable_nodes() {
    for workers in [2, 3] {
        for (edges, roots) in shapes() {
            let marker = Marker::parallel(VecGraph::new(edges), ScopedThreads::new(workers))
                .with_root_chunk(1);
            let ran = if roots.is_empty() { 0 } else { workers };
            assert_eq!(check(marker, &roots).workers, ran);
        }
    }
}

#[test]
fn random_graphs_in_parallel_match_the_sequential_search() {
    let (n, rounds) = if cfg!(miri) { (64, 2) } else { (20_000, 8) };
    for seed in 0..rounds {
        let edges = random_edges(n, seed);
        let roots: Vec<usize> = (0..n).step_by(n / 8).collect();
        let marker = Marker::parallel(VecGraph::new(edges), ScopedThreads::new(2));
        check(marker, &roots);
    }
}

#[test]
#[cfg_attr(miri, ignore = "a rayon pool's threads outlive the test")]
fn a_rayon_pool_marks_exactly_the_reachable_nodes() {
    let pool = Arc::new(RayonPool::new(2).unwrap());
    for seed in 0..8 {
        let edges = random_edges(20_000, seed);
        let marker = Marker::parallel(VecGraph::new(edges), ArcPool(Arc::clone(&pool)));
        check(marker, &[0, 1, 2, 3]);
    }
    for (edges, roots) in shapes() {
        let marker = Marker::parallel(VecGraph::new(edges), ArcPool(Arc::clone(&pool)));
        check(marker, &roots);
    }
}

// --- the finger walk -------------------------------------------------------------------------

// SAFETY: as for `Graph`; a root's word holds 1 below the finger's bits (set by `finger_graph`
// before marking), unchanged during it.
unsafe impl FingerGraph for VecGraph {
    fn is_root(&self, word: usize) -> bool {
        word > 0
    }

    /// Within two places of the finger, either way.
    fn is_near(&self, finger: usize, target: usize) -> bool {
        finger.abs_diff(target) <= 2
    }
}

/// `edges` as a graph for a finger marking: each root's word holds 1.
fn finger_graph(edges: Vec<Vec<usize>>, roots: &[usize]) -> VecGraph {
    let graph = VecGraph::new(edges);
    for &root in roots {
        graph.0.marks[root].store(1, Relaxed);
    }
    graph
}

/// Marks `edges` from `roots` with a finger walk in node order — on this thread, or split over
/// `workers` scoped threads in chunks of `chunk` — and checks: reachable ⇔ marked, each
/// reachable node scanned once, the nodes handed back.
fn check_finger(edges: Vec<Vec<usize>>, roots: &[usize], workers: usize, chunk: usize) {
    let graph = finger_graph(edges, roots);
    let n = graph.0.edges.len();
    let mut marker = FingerMarker::new(graph.clone()).with_chunk(chunk);
    let mut nodes: Vec<usize> = (0..n).collect();
    // SAFETY: `nodes` is every node once, none marked or passed; nothing else touches the marks.
    let stats = unsafe { marker.mark_parallel(&mut nodes, &ScopedThreads::new(workers)) };
    assert_eq!(
        nodes,
        (0..n).collect::<Vec<_>>(),
        "the nodes are handed back"
    );
    let reachable = graph.reachable(roots);
    assert_eq!(
        graph.marked(),
        reachable,
        "{workers} workers, chunks of {chunk}"
    );
    let expected: Vec<usize> = reachable.iter().map(|&r| usize::from(r)).collect();
    assert_eq!(
        graph.scans(),
        expected,
        "{workers} workers, chunks of {chunk}"
    );
    assert_eq!(stats.scanned, expected.iter().sum::<usize>());
}

#[test]
fn a_finger_walk_marks_exactly_the_reachable_nodes() {
    for workers in [1, 2, 3] {
        for chunk in [1, 2, DEFAULT_CHUNK] {
            for (edges, roots) in shapes() {
                check_finger(edges, &roots, workers, chunk);
            }
        }
    }
}

#[test]
fn split_finger_walks_of_random_graphs_match_the_sequential_search() {
    let (n, rounds) = if cfg!(miri) { (64, 2) } else { (20_000, 8) };
    for seed in 0..rounds {
        let roots: Vec<usize> = (0..n).step_by(n / 8).collect();
        for (workers, chunk) in [(1, DEFAULT_CHUNK), (2, 7), (2, 1024), (3, 64)] {
            check_finger(random_edges(n, seed), &roots, workers, chunk);
        }
    }
}

/// Takes each traced node out of the graph (its mark word cleared, as `MarkSweep`'s sweep does)
/// and records what the walk reports.
struct RecordAndRetire<'a> {
    graph: &'a VecGraph,
    traced: Vec<usize>,
    passed: Vec<usize>,
}

impl Retire<usize> for RecordAndRetire<'_> {
    fn traced(&mut self, node: usize) {
        self.graph.0.retired[node].store(true, Relaxed);
        self.graph.0.marks[node].store(0, Relaxed);
        self.traced.push(node);
    }

    fn passed(&mut self, node: usize) {
        self.passed.push(node);
    }
}

#[test]
fn a_retiring_walk_reports_each_reachable_node_traced_and_the_rest_passed() {
    let (n, rounds) = if cfg!(miri) { (64, 2) } else { (5_000, 8) };
    let mut graphs = shapes();
    for seed in 0..rounds {
        graphs.push((random_edges(n, seed), (0..n).step_by(n / 8).collect()));
    }
    for (edges, roots) in graphs {
        let graph = finger_graph(edges, &roots);
        let n = graph.0.edges.len();
        let reachable = graph.reachable(&roots);
        let mut marker = FingerMarker::new(graph.clone());
        let mut retire = RecordAndRetire {
            graph: &graph,
            traced: Vec::new(),
            passed: Vec::new(),
        };
        // SAFETY: every node once, none marked or passed; `traced` retires each traced node.
        unsafe { marker.mark_retiring(0..n, &mut retire) };
        let RecordAndRetire { traced, passed, .. } = retire;

        let mut traced_sorted = traced.clone();
        traced_sorted.sort_unstable();
        let expected: Vec<usize> = (0..n).filter(|&i| reachable[i]).collect();
        assert_eq!(
            traced_sorted, expected,
            "traced once each: the reachable nodes"
        );
        let expected_scans: Vec<usize> = reachable.iter().map(|&r| usize::from(r)).collect();
        assert_eq!(graph.scans(), expected_scans);
        assert!(
            passed.windows(2).all(|w| w[0] < w[1]),
            "passed in walk order"
        );
        for (i, &reached) in reachable.iter().enumerate() {
            if reached {
                // Neither the walk nor an edge touched its word once it was retired.
                assert_eq!(graph.0.marks[i].load(Relaxed), 0, "node {i}");
            } else {
                assert!(
                    passed.binary_search(&i).is_ok(),
                    "unreachable node {i} reported passed"
                );
            }
        }
    }
}

#[test]
fn near_edges_counts_the_sampled_edges_that_lead_near() {
    // Node i leads to i + 1 (near) and to i + 50 (far), while those exist.
    let n = 200;
    let edges: Vec<Vec<usize>> = (0..n)
        .map(|i| [i + 1, i + 50].into_iter().filter(|&t| t < n).collect())
        .collect();
    let nodes: Vec<usize> = (0..n).collect();
    let mut marker = FingerMarker::new(VecGraph::new(edges));
    // SAFETY: every node is in range; sampling reads no mark word.
    let all = unsafe { marker.near_edges(&nodes[..150], 150) };
    assert!((all - 0.5).abs() < 1e-9, "{all}");
    // The last 50 nodes have only near edges (and the last none).
    // SAFETY: as above.
    let tail = unsafe { marker.near_edges(&nodes[150..], 10) };
    assert!((tail - 1.0).abs() < 1e-9, "{tail}");
    // No edges at all counts as near.
    // SAFETY: as above.
    assert_eq!(unsafe { marker.near_edges(&nodes[199..], 1) }, 1.0);
}

/// A pool shared by several markers in a test.
struct ArcPool(Arc<RayonPool>);

impl Spawn for ArcPool {
    fn workers(&self) -> usize {
        self.0.workers()
    }
    fn run<W: Send + 'static, R: Send + 'static>(&self, items: Vec<W>, work: fn(W) -> R) -> Vec<R> {
        self.0.run(items, work)
    }
}

#[test]
fn a_panicking_trace_stops_every_worker_and_reaches_the_caller() {
    let n = if cfg!(miri) { 32 } else { 5_000 };
    let mut edges = random_edges(n, 7);
    edges[0] = (1..n).collect();
    let graph = VecGraph(Arc::new(Nodes {
        poison: Some(n / 2),
        ..Arc::into_inner(VecGraph::new(edges).0).unwrap()
    }));
    let mut marker = Marker::parallel(graph, ScopedThreads::new(2));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: node indices are in range; nothing else touches the marks.
        unsafe { marker.mark(&mut vec![0]) }
    }));
    assert!(outcome.is_err(), "the panic must reach the caller");
}

// --- gclab's headers --------------------------------------------------------------------------

/// A test object: edges to other test objects, set after allocation.
struct Node {
    edges: RefCell<Vec<Edge>>,
}

// SAFETY: reports every edge the node holds, once; the test keeps each target alive.
unsafe impl Trace for Node {
    const MAY_CONTAIN_GC: bool = true;
    fn trace(&self, visitor: &mut dyn Visitor) {
        // SAFETY: nothing borrows the cell mutably while the marker runs.
        for &edge in unsafe { self.edges.try_borrow_unguarded() }.unwrap() {
            visitor.visit(edge);
        }
    }
}

fn objects(n: usize) -> Vec<NonNull<Header>> {
    (0..n)
        .map(|_| {
            let object = Box::leak(Box::new(ObjectBox::new(Node {
                edges: RefCell::new(Vec::new()),
            })));
            NonNull::from(object).cast::<Header>()
        })
        .collect()
}

fn node(object: NonNull<Header>) -> &'static Node {
    // SAFETY: every test object is a live `ObjectBox<Node>` until `free`.
    unsafe { ObjectBox::<Node>::value_ptr(object).as_ref() }
}

fn free(objects: Vec<NonNull<Header>>) {
    for object in objects {
        // The box does not drop its value (`ManuallyDrop`): free the edge vector by hand.
        drop(node(object).edges.take());
        // SAFETY: each was leaked from a `Box<ObjectBox<Node>>` above, and is in no list.
        drop(unsafe { Box::from_raw(object.cast::<ObjectBox<Node>>().as_ptr()) });
    }
}

#[test]
fn header_graph_marks_members_only_and_keeps_the_low_bits() {
    let workers_list: &[usize] = if cfg!(miri) { &[1, 2] } else { &[1, 2, 3] };
    for &workers in workers_list {
        let n = if cfg!(miri) { 40 } else { 4_000 };
        let all = objects(n);
        let edges = random_edges(n, workers as u64);
        for (i, targets) in edges.iter().enumerate() {
            *node(all[i]).edges.borrow_mut() = targets.iter().map(|&t| all[t]).collect();
        }
        // Every object but the last tenth is a member; members keep a gc_refs-like value.
        let members = n - n / 10;
        for (i, &object) in all.iter().enumerate() {
            // SAFETY: live.
            let header = unsafe { Header::from_ptr(object) };
            if i < members {
                header.set(flags::EXAMINED);
            }
            header.set_scratch(i % 3);
        }
        let roots: Vec<usize> = (0..members).filter(|i| i % 3 != 0).step_by(50).collect();
        let mut marker = Marker::parallel(
            HeaderGraph::new(flags::EXAMINED),
            ScopedThreads::new(workers),
        );
        let mut root_nodes: Vec<HeaderNode> = roots.iter().map(|&r| all[r].into()).collect();
        // SAFETY: every object is live, nothing else touches the scratch words while it runs.
        unsafe { marker.mark(&mut root_nodes) };
        // The expected marks: reachable through members only.
        let mut seen = vec![false; n];
        let mut stack = roots.clone();
        while let Some(i) = stack.pop() {
            if i < members && !std::mem::replace(&mut seen[i], true) {
                stack.extend(&edges[i]);
            }
        }
        for (i, &object) in all.iter().enumerate() {
            // SAFETY: live; the marker has returned.
            let header = unsafe { Header::from_ptr(object) };
            assert_eq!(is_marked(header), seen[i], "object {i}, {workers} workers");
            assert_eq!(
                header.scratch() & !MARK_BIT,
                i % 3,
                "low bits of object {i}"
            );
        }
        free(all);
    }
}
