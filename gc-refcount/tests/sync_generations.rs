//! Tests of the shared heap's generational schedule (`sync::SharedSchedule::Generational`):
//! a young collection frees young cycles, keeps what old objects reference, leaves cycles with
//! an old member to a full collection, and the automatic schedule runs young collections and,
//! once enough objects were promoted, a full one.
//!
//! The schedule is the process's, so this binary has tests of its own, which run one at a time
//! (`serial`) and set the schedule they need.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use gc_refcount::sync::{self, Gc, Scope, SharedSchedule};
use gc_refcount::{Trace, Visitor};

mod ledger;
mod miri;
mod shared_node;
use ledger::{serial, Item, Ledger};
use miri::size;
use shared_node::{cycle, link, node, Node};

/// Sets a schedule (and no automatic collection unless `threshold` is not 0) and restores the
/// previous ones when dropped, even if the test fails; starts from a heap with nothing young.
struct WithSchedule(usize, SharedSchedule);

impl WithSchedule {
    fn new(schedule: SharedSchedule, threshold: usize) -> WithSchedule {
        let previous = WithSchedule(sync::threshold(), sync::schedule());
        sync::set_threshold(threshold);
        sync::set_schedule(schedule);
        // Promotes whatever earlier tests left (a full collection examines every object).
        sync::collect();
        let _ = sync::take_collection_log();
        previous
    }
}

impl Drop for WithSchedule {
    fn drop(&mut self) {
        sync::set_threshold(self.0);
        sync::set_schedule(self.1);
    }
}

#[test]
fn a_young_collection_frees_young_cycles_and_leaves_old_ones_to_a_full_one() {
    let _serial = serial();
    let _schedule = WithSchedule::new(SharedSchedule::Generational, 0);
    let old_ledger = Ledger::new();
    let (a, b) = cycle(&old_ledger);
    assert_eq!(sync::collect_young(), 0, "the cycle is held");
    drop((a, b)); // now an old garbage cycle
    let young_ledger = Ledger::new();
    let (c, d) = cycle(&young_ledger);
    drop((c, d));
    assert_eq!(sync::collect_young(), 2, "exactly the young cycle");
    young_ledger.assert_all_dropped_once();
    assert_eq!(
        old_ledger.dropped(),
        0,
        "a young collection left the old cycle"
    );
    assert_eq!(
        sync::collect(),
        2,
        "the full collection finds the old cycle"
    );
    old_ledger.assert_all_dropped_once();
    let log = sync::take_collection_log();
    let scopes: Vec<Scope> = log.iter().map(|logged| logged.scope).collect();
    assert_eq!(scopes, [Scope::Young, Scope::Young, Scope::Full]);
    assert_eq!(
        log[1].examined, 2,
        "the second young collection examined the young cycle"
    );
}

#[test]
fn what_an_old_object_references_survives_a_young_collection() {
    let _serial = serial();
    let _schedule = WithSchedule::new(SharedSchedule::Generational, 0);
    let ledger = Ledger::new();
    let old = node(&ledger);
    sync::collect_young(); // `old` is promoted
    let (y1, y2) = cycle(&ledger);
    link(&old, &y1);
    drop((y1, y2));
    // The young cycle is referenced only by the old node, which the young collection does not
    // examine: that reference counts as external.
    assert_eq!(sync::collect_young(), 0);
    assert_eq!(ledger.dropped(), 0);
    for node in old.edges.lock().iter() {
        assert_eq!(node.edges.lock().len(), 1, "the cycle is intact");
    }
    old.edges.lock().clear(); // the (now old) cycle is garbage
    assert_eq!(sync::collect_young(), 0, "nothing young");
    assert_eq!(sync::collect(), 2);
    assert_eq!(ledger.dropped(), 2);
    drop(old);
    ledger.assert_all_dropped_once();
}

#[test]
fn a_cycle_through_an_old_object_waits_for_a_full_collection() {
    let _serial = serial();
    let _schedule = WithSchedule::new(SharedSchedule::Generational, 0);
    let ledger = Ledger::new();
    let old = node(&ledger);
    sync::collect_young();
    let young = node(&ledger);
    link(&young, &old);
    link(&old, &young);
    drop((old, young));
    assert_eq!(sync::collect_young(), 0, "the old member is not examined");
    assert_eq!(ledger.dropped(), 0);
    assert_eq!(sync::collect(), 2);
    ledger.assert_all_dropped_once();
}

#[test]
fn the_free_threaded_schedule_promotes_nothing() {
    let _serial = serial();
    let _schedule = WithSchedule::new(SharedSchedule::FreeThreaded, 0);
    let ledger = Ledger::new();
    let (a, b) = cycle(&ledger);
    assert_eq!(sync::collect(), 0);
    drop((a, b));
    // Survivors of a free-threaded collection stay young: a young collection is a full one.
    assert_eq!(sync::collect_young(), 2);
    ledger.assert_all_dropped_once();
}

#[test]
fn automatic_collections_are_young_until_enough_was_promoted() {
    let _serial = serial();
    let threshold = 100;
    let _schedule = WithSchedule::new(SharedSchedule::Generational, threshold);
    let ledger = Ledger::new();
    // Each round keeps a chain of live nodes (promoted by the next young collection) and drops a
    // garbage cycle; the live ones make the promoted count grow until a full collection is due.
    let rounds = size(3_000, 200);
    let mut kept = Vec::new();
    for _ in 0..rounds {
        let (a, b) = cycle(&ledger);
        drop((a, b));
        kept.push(node(&ledger));
    }
    let log = sync::take_collection_log();
    let young = log
        .iter()
        .filter(|logged| logged.scope == Scope::Young)
        .count();
    let full = log
        .iter()
        .filter(|logged| logged.scope == Scope::Full)
        .count();
    assert!(young > 1, "{young} young collections in {rounds} rounds");
    assert!(full > 0, "no full collection after {young} young ones");
    // A young collection examines the objects allocated since the last collection: near the
    // end, far fewer than the kept nodes, which are old by then.
    let largest_young = log
        .iter()
        .filter(|logged| logged.scope == Scope::Young)
        .map(|logged| logged.examined)
        .max()
        .unwrap_or(0);
    assert!(
        largest_young < kept.len(),
        "a young collection examined {largest_young} objects, with {} kept",
        kept.len()
    );
    assert!(
        ledger.dropped() >= rounds,
        "the automatic collections freed {} of the {} garbage nodes",
        ledger.dropped(),
        2 * rounds
    );
    drop(kept);
    sync::collect();
    ledger.assert_all_dropped_once();
}

/// Whether [`PanicsInTrace`] panics when traced.
static TRACE_PANICS: AtomicBool = AtomicBool::new(false);

/// A shared value whose `Trace` panics while [`TRACE_PANICS`] is set (which `Trace` forbids:
/// the collector must survive it all the same).
struct PanicsInTrace {
    _item: Item,
}

// SAFETY: it reports no edge and holds no handle; the panic breaks no rule about edges.
unsafe impl Trace for PanicsInTrace {
    const MAY_CONTAIN_GC: bool = true;
    fn trace(&self, _visitor: &mut dyn Visitor) {
        if TRACE_PANICS.load(SeqCst) {
            panic!("a Trace impl panics");
        }
    }
}

#[test]
fn a_promotion_interrupted_by_a_panicking_trace_leaves_the_heap_sound() {
    let _serial = serial();
    let _schedule = WithSchedule::new(SharedSchedule::Generational, 0);
    let ledger = Ledger::new();
    // Young objects walked (and promoted) before the panicking one, and after it.
    let before: Vec<Gc<Node>> = (0..size(50, 5)).map(|_| node(&ledger)).collect();
    let panicking = Gc::new(PanicsInTrace {
        _item: ledger.item(),
    });
    let after: Vec<Gc<Node>> = (0..size(50, 5)).map(|_| node(&ledger)).collect();
    TRACE_PANICS.store(true, SeqCst);
    let collected = std::panic::catch_unwind(sync::collect_young);
    TRACE_PANICS.store(false, SeqCst);
    assert!(collected.is_err(), "the Trace impl panicked");
    // The walk promoted the objects it found as it numbered them, before the trace panicked:
    // they are old without having been examined, which only leaves them to a full collection.
    // Freeing them is sound, and a young collection finds a new cycle and nothing live.
    drop(before);
    let (a, b) = cycle(&ledger);
    drop((a, b));
    assert_eq!(sync::collect_young(), 2, "the cycle, and nothing live");
    drop((panicking, after));
    ledger.assert_all_dropped_once();
}
