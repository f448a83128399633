//! `MarkSweep`: rings and self cycles, both disciplines it supports, a stress test of parallel
//! marking on a large random graph against a sequential search, and a 10 000 000-node chain.
//! (The reachability oracle runs it too: see `oracle.rs`.)
//!
//! Every test configures its thread's heap (each test runs on a fresh thread).

use std::cell::RefCell;
use std::sync::Mutex;

use gc_refcount::{gc, Discipline, Gc, GcCell, HeapConfig, Manual, MarkSweep, Trace, Weak};

thread_local! {
    /// Ids of the nodes whose value has been dropped.
    static DROPPED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
struct Node {
    id: usize,
    edges: GcCell<Vec<Gc<Node>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        DROPPED.with(|log| log.borrow_mut().push(self.id));
    }
}

fn node(id: usize) -> Gc<Node> {
    Gc::new(Node {
        id,
        edges: GcCell::new(Vec::new()),
    })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.edges.borrow_mut().push(to.clone());
}

/// A ring of `len` nodes numbered from `first`; returns its first node.
fn ring(first: usize, len: usize) -> Gc<Node> {
    let head = node(first);
    let mut last = head.clone();
    for id in first + 1..first + len {
        let next = node(id);
        link(&last, &next);
        last = next;
    }
    link(&last, &head);
    head
}

fn dropped() -> Vec<usize> {
    DROPPED.with(|log| log.borrow().clone())
}

/// Mark–sweep with `workers` threads, splitting the marking over them however small the heap and
/// however near its edges (so that the small tests exercise the split walk too), collecting only
/// when asked.
fn configure(workers: usize, discipline: Discipline) {
    configure_detector(
        MarkSweep::new(workers).parallel_threshold(0).always_split(),
        discipline,
    );
}

/// A heap with `detector`, collecting only when asked.
fn configure_detector(detector: MarkSweep, discipline: Discipline) {
    let config = HeapConfig::default()
        .detector(detector)
        .discipline(discipline)
        .scheduler(Manual);
    gc::configure(config).unwrap();
}

fn assert_all_freed() {
    let stats = gc::stats();
    assert_eq!(stats.live_objects(), 0, "{stats:?}");
    assert_eq!(gc::tracked_count(), 0);
}

fn rings_and_self_cycles(workers: usize) {
    configure(workers, Discipline::Immediate);
    assert_eq!(
        gc::config_name(),
        format!("mark-sweep:{workers}/manual/pool")
    );
    let (rings, len) = if cfg!(miri) { (3, 4) } else { (200, 10) };
    let kept = ring(0, 5);
    let mut weaks: Vec<Weak<Node>> = Vec::new();
    let mut id = 5;
    for _ in 0..rings {
        let head = ring(id, len);
        weaks.push(Gc::downgrade(&head));
        id += len;
    }
    for _ in 0..rings {
        let own = node(id);
        link(&own, &own);
        weaks.push(Gc::downgrade(&own));
        id += 1;
    }
    // A live structure hanging off the kept ring survives too.
    let tail = ring(id, 3);
    link(&kept, &tail);
    drop(tail);
    assert!(dropped().is_empty());

    let garbage = rings * len + rings;
    assert_eq!(gc::collect(), garbage);
    assert_eq!(dropped().len(), garbage);
    assert!(dropped().iter().all(|&d| (5..5 + garbage).contains(&d)));
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));
    assert_eq!(gc::tracked_count(), 5 + 3);
    // Nothing left to find; the survivors' marks were cleared, so a second pass agrees.
    assert_eq!(gc::collect(), 0);
    drop(kept);
    assert_eq!(gc::collect(), 5 + 3);
    drop(weaks);
    assert_all_freed();
}

#[test]
fn one_worker_collects_rings_and_self_cycles() {
    rings_and_self_cycles(1);
}

#[test]
fn two_workers_collect_rings_and_self_cycles() {
    rings_and_self_cycles(2);
}

#[test]
fn deferred_discipline_frees_everything_unreachable() {
    configure(2, Discipline::Deferred);
    let kept = node(0);
    let child = node(1);
    link(&kept, &child);
    drop(child);
    // Acyclic garbage: under the deferred discipline only a collection frees it.
    let a = node(2);
    let b = node(3);
    link(&a, &b);
    drop((a, b));
    let cycle = ring(4, 3);
    drop(cycle);
    assert!(dropped().is_empty());
    assert_eq!(gc::collect(), 5);
    let mut gone = dropped();
    gone.sort();
    assert_eq!(gone, vec![2, 3, 4, 5, 6]);
    drop(kept);
    assert_eq!(gc::collect(), 2);
    assert_all_freed();
}

#[test]
fn names_parse() {
    assert_eq!(MarkSweep::new(3).workers(), 3);
    assert_eq!(MarkSweep::new(0).workers(), 1, "clamped");
    assert_eq!(
        gc_refcount::CycleDetector::name(&MarkSweep::new(7)),
        "mark-sweep:7"
    );
    assert!(MarkSweep::from_name("mark-sweep").is_some());
    assert_eq!(MarkSweep::from_name("mark-sweep:64").unwrap().workers(), 64);
    assert!(MarkSweep::from_name("mark-sweep:65").is_none());
    assert!(MarkSweep::from_name("mark-sweep:x").is_none());
    assert!(MarkSweep::from_name("mark-sweeps").is_none());
}

// --- stress: a large random graph, marked in parallel many times ----------------------------------

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

/// What a sequential depth-first search from `roots` reaches.
fn reachable(edges: &[Vec<usize>], roots: &[usize]) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut stack = roots.to_vec();
    while let Some(n) = stack.pop() {
        if !std::mem::replace(&mut seen[n], true) {
            stack.extend(&edges[n]);
        }
    }
    seen
}

/// Serialises the tests that build the largest heaps (hundreds of MB each).
static BIG: Mutex<()> = Mutex::new(());

fn big() -> std::sync::MutexGuard<'static, ()> {
    BIG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `workers` mark a random graph of `n` nodes (average out-degree 2) `rounds` times; after every
/// collection the values dropped must be exactly those a sequential search does not reach from
/// the handles still held. Between collections the test drops a random tenth of its handles.
fn large_random_graph(workers: usize, n: usize, rounds: usize) {
    configure(workers, Discipline::Immediate);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let nodes: Vec<Gc<Node>> = (0..n).map(node).collect();
    let mut edges = vec![Vec::new(); n];
    for (from, out) in edges.iter_mut().enumerate() {
        for _ in 0..rng.below(5) {
            let to = rng.below(n);
            link(&nodes[from], &nodes[to]);
            out.push(to);
        }
    }
    // Hold a handle to one node in a hundred; drop the rest (refcounting frees what no cycle
    // keeps, at once).
    let mut roots: Vec<usize> = (0..n).filter(|_| rng.below(100) == 0).collect();
    let mut handles: Vec<Gc<Node>> = roots.iter().map(|&r| nodes[r].clone()).collect();
    drop(nodes);
    for round in 0..rounds {
        let live = reachable(&edges, &roots);
        let expected_garbage = live.iter().filter(|&&l| !l).count();
        gc::collect();
        let mut dead = vec![false; n];
        for id in dropped() {
            assert!(!dead[id], "round {round}: node {id} dropped twice");
            dead[id] = true;
        }
        for id in 0..n {
            assert_eq!(
                dead[id], !live[id],
                "round {round}: node {id} reachable {} but dropped {}",
                live[id], dead[id]
            );
        }
        assert_eq!(dropped().len(), expected_garbage, "round {round}");
        assert_eq!(gc::tracked_count(), n - expected_garbage, "round {round}");
        // Let go of a tenth of the handles for the next round.
        let mut kept_roots = Vec::new();
        let mut kept = Vec::new();
        for (root, handle) in roots.into_iter().zip(handles) {
            if rng.below(10) == 0 {
                drop(handle);
            } else {
                kept_roots.push(root);
                kept.push(handle);
            }
        }
        roots = kept_roots;
        handles = kept;
    }
    drop(handles);
    gc::collect();
    assert_eq!(dropped().len(), n);
    assert_all_freed();
}

#[test]
fn parallel_marking_of_a_large_random_graph_matches_a_sequential_search() {
    let _big = big();
    let (n, rounds) = if cfg!(miri) { (300, 2) } else { (1_000_000, 4) };
    large_random_graph(2, n, rounds);
}

/// The sequential marking's finger walk on a heap spread over far more than its near window:
/// edges to targets far ahead of and far behind the finger, in both directions.
#[test]
fn finger_marking_of_a_large_random_graph_matches_a_sequential_search() {
    let _big = big();
    let (n, rounds) = if cfg!(miri) { (300, 2) } else { (200_000, 4) };
    large_random_graph(1, n, rounds);
}

// --- deep structures ------------------------------------------------------------------------------

/// A singly linked node whose link can be set later.
#[derive(Trace)]
struct Link {
    next: GcCell<Option<Gc<Link>>>,
}

/// The rings' length under Miri, which checks the marking's pointer work rather than its depth:
/// several times the walks' prefetch distances (16 and 32) and the finger walk's test interval
/// (32 steps), so that every path of a long walk is taken. Miri's time grows with the length:
/// the three ring tests took 37 s in all at 500 links, 9 s at 150.
const MIRI_RING: usize = 150;

/// A ring of `n` links: marked through while a handle holds it (no recursion in marking), then
/// collected as cyclic garbage (no recursion in the sweep or the tear-down). Returns how many of
/// the two collections split their marking over several threads (the heap's statistics).
fn long_ring(detector: MarkSweep, n: usize) -> usize {
    configure_detector(detector, Discipline::Immediate);
    let tail = Gc::new(Link {
        next: GcCell::new(None),
    });
    let mut head = tail.clone();
    for _ in 1..n {
        head = Gc::new(Link {
            next: GcCell::new(Some(head)),
        });
    }
    *tail.next.borrow_mut() = Some(head.clone());
    drop(tail);
    // Live: every marking walks the whole chain, one grey object at a time.
    assert_eq!(gc::collect(), 0);
    assert_eq!(gc::tracked_count(), n);
    let weak = Gc::downgrade(&head);
    drop(head);
    assert_eq!(gc::collect(), n);
    assert!(weak.upgrade().is_none());
    drop(weak);
    assert_all_freed();
    gc::stats()
        .generations
        .iter()
        .map(|generation| generation.split_markings)
        .sum()
}

#[test]
fn a_long_ring_is_marked_and_collected_without_recursion() {
    let _big = big();
    let split = long_ring(
        MarkSweep::new(1),
        if cfg!(miri) { MIRI_RING } else { 10_000_000 },
    );
    assert_eq!(split, 0, "one worker marks by one walk");
}

#[test]
fn a_long_ring_is_marked_in_parallel_and_collected() {
    let _big = big();
    let split = MarkSweep::new(2).parallel_threshold(0).always_split();
    let split = long_ring(split, if cfg!(miri) { MIRI_RING } else { 10_000_000 });
    assert_eq!(
        split, 2,
        "both collections split their marking (the statistics say so)"
    );
}

/// With two workers and a set whose edges all lead near their source (each link to the one
/// allocated just before it), the first collection counts in two walks (collecting the members
/// to sample their edges) and marks with one walk; the second, remembering that, counts with one
/// walk too. Each is a path of its own.
#[test]
fn a_long_ring_of_near_edges_is_marked_by_one_walk_with_two_workers() {
    let _big = big();
    let split = long_ring(
        MarkSweep::new(2).parallel_threshold(0),
        if cfg!(miri) { MIRI_RING } else { 1_000_000 },
    );
    assert_eq!(split, 0, "near edges: one walk, and the statistics say so");
}

/// A node whose `Trace` reports its one edge twice: a false edge, which breaks `Trace`'s safety
/// contract on purpose. The collector must notice it and panic before it frees anything.
struct TracesTwice {
    next: GcCell<Option<Gc<TracesTwice>>>,
}

// SAFETY: deliberately wrong (rule 1 of `Trace`: no false edges), to test that collections detect
// the excess and refuse to go on. A false edge can only make a collection panic here, never free
// a live object: the excess is found while counting, before anything is decided.
unsafe impl Trace for TracesTwice {
    const MAY_CONTAIN_GC: bool = true;
    fn trace(&self, visitor: &mut dyn gc_refcount::Visitor) {
        self.next.trace(visitor);
        self.next.trace(visitor);
    }
}

/// Under `detector`: a → b where only `a` holds `b`, so the second report of the edge finds no
/// reference left. The collection panics naming the type, nothing is freed, and once the bad
/// edge is gone everything is freed normally.
fn a_false_edge_panics_and_frees_nothing(workers: usize) {
    configure(workers, Discipline::Immediate);
    let b = Gc::new(TracesTwice {
        next: GcCell::new(None),
    });
    let a = Gc::new(TracesTwice {
        next: GcCell::new(Some(b)),
    });
    let panic = std::panic::catch_unwind(gc::collect).expect_err("a false edge");
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(message.contains("false edge"), "{message}");
    assert!(message.contains("TracesTwice"), "{message}");
    assert_eq!(gc::stats().live_objects(), 2);
    // The heap is intact: unlink, drop, and everything goes.
    *a.next.borrow_mut() = None;
    drop(a);
    assert_all_freed();
    assert_eq!(gc::collect(), 0);
}

#[test]
fn a_false_edge_is_detected_by_the_sequential_count() {
    a_false_edge_panics_and_frees_nothing(1);
}

#[test]
fn a_false_edge_is_detected_by_the_parallel_count() {
    a_false_edge_panics_and_frees_nothing(2);
}
