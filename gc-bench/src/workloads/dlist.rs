//! `dlist` — a circular doubly linked list with a sentinel, under insert/remove churn.
//!
//! The list is built to `length` nodes; then each of `operations` moves a cursor forward by a
//! random 0 to `max_step` nodes and either inserts a new node after it or unlinks the node under
//! it (even odds, so the length stays near `length`). An unlinked node has its own links cleared
//! — the usual unlink code — so reference counting frees it at once. The live list is a long
//! chain of two-node cycles (every `prev`/`next` pair), which a cycle collector keeps examining
//! and must keep alive; at the end the list is walked and its length checked, then dropped whole:
//! one big cyclic garbage structure (broken link by link on `std-rc`).
//!
//! Edges: slot 0 is `prev`, slot 1 is `next`.

use super::Workload;
use crate::backend::Backend;
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;
use crate::rng::Rng;

/// A doubly linked list under churn.
pub struct Dlist;

const PREV: usize = 0;
const NEXT: usize = 1;

impl Workload for Dlist {
    const NAME: &'static str = "dlist";
    const SUMMARY: &'static str =
        "a circular doubly linked list under random insert/remove churn, dropped whole at the end";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::count(
            "length",
            "nodes in the list after building",
            0,
            [500, 20_000, 100_000, 500_000],
        ),
        ParamSpec::count(
            "operations",
            "inserts and removals after building",
            0,
            [2_000, 200_000, 1_000_000, 5_000_000],
        ),
        ParamSpec::count(
            "max_step",
            "the cursor moves 0 to max_step nodes before each operation",
            0,
            [8, 8, 8, 8],
        ),
        ParamSpec::count("payload", "payload bytes per node", 0, [0, 0, 0, 0]),
        ParamSpec::count("seed", "random seed", 0, [1, 1, 1, 1]),
    ];

    fn run<B: Backend>(params: &Params, heap: &B, probe: &mut Probe) {
        let payload = params.size("payload");
        let max_step = params.size("max_step");
        let mut rng = Rng::new(params.count("seed"));

        let sentinel = heap.alloc(u64::MAX, 0);
        heap.set_edge(&sentinel, PREV, Some(sentinel.clone()));
        heap.set_edge(&sentinel, NEXT, Some(sentinel.clone()));
        let mut length = 0u64;
        let mut key = 0u64;
        for _ in 0..params.count("length") {
            let before = next_of(heap, &sentinel, PREV);
            insert_after(heap, &before, heap.alloc(key, payload));
            key += 1;
            length += 1;
        }
        probe.sample_with_rss("built", 0, heap);

        let mut cursor = sentinel.clone();
        for _ in 0..params.count("operations") {
            for _ in 0..rng.below(max_step + 1) {
                cursor = next_of(heap, &cursor, NEXT);
            }
            let on_sentinel = heap.same(&cursor, &sentinel);
            if rng.chance(0.5) || on_sentinel {
                insert_after(heap, &cursor, heap.alloc(key, payload));
                key += 1;
                length += 1;
            } else {
                let next = next_of(heap, &cursor, NEXT);
                unlink(heap, &cursor);
                cursor = next;
                length -= 1;
            }
        }
        drop(cursor);
        probe.sample_with_rss("churned", 1, heap);

        let found = walk_length(heap, &sentinel);
        assert_eq!(
            found, length,
            "dlist: the list should hold {length} nodes, a walk found {found}"
        );
        probe.figure("final_length", found as f64);

        if heap.breaks_cycles_by_hand() {
            let mut node = heap.take_edge(&sentinel, NEXT);
            heap.set_edge(&sentinel, PREV, None);
            while let Some(current) = node {
                heap.set_edge(&current, PREV, None);
                node = heap.take_edge(&current, NEXT);
                if let Some(next) = &node {
                    if heap.same(next, &sentinel) {
                        break;
                    }
                }
            }
        }
        drop(sentinel);
        probe.sample_with_rss("dropped", 2, heap);
    }
}

/// The target of `node`'s edge `slot` (`prev` or `next`), which a list node always has.
fn next_of<B: Backend>(heap: &B, node: &B::Handle, slot: usize) -> B::Handle {
    match heap.edge(node, slot) {
        Some(next) => next,
        None => panic!("dlist: a list node lost its link (slot {slot})"),
    }
}

/// Links `node` into the list right after `at`.
fn insert_after<B: Backend>(heap: &B, at: &B::Handle, node: B::Handle) {
    let after = next_of(heap, at, NEXT);
    heap.set_edge(&node, PREV, Some(at.clone()));
    heap.set_edge(&node, NEXT, Some(after.clone()));
    heap.set_edge(&after, PREV, Some(node.clone()));
    heap.set_edge(at, NEXT, Some(node));
}

/// Unlinks `node` from the list and clears its own links.
fn unlink<B: Backend>(heap: &B, node: &B::Handle) {
    let prev = next_of(heap, node, PREV);
    let next = next_of(heap, node, NEXT);
    heap.set_edge(&prev, NEXT, Some(next.clone()));
    heap.set_edge(&next, PREV, Some(prev));
    heap.set_edge(node, PREV, None);
    heap.set_edge(node, NEXT, None);
}

/// Counts the nodes between the sentinel and itself.
fn walk_length<B: Backend>(heap: &B, sentinel: &B::Handle) -> u64 {
    let mut count = 0;
    let mut node = next_of(heap, sentinel, NEXT);
    while !heap.same(&node, sentinel) {
        count += 1;
        node = next_of(heap, &node, NEXT);
    }
    count
}
