//! `steady-burst` — a long-running service: a steady live heap, a little garbage every tick and,
//! every so often, a burst of cyclic garbage. This is where pause times matter.
//!
//! The service keeps a table of `live` long-lived entries; each entry is a parent node and a
//! child that points back to it (objects that know their owner). Every tick it:
//!
//! - handles `work` requests, each allocating a temporary parent/child pair that refers to a
//!   random entry and is dropped at once (freed by reference counting);
//! - replaces `churn` random entries with new ones (the old ones become garbage cycles);
//! - every `burst_every` ticks, builds and drops `burst_rings` rings of `ring_size` nodes — a
//!   burst of cyclic garbage — and, on a backend that never collects by itself, collects.
//!
//! Each tick is timed: the figures `tick_p50_us`, `tick_p99_us` and `tick_max_us` are the
//! latency a request would see, automatic collections included — comparable across every
//! backend, including peers whose collections cannot be timed from outside. Every `sample_every`
//! ticks a sample records the live nodes and the tracked objects (the plot "tracked objects over
//! time"). On `std-rc`, replaced entries and rings are broken by hand.
//!
//! Edges: an entry's parent has its child in slot 0; the child has its parent in slot 1; a
//! temporary's parent points to an entry in slot 2; rings use slot 0.

use std::time::{Duration, Instant};

use super::manual_collection::ManualCollection;
use super::{drop_ring, make_ring, Workload};
use crate::backend::Backend;
use crate::params::{ParamSpec, Params};
use crate::pauses::percentile;
use crate::probe::Probe;
use crate::rng::Rng;

/// A service with a steady heap and bursts of cyclic garbage.
pub struct SteadyBurst;

const CHILD: usize = 0;
const PARENT: usize = 1;
const REFERS_TO: usize = 2;
const RING_NEXT: usize = 0;

impl Workload for SteadyBurst {
    const NAME: &'static str = "steady-burst";
    const SUMMARY: &'static str =
        "a service: steady live heap, small garbage every tick, periodic bursts of cyclic garbage";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::count(
            "live",
            "long-lived entries (two nodes each)",
            1,
            [500, 20_000, 100_000, 500_000],
        ),
        ParamSpec::count("ticks", "ticks of service", 1, [200, 2_000, 10_000, 50_000]),
        ParamSpec::count(
            "work",
            "temporary parent/child pairs per tick",
            0,
            [100, 100, 100, 100],
        ),
        ParamSpec::count("churn", "entries replaced per tick", 0, [10, 10, 10, 10]),
        ParamSpec::count(
            "burst_every",
            "ticks between bursts",
            1,
            [50, 100, 100, 100],
        ),
        ParamSpec::count(
            "burst_rings",
            "rings per burst",
            0,
            [50, 1_000, 5_000, 25_000],
        ),
        ParamSpec::count("ring_size", "nodes per ring", 1, [5, 5, 5, 5]),
        ParamSpec::count(
            "sample_every",
            "ticks between samples of the live and tracked counts",
            1,
            [5, 10, 50, 250],
        ),
        ParamSpec::count("seed", "random seed", 0, [1, 1, 1, 1]),
    ];

    fn run<B: Backend>(params: &Params, heap: &B, probe: &mut Probe) {
        let live = params.size("live");
        let ticks = params.count("ticks");
        let work = params.count("work");
        let churn = params.count("churn");
        let burst_every = params.count("burst_every");
        let burst_rings = params.count("burst_rings");
        let ring_size = params.size("ring_size");
        let sample_every = params.count("sample_every");
        let mut rng = Rng::new(params.count("seed"));
        let mut manual = ManualCollection::new(heap, 1);

        let mut key = 0u64;
        let mut table: Vec<B::Handle> = (0..live)
            .map(|_| {
                key += 2;
                new_entry(heap, key)
            })
            .collect();
        probe.sample_with_rss("tick", 0, heap);

        let mut latencies: Vec<Duration> = Vec::with_capacity(ticks as usize);
        for tick in 1..=ticks {
            let clock = Instant::now();
            for _ in 0..work {
                key += 2;
                let temporary = heap.alloc(key, 0);
                let child = heap.alloc(key + 1, 0);
                heap.set_edge(&temporary, CHILD, Some(child));
                let entry = table[rng.below(live)].clone();
                heap.set_edge(&temporary, REFERS_TO, Some(entry));
            }
            for _ in 0..churn {
                key += 2;
                let slot = rng.below(live);
                let old = std::mem::replace(&mut table[slot], new_entry(heap, key));
                drop_entry(heap, old);
            }
            if tick % burst_every == 0 {
                for ring in 0..burst_rings {
                    let first = make_ring(heap, ring_size, RING_NEXT, ring);
                    drop_ring(heap, first, RING_NEXT);
                }
                manual.now(heap);
            }
            latencies.push(clock.elapsed());
            if tick % sample_every == 0 {
                probe.sample("tick", tick, heap);
            }
        }
        let mut us: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        probe.figure("tick_p50_us", percentile(&us, 50.0));
        probe.figure("tick_p99_us", percentile(&us, 99.0));
        probe.figure("tick_max_us", us.last().copied().unwrap_or(0.0));

        for (slot, parent) in table.iter().enumerate() {
            let child = heap.edge(parent, CHILD);
            let back = child.as_ref().and_then(|c| heap.edge(c, PARENT));
            assert!(
                back.is_some_and(|b| heap.same(&b, parent)),
                "steady-burst: entry {slot} lost its child or the child its parent"
            );
        }
        for entry in table.drain(..) {
            drop_entry(heap, entry);
        }
        probe.sample_with_rss("end", ticks + 1, heap);
    }
}

/// A long-lived entry: a parent and a child that points back to it.
fn new_entry<B: Backend>(heap: &B, key: u64) -> B::Handle {
    let parent = heap.alloc(key, 0);
    let child = heap.alloc(key + 1, 0);
    heap.set_edge(&child, PARENT, Some(parent.clone()));
    heap.set_edge(&parent, CHILD, Some(child));
    parent
}

/// Drops an entry, breaking its cycle first on a backend that breaks cycles by hand.
fn drop_entry<B: Backend>(heap: &B, parent: B::Handle) {
    if heap.breaks_cycles_by_hand() {
        heap.set_edge(&parent, CHILD, None);
    }
    drop(parent);
}
