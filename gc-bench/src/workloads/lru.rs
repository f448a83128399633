//! `lru` — an LRU cache whose entries and values reference each other.
//!
//! The cache maps keys to *entry* nodes (the map itself is an ordinary `HashMap`, the program's
//! root); entries form a circular recency list with a sentinel (most recent first); each entry
//! holds a *value* node, and each value points back to its entry — a two-node cycle per entry, as
//! objects that know their owner have. Keys are drawn uniformly from `capacity / hit_rate` keys,
//! so in the steady state a fraction `hit_rate` of requests hit. A hit moves the entry to the
//! front and, with probability `update`, replaces its value (the old value is freed at once by
//! reference counting). A miss inserts a new entry and value and, once the cache is full, evicts
//! the least recent entry: unlinked from the list and the map, it and its value are a garbage
//! cycle (on `std-rc`, the entry's value edge is cleared by hand). A backend that never collects
//! by itself gets a collection every `collect_every` requests.
//!
//! Edges: an entry's slot 0 is `prev`, slot 1 `next`, slot 2 its value; a value's slot 0 is its
//! entry.

use std::collections::HashMap;

use super::manual_collection::ManualCollection;
use super::Workload;
use crate::backend::Backend;
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;
use crate::rng::Rng;

/// An LRU cache.
pub struct Lru;

const PREV: usize = 0;
const NEXT: usize = 1;
const VALUE: usize = 2;
const OWNER: usize = 0;

impl Workload for Lru {
    const NAME: &'static str = "lru";
    const SUMMARY: &'static str =
        "an LRU cache with a hit rate and eviction; entries and values reference each other";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::count(
            "capacity",
            "entries the cache holds",
            1,
            [200, 10_000, 50_000, 250_000],
        ),
        ParamSpec::count(
            "requests",
            "lookups",
            0,
            [5_000, 200_000, 1_000_000, 5_000_000],
        ),
        ParamSpec::fraction(
            "hit_rate",
            "steady-state hit rate (keys drawn from capacity/hit_rate)",
            0.8,
        ),
        ParamSpec::fraction("update", "probability that a hit replaces the value", 0.1),
        ParamSpec::count("payload", "payload bytes per value", 0, [64, 64, 64, 64]),
        ParamSpec::count(
            "collect_every",
            "requests between collections on backends that never collect by themselves",
            1,
            [1_000, 10_000, 10_000, 10_000],
        ),
        ParamSpec::count("seed", "random seed", 0, [1, 1, 1, 1]),
    ];

    fn run<B: Backend>(params: &Params, heap: &B, probe: &mut Probe) {
        let capacity = params.size("capacity");
        let hit_rate = params.fraction("hit_rate").max(1e-6);
        let key_space = ((capacity as f64 / hit_rate).ceil() as usize).max(1);
        let update = params.fraction("update");
        let payload = params.size("payload");
        let requests = params.count("requests");
        let mut rng = Rng::new(params.count("seed"));
        let mut manual = ManualCollection::new(heap, params.count("collect_every"));

        let sentinel = heap.alloc(u64::MAX, 0);
        heap.set_edge(&sentinel, PREV, Some(sentinel.clone()));
        heap.set_edge(&sentinel, NEXT, Some(sentinel.clone()));
        let mut map: HashMap<u64, B::Handle> = HashMap::with_capacity(capacity + 1);
        let (mut hits, mut evictions) = (0u64, 0u64);

        for request in 0..requests {
            let key = rng.below(key_space) as u64;
            if let Some(entry) = map.get(&key) {
                hits += 1;
                unlink(heap, entry);
                push_front(heap, &sentinel, entry);
                if rng.chance(update) {
                    heap.set_edge(entry, VALUE, Some(new_value(heap, entry, key, payload)));
                }
            } else {
                let entry = heap.alloc(key, 0);
                heap.set_edge(&entry, VALUE, Some(new_value(heap, &entry, key, payload)));
                push_front(heap, &sentinel, &entry);
                map.insert(key, entry);
                if map.len() > capacity {
                    evictions += 1;
                    let Some(victim) = heap.edge(&sentinel, PREV) else {
                        panic!("lru: the recency list lost its tail");
                    };
                    unlink(heap, &victim);
                    map.remove(&heap.key(&victim));
                    if heap.breaks_cycles_by_hand() {
                        heap.set_edge(&victim, VALUE, None);
                    }
                }
            }
            manual.step(heap);
            if requests >= 20 && request % (requests / 20) == 0 {
                probe.sample("request", request, heap);
            }
        }
        probe.sample_with_rss("served", requests, heap);
        probe.figure("hit_rate", hits as f64 / requests.max(1) as f64);
        probe.figure("evictions", evictions as f64);

        for (key, entry) in &map {
            let value = heap.edge(entry, VALUE);
            let owner = value.as_ref().and_then(|v| heap.edge(v, OWNER));
            assert!(
                owner.is_some_and(|owner| heap.same(&owner, entry)),
                "lru: the entry for key {key} lost its value or the value its owner"
            );
        }

        // Tear down: the list and every entry/value pair are cycles.
        if heap.breaks_cycles_by_hand() {
            for entry in map.values() {
                heap.set_edge(entry, PREV, None);
                heap.set_edge(entry, NEXT, None);
                heap.set_edge(entry, VALUE, None);
            }
            heap.set_edge(&sentinel, PREV, None);
            heap.set_edge(&sentinel, NEXT, None);
        }
        drop(map);
        drop(sentinel);
        probe.sample_with_rss("dropped", requests + 1, heap);
    }
}

/// A new value node owned by `entry`.
fn new_value<B: Backend>(heap: &B, entry: &B::Handle, key: u64, payload: usize) -> B::Handle {
    let value = heap.alloc(key, payload);
    heap.set_edge(&value, OWNER, Some(entry.clone()));
    value
}

/// Takes `entry` out of the recency list (its own links cleared).
fn unlink<B: Backend>(heap: &B, entry: &B::Handle) {
    let (Some(prev), Some(next)) = (heap.take_edge(entry, PREV), heap.take_edge(entry, NEXT))
    else {
        panic!("lru: an entry in the list lost a link");
    };
    heap.set_edge(&prev, NEXT, Some(next.clone()));
    heap.set_edge(&next, PREV, Some(prev));
}

/// Puts `entry` at the front (most recent end) of the recency list.
fn push_front<B: Backend>(heap: &B, sentinel: &B::Handle, entry: &B::Handle) {
    let Some(first) = heap.edge(sentinel, NEXT) else {
        panic!("lru: the sentinel lost its link");
    };
    heap.set_edge(entry, PREV, Some(sentinel.clone()));
    heap.set_edge(entry, NEXT, Some(first.clone()));
    heap.set_edge(&first, PREV, Some(entry.clone()));
    heap.set_edge(sentinel, NEXT, Some(entry.clone()));
}
