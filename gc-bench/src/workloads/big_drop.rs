//! `big-drop` — the memory scenario Python programmers meet: build a big list of small objects,
//! drop it, and watch the resident memory.
//!
//! Steps, each sampled with the process's resident memory (RSS) and timed (`*_ms` figures):
//!
//! 1. `built` — `objects` small objects (payload `payload` bytes) held in a `Vec`; with `cyclic`
//!    they come in pairs that reference each other, so that only a collection frees them;
//! 2. `dropped` — every object dropped except one pair in `keep_every` (0: keep none, the dense
//!    case). Acyclic objects are freed here by reference counting;
//! 3. `collected` — a full collection: the cyclic pairs are freed here;
//! 4. `released` — the kept objects dropped too, and another collection.
//!
//! How far RSS falls from `built` to `collected` shows how much memory the allocator gives back
//! to the OS while a few survivors are scattered through it (CPython's arenas pinned by one live
//! object each). On `std-rc` the pairs are broken by hand before each drop.
//!
//! Edges: slot 0 is the partner of a pair.

use std::time::Instant;

use super::Workload;
use crate::backend::Backend;
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;

/// Build a big list, drop it, collect.
pub struct BigDrop;

const PARTNER: usize = 0;

impl Workload for BigDrop {
    const NAME: &'static str = "big-drop";
    const SUMMARY: &'static str =
        "build many small objects, drop them keeping every Nth, collect; RSS at each step";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::count(
            "objects",
            "small objects built",
            2,
            [5_000, 300_000, 1_500_000, 7_500_000],
        ),
        ParamSpec::count(
            "keep_every",
            "keep one pair in keep_every after the drop (0: drop all)",
            0,
            [100, 100, 100, 100],
        ),
        ParamSpec::count("payload", "payload bytes per object", 0, [32, 32, 32, 32]),
        ParamSpec::flag(
            "cyclic",
            "objects come in pairs that reference each other (freed only by a collection)",
            true,
        ),
    ];

    fn run<B: Backend>(params: &Params, heap: &B, probe: &mut Probe) {
        let objects = params.count("objects");
        let keep_every = params.count("keep_every");
        let payload = params.size("payload");
        let cyclic = params.flag("cyclic");
        probe.sample_with_rss("start", 0, heap);

        let clock = Instant::now();
        let mut pairs: Vec<(B::Handle, B::Handle)> = Vec::with_capacity(objects as usize / 2);
        for i in 0..objects / 2 {
            let a = heap.alloc(2 * i, payload);
            let b = heap.alloc(2 * i + 1, payload);
            if cyclic {
                heap.set_edge(&a, PARTNER, Some(b.clone()));
                heap.set_edge(&b, PARTNER, Some(a.clone()));
            }
            pairs.push((a, b));
        }
        probe.figure("build_ms", clock.elapsed().as_secs_f64() * 1e3);
        probe.sample_with_rss("built", 1, heap);

        let clock = Instant::now();
        let mut kept = Vec::new();
        for (i, pair) in pairs.drain(..).enumerate() {
            if keep_every > 0 && i as u64 % keep_every == 0 {
                kept.push(pair);
            } else {
                drop_pair(heap, pair);
            }
        }
        drop(pairs);
        probe.figure("drop_ms", clock.elapsed().as_secs_f64() * 1e3);
        probe.sample_with_rss("dropped", 2, heap);

        let clock = Instant::now();
        heap.collect();
        probe.figure("collect_ms", clock.elapsed().as_secs_f64() * 1e3);
        probe.sample_with_rss("collected", 3, heap);

        for (i, (a, b)) in kept.iter().enumerate() {
            let partner = heap.edge(a, PARTNER);
            assert_eq!(
                partner.is_some_and(|p| heap.same(&p, b)),
                cyclic,
                "big-drop: kept pair {i} lost its link"
            );
        }
        let clock = Instant::now();
        for pair in kept {
            drop_pair(heap, pair);
        }
        heap.collect();
        probe.figure("release_ms", clock.elapsed().as_secs_f64() * 1e3);
        probe.sample_with_rss("released", 4, heap);
    }
}

/// Drops a pair, breaking it first on a backend that breaks cycles by hand.
fn drop_pair<B: Backend>(heap: &B, (a, b): (B::Handle, B::Handle)) {
    if heap.breaks_cycles_by_hand() {
        heap.set_edge(&a, PARTNER, None);
    }
    drop((a, b));
}
