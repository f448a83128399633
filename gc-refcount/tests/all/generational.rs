//! The generational schedule and the complete `gc` module: ports of CPython's `test_gc`
//! behaviours, and the exact CPython schedule checked against a reference model.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gc_refcount::gc::{self, CallbackInfo, Phase};
use gc_refcount::{CpythonGenerations, Gc, GcCell, HeapConfig, Trace};
use proptest::prelude::*;

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node {
        next: GcCell::new(None),
    })
}

fn self_cycle() {
    let n = node();
    *n.next.borrow_mut() = Some(n.clone());
}

/// Runs `f` on a fresh thread, so it gets a fresh heap with `config`.
fn on_fresh_heap(config: HeapConfig, f: impl FnOnce() + Send + 'static) {
    let config_name = config.name();
    std::thread::spawn(move || {
        gc::configure(HeapConfig::from_name(&config_name).expect("a valid name"))
            .expect("a fresh heap accepts a configuration");
        f();
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

#[test]
fn default_heap_is_cpython312() {
    assert_eq!(gc::config_name(), "trial-deletion/cpython312/pool");
    assert_eq!(gc::get_threshold(), [700, 10, 10]);
}

#[test]
fn get_count() {
    gc::collect();
    let counts = gc::get_count();
    assert_eq!(counts.len(), 3);
    assert!(
        counts[0] < 5,
        "count 0 is small right after collect: {counts:?}"
    );
    assert_eq!(&counts[1..], [0, 0]);
    let keep = node();
    assert_eq!(
        gc::get_count()[0],
        counts[0] + 1,
        "a tracked allocation raises count 0"
    );
    let _leaf = Gc::new(5u32);
    assert_eq!(gc::get_count()[0], counts[0] + 1, "a leaf is not counted");
    drop(keep);
    assert_eq!(
        gc::get_count()[0],
        counts[0],
        "a tracked deallocation lowers it"
    );
}

#[test]
fn collect_generations_moves_a_survivor_up() {
    gc::collect();
    let x = node();
    let in_generation = |g: usize| {
        gc::get_objects(Some(g))
            .unwrap()
            .iter()
            .any(|o| o.ptr_eq(&x))
    };
    assert!(in_generation(0));
    gc::collect_generation(0).unwrap();
    assert_eq!(&gc::get_count()[1..], [1, 0]);
    assert!(in_generation(1) && !in_generation(0));
    gc::collect_generation(1).unwrap();
    assert_eq!(&gc::get_count()[1..], [0, 1]);
    assert!(in_generation(2) && !in_generation(1));
    gc::collect_generation(2).unwrap();
    assert_eq!(&gc::get_count()[1..], [0, 0]);
    assert!(in_generation(2));
    let error = gc::collect_generation(3).unwrap_err();
    assert!(
        error.to_string().contains("invalid generation 3"),
        "{error}"
    );
    assert!(gc::get_objects(Some(7)).is_err());
}

#[test]
fn get_stats_counts_collections_per_generation() {
    let before = gc::get_stats();
    gc::collect_generation(0).unwrap();
    let after = gc::get_stats();
    assert_eq!(after[0].collections, before[0].collections + 1);
    assert_eq!(after[1].collections, before[1].collections);
    assert_eq!(after[2].collections, before[2].collections);
    self_cycle();
    gc::collect_generation(2).unwrap();
    let last = gc::get_stats();
    assert_eq!(last[0].collections, after[0].collections);
    assert_eq!(last[2].collections, after[2].collections + 1);
    assert_eq!(last[2].collected, after[2].collected + 1);
}

#[test]
fn freeze_keeps_objects_out_of_collections() {
    let a = node();
    *a.next.borrow_mut() = Some(a.clone());
    gc::freeze();
    assert!(gc::get_freeze_count() > 0);
    drop(a);
    assert_eq!(gc::collect(), 0, "a frozen cycle is never examined");
    gc::unfreeze();
    assert_eq!(gc::get_freeze_count(), 0);
    assert_eq!(
        gc::collect(),
        1,
        "back in the oldest generation, it is found"
    );
}

/// Collections tell members from other objects by the generation tag in each header (one walk
/// instead of CPython's two); these move objects in and out of the permanent generation and
/// check that young collections never count a frozen object as a member, and that a cycle back
/// from the permanent generation is found whole.
#[test]
fn frozen_objects_are_not_members_of_young_collections() {
    on_fresh_heap(HeapConfig::default(), || {
        #[derive(Trace)]
        struct Pair {
            itself: GcCell<Option<Gc<Pair>>>,
            other: Gc<Node>,
        }
        let frozen = node();
        gc::freeze();
        let mut young = Vec::new();
        for round in 0..6 {
            // Reachable young objects and young garbage, both referencing the frozen object.
            let y = node();
            *y.next.borrow_mut() = Some(frozen.clone());
            young.push(y);
            let garbage = round % 2 == 1;
            if garbage {
                let pair = Gc::new(Pair {
                    itself: GcCell::new(None),
                    other: frozen.clone(),
                });
                *pair.itself.borrow_mut() = Some(pair.clone());
            }
            assert_eq!(gc::collect_generation(0).unwrap(), usize::from(garbage));
        }
        assert_eq!(Gc::strong_count(&frozen), 7);
        drop(young);

        // A two-object cycle frozen, then brought back: both ends are members again.
        let a = node();
        let b = node();
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a.clone());
        gc::freeze();
        drop((a, b));
        assert_eq!(gc::collect(), 0, "frozen: never examined");
        gc::unfreeze();
        assert_eq!(gc::collect(), 2, "unfrozen: the whole cycle is found");
        *frozen.next.borrow_mut() = Some(frozen.clone());
        drop(frozen);
        assert_eq!(gc::collect(), 1);
    });
}

#[test]
fn callbacks_see_start_and_stop() {
    let seen: Rc<RefCell<Vec<(Phase, CallbackInfo)>>> = Rc::default();
    let log = seen.clone();
    let id = gc::add_callback(move |phase, info| log.borrow_mut().push((phase, *info)));
    self_cycle();
    self_cycle();
    assert_eq!(gc::collect(), 2);
    let calls = seen.borrow().clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].0, Phase::Start);
    assert_eq!(calls[0].1.generation, 2);
    assert_eq!(calls[1].0, Phase::Stop);
    assert_eq!(calls[1].1.collected, 2);
    assert_eq!(calls[1].1.uncollectable, 0);
    assert!(gc::remove_callback(id));
    assert!(!gc::remove_callback(id));
    gc::collect();
    assert_eq!(seen.borrow().len(), 2, "a removed callback is not called");
}

#[test]
fn a_panicking_callback_leaves_the_heap_consistent() {
    let id = gc::add_callback(|phase, _| {
        if phase == Phase::Start {
            panic!("callback failure");
        }
    });
    self_cycle();
    let result = std::panic::catch_unwind(gc::collect);
    assert!(result.is_err(), "the callback's panic reaches the caller");
    assert_eq!(gc::tracked_count(), 0, "the cycle was still collected");
    assert_eq!(gc::stats().live_objects(), 0);
    gc::remove_callback(id);
    self_cycle();
    assert_eq!(gc::collect(), 1, "the heap still works");
}

#[test]
fn debug_saveall_keeps_garbage() {
    gc::set_debug(gc::DEBUG_SAVEALL).unwrap();
    self_cycle();
    assert_eq!(gc::collect(), 1);
    let garbage = gc::garbage();
    assert_eq!(garbage.len(), 1);
    assert!(garbage[0].type_name().ends_with("Node"));
    assert_eq!(gc::stats().live_objects(), 1, "nothing was freed");
    assert_eq!(gc::get_stats()[2].uncollectable, 1);
    drop(garbage);
    gc::set_debug(0).unwrap();
    drop(gc::take_garbage());
    assert_eq!(gc::collect(), 1);
    assert_eq!(gc::stats().live_objects(), 0);
    assert_eq!(
        gc::set_debug(1 << 12),
        Err(1 << 12),
        "unknown flags are refused"
    );
}

#[test]
fn get_referrers_finds_direct_referrers() {
    let target = node();
    let a = node();
    let b = node();
    *a.next.borrow_mut() = Some(target.clone());
    *b.next.borrow_mut() = Some(target.clone());
    let referrers = gc::get_referrers(&target);
    assert_eq!(referrers.len(), 2);
    assert!(referrers.iter().any(|r| r.ptr_eq(&a)));
    assert!(referrers.iter().any(|r| r.ptr_eq(&b)));
    assert!(gc::get_referrers(&a).is_empty());
}

#[test]
fn thresholds_can_be_set() {
    gc::set_threshold(&[5]).unwrap();
    assert_eq!(gc::get_threshold(), [5, 10, 10]);
    gc::set_threshold(&[6, 7, 8]).unwrap();
    assert_eq!(gc::get_threshold(), [6, 7, 8]);
    assert!(gc::set_threshold(&[1, 2, 3, 4]).is_err());
    assert!(gc::set_threshold(&[]).is_err());
    let before = gc::get_stats()[0].collections;
    for _ in 0..20 {
        self_cycle();
    }
    assert!(
        gc::get_stats()[0].collections > before,
        "threshold 6 triggers collections"
    );
    gc::set_threshold(&[0]).unwrap();
    let before = gc::get_stats()[0].collections;
    for _ in 0..20 {
        self_cycle();
    }
    assert_eq!(
        gc::get_stats()[0].collections,
        before,
        "threshold 0 turns them off"
    );
    gc::collect();
}

#[test]
fn allocation_in_drop_during_collection_does_not_recurse() {
    thread_local! {
        static DEPTH: Cell<usize> = const { Cell::new(0) };
        static MAX_DEPTH: Cell<usize> = const { Cell::new(0) };
    }
    #[derive(Trace)]
    struct Allocates {
        next: GcCell<Option<Gc<Allocates>>>,
    }
    impl Drop for Allocates {
        fn drop(&mut self) {
            // Enough tracked allocations to cross threshold 0 many times over.
            let keep: Vec<Gc<Node>> = (0..50).map(|_| node()).collect();
            drop(keep);
        }
    }
    let id = gc::add_callback(|phase, _| {
        DEPTH.with(|d| {
            match phase {
                Phase::Start => d.set(d.get() + 1),
                Phase::Stop => d.set(d.get() - 1),
            }
            MAX_DEPTH.with(|m| m.set(m.get().max(d.get())));
        })
    });
    gc::set_threshold(&[10]).unwrap();
    // Fewer under Miri (25 s with 30): each one's drop crosses the threshold five times.
    for _ in 0..if cfg!(miri) { 10 } else { 30 } {
        let a = Gc::new(Allocates {
            next: GcCell::new(None),
        });
        *a.next.borrow_mut() = Some(a.clone());
    }
    gc::collect();
    assert_eq!(MAX_DEPTH.with(Cell::get), 1, "collections never nest");
    gc::remove_callback(id);
}

/// Operations of the schedule property test.
#[derive(Debug, Clone)]
enum Op {
    /// Allocate a tracked object and keep it.
    Keep,
    /// Allocate a self-cycle and drop it (garbage until collected).
    Garbage,
    /// Drop the kept object at this index (modulo the number kept).
    Free(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Keep),
        3 => Just(Op::Garbage),
        2 => any::<usize>().prop_map(Op::Free),
    ]
}

/// CPython's schedule, written independently of `CpythonGenerations`: objects are only counted
/// per generation (kept objects and garbage cycles), which is all the schedule depends on.
struct ReferenceModel {
    thresholds: [usize; 3],
    counts: [usize; 3],
    /// Kept objects per generation, and which generation each kept object is in.
    kept: Vec<usize>,
    garbage: [usize; 3],
    long_lived_total: usize,
    long_lived_pending: usize,
    collected: Vec<(usize, usize)>,
}

impl ReferenceModel {
    fn allocate(&mut self) {
        self.counts[0] += 1;
        if self.counts[0] > self.thresholds[0] {
            for g in (0..3).rev() {
                if self.counts[g] > self.thresholds[g] {
                    if g == 2 && self.long_lived_pending < self.long_lived_total / 4 {
                        continue;
                    }
                    self.collect(g);
                    break;
                }
            }
        }
    }

    fn collect(&mut self, g: usize) {
        let to = (g + 1).min(2);
        let mut examined = 0;
        let mut survivors = 0;
        for generation in self.kept.iter_mut() {
            if *generation <= g {
                examined += 1;
                survivors += 1;
                *generation = to;
            }
        }
        for generation in 0..=g {
            examined += self.garbage[generation];
            self.garbage[generation] = 0;
        }
        self.collected.push((g, examined));
        if g < 2 {
            self.counts[g + 1] += 1;
        }
        for count in &mut self.counts[..=g] {
            *count = 0;
        }
        if g == 1 {
            self.long_lived_pending += survivors;
        } else if g == 2 {
            self.long_lived_pending = 0;
            self.long_lived_total = survivors;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 2 } else { 64 }))]

    /// The generations collected, in order, and how many objects each examined, are exactly
    /// those of a reference model of CPython's schedule with the 25% rule.
    #[test]
    fn schedule_matches_cpython(
        t0 in 1usize..8, t1 in 1usize..4, t2 in 1usize..4,
        ops in prop::collection::vec(op(), 0..if cfg!(miri) { 30 } else { 400 }),
    ) {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let config = HeapConfig::default().scheduler(CpythonGenerations::new([t0, t1, t2]));
            gc::configure(config).unwrap();
            gc::record_collections(true);
            let mut model = ReferenceModel {
                thresholds: [t0, t1, t2],
                counts: [0; 3],
                kept: Vec::new(),
                garbage: [0; 3],
                long_lived_total: 0,
                long_lived_pending: 0,
                collected: Vec::new(),
            };
            let mut kept: Vec<Gc<Node>> = Vec::new();
            for op in ops {
                match op {
                    Op::Keep => {
                        model.allocate();
                        kept.push(node());
                        model.kept.push(0);
                    }
                    Op::Garbage => {
                        model.allocate();
                        self_cycle();
                        model.garbage[0] += 1;
                    }
                    Op::Free(i) if !kept.is_empty() => {
                        let i = i % kept.len();
                        kept.swap_remove(i);
                        model.kept.swap_remove(i);
                        model.counts[0] = model.counts[0].saturating_sub(1);
                    }
                    Op::Free(_) => {}
                }
            }
            let actual: Vec<(usize, usize)> = gc::take_collection_records()
                .iter()
                .map(|r| (r.generation, r.examined))
                .collect();
            drop(kept);
            gc::collect();
            tx.send((actual, model.collected)).unwrap();
        })
        .join()
        .unwrap();
        let (actual, expected) = rx.recv().unwrap();
        prop_assert_eq!(actual, expected);
    }
}

#[test]
fn presets_by_name() {
    on_fresh_heap(HeapConfig::from_name("cpython313").unwrap(), || {
        assert_eq!(gc::get_threshold(), [2000, 10, 10]);
    });
    on_fresh_heap(HeapConfig::from_name("free-threaded").unwrap(), || {
        assert_eq!(gc::get_count().len(), 1);
        self_cycle();
        assert_eq!(gc::collect(), 1);
    });
}
