//! The public API of handles, cells and the `gc` module: weak semantics, counts, identity,
//! enabling and disabling automatic collection, configuration and its errors, statistics and
//! collection records, `GcCell` borrow rules and a cell borrowed during a collection.

use std::cell::Cell;

use gc_refcount::gc_core::ThresholdError;
use gc_refcount::{
    gc, ConfigError, Gc, GcCell, HeapConfig, Manual, NoCycles, Scheduler, Threshold, Trace,
    TrialDeletion,
};

/// Runs `f` on a fresh thread: a heap nothing has touched yet, free to configure.
fn on_fresh_heap<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    match std::thread::spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

#[derive(Trace)]
struct Node {
    value: u32,
    next: GcCell<Option<Gc<Node>>>,
}

fn node(value: u32) -> Gc<Node> {
    Gc::new(Node {
        value,
        next: GcCell::new(None),
    })
}

/// A node that references itself, with no handle left: garbage for the cycle collector.
fn self_cycle() {
    let n = node(0);
    *n.next.borrow_mut() = Some(n.clone());
}

// --- handles ------------------------------------------------------------------------------------

#[test]
fn weak_upgrade_fails_once_the_count_reaches_zero() {
    let a = Gc::new(String::from("a"));
    let w = Gc::downgrade(&a);
    assert_eq!((Gc::strong_count(&a), Gc::weak_count(&a)), (1, 1));
    assert_eq!(w.strong_count(), 1);
    let b = w.upgrade().expect("alive");
    assert!(Gc::ptr_eq(&a, &b));
    assert_eq!((Gc::strong_count(&a), w.strong_count()), (2, 2));
    let w2 = w.clone();
    assert_eq!(Gc::weak_count(&a), 2);
    assert!(w.ptr_eq(&w2));
    assert!(!w.ptr_eq(&Gc::downgrade(&Gc::new(String::from("a")))));
    drop((a, b));
    assert!(w.upgrade().is_none());
    assert!(w2.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
    // The value is dropped, the memory waits for the weak handles.
    assert_eq!(gc::stats().live_objects(), 1);
    drop(w);
    assert_eq!(gc::stats().live_objects(), 1);
    drop(w2);
    assert_eq!(gc::stats().live_objects(), 0);
}

#[test]
fn weak_to_a_container_freed_by_counting() {
    let a = node(1);
    let b = node(2);
    *a.next.borrow_mut() = Some(b.clone());
    let wb = Gc::downgrade(&b);
    drop(b);
    assert_eq!(
        wb.upgrade().map(|b| b.value),
        Some(2),
        "a still references b"
    );
    drop(a);
    assert!(wb.upgrade().is_none());
    assert_eq!(gc::tracked_count(), 0);
    assert_eq!(gc::collect(), 0);
}

#[test]
fn ptr_eq_is_identity_and_eq_is_value() {
    let a = Gc::new(5u32);
    let a2 = a.clone();
    let b = Gc::new(5u32);
    assert!(Gc::ptr_eq(&a, &a2));
    assert!(!Gc::ptr_eq(&a, &b));
    assert_eq!(a, b);
    assert_eq!(Gc::as_ptr(&a), Gc::as_ptr(&a2));
    assert_ne!(Gc::as_ptr(&a), Gc::as_ptr(&b));
}

#[test]
fn getrefcount_is_strong_count_plus_one() {
    let a = node(1);
    assert_eq!(gc::getrefcount(&a), 2);
    let a2 = a.clone();
    assert_eq!(gc::getrefcount(&a), 3);
    let b = node(2);
    *b.next.borrow_mut() = Some(a.clone());
    assert_eq!(gc::getrefcount(&a), 4);
    assert_eq!(gc::getrefcount(&a), Gc::strong_count(&a) + 1);
    drop(b);
    drop(a2);
    assert_eq!(gc::getrefcount(&a), 2);
}

// --- automatic collection -------------------------------------------------------------------------

#[test]
#[cfg_attr(
    miri,
    ignore = "scheduling at CPython's threshold (23 s under Miri); the collections' pointer code \
              runs under Miri in the configuration suites"
)]
fn default_heap_collects_cycles_automatically() {
    on_fresh_heap(|| {
        assert_eq!(gc::config_name(), HeapConfig::default().name());
        assert!(gc::isenabled());
        for _ in 0..1000 {
            self_cycle();
        }
        let stats = gc::stats();
        assert!(
            stats.generations[0].collections >= 1,
            "no young collection after 1000 allocations: {stats:?}"
        );
        assert!(stats.generations[0].collected >= 700, "{stats:?}");
        assert_eq!(stats.objects_freed as usize, stats.generations[0].collected);
        let remaining = gc::tracked_count();
        assert_eq!(remaining, 1000 - stats.generations[0].collected);
        assert_eq!(gc::collect(), remaining);
        assert_eq!(gc::stats().live_objects(), 0);
    })
}

#[test]
#[cfg_attr(
    miri,
    ignore = "scheduling at CPython's threshold (23 s under Miri); the collections' pointer code \
              runs under Miri in the configuration suites"
)]
fn threshold_700_collects_on_the_701st_allocation() {
    on_fresh_heap(|| {
        gc::configure(HeapConfig::default().scheduler(Threshold::new(700))).unwrap();
        for _ in 0..700 {
            self_cycle();
        }
        assert_eq!(gc::stats().generations[0].collections, 0);
        assert_eq!(gc::get_count(), [700, 0]);
        for _ in 0..300 {
            self_cycle();
        }
        let young = gc::stats().generations[0];
        assert_eq!((young.collections, young.collected), (1, 700));
        assert_eq!(young.examined, 700);
        // The allocation that triggered the collection is not counted after it (as in CPython).
        assert_eq!(gc::get_count(), [299, 0]);
        assert_eq!(gc::tracked_count(), 300);
        assert_eq!(gc::collect(), 300);
        assert_eq!(gc::stats().generations[1].collections, 1);
    })
}

#[test]
fn disabled_heap_collects_only_when_asked() {
    on_fresh_heap(|| {
        // CPython's threshold, or a tenth of it under Miri, where each object is slow.
        let threshold = if cfg!(miri) { 70 } else { 700 };
        gc::configure(HeapConfig::default().scheduler(Threshold::new(threshold))).unwrap();
        gc::disable();
        assert!(!gc::isenabled());
        // Well past the threshold.
        let n = 3 * threshold;
        for _ in 0..n {
            self_cycle();
        }
        let stats = gc::stats();
        assert!(
            stats.generations.iter().all(|g| g.collections == 0),
            "{stats:?}"
        );
        assert_eq!(gc::tracked_count(), n);
        assert_eq!(gc::get_count()[0], n);
        assert_eq!(gc::collect(), n, "collect works while disabled");
        gc::enable();
        assert!(gc::isenabled());
        for _ in 0..=threshold {
            self_cycle();
        }
        assert_eq!(gc::stats().generations[0].collections, 1);
        assert_eq!(gc::collect(), 1);
        assert_eq!(gc::stats().live_objects(), 0);
    })
}

#[test]
fn a_tracked_free_lowers_the_count() {
    on_fresh_heap(|| {
        gc::configure(HeapConfig::default().scheduler(Manual)).unwrap();
        let a = node(1);
        let b = node(2);
        let leaf = Gc::new(3u32);
        assert_eq!(gc::get_count(), [2], "leaves are not counted");
        drop(a);
        assert_eq!(gc::get_count(), [1]);
        drop((b, leaf));
        assert_eq!(gc::get_count(), [0]);
    })
}

#[test]
fn collect_generation_checks_the_generation() {
    on_fresh_heap(|| {
        gc::configure(HeapConfig::default().scheduler(Threshold::new(700))).unwrap();
        self_cycle();
        let error = gc::collect_generation(2).unwrap_err();
        assert_eq!((error.generation, error.generations), (2, 2));
        assert!(error.to_string().contains("0 to 1"), "{error}");
        assert_eq!(gc::collect_generation(0), Ok(1));
        // A survivor of a young collection moves to the old generation.
        let kept = node(1);
        *kept.next.borrow_mut() = Some(kept.clone());
        assert_eq!(gc::collect_generation(0), Ok(0));
        kept.next.borrow_mut().take();
        let again = kept.clone();
        *kept.next.borrow_mut() = Some(again);
        drop(kept);
        assert_eq!(gc::collect_generation(0), Ok(0), "old: not examined");
        assert_eq!(gc::collect_generation(1), Ok(1));
    })
}

// --- configuration ----------------------------------------------------------------------------------

#[test]
fn configure_is_refused_while_the_heap_holds_objects() {
    on_fresh_heap(|| {
        let a = Gc::new(1u8);
        let b = node(2);
        let before = gc::config_name();
        assert_eq!(
            gc::configure(HeapConfig::default().detector(NoCycles)),
            Err(ConfigError::HeapInUse { live_objects: 2 })
        );
        assert_eq!(gc::config_name(), before, "unchanged");
        drop(b);
        let weak = Gc::downgrade(&a);
        drop(a);
        // A weak handle keeps the memory: still in use.
        let refused = gc::configure_by_name("rc").unwrap_err();
        assert_eq!(refused, ConfigError::HeapInUse { live_objects: 1 });
        assert!(refused.to_string().contains("holds 1 objects"), "{refused}");
        drop(weak);
        gc::configure(HeapConfig::default().detector(NoCycles).scheduler(Manual)).unwrap();
        assert_eq!(gc::config_name(), "none/manual/pool");
        // The new detector is in use: a cycle leaks.
        let n = node(1);
        *n.next.borrow_mut() = Some(n.clone());
        let w = Gc::downgrade(&n);
        drop(n);
        assert_eq!(gc::collect(), 0);
        let n = w.upgrade().expect("leaked, still alive");
        n.next.borrow_mut().take();
        drop((n, w));
        assert_eq!(gc::stats().live_objects(), 0);
        gc::configure(HeapConfig::default().detector(TrialDeletion)).unwrap();
    })
}

#[test]
fn configure_rejects_impossible_generation_counts() {
    struct Generations(usize);
    impl Scheduler for Generations {
        fn name(&self) -> String {
            format!("generations:{}", self.0)
        }
        fn generations(&self) -> usize {
            self.0
        }
        fn threshold(&self) -> usize {
            0
        }
        fn choose(&mut self, _counts: &[usize]) -> Option<usize> {
            None
        }
        fn survivors_to(&self, _generation: usize) -> usize {
            0
        }
        fn collected(&mut self, _generation: usize, _survivors: usize, counts: &mut [usize]) {
            counts[0] = 0;
        }
        fn thresholds(&self) -> Vec<usize> {
            Vec::new()
        }
        fn set_thresholds(&mut self, thresholds: &[usize]) -> Result<(), ThresholdError> {
            Err(ThresholdError {
                given: thresholds.len(),
                expected: 0,
            })
        }
    }
    on_fresh_heap(|| {
        let before = gc::config_name();
        for n in [0, 5] {
            let error = gc::configure(HeapConfig::default().scheduler(Generations(n))).unwrap_err();
            assert_eq!(error, ConfigError::TooManyGenerations(n));
            assert!(error.to_string().contains("at most 4"), "{error}");
        }
        assert_eq!(gc::config_name(), before);
        gc::configure(HeapConfig::default().scheduler(Generations(4))).unwrap();
        assert_eq!(gc::get_count().len(), 4);
    })
}

#[test]
fn bad_names_give_helpful_errors() {
    let error = |name: &str| HeapConfig::from_name(name).unwrap_err();

    for name in [
        "",
        "fast",
        "none/manual",
        "immediate/none/manual/system/extra",
    ] {
        assert_eq!(error(name), ConfigError::BadName(name.to_owned()));
        let text = error(name).to_string();
        assert!(
            text.contains(&format!("{name:?}")),
            "names the input: {text}"
        );
        assert!(
            text.contains("rc") && text.contains("default"),
            "lists presets: {text}"
        );
        assert!(text.contains("DETECTOR/SCHEDULER/ALLOCATOR"), "{text}");
    }

    let cases = [
        ("copying/manual/system", "detector", "copying"),
        ("none/weekly/system", "scheduler", "weekly"),
        ("none/manual/arena", "allocator", "arena"),
    ];
    for (name, axis, part) in cases {
        let e = error(name);
        assert_eq!(e, ConfigError::UnknownPart(axis, part.to_owned()), "{name}");
        let text = e.to_string();
        assert!(
            text.contains(&format!("unknown {axis} \"{part}\"")),
            "{text}"
        );
        assert!(
            text.contains("trial-deletion") && text.contains("system"),
            "{text}"
        );
    }
    // A bad threshold number.
    let e = error("none/threshold:lots/system");
    assert!(
        matches!(&e, ConfigError::UnknownPart(_, text) if text.contains("lots")),
        "{e:?}"
    );
    assert!(e.to_string().contains("lots"), "{e}");

    // configure_by_name returns the same errors, and changes nothing.
    on_fresh_heap(|| {
        let before = gc::config_name();
        let e = gc::configure_by_name("fast").unwrap_err();
        assert_eq!(e, ConfigError::BadName("fast".into()));
        assert_eq!(gc::config_name(), before);
    });
}

#[test]
fn names_round_trip() {
    assert_eq!(
        HeapConfig::from_name("rc").unwrap().name(),
        "none/manual/system"
    );
    assert_eq!(
        HeapConfig::from_name("default").unwrap().name(),
        HeapConfig::default().name()
    );
    for name in [
        "trial-deletion/threshold:5/system",
        "none/manual/system",
        "trial-deletion/threshold:700/system",
    ] {
        assert_eq!(HeapConfig::from_name(name).unwrap().name(), name);
    }
    assert_eq!(
        HeapConfig::from_name("none/threshold/system")
            .unwrap()
            .name(),
        "none/threshold:700/system"
    );
    assert_eq!(
        HeapConfig::default()
            .detector(NoCycles)
            .scheduler(Threshold::new(5))
            .name(),
        "none/threshold:5/pool"
    );
    on_fresh_heap(|| {
        gc::configure_by_name("trial-deletion/threshold:5/system").unwrap();
        assert_eq!(gc::config_name(), "trial-deletion/threshold:5/system");
        assert_eq!(gc::stats().config, "trial-deletion/threshold:5/system");
        // The threshold is in effect: the sixth tracked allocation collects.
        for _ in 0..6 {
            self_cycle();
        }
        let young = gc::stats().generations[0];
        assert_eq!((young.collections, young.collected), (1, 5));
        assert_eq!(gc::collect(), 1);
    });
}

// --- statistics -------------------------------------------------------------------------------------

#[test]
fn collection_records() {
    on_fresh_heap(|| {
        gc::configure(HeapConfig::default().scheduler(Threshold::new(700))).unwrap();
        self_cycle();
        assert!(gc::take_collection_records().is_empty(), "off by default");
        assert_eq!(gc::collect(), 1);
        assert!(gc::take_collection_records().is_empty());

        gc::record_collections(true);
        let live = node(1);
        self_cycle();
        self_cycle();
        assert_eq!(gc::collect(), 2);
        assert_eq!(gc::collect_generation(0), Ok(0));
        let records = gc::take_collection_records();
        assert_eq!(records.len(), 2);
        let full = records[0];
        assert_eq!(
            (
                full.generation,
                full.examined,
                full.unreachable,
                full.freed,
                full.resurrected
            ),
            (1, 3, 2, 2, 0)
        );
        // The survivor moved to the old generation; a young collection has nothing to examine.
        assert_eq!((records[1].generation, records[1].examined), (0, 0));
        assert!(gc::take_collection_records().is_empty(), "taken");

        // An automatic collection is recorded too.
        for _ in 0..701 {
            self_cycle();
        }
        let records = gc::take_collection_records();
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].generation, records[0].unreachable), (0, 700));

        // Off discards.
        assert_eq!(gc::collect(), 1);
        gc::record_collections(false);
        gc::record_collections(true);
        assert!(gc::take_collection_records().is_empty());
        drop(live);

        let stats = gc::stats();
        assert_eq!(stats.generations[1].collections, 3);
        assert_eq!(stats.generations[1].collected, 1 + 2 + 1);
        assert_eq!(stats.live_objects(), 0);
        assert_eq!(stats.objects_allocated, stats.objects_freed);
    })
}

#[test]
fn byte_statistics() {
    on_fresh_heap(|| {
        let a = Gc::new([0u64; 16]);
        let stats = gc::stats();
        assert!(stats.bytes_allocated >= 128);
        assert_eq!(stats.live_bytes(), stats.bytes_allocated);
        assert_eq!(stats.peak_live_bytes, stats.bytes_allocated);
        drop(a);
        let stats = gc::stats();
        assert_eq!(stats.live_bytes(), 0);
        assert_eq!(
            stats.peak_live_bytes, stats.bytes_allocated,
            "the peak stays"
        );
        gc::reset_peak();
        assert_eq!(gc::stats().peak_live_bytes, 0);
    })
}

#[test]
fn the_peak_of_tracked_objects_is_a_high_water_mark() {
    on_fresh_heap(|| {
        gc::disable();
        let cells: Vec<Gc<GcCell<Option<Gc<u8>>>>> =
            (0..10).map(|_| Gc::new(GcCell::new(None))).collect();
        // Leaves are not tracked: they do not count.
        let leaf = Gc::new(7u8);
        assert_eq!(gc::stats().tracked_objects, 10);
        drop(cells);
        let stats = gc::stats();
        assert_eq!(stats.tracked_objects, 0);
        assert_eq!(stats.peak_tracked_objects, 10, "the peak stays");
        let kept = Gc::new(GcCell::new(Some(leaf)));
        gc::reset_peak();
        assert_eq!(gc::stats().peak_tracked_objects, 1);
        drop(kept);
    })
}

// --- GcCell ------------------------------------------------------------------------------------------

#[test]
#[should_panic(expected = "already mutably borrowed")]
fn borrow_while_mutably_borrowed_panics() {
    let cell = GcCell::new(1);
    let _guard = cell.borrow_mut();
    let _ = cell.borrow();
}

#[test]
#[should_panic(expected = "already borrowed: cannot borrow it mutably")]
fn borrow_mut_while_borrowed_panics() {
    let cell = GcCell::new(1);
    let _guard = cell.borrow();
    let _ = cell.borrow_mut();
}

#[test]
#[should_panic(expected = "GcCell<alloc::vec::Vec<u8>> is already borrowed")]
fn replace_while_borrowed_panics_naming_the_type() {
    let cell = GcCell::new(vec![1u8]);
    let _guard = cell.borrow();
    cell.replace(Vec::new());
}

#[test]
fn try_borrow_reports_instead_of_panicking() {
    let cell = GcCell::new(1);
    {
        let _guard = cell.borrow_mut();
        assert!(cell.try_borrow().is_err());
        assert!(cell.try_borrow_mut().is_err());
        assert_eq!(format!("{cell:?}"), "GcCell(<borrowed>)");
    }
    {
        let _a = cell.borrow();
        let _b = cell.borrow();
        assert!(cell.try_borrow_mut().is_err());
    }
    assert_eq!(cell.replace(2), 1);
    assert_eq!(*cell.try_borrow().unwrap(), 2);
    assert_eq!(format!("{cell:?}"), "GcCell(2)");
}

thread_local! {
    static ITEMS_DROPPED: Cell<usize> = const { Cell::new(0) };
}

/// An item that points back at its holder: holder and items form cycles.
#[derive(Trace)]
struct Item {
    value: usize,
    holder: Gc<Holder>,
    me: GcCell<Option<Gc<Item>>>,
}

impl Drop for Item {
    fn drop(&mut self) {
        ITEMS_DROPPED.with(|c| c.set(c.get() + 1));
    }
}

#[derive(Trace)]
struct Holder {
    items: GcCell<Vec<Gc<Item>>>,
}

#[test]
fn a_cell_borrowed_during_a_collection_keeps_its_contents() {
    const ITEMS: usize = 50;
    on_fresh_heap(|| {
        gc::configure(HeapConfig::default().scheduler(Threshold::new(1))).unwrap();
        let holder = Gc::new(Holder {
            items: GcCell::new(Vec::new()),
        });
        {
            let mut items = holder.items.borrow_mut();
            for value in 0..ITEMS {
                // Each allocation may run a young collection while `items` is borrowed: the
                // collector cannot see the items through the cell, and must not free them.
                let item = Gc::new(Item {
                    value,
                    holder: holder.clone(),
                    me: GcCell::new(None),
                });
                *item.me.borrow_mut() = Some(item.clone());
                items.push(item);
                // Garbage next to it, to give the collections something to do.
                self_cycle();
            }
            assert!(gc::stats().generations[0].collections >= ITEMS / 2);
            assert_eq!(ITEMS_DROPPED.with(Cell::get), 0, "an item was dropped");
            assert!(items.iter().enumerate().all(|(i, item)| item.value == i
                && Gc::is_alive(item)
                && Gc::ptr_eq(&item.holder, &holder)));
        }
        // Every self-cycle has been found by now or is found here; the items are reachable.
        gc::collect();
        assert_eq!(gc::tracked_count(), 1 + ITEMS);
        assert_eq!(ITEMS_DROPPED.with(Cell::get), 0);
        // Abandoned, holder and items are one garbage structure.
        drop(holder);
        assert_eq!(gc::collect(), 1 + ITEMS);
        assert_eq!(ITEMS_DROPPED.with(Cell::get), ITEMS);
        assert_eq!(gc::stats().live_objects(), 0);
    })
}
