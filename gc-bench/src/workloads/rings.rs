//! `rings` — pure cyclic garbage: `rings` rings of `ring_size` nodes are built, every handle to
//! them dropped, then one full collection is timed.
//!
//! Reference counting frees none of it (each node keeps the next alive); the collector must find
//! all of it. The figure `collect_ms` is the explicit collect call alone — the number the issue
//! compares with the peer crates (1 000 000 ring objects: `gc` 108 ms, `rust-cc` 116,
//! `gcmodule` 169, `bacon_rajan_cc` 186, `dumpster` 1 732 on this machine class) — and
//! `collect_ns_per_object` divides it by the nodes built. By default automatic collections are
//! paused while the rings are built (`pause_automatic=1`), so that the collect call finds all the
//! garbage on every backend; with `pause_automatic=0` each backend's own schedule collects part of
//! it during the build, and the wall time is the figure to compare. On `std-rc` each ring is
//! opened by hand before its handle is dropped.
//!
//! Edges: slot 0 is the next node of the ring.

use std::time::Instant;

use super::{drop_ring, make_ring, Workload};
use crate::backend::Backend;
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;

/// Rings of cyclic garbage.
pub struct Rings;

const NEXT: usize = 0;

impl Workload for Rings {
    const NAME: &'static str = "rings";
    const SUMMARY: &'static str =
        "cyclic garbage: rings of k nodes, all dropped, then one timed collection";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::count(
            "rings",
            "rings built and dropped",
            1,
            [200, 20_000, 100_000, 500_000],
        ),
        ParamSpec::count("ring_size", "nodes per ring", 1, [10, 10, 10, 10]),
        ParamSpec::flag(
            "pause_automatic",
            "pause automatic collections while the rings are built, so the collect call does all \
             the work (0: let the backend's schedule run)",
            true,
        ),
    ];

    fn run<B: Backend>(params: &Params, heap: &B, probe: &mut Probe) {
        let rings = params.count("rings");
        let size = params.size("ring_size");
        let paused = params.flag("pause_automatic");
        if paused {
            heap.pause_automatic();
        }
        for ring in 0..rings {
            let first = make_ring(heap, size, NEXT, ring * size as u64);
            drop_ring(heap, first, NEXT);
        }
        probe.sample_with_rss("dropped", 0, heap);
        let start = Instant::now();
        heap.collect();
        let collect = start.elapsed();
        if paused {
            heap.resume_automatic();
        }
        probe.sample_with_rss("collected", 1, heap);
        let objects = (rings * size as u64) as f64;
        probe.figure("collect_ms", collect.as_secs_f64() * 1e3);
        probe.figure(
            "collect_ns_per_object",
            collect.as_secs_f64() * 1e9 / objects,
        );
    }
}
