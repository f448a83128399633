//! `trees` — GCBench (Boehm, Ellis and Demers' classic collector benchmark, after John Ellis and
//! Pete Kovac): complete binary trees built and dropped beside a long-lived tree.
//!
//! A long-lived tree of depth `long_lived_depth` is built first and kept to the end. Then, for
//! each of `iterations`, one tree of depth `depth` is built top-down (a node is linked to its
//! parent before its children are made, GCBench's `Populate`) and one bottom-up (children first,
//! `MakeTree`), and both are dropped. No cycles: reference counting frees everything the moment
//! it is dropped, and a cycle collector only costs (it examines the trees' nodes). At the end the
//! long-lived tree is walked and its node count checked — a reachable node freed by a collector
//! would show here.
//!
//! Edges: slot 0 is the left child, slot 1 the right child.

use super::manual_collection::ManualCollection;
use super::Workload;
use crate::backend::Backend;
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;

/// GCBench binary trees.
pub struct Trees;

const LEFT: usize = 0;
const RIGHT: usize = 1;

impl Workload for Trees {
    const NAME: &'static str = "trees";
    const SUMMARY: &'static str =
        "GCBench: binary trees built top-down and bottom-up and dropped, beside a long-lived tree";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::count(
            "depth",
            "depth of each short-lived tree (2^(depth+1)-1 nodes)",
            0,
            [6, 14, 16, 18],
        ),
        ParamSpec::count(
            "iterations",
            "short-lived trees of each kind (top-down, bottom-up) built and dropped",
            1,
            [4, 12, 24, 48],
        ),
        ParamSpec::count(
            "long_lived_depth",
            "depth of the tree kept alive for the whole run",
            0,
            [6, 14, 16, 18],
        ),
        ParamSpec::count("payload", "payload bytes per node", 0, [0, 0, 0, 0]),
    ];

    fn run<B: Backend>(params: &Params, heap: &B, probe: &mut Probe) {
        let depth = params.count("depth") as u32;
        let payload = params.size("payload");
        let mut manual = ManualCollection::new(heap, 1);

        let long_lived = heap.alloc(0, payload);
        populate(
            heap,
            params.count("long_lived_depth") as u32,
            &long_lived,
            payload,
        );
        probe.sample_with_rss("long-lived built", 0, heap);

        for iteration in 0..params.count("iterations") {
            let top_down = heap.alloc(0, payload);
            populate(heap, depth, &top_down, payload);
            drop(top_down);
            let bottom_up = make_tree(heap, depth, payload);
            drop(bottom_up);
            // A program on a collector that never runs by itself collects between phases.
            manual.step(heap);
            if iteration == 0 {
                probe.sample_with_rss("first iteration", 1, heap);
            }
        }

        let expected = (1u64 << (params.count("long_lived_depth") + 1)) - 1;
        let found = count_nodes(heap, &long_lived);
        assert_eq!(
            found, expected,
            "trees: the long-lived tree lost nodes: {found} of {expected} reachable"
        );
        probe.figure("long_lived_nodes", found as f64);
        drop(long_lived);
        probe.sample_with_rss("end", 2, heap);
    }
}

/// GCBench's `Populate`: gives `node` two children, links them, then populates each.
fn populate<B: Backend>(heap: &B, depth: u32, node: &B::Handle, payload: usize) {
    if depth == 0 {
        return;
    }
    let left = heap.alloc(0, payload);
    let right = heap.alloc(0, payload);
    heap.set_edge(node, LEFT, Some(left.clone()));
    heap.set_edge(node, RIGHT, Some(right.clone()));
    populate(heap, depth - 1, &left, payload);
    populate(heap, depth - 1, &right, payload);
}

/// GCBench's `MakeTree`: builds the children first, then their parent.
fn make_tree<B: Backend>(heap: &B, depth: u32, payload: usize) -> B::Handle {
    let node = heap.alloc(0, payload);
    if depth > 0 {
        heap.set_edge(&node, LEFT, Some(make_tree(heap, depth - 1, payload)));
        heap.set_edge(&node, RIGHT, Some(make_tree(heap, depth - 1, payload)));
    }
    node
}

/// Counts the nodes of a tree, iteratively.
fn count_nodes<B: Backend>(heap: &B, root: &B::Handle) -> u64 {
    let mut stack = vec![root.clone()];
    let mut count = 0;
    while let Some(node) = stack.pop() {
        count += 1;
        stack.extend(heap.edge(&node, LEFT));
        stack.extend(heap.edge(&node, RIGHT));
    }
    count
}
