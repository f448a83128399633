//! `shared-churn` — `threads` mutator threads (2 by default) mutate one shared graph, while the
//! workload's coordinator thread asks for a full collection every `collect_ms` milliseconds.
//!
//! The graph hangs from `anchors` shared nodes, made by the coordinator before the mutators
//! start; their [`MAX_EDGES`] edge slots are the program's shared roots. Each step of a mutator:
//!
//! 1. reads a random anchor slot (under the anchor's lock) and, if it holds a node less than
//!    `max_depth` links deep, takes a handle to it — often a node another thread made;
//! 2. allocates a node that links to it (slot 0) — with probability `cycle_fraction` the head of
//!    a ring of `ring_size` nodes (slot 1), cyclic garbage once it is unlinked;
//! 3. publishes the new node in a random anchor slot, dropping what was there — often a node
//!    another thread made, perhaps the last handle to it, perhaps the head of a ring;
//! 4. with probability `unlink_fraction`, clears another random anchor slot.
//!
//! So every step allocates, takes three or four locks and moves references between threads;
//! nodes die on whichever thread unlinks them, and a ring dies as a cycle. Links only point to
//! older nodes (at most `max_depth` deep) and rings only within themselves, so every cycle is a
//! ring: on `arc` the mutator that unlinks a ring head opens the ring first (takes its ring
//! edge), as a careful `Arc` user does; the collectors have to find them.
//!
//! The coordinator waits for the mutators inside [`SharedBackend::wait`]; every `collect_ms` it
//! calls [`SharedBackend::collect`] — for gclab, a stop-the-world collection that has to stop
//! every mutator while they run flat out: its time to stop is the figure issue 9 asks for.
//! gclab's automatic collections (started at a mutator's allocation) run as well.
//!
//! Figures: `ns_per_node` and `ns_per_step` — the mutators' phase (from the start barrier to the
//! last mutator's end) over the nodes allocated and the steps taken by all threads together;
//! `mutate_ms`; `unlink_all_ms` (unlinking every anchor slot at the end); `nodes`, `threads`.
//!
//! Edges: slot 0 is the link to an older node, slot 1 the next node of a ring.

use std::panic::resume_unwind;
use std::sync::{Barrier, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::workload::SharedWorkload;
use super::{SharedBackend, MAX_EDGES};
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;
use crate::rng::Rng;

/// Shared graph churn.
pub struct SharedChurn;

const LINK: usize = 0;
const RING: usize = 1;
/// A node's key: its depth (links to older nodes below it) in the top byte, then the thread and
/// the step that made it.
const DEPTH_SHIFT: u32 = 56;
const THREAD_SHIFT: u32 = 40;
const SEED: u64 = 0x5eed_00c4;

impl SharedWorkload for SharedChurn {
    const NAME: &'static str = "shared-churn";
    const SUMMARY: &'static str =
        "T threads mutate one shared graph (link, unlink, rings) under locks; periodic collections";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::count("threads", "mutator threads", 1, [2, 2, 2, 2]),
        ParamSpec::count(
            "steps",
            "steps per mutator (each allocates a node or a ring)",
            0,
            [1_000, 100_000, 500_000, 2_500_000],
        ),
        ParamSpec::count(
            "anchors",
            "shared anchor nodes (their edge slots are the roots)",
            1,
            [128, 1_000, 5_000, 25_000],
        ),
        ParamSpec::fraction(
            "cycle_fraction",
            "steps whose new node heads a ring (cyclic garbage once unlinked)",
            0.25,
        ),
        ParamSpec::count("ring_size", "nodes per ring", 2, [3, 3, 3, 3]),
        ParamSpec::fraction(
            "unlink_fraction",
            "steps that also clear a random anchor slot",
            0.1,
        ),
        ParamSpec::count(
            "max_depth",
            "longest chain of links to older nodes",
            0,
            [3, 3, 3, 3],
        ),
        ParamSpec::count(
            "collect_ms",
            "a full collection from the coordinator thread every this many milliseconds while \
             the mutators run (0: none)",
            0,
            [2, 10, 10, 10],
        ),
    ];

    fn run<B: SharedBackend>(params: &Params, heap: &B, probe: &mut Probe) {
        let config = Config {
            steps: params.count("steps"),
            cycle_fraction: params.fraction("cycle_fraction"),
            ring_size: params.size("ring_size"),
            unlink_fraction: params.fraction("unlink_fraction"),
            max_depth: params.count("max_depth"),
        };
        let threads = params.size("threads");
        let every = match params.count("collect_ms") {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        };
        let anchors: Vec<B::Handle> = (0..params.count("anchors"))
            .map(|i| heap.alloc(i))
            .collect();

        let start_line = Barrier::new(threads + 1);
        let finished = Finished::default();
        let outcomes = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (anchors, config, start_line, finished) =
                        (&anchors, &config, &start_line, &finished);
                    s.spawn(move || {
                        let _done = finished.on_exit();
                        heap.wait(|| start_line.wait());
                        let begin = Instant::now();
                        let (nodes, end) = mutate(heap, anchors, config, t as u64);
                        Outcome { nodes, begin, end }
                    })
                })
                .collect();
            heap.wait(|| start_line.wait());
            coordinate(heap, &finished, threads, every);
            workers
                .into_iter()
                .map(|worker| {
                    heap.wait(|| worker.join())
                        .unwrap_or_else(|p| resume_unwind(p))
                })
                .collect::<Vec<Outcome>>()
        });
        let mutate = match (
            outcomes.iter().map(|o| o.begin).min(),
            outcomes.iter().map(|o| o.end).max(),
        ) {
            (Some(begin), Some(end)) => end.saturating_duration_since(begin),
            _ => Duration::ZERO,
        };
        let nodes: u64 = outcomes.iter().map(|o| o.nodes).sum();
        let steps = config.steps * threads as u64;

        let teardown = Instant::now();
        for anchor in &anchors {
            for slot in 0..MAX_EDGES {
                let old = heap.replace_edge(anchor, slot, None);
                if let Some(node) = &old {
                    check_ring(heap, node, config.ring_size);
                }
                release(heap, old);
            }
        }
        drop(anchors);
        heap.safepoint();
        let teardown = teardown.elapsed();

        let ns = mutate.as_secs_f64() * 1e9;
        probe.figure("threads", threads as f64);
        probe.figure("nodes", nodes as f64);
        probe.figure("mutate_ms", mutate.as_secs_f64() * 1e3);
        probe.figure("unlink_all_ms", teardown.as_secs_f64() * 1e3);
        probe.figure("ns_per_node", ns / nodes.max(1) as f64);
        probe.figure("ns_per_step", ns / steps.max(1) as f64);
    }
}

/// The per-mutator parameters.
struct Config {
    steps: u64,
    cycle_fraction: f64,
    ring_size: usize,
    unlink_fraction: f64,
    max_depth: u64,
}

/// What one mutator did: nodes allocated, when it passed the start line and when it ended.
struct Outcome {
    nodes: u64,
    begin: Instant,
    end: Instant,
}

/// How many mutators have ended (normally or by a panic), for the coordinator.
#[derive(Default)]
struct Finished {
    count: Mutex<usize>,
    changed: Condvar,
}

/// Counts a mutator as finished when dropped, even by a panic (so the coordinator stops
/// waiting and the panic reaches the `join`).
struct OnExit<'a>(&'a Finished);

impl Finished {
    fn on_exit(&self) -> OnExit<'_> {
        OnExit(self)
    }

    /// Waits until `threads` mutators have finished or `timeout` has passed; returns whether
    /// they all have.
    fn wait(&self, threads: usize, timeout: Option<Duration>) -> bool {
        let count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        let count = match timeout {
            Some(timeout) => {
                self.changed
                    .wait_timeout_while(count, timeout, |n| *n < threads)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => self
                .changed
                .wait_while(count, |n| *n < threads)
                .unwrap_or_else(PoisonError::into_inner),
        };
        *count >= threads
    }
}

impl Drop for OnExit<'_> {
    fn drop(&mut self) {
        *self.0.count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.changed.notify_all();
    }
}

/// The coordinator: waits (inside `wait`, so that a collection never waits for it) until every
/// mutator has finished, running a full collection every `every`.
fn coordinate<B: SharedBackend>(
    heap: &B,
    finished: &Finished,
    threads: usize,
    every: Option<Duration>,
) {
    while !heap.wait(|| finished.wait(threads, every)) {
        heap.collect();
    }
}

/// One mutator thread (see the [module docs](self)): returns the nodes it allocated and when it
/// ended.
fn mutate<B: SharedBackend>(
    heap: &B,
    anchors: &[B::Handle],
    config: &Config,
    t: u64,
) -> (u64, Instant) {
    let mut rng = Rng::new(SEED ^ (t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut nodes = 0;
    for step in 0..config.steps {
        // 1. A node to link to, often another thread's.
        let from = &anchors[rng.below(anchors.len())];
        let (depth, target) = match heap.edge(from, rng.below(MAX_EDGES)) {
            Some(target) => {
                let depth = heap.key(&target) >> DEPTH_SHIFT;
                if depth < config.max_depth {
                    (depth + 1, Some(target))
                } else {
                    (0, None)
                }
            }
            None => (0, None),
        };
        // 2. The new node, perhaps the head of a ring.
        let key = depth << DEPTH_SHIFT | t << THREAD_SHIFT | step;
        let head = heap.alloc(key);
        nodes += 1;
        if target.is_some() {
            drop(heap.replace_edge(&head, LINK, target));
        }
        if rng.chance(config.cycle_fraction) {
            let mut last = head.clone();
            for _ in 1..config.ring_size {
                let next = heap.alloc(key);
                nodes += 1;
                drop(heap.replace_edge(&last, RING, Some(next.clone())));
                last = next;
            }
            drop(heap.replace_edge(&last, RING, Some(head.clone())));
        }
        // 3. Publish it, unlinking what the slot held.
        let to = &anchors[rng.below(anchors.len())];
        let old = heap.replace_edge(to, rng.below(MAX_EDGES), Some(head));
        release(heap, old);
        // 4. Sometimes unlink another slot.
        if rng.chance(config.unlink_fraction) {
            let at = &anchors[rng.below(anchors.len())];
            let old = heap.replace_edge(at, rng.below(MAX_EDGES), None);
            release(heap, old);
        }
    }
    // Merge what the other threads queued to this one (biased counting) before finishing.
    heap.safepoint();
    (nodes, Instant::now())
}

/// Drops a node just taken out of an anchor slot. On a backend that breaks cycles by hand, the
/// node's ring (if it heads one) is opened first.
fn release<B: SharedBackend>(heap: &B, old: Option<B::Handle>) {
    if let Some(node) = &old {
        if heap.breaks_cycles_by_hand() {
            drop(heap.replace_edge(node, RING, None));
        }
    }
    drop(old);
}

/// Checks that a ring head still leads around its ring back to itself, with every member's key.
///
/// # Panics
///
/// If the ring is broken: a node of a reachable ring was freed or an edge was lost.
fn check_ring<B: SharedBackend>(heap: &B, head: &B::Handle, ring_size: usize) {
    let Some(mut at) = heap.edge(head, RING) else {
        return;
    };
    let key = heap.key(head);
    for _ in 1..ring_size {
        assert_eq!(heap.key(&at), key, "shared-churn: a ring member changed");
        let next = heap
            .edge(&at, RING)
            .expect("shared-churn: a reachable ring lost an edge");
        at = next;
    }
    assert!(
        heap.same(&at, head),
        "shared-churn: a reachable ring does not close"
    );
}
