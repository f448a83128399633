//! Loom models of gclab's concurrent algorithms — the real code, instantiated with loom's types.
//!
//! [Loom](https://docs.rs/loom) runs a closure many times, each time under a different
//! interleaving of its threads (and, for atomics, a different choice among the values the
//! memory model allows a load to return), until every interleaving within a *preemption bound* —
//! how many times a thread may be switched out while it could still run — has been tried.
//!
//! gclab's concurrent code is generic over the sync facade ([`gc_core::sync::Platform`]); the
//! models instantiate it with [`Loom`](gc_core::sync::Loom) (cargo feature `loom` of gc-core),
//! in this crate's ordinary test binaries: `cargo test --workspace` runs them, no `--cfg loom`.
//!
//! ## Parallel marking (`tests/mark.rs`)
//!
//! [`check_marking`] runs [`gc_core::mark::Marker`] — the engine's own worker loop, stealing and
//! termination protocol — over a [`Shape`] (a small graph and its roots) with 2 or 3 workers on
//! loom's threads, and checks, in every execution:
//!
//! 1. every node reachable from the roots is marked and scanned exactly once;
//! 2. no unreachable node is marked;
//! 3. each worker, at the moment it sees the phase end, already sees every reachable node scanned
//!    (checked in [`Graph::worker_finished`], with Relaxed loads: only the termination protocol's
//!    own orderings make the scans visible there), and at least one worker sees it.
//!
//! Loom's platform bounds how long an idle worker polls ([`Platform::SPIN_LIMIT`]); a worker
//! that gives up holds nothing and claims nothing, so property 3 is checked for the workers that
//! saw the end.
//!
//! ## Finger marking split over workers (`tests/finger.rs`)
//!
//! [`check_finger_marking`] runs [`FingerMarker::mark_parallel`] — the split finger walk that
//! `MarkSweep` marks with when several workers mark a set whose edges lead far — over a [`Shape`] walked in node order, one node
//! per chunk, with 2 or 3 workers, and checks properties 1 and 2. Its termination needs no
//! protocol (a worker traces what its own edges mark), so property 3 does not apply.

use std::sync::atomic::Ordering::{self, Relaxed};
use std::sync::Arc;

use gc_core::mark::{
    FingerGraph, FingerMarker, Graph, LoomThreads, MarkStats, Marker, WorkerStats, MARK_BIT,
};
use gc_core::sync::{AtomicWord, Platform};

/// A graph to mark: edges by node number, and the roots (a root may be given twice).
#[derive(Debug, Clone)]
pub struct Shape {
    /// Out-edges of every node.
    pub edges: Vec<Vec<usize>>,
    /// The roots, in the order the workers claim them.
    pub roots: Vec<usize>,
}

impl Shape {
    /// `0 → 1 → … → len-1`, rooted at 0, plus one unreachable node pointing into the chain.
    pub fn chain(len: usize) -> Shape {
        let mut edges: Vec<Vec<usize>> = (0..len)
            .map(|i| if i + 1 < len { vec![i + 1] } else { vec![] })
            .collect();
        edges.push(vec![0]);
        Shape {
            edges,
            roots: vec![0],
        }
    }

    /// `0 → {1, 2}`, `1 → 3`, `2 → 3`: two paths to one shared child, which two workers may
    /// reach at once.
    pub fn diamond() -> Shape {
        Shape {
            edges: vec![vec![1, 2], vec![3], vec![3], vec![]],
            roots: vec![0],
        }
    }

    /// `0 → 1 → 2 → 0`, rooted at 0 and at 2, plus an unreachable self-loop (3).
    pub fn cycle() -> Shape {
        Shape {
            edges: vec![vec![1], vec![2], vec![0], vec![3]],
            roots: vec![0, 2],
        }
    }

    /// Root 0 given twice (so two workers can claim it at once), `0 → 1`.
    pub fn root_given_twice() -> Shape {
        Shape {
            edges: vec![vec![1], vec![]],
            roots: vec![0, 0],
        }
    }

    /// One root with `children` leaf children: whoever claims the root holds all the work, so
    /// any other worker gets some only by stealing.
    pub fn fan(children: usize) -> Shape {
        let mut edges = vec![(1..=children).collect::<Vec<usize>>()];
        edges.extend((0..children).map(|_| Vec::new()));
        Shape {
            edges,
            roots: vec![0],
        }
    }

    /// `2 → 1 → 0`, rooted at 2, plus an unreachable node (3) pointing to 0: every edge goes
    /// back in node order, so a finger walk in node order passes 0 and 1 unmarked and the edges
    /// that mark them later must trace them.
    pub fn backward_chain() -> Shape {
        Shape {
            edges: vec![vec![], vec![0], vec![1], vec![0]],
            roots: vec![2],
        }
    }

    /// Which nodes the roots reach.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.edges.len()];
        let mut stack = self.roots.clone();
        while let Some(n) = stack.pop() {
            if !std::mem::replace(&mut seen[n], true) {
                stack.extend(&self.edges[n]);
            }
        }
        seen
    }
}

/// A [`Shape`] as a [`Graph`] whose mark words and scan counters are `P`'s atomics.
pub struct ModelGraph<P: Platform>(Arc<Nodes<P>>);

/// The state of a [`ModelGraph`].
struct Nodes<P: Platform> {
    edges: Vec<Vec<usize>>,
    reachable: Vec<bool>,
    marks: Vec<P::AtomicUsize>,
    scans: Vec<P::AtomicUsize>,
    /// Workers that saw the phase end (instrumentation: a std atomic, invisible to loom).
    saw_end: std::sync::atomic::AtomicUsize,
}

impl<P: Platform> Clone for ModelGraph<P> {
    fn clone(&self) -> Self {
        ModelGraph(Arc::clone(&self.0))
    }
}

impl<P: Platform> ModelGraph<P> {
    /// The graph of `shape`, nothing marked. Inside a loom model if `P` is loom's.
    pub fn new(shape: &Shape) -> Self {
        let n = shape.edges.len();
        ModelGraph(Arc::new(Nodes {
            edges: shape.edges.clone(),
            reachable: shape.reachable(),
            marks: (0..n).map(|_| P::AtomicUsize::new(0)).collect(),
            scans: (0..n).map(|_| P::AtomicUsize::new(0)).collect(),
            saw_end: std::sync::atomic::AtomicUsize::new(0),
        }))
    }

    /// The graph of `shape` for a finger marking: nothing marked, and each root's word holding
    /// 1 (a root is known by its word, as a heap's `gc_refs > 0`).
    pub fn with_root_words(shape: &Shape) -> Self {
        let graph = ModelGraph::<P>::new(shape);
        for &root in &shape.roots {
            graph.0.marks[root].store(1, Relaxed);
        }
        graph
    }

    /// Checks properties 1 and 2 (see the crate docs) once the marking has returned.
    pub fn check_result(&self, stats: &MarkStats) {
        self.check_marks_and_scans(stats);
        // The last worker to go idle reads its own zero at once.
        assert!(
            self.0.saw_end.load(Relaxed) > 0,
            "no worker saw the phase end"
        );
    }

    /// Properties 1 and 2: reachable nodes marked and scanned once, others neither.
    fn check_marks_and_scans(&self, stats: &MarkStats) {
        let nodes = &self.0;
        for n in 0..nodes.edges.len() {
            let marked = nodes.marks[n].load(Relaxed) & MARK_BIT != 0;
            let scans = nodes.scans[n].load(Relaxed);
            if nodes.reachable[n] {
                assert!(marked, "reachable node {n} was not marked");
                assert_eq!(scans, 1, "reachable node {n} was scanned {scans} times");
            } else {
                assert!(!marked, "unreachable node {n} was marked");
                assert_eq!(scans, 0, "unreachable node {n} was scanned");
            }
        }
        let reachable = nodes.reachable.iter().filter(|&&r| r).count();
        assert_eq!(stats.scanned, reachable, "the workers' scan counts");
    }
}

// SAFETY: one atomic per node, in vectors that live as long as the graph; `trace` reads only the
// immutable edge lists and counts its scan atomically.
unsafe impl<P: Platform> Graph for ModelGraph<P> {
    type Platform = P;
    type Node = usize;

    unsafe fn mark_word(&self, node: usize) -> &P::AtomicUsize {
        &self.0.marks[node]
    }

    unsafe fn trace(&self, node: usize, visit: &mut impl FnMut(usize)) {
        for &child in &self.0.edges[node] {
            visit(child);
        }
        // Counted once the scan is complete: every child has been marked or found marked.
        self.0.scans[node].fetch_add(1, Relaxed);
    }

    /// Property 3: a worker that sees the phase end sees every reachable node scanned.
    fn worker_finished(&self, stats: &WorkerStats) {
        if !stats.saw_end {
            return; // gave up at loom's spin limit, holding nothing: it claims nothing
        }
        self.0.saw_end.fetch_add(1, Relaxed);
        for (n, scans) in self.0.scans.iter().enumerate() {
            if self.0.reachable[n] {
                let scans = scans.load(Relaxed);
                assert_eq!(
                    scans, 1,
                    "worker {} saw the phase end with reachable node {n} scanned {scans} times",
                    stats.worker
                );
            }
        }
    }
}

// SAFETY: as for `Graph`; a root's word holds 1 below the finger's bits from before the marking
// (`with_root_words`), and nobody changes those bits during it.
unsafe impl<P: Platform> FingerGraph for ModelGraph<P> {
    fn is_root(&self, word: usize) -> bool {
        word > 0
    }

    /// A target at most one node ahead of the finger is "near": tested at once. Farther ones go
    /// through the prefetch FIFO, so the models exercise both paths.
    fn is_near(&self, finger: usize, target: usize) -> bool {
        target <= finger + 1
    }
}

/// Model-checks a finger marking of `shape` (walked in node order, one node per chunk) by
/// `workers` workers with platform `P`, under the given preemption bound: in every execution,
/// every node the roots reach is marked and scanned exactly once and no other node is marked.
/// Returns how many executions loom ran.
pub fn check_finger_marking<P: Platform>(
    shape: &Shape,
    workers: usize,
    preemption_bound: usize,
) -> usize {
    let shape = shape.clone();
    explore(preemption_bound, move || {
        let graph = ModelGraph::<P>::with_root_words(&shape);
        let mut marker = FingerMarker::new(graph.clone()).with_chunk(1);
        let mut nodes: Vec<usize> = (0..shape.edges.len()).collect();
        // SAFETY: `nodes` is every node once, none marked or passed; only this marking touches
        // the mark words.
        let stats = unsafe { marker.mark_parallel(&mut nodes, &LoomThreads::new(workers)) };
        graph.check_marks_and_scans(&stats);
        assert_eq!(nodes.len(), shape.edges.len(), "the nodes are handed back");
    })
}

/// What [`check_marking`] saw across the executions loom explored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explored {
    /// Executions (interleavings) run.
    pub executions: usize,
    /// Executions in which some worker stole a node.
    pub with_steals: usize,
}

/// Model-checks a parallel marking of `shape` by `workers` workers with platform `P`, under the
/// given preemption bound, roots claimed one at a time. Panics (failing the test) if any
/// execution breaks a property of the crate docs.
pub fn check_marking<P: Platform>(
    shape: &Shape,
    workers: usize,
    preemption_bound: usize,
) -> Explored {
    let with_steals = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let executions = {
        let shape = shape.clone();
        let with_steals = Arc::clone(&with_steals);
        explore(preemption_bound, move || {
            let graph = ModelGraph::<P>::new(&shape);
            let mut marker =
                Marker::parallel(graph.clone(), LoomThreads::new(workers)).with_root_chunk(1);
            let mut roots = shape.roots.clone();
            // SAFETY: every node number reached is in range, and only this marking touches the
            // mark words.
            let stats = unsafe { marker.mark(&mut roots) };
            graph.check_result(&stats);
            if stats.steals > 0 {
                with_steals.fetch_add(1, Relaxed);
            }
        })
    };
    Explored {
        executions,
        with_steals: with_steals.load(Relaxed),
    }
}

/// Runs `f` under loom with the given preemption bound, in every execution loom explores, and
/// returns how many executions that was. Panics (failing the test) if one fails.
pub fn explore(preemption_bound: usize, f: impl Fn() + Sync + Send + 'static) -> usize {
    let executions = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemption_bound);
    let counted = Arc::clone(&executions);
    builder.check(move || {
        f();
        counted.fetch_add(1, Relaxed);
    });
    executions.load(Relaxed)
}

/// A loom atomic word with one deliberate flaw, chosen by `FLAW` (one of the constants below);
/// every other operation is loom's own. The broken variants of the models put it in a platform
/// with [`loom_platform_with_word!`].
pub struct FlawedWord<const FLAW: u8>(loom::sync::atomic::AtomicUsize);

/// `fetch_or` is a load followed by a store: the non-atomic check-then-set that the marking
/// engine's test-and-set, and the finger's mark and pass, must not be.
pub const SPLIT_FETCH_OR: u8 = 0;
/// `compare_exchange_weak` is a load, a compare and a store: another thread may run between
/// them (an `AtomicGc` load's increment, a lock's acquisition).
pub const SPLIT_COMPARE_EXCHANGE: u8 = 1;
/// Every load is `Relaxed`, whatever ordering it asks for (a lock word read without `Acquire`).
pub const RELAXED_LOADS: u8 = 2;

/// The mark word of the marking models' broken variants ([`SPLIT_FETCH_OR`]).
pub type CheckThenSet = FlawedWord<SPLIT_FETCH_OR>;

impl<const FLAW: u8> AtomicWord for FlawedWord<FLAW> {
    fn new(value: usize) -> Self {
        FlawedWord(loom::sync::atomic::AtomicUsize::new(value))
    }
    fn load(&self, order: Ordering) -> usize {
        let order = if FLAW == RELAXED_LOADS {
            Ordering::Relaxed
        } else {
            order
        };
        self.0.load(order)
    }
    fn store(&self, value: usize, order: Ordering) {
        self.0.store(value, order)
    }
    fn fetch_or(&self, value: usize, order: Ordering) -> usize {
        if FLAW != SPLIT_FETCH_OR {
            return self.0.fetch_or(value, order);
        }
        let old = self.0.load(Ordering::Relaxed);
        self.0.store(old | value, order);
        old
    }
    fn fetch_add(&self, value: usize, order: Ordering) -> usize {
        self.0.fetch_add(value, order)
    }
    fn fetch_sub(&self, value: usize, order: Ordering) -> usize {
        self.0.fetch_sub(value, order)
    }
    fn swap(&self, value: usize, order: Ordering) -> usize {
        self.0.swap(value, order)
    }
    fn compare_exchange_weak(
        &self,
        current: usize,
        new: usize,
        success: Ordering,
        failure: Ordering,
    ) -> Result<usize, usize> {
        if FLAW != SPLIT_COMPARE_EXCHANGE {
            return self.0.compare_exchange_weak(current, new, success, failure);
        }
        let seen = self.0.load(Ordering::Acquire);
        if seen != current {
            return Err(seen);
        }
        self.0.store(new, Ordering::Release);
        Ok(seen)
    }
}

/// Declares `$name`, a platform that is gc-core's `Loom` but for its atomic word, `$word`:
/// loom's deques, spin, yield and back-off, and the default spin limit. The broken variants of
/// the models use it to swap in a flawed word.
#[macro_export]
macro_rules! loom_platform_with_word {
    ($(#[$attr:meta])* $name:ident, $word:ty) => {
        $(#[$attr])*
        struct $name;

        impl ::gc_core::sync::Platform for $name {
            type AtomicUsize = $word;
            type Deque<T: Send + 'static> = ::gc_core::mark::LoomDeque<T>;

            fn spin_loop() {
                <::gc_core::sync::Loom as ::gc_core::sync::Platform>::spin_loop();
            }
            fn yield_now() {
                <::gc_core::sync::Loom as ::gc_core::sync::Platform>::yield_now();
            }
            fn backoff(turn: u32) {
                <::gc_core::sync::Loom as ::gc_core::sync::Platform>::backoff(turn);
            }
        }
    };
}
