//! `graph-churn` — random mutation of an object graph, the closest of these workloads to a real
//! program's heap. Seeded, so every backend sees the same sequence.
//!
//! The program keeps a table of `live` long-lived *clusters* (its roots: globals, caches). Each
//! step builds one cluster of `cluster` nodes chained together — made cyclic (its tail points back
//! to its head) with probability `cycle_fraction` — with payloads drawn from a size mix
//! (half 0 bytes, a quarter 16, 15% 64, 10% 256: many small objects, a few larger ones). With
//! probability `survival` the cluster replaces a random table entry (the old one becomes
//! garbage, perhaps cyclic, perhaps still referenced); otherwise it is a temporary that points
//! into the table and is dropped at once. With probability `cross` a random table entry's
//! cross edge is pointed at another random entry: edges between long-lived objects, which make
//! cycles across clusters and keep some evicted clusters alive for a while.
//!
//! Which clusters become garbage, and whether they are cyclic, depends on the whole graph — only
//! a collector can tell, so `std-rc` cannot run this workload. A backend that never collects by
//! itself gets a collection every `collect_every` steps.
//!
//! Edges: slot 0 is the next node of the cluster, slot 1 the tail's edge back to the head (cyclic
//! clusters), slot 2 the head's cross edge to another table entry, slot 3 a temporary's edge into
//! the table.

use super::manual_collection::ManualCollection;
use super::Workload;
use crate::backend::Backend;
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;
use crate::rng::Rng;

/// Random graph churn.
pub struct GraphChurn;

const NEXT: usize = 0;
const BACK: usize = 1;
const CROSS: usize = 2;
const INTO_TABLE: usize = 3;

/// Payload sizes and their cumulative probabilities.
const SIZE_MIX: [(f64, usize); 4] = [(0.50, 0), (0.75, 16), (0.90, 64), (1.0, 256)];

impl Workload for GraphChurn {
    const NAME: &'static str = "graph-churn";
    const SUMMARY: &'static str =
        "random graph mutation: survival rate, cycle fraction, cross edges, object size mix";
    const NEEDS_TRACING: Option<&'static str> = Some(
        "which clusters become garbage depends on cross edges anywhere in the graph: \
         cycles cannot be broken by hand",
    );
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::count(
            "live",
            "long-lived clusters in the table",
            1,
            [500, 20_000, 100_000, 500_000],
        ),
        ParamSpec::count(
            "steps",
            "clusters built (one per step)",
            0,
            [5_000, 100_000, 500_000, 2_500_000],
        ),
        ParamSpec::count("cluster", "nodes per cluster", 1, [3, 3, 3, 3]),
        ParamSpec::fraction(
            "survival",
            "probability that a new cluster replaces a table entry",
            0.1,
        ),
        ParamSpec::fraction(
            "cycle_fraction",
            "probability that a cluster is cyclic",
            0.3,
        ),
        ParamSpec::fraction(
            "cross",
            "probability per step of re-pointing a table entry's cross edge",
            0.05,
        ),
        ParamSpec::count(
            "collect_every",
            "steps between collections on backends that never collect by themselves",
            1,
            [1_000, 10_000, 10_000, 10_000],
        ),
        ParamSpec::count("seed", "random seed", 0, [1, 1, 1, 1]),
    ];

    fn run<B: Backend>(params: &Params, heap: &B, probe: &mut Probe) {
        let live = params.size("live");
        let steps = params.count("steps");
        let size = params.size("cluster");
        let survival = params.fraction("survival");
        let cycle_fraction = params.fraction("cycle_fraction");
        let cross = params.fraction("cross");
        let mut rng = Rng::new(params.count("seed"));
        let mut manual = ManualCollection::new(heap, params.count("collect_every"));

        let mut table: Vec<B::Handle> = Vec::with_capacity(live);
        for key in 0..live as u64 {
            let cyclic = rng.chance(cycle_fraction);
            table.push(build_cluster(heap, &mut rng, size, cyclic, key));
        }
        probe.sample_with_rss("table built", 0, heap);

        let samples = 20u64;
        let mut survivors = 0u64;
        for step in 0..steps {
            let key = live as u64 + step;
            let cyclic = rng.chance(cycle_fraction);
            let head = build_cluster(heap, &mut rng, size, cyclic, key);
            if rng.chance(survival) {
                let slot = rng.below(live);
                table[slot] = head;
                survivors += 1;
            } else {
                let member = &table[rng.below(live)];
                heap.set_edge(&head, INTO_TABLE, Some(member.clone()));
                drop(head);
            }
            if rng.chance(cross) {
                let from = &table[rng.below(live)];
                let to = table[rng.below(live)].clone();
                heap.set_edge(from, CROSS, Some(to));
            }
            manual.step(heap);
            if steps >= samples && step % (steps / samples) == 0 {
                probe.sample("step", step, heap);
            }
        }
        probe.sample_with_rss("churned", steps, heap);
        probe.figure("survivors", survivors as f64);

        for (slot, head) in table.iter().enumerate() {
            assert_eq!(
                heap.edge(head, NEXT).is_some(),
                size > 1,
                "graph-churn: table entry {slot} lost its cluster"
            );
        }
        drop(table);
        probe.sample_with_rss("dropped", steps + 1, heap);
    }
}

/// Builds a chain of `size` nodes with mixed payloads; cyclic if asked. Returns the head.
fn build_cluster<B: Backend>(
    heap: &B,
    rng: &mut Rng,
    size: usize,
    cyclic: bool,
    key: u64,
) -> B::Handle {
    let head = heap.alloc(key, payload_size(rng));
    let mut tail = head.clone();
    for _ in 1..size {
        let node = heap.alloc(key, payload_size(rng));
        heap.set_edge(&tail, NEXT, Some(node.clone()));
        tail = node;
    }
    if cyclic {
        heap.set_edge(&tail, BACK, Some(head.clone()));
    }
    head
}

/// Draws a payload size from [`SIZE_MIX`].
fn payload_size(rng: &mut Rng) -> usize {
    let x = rng.unit();
    SIZE_MIX
        .iter()
        .find(|(cumulative, _)| x < *cumulative)
        .map_or(0, |(_, size)| *size)
}
