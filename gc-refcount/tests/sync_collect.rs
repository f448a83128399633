//! Tests of the shared collector (`gc_refcount::sync::collect`): cycles of thread-shared objects
//! through `GcLock`s and `AtomicGc`s are found and torn down, what is reachable survives, and
//! threads that are parked, blocking, holding locks, exiting or panicking neither wedge a
//! collection nor lose objects.
//!
//! The collector examines the whole shared heap, which every test of this binary shares, so the
//! tests run one at a time (`serial`) and count their own objects with a [`Ledger`], not with
//! `collect`'s return value. A thread waiting for another (a `join`) waits inside
//! `sync::blocking`, so that a collection need not wait for it.

use std::sync::{Mutex, PoisonError};
use std::thread;

use gc_refcount::sync::{self, AtomicCounts, AtomicGc, Gc, GcLock};
use gc_refcount::Trace;

mod ledger;
mod miri;
mod shared_node;
use ledger::{serial, Item, Ledger};
use miri::size;
use shared_node::{cycle, link, node, Node};

/// Sets its flag when dropped — also when the test unwinds — so that a thread spinning on the
/// flag ends, and the scope that waits for it passes the failure on instead of hanging.
struct SetOnDrop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Joins a thread inside a blocking section, so that a collection does not wait for the joiner.
fn join<T>(handle: thread::ScopedJoinHandle<'_, T>) -> thread::Result<T> {
    sync::blocking(|| handle.join())
}

#[test]
fn a_shared_cycle_is_collected() {
    let _serial = serial();
    let ledger = Ledger::new();
    let (a, b) = cycle(&ledger);
    drop((a, b));
    assert_eq!(
        ledger.dropped(),
        0,
        "reference counting alone cannot free a cycle"
    );
    assert!(sync::collect() >= 2);
    ledger.assert_all_dropped_once();
}

/// A shared value of an unusual shape: `BYTES` bytes of payload (more than a small page's
/// largest block when large), aligned to 64 bytes, and an edge.
#[derive(Trace)]
#[repr(align(64))]
struct Shaped<const BYTES: usize> {
    #[trace(skip)]
    payload: [u8; BYTES],
    _item: Item,
    next: GcLock<Option<Gc<Shaped<BYTES>>>>,
}

/// Makes a two-object cycle of `Shaped<BYTES>` values, drops it, and checks that a collection
/// finds it: the collector walks every kind of page (small blocks aligned beyond 16 bytes, and
/// the pages of one large block each).
fn a_cycle_of_shaped_values_is_collected<const BYTES: usize>() {
    let ledger = Ledger::new();
    let make = || {
        Gc::new(Shaped::<BYTES> {
            payload: [7; BYTES],
            _item: ledger.item(),
            next: GcLock::new(None),
        })
    };
    let (a, b) = (make(), make());
    assert_eq!(
        Gc::as_ptr(&a) as usize % 64,
        0,
        "the value keeps its alignment"
    );
    assert!(a
        .payload
        .iter()
        .chain(b.payload.iter())
        .all(|&byte| byte == 7));
    *a.next.lock() = Some(b.clone());
    *b.next.lock() = Some(a.clone());
    drop((a, b));
    assert_eq!(ledger.dropped(), 0);
    assert!(sync::collect() >= 2);
    ledger.assert_all_dropped_once();
}

#[test]
fn cycles_of_large_and_over_aligned_values_are_collected() {
    let _serial = serial();
    a_cycle_of_shaped_values_is_collected::<40>();
    a_cycle_of_shaped_values_is_collected::<{ 64 * 1024 }>();
}

#[test]
fn a_cycle_queued_to_an_owner_that_has_not_merged_is_collected() {
    let _serial = serial();
    let ledger = Ledger::new();
    let (to_main, from_owner) = std::sync::mpsc::channel();
    let (to_owner, from_main) = std::sync::mpsc::channel::<()>();
    thread::scope(|s| {
        let ledger = &ledger;
        let owner = s.spawn(move || {
            let (a, b) = cycle(ledger);
            drop(b);
            to_main.send(a).expect("main receives");
            // Wait without reaching a safepoint: what is queued to this thread stays queued.
            sync::blocking(|| from_main.recv().expect("main signals"));
        });
        /// Lets the owner go on, also when an assertion below fails (or the scope would hang).
        struct Release(std::sync::mpsc::Sender<()>);
        impl Drop for Release {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let release = Release(to_owner);
        let a = from_owner.recv().expect("the owner sends");
        // Not the owner, and the shared count is zero: the reference is queued to the owner.
        drop(a);
        assert_eq!(ledger.dropped(), 0);
        // The collector merges the owner's mailbox; then the pair is a garbage cycle.
        assert!(sync::collect() >= 2);
        ledger.assert_all_dropped_once();
        drop(release);
        join(owner).expect("the owner finishes");
    });
}

#[test]
fn reachable_objects_survive() {
    let _serial = serial();
    let ledger = Ledger::new();
    let (a, b) = cycle(&ledger);
    let c = node(&ledger);
    link(&b, &c);
    link(&c, &c);
    let (b_id, c_id) = (b.item.id, c.item.id);
    drop((b, c));
    sync::collect();
    assert_eq!(ledger.dropped(), 0, "everything is reachable from `a`");
    let b = a.edges.lock()[0].clone();
    assert_eq!(b.item.id, b_id);
    assert_eq!(b.edges.lock()[1].item.id, c_id);
    drop((a, b));
    sync::collect();
    ledger.assert_all_dropped_once();
}

/// A node whose edge is an `AtomicGc` slot.
#[derive(Trace)]
struct Slotted {
    item: Item,
    next: AtomicGc<Slotted>,
}

#[test]
fn a_cycle_through_atomic_slots_is_collected() {
    let _serial = serial();
    let ledger = Ledger::new();
    let a = Gc::new(Slotted {
        item: ledger.item(),
        next: AtomicGc::new(None),
    });
    let b = Gc::new(Slotted {
        item: ledger.item(),
        next: AtomicGc::new(Some(a.clone())),
    });
    a.next.store(Some(b.clone()));
    drop(b);
    sync::collect();
    assert_eq!(ledger.dropped(), 0);
    drop(a);
    sync::collect();
    ledger.assert_all_dropped_once();
}

#[test]
fn a_locked_value_keeps_what_it_references() {
    let _serial = serial();
    let ledger = Ledger::new();
    let (a, b) = cycle(&ledger);
    let b_id = b.item.id;
    drop(b);
    {
        // `a` is held; `b` is reachable only through `a`'s value, which is locked while another
        // thread collects: the collector cannot read it, so `b` must count as referenced.
        let guard = a.edges.lock();
        thread::scope(|s| {
            let collector = s.spawn(sync::collect);
            join(collector).unwrap();
        });
        assert_eq!(guard[0].item.id, b_id);
        assert_eq!(ledger.dropped(), 0);
    }
    drop(a);
    sync::collect();
    ledger.assert_all_dropped_once();
}

#[test]
fn garbage_whose_lock_is_held_by_a_blocking_thread_survives_until_released() {
    let _serial = serial();
    let ledger = Ledger::new();
    let (a, b) = cycle(&ledger);
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    thread::scope(|s| {
        let a = &a;
        let holder = s.spawn(move || {
            let guard = a.edges.lock();
            locked_tx.send(()).unwrap();
            // Holds the guard while the main thread drops its handles and collects.
            sync::blocking(|| release_rx.recv().unwrap());
            drop(guard);
        });
        locked_rx.recv().unwrap();
        sync::collect();
        assert_eq!(ledger.dropped(), 0);
        release_tx.send(()).unwrap();
        join(holder).unwrap();
    });
    drop((a, b));
    sync::collect();
    ledger.assert_all_dropped_once();
}

#[test]
fn objects_of_an_exited_thread_are_collected() {
    let _serial = serial();
    let ledger = Ledger::new();
    thread::scope(|s| {
        let ledger = &ledger;
        let maker = s.spawn(move || {
            for _ in 0..size(100, 5) {
                cycle(ledger); // garbage at once
            }
        });
        join(maker).unwrap();
    });
    sync::collect();
    ledger.assert_all_dropped_once();
}

/// A shared node counted like `Arc`: a thread that drops the last handle frees it there, even if
/// another thread made it (no hand-over to the maker, as biased counting does).
#[derive(Trace)]
struct AtomicNode {
    item: Item,
    edges: GcLock<Vec<Gc<Node>>>,
}

/// The tracked objects in the shared heap, as a full collection counts them.
fn examined_objects() -> usize {
    sync::collect();
    sync::take_collection_log()
        .last()
        .expect("the collection is logged")
        .examined
}

/// A thread that frees objects of another thread's page set puts their blocks on that set's
/// remote list (see `pages.rs`); a freed object is never examined again (it forgot its type
/// record), whether the freeing thread then collects or exits. (Until the lists of tracked
/// objects went, such frees waited in a batch, which had to leave the lists in both cases.)
#[test]
fn objects_freed_on_another_thread_are_no_longer_examined() {
    let _serial = serial();
    let ledger = Ledger::new();
    let before = examined_objects();
    let made = |count: usize| -> Vec<Gc<AtomicNode, AtomicCounts>> {
        (0..count)
            .map(|_| {
                Gc::new_counted(AtomicNode {
                    item: ledger.item(),
                    edges: GcLock::new(Vec::new()),
                })
            })
            .collect()
    };
    // Freed by a thread that then collects.
    let first = made(5);
    assert_eq!(examined_objects(), before + 5);
    thread::scope(|s| {
        let freer = s.spawn(move || {
            drop(first);
            examined_objects()
        });
        assert_eq!(
            join(freer).unwrap(),
            before,
            "a collector does not examine what it freed"
        );
    });
    // Freed by a thread that exits.
    let second = made(5);
    thread::scope(|s| {
        let freer = s.spawn(move || drop(second));
        join(freer).unwrap();
    });
    assert_eq!(ledger.dropped(), 10, "the values drop at once");
    assert_eq!(
        examined_objects(),
        before,
        "nor what an exiting thread freed"
    );
    ledger.assert_all_dropped_once();
}

#[test]
fn a_panicking_thread_does_not_wedge_the_collector() {
    let _serial = serial();
    let ledger = Ledger::new();
    let kept = node(&ledger);
    thread::scope(|s| {
        let (ledger, kept) = (&ledger, &kept);
        let panicker = s.spawn(move || {
            let a = node(ledger);
            link(&a, &a);
            link(kept, &a);
            let _guard = a.edges.lock();
            panic!("a mutator panics holding a reference and a lock");
        });
        assert!(join(panicker).is_err());
    });
    sync::collect();
    assert_eq!(
        ledger.dropped(),
        0,
        "the self-cycle is still referenced by `kept`"
    );
    kept.edges.lock().clear();
    sync::collect();
    assert_eq!(ledger.dropped(), 1);
    drop(kept);
    ledger.assert_all_dropped_once();
}

#[test]
fn automatic_collections_free_cycles() {
    let _serial = serial();
    let ledger = Ledger::new();
    let before = sync::threshold();
    sync::set_threshold(100);
    let cycles = size(2_000, 150);
    for _ in 0..cycles {
        cycle(&ledger); // garbage at once
    }
    sync::set_threshold(before);
    // Natively, at least half the objects; under Miri (few objects), at least one collection.
    assert!(
        ledger.dropped() >= size(cycles, 1),
        "automatic collections freed {} of {} objects",
        ledger.dropped(),
        2 * cycles
    );
    sync::collect();
    ledger.assert_all_dropped_once();
}

/// Frees count against allocations in the schedule: objects allocated and freed one at a time
/// never add up to a threshold's worth of growth, so no automatic collection runs.
#[test]
fn allocations_freed_at_once_trigger_no_collection() {
    let _serial = serial();
    let ledger = Ledger::new();
    let before = sync::threshold();
    sync::set_threshold(100);
    sync::collect();
    sync::take_collection_log();
    for _ in 0..size(20_000, 300) {
        drop(node(&ledger));
    }
    let log = sync::take_collection_log();
    sync::set_threshold(before);
    assert!(log.is_empty(), "{} automatic collections ran", log.len());
    ledger.assert_all_dropped_once();
}

/// A node whose `Drop` keeps a handle to another member of its (garbage) cycle.
#[derive(Trace)]
struct Resurrector {
    item: Item,
    peer: GcLock<Option<Gc<Resurrector>>>,
}

static KEPT: Mutex<Option<Gc<Resurrector>>> = Mutex::new(None);

impl Drop for Resurrector {
    fn drop(&mut self) {
        if let Some(peer) = self.peer.lock().take() {
            KEPT.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(peer);
        }
    }
}

#[test]
fn a_resurrected_handle_panics_instead_of_reading_a_dropped_value() {
    let _serial = serial();
    let ledger = Ledger::new();
    let a = Gc::new(Resurrector {
        item: ledger.item(),
        peer: GcLock::new(None),
    });
    let b = Gc::new(Resurrector {
        item: ledger.item(),
        peer: GcLock::new(Some(a.clone())),
    });
    *a.peer.lock() = Some(b.clone());
    drop((a, b));
    assert_eq!(sync::collect(), 2);
    ledger.assert_all_dropped_once();
    let kept = KEPT.lock().unwrap().take().expect("a Drop kept its peer");
    let deref = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| kept.item.id));
    assert!(deref.is_err(), "a torn-down value must not be readable");
    // A live object that references the torn-down one: the next collection must ignore that
    // edge (the target is not examined), not count it against some examined object.
    let holder = Gc::new(Resurrector {
        item: ledger.item(),
        peer: GcLock::new(Some(kept)),
    });
    assert_eq!(sync::collect(), 0, "only a live object and a torn-down one");
    assert_eq!(ledger.dropped(), 2, "the holder is live");
    drop(holder); // its Drop keeps the torn-down handle again
    let kept = KEPT
        .lock()
        .unwrap()
        .take()
        .expect("the holder's Drop kept it");
    drop(kept); // frees the memory, without dropping the value again
    ledger.assert_all_dropped_once();
}

#[test]
fn a_large_heap_with_a_long_chain_is_marked() {
    // A chain of 24 000 objects natively, cycles through its root, and garbage: the marking walks
    // the recorded edges breadth-first, without recursion.
    let _serial = serial();
    let ledger = Ledger::new();
    let live = size(24_000, 40);
    let root = node(&ledger);
    let mut previous = root.clone();
    let mut kept_ids = vec![root.item.id];
    for i in 0..live {
        let next = node(&ledger);
        link(&previous, &next);
        if i % 7 == 0 {
            link(&next, &root); // cycles through the root: all reachable from it
        }
        kept_ids.push(next.item.id);
        previous = next;
    }
    drop(previous);
    for _ in 0..size(6_000, 10) {
        cycle(&ledger); // garbage at once
    }
    sync::collect();
    for &id in &kept_ids {
        assert_eq!(ledger.drops_of(id), 0, "reachable object {id} was freed");
    }
    assert_eq!(ledger.dropped(), ledger.made() - kept_ids.len());
    drop(root);
    sync::collect();
    ledger.assert_all_dropped_once();
}

/// A value with an id and one locked edge.
#[derive(Trace)]
struct Anchor {
    id: u64,
    next: GcLock<Option<Gc<Anchor>>>,
}

/// A thread waiting for a contended `GcLock` waits in a blocking section, so a collection may
/// claim it — and its `Mutex::lock` may then take the lock while the world is stopped. The
/// collector must see the same edges in that value throughout: here `target` is reachable only
/// through the lock the waiter takes, and an earlier collector, which traced the value twice
/// (free the first time, held the second), freed it in about 7% of rounds. Timing-dependent: 100
/// rounds, each set up to make the window wide.
#[test]
#[cfg_attr(miri, ignore = "timing-dependent: needs native speed")]
fn a_lock_taken_during_a_collection_does_not_hide_an_edge() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Barrier;
    use std::time::{Duration, Instant};

    let _serial = serial();
    let before = sync::threshold();
    sync::set_threshold(0); // explicit collections only
    let anchor_node = |id, next| {
        Gc::new(Anchor {
            id,
            next: GcLock::new(next),
        })
    };
    // Allocated first, so that the collector reaches the anchor (a root) last.
    let filler: Vec<Gc<Anchor>> = (0..100_000).map(|i| anchor_node(i, None)).collect();
    let stop_spinning = AtomicBool::new(false);
    thread::scope(|outer| {
        // Keeps a core busy (it never touches the shared heap), so that the waiter, woken when
        // the holder lets the lock go, often runs only once the collection has begun.
        outer.spawn(|| {
            while !stop_spinning.load(SeqCst) {
                std::hint::spin_loop();
            }
        });
        // Also when a round fails (without it, a failed round hung the test binary).
        let _stop_spinning = SetOnDrop(&stop_spinning);
        for round in 0..100 {
            let anchor = anchor_node(0, Some(anchor_node(round, None)));
            let locked = Barrier::new(3);
            let collecting = AtomicBool::new(false);
            let read = thread::scope(|s| {
                let (anchor, locked, collecting) = (&anchor, &locked, &collecting);
                let holder = s.spawn(move || {
                    let guard = anchor.next.lock();
                    sync::blocking(|| locked.wait());
                    while !collecting.load(SeqCst) {
                        std::hint::spin_loop();
                    }
                    let until = Instant::now() + Duration::from_micros(5);
                    while Instant::now() < until {
                        std::hint::spin_loop();
                    }
                    drop(guard);
                    for _ in 0..2_000 {
                        sync::safepoint();
                    }
                });
                let waiter = s.spawn(move || {
                    sync::blocking(|| locked.wait());
                    sync::blocking(|| thread::sleep(Duration::from_millis(1)));
                    let guard = anchor.next.lock(); // contended: waits in a blocking section
                    guard.as_ref().map(|target| target.id)
                });
                sync::blocking(|| locked.wait());
                sync::blocking(|| thread::sleep(Duration::from_millis(3)));
                collecting.store(true, SeqCst);
                let found = sync::collect();
                join(holder).unwrap();
                let read = join(waiter);
                assert_eq!(found, 0, "round {round}: everything is reachable");
                read
            });
            assert_eq!(
                read.ok().flatten(),
                Some(round),
                "round {round}: the target was torn down while reachable"
            );
        }
    });
    drop(filler);
    sync::set_threshold(before);
}

/// Says when a collection traces it, and holds that trace for a while (up to [`SlowTrace::HOLD`],
/// or until `released` is set): a window in which other threads act while the world is stopped.
/// Its trace writes std atomics, which `Trace`'s rule 2 forbids: instrumentation only, outside
/// the heap.
struct SlowTrace {
    tracing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    released: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SlowTrace {
    const HOLD: std::time::Duration = std::time::Duration::from_millis(200);
}

// SAFETY: it holds no handle and reports none (`MAY_CONTAIN_GC` is true only so that it is
// tracked, and so traced).
unsafe impl Trace for SlowTrace {
    const MAY_CONTAIN_GC: bool = true;

    fn trace(&self, _visitor: &mut dyn gc_refcount::Visitor) {
        use std::sync::atomic::Ordering::SeqCst;
        self.tracing.store(true, SeqCst);
        let until = std::time::Instant::now() + SlowTrace::HOLD;
        while !self.released.load(SeqCst) && std::time::Instant::now() < until {
            std::hint::spin_loop();
        }
        self.tracing.store(false, SeqCst);
    }
}

/// A guard taken before a blocking section and dropped inside it while a collection runs: the
/// release waits for the collection to end, so that the collector never sees a lock that was
/// held when the world stopped become free (it would read the value, and with it any edge the
/// holder just made from a handle cloned after the collector read the target's count).
#[test]
fn a_guard_dropped_in_a_blocking_section_is_released_after_the_collection() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Arc;

    let _serial = serial();
    let ledger = Ledger::new();
    let a = node(&ledger);
    let tracing = Arc::new(AtomicBool::new(false));
    let released = Arc::new(AtomicBool::new(false));
    let slow = Gc::new(SlowTrace {
        tracing: Arc::clone(&tracing),
        released: Arc::clone(&released),
    });
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let released_during_the_trace = thread::scope(|s| {
        let (a, tracing, released) = (&a, &tracing, &released);
        let holder = s.spawn(move || {
            let guard = a.edges.lock();
            sync::blocking(|| {
                locked_tx.send(()).unwrap();
                // Bounded, so that a collection that never traces `slow` (or panics first)
                // fails the test instead of leaving this thread, and the scope, waiting.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                while !tracing.load(SeqCst) {
                    if std::time::Instant::now() > deadline {
                        return None;
                    }
                    std::hint::spin_loop();
                }
                drop(guard);
                let during = tracing.load(SeqCst);
                released.store(true, SeqCst);
                Some(during)
            })
        });
        locked_rx.recv().unwrap();
        sync::collect();
        join(holder).unwrap()
    });
    let released_during_the_trace =
        released_during_the_trace.expect("the collection traced the slow object");
    assert!(
        !released_during_the_trace,
        "the guard was released while the collector was tracing"
    );
    drop((a, slow));
    sync::collect();
    ledger.assert_all_dropped_once();
}

/// Set by [`ParksInDrop`]'s `Drop` once it runs.
static IN_DROP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// [`ParksInDrop`]'s `Drop` returns once this is set.
static RELEASE_DROP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// How many times [`ParksInDrop`]'s `Drop` ran.
static PARKS_IN_DROP_DROPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A value whose `Drop` stops at safepoints — where a collection parks its thread — before its
/// fields, and so its edges, are dropped.
#[derive(Trace)]
struct ParksInDrop {
    edges: GcLock<Vec<Gc<Node>>>,
}

impl Drop for ParksInDrop {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::SeqCst;
        if PARKS_IN_DROP_DROPS.fetch_add(1, SeqCst) > 0 {
            return; // dropped twice (a collector bug): fail the test rather than wait forever
        }
        IN_DROP.store(true, SeqCst);
        while !RELEASE_DROP.load(SeqCst) {
            sync::safepoint();
            std::hint::spin_loop();
        }
    }
}

/// An object whose count has reached zero while its `Drop` runs is skipped by a collection (its
/// value is not read): its edges still hold references, so what they reach counts as referenced
/// from outside and survives. Here the cycle b ↔ c is held only by such a value; tracing the
/// value, or counting it as an examined object, would free b and c while its fields still point
/// to them.
#[test]
fn an_object_being_dropped_keeps_what_its_fields_reference() {
    use std::sync::atomic::Ordering::SeqCst;
    let _serial = serial();
    let ledger = Ledger::new();
    IN_DROP.store(false, SeqCst);
    RELEASE_DROP.store(false, SeqCst);
    PARKS_IN_DROP_DROPS.store(0, SeqCst);
    thread::scope(|s| {
        // Lets the dropper's `Drop` return however this thread leaves the scope.
        let release = SetOnDrop(&RELEASE_DROP);
        let (b, c) = cycle(&ledger);
        let held = b.clone();
        drop((b, c));
        let dropper = s.spawn(move || {
            // Made and dropped on this thread, so the count reaches zero here and the `Drop`
            // runs here.
            drop(Gc::new(ParksInDrop {
                edges: GcLock::new(vec![held]),
            }));
        });
        while !IN_DROP.load(SeqCst) {
            assert!(
                !dropper.is_finished(),
                "the dropper ended before its Drop ran"
            );
            sync::safepoint();
            std::hint::spin_loop();
        }
        // The dropper parks inside its `Drop`, at a safepoint.
        sync::collect();
        let dropped = ledger.dropped();
        drop(release);
        join(dropper).expect("the dropper finishes");
        assert_eq!(
            dropped, 0,
            "the cycle is referenced from a value that is being dropped"
        );
    });
    // The value's fields are gone: the cycle is garbage now.
    sync::collect();
    ledger.assert_all_dropped_once();
    assert_eq!(PARKS_IN_DROP_DROPS.load(SeqCst), 1, "dropped once");
}

/// A shared node whose `Trace` reports its one edge twice: a false edge, which breaks `Trace`'s
/// safety contract on purpose.
struct TracesTwice {
    item: Item,
    next: GcLock<Option<Gc<TracesTwice>>>,
}

// SAFETY: deliberately wrong (rule 1 of `Trace`: no false edges), to test that the shared
// collector detects the excess and refuses to go on: it is found while subtracting, before
// anything is decided, so nothing is freed.
unsafe impl Trace for TracesTwice {
    const MAY_CONTAIN_GC: bool = true;
    fn trace(&self, visitor: &mut dyn gc_refcount::Visitor) {
        self.next.trace(visitor);
        self.next.trace(visitor);
    }
}

#[test]
fn a_false_edge_panics_frees_nothing_and_the_next_collection_is_sound() {
    let _serial = serial();
    let ledger = Ledger::new();
    let b = Gc::new(TracesTwice {
        item: ledger.item(),
        next: GcLock::new(None),
    });
    let a = Gc::new(TracesTwice {
        item: ledger.item(),
        next: GcLock::new(Some(b)),
    });
    let panic = std::panic::catch_unwind(sync::collect).expect_err("a false edge");
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or_default();
    assert!(message.contains("false edge"), "{message}");
    assert_eq!(ledger.dropped(), 0, "nothing is freed");
    // The collection wrote nothing to the members; the next one finds the garbage made after
    // the bad edge is gone.
    *a.next.lock() = None;
    let (c, d) = cycle(&ledger);
    drop((c, d));
    assert_eq!(sync::collect(), 2, "the cycle, and nothing live");
    assert_eq!(a.item.id, 1, "the live object is intact");
    drop(a);
    ledger.assert_all_dropped_once();
}

/// A thread parked at a safepoint helps with a large collection's walks (the trace and the
/// resolving walk are split in parts, see `CollectionPhases::walk_threads`), and what the
/// collection finds is exactly the garbage: each round adds garbage cycles to a heap whose
/// reachable part (a chain with cycles through its root) must survive. Rounds go on until a
/// collection was helped (a round's collection may finish before the parked thread takes a part;
/// natively the first one is helped), for at most 50 rounds (10 under Miri). The reachable part
/// is large (60 000 objects natively) so that a collection's walks outlast a scheduler's time
/// slice: with 6 000, on a machine whose other core was busy (a Miri run), the parked thread
/// did not get to help in 50 rounds in 3 runs of 10, with this collector and the one before it.
#[test]
fn a_parked_thread_helps_with_the_walks_and_the_collection_finds_the_same_garbage() {
    use std::sync::atomic::{AtomicBool, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};
    let _serial = serial();
    /// Restores the threshold, even if the test fails.
    struct Threshold(usize);
    impl Drop for Threshold {
        fn drop(&mut self) {
            sync::set_threshold(self.0);
        }
    }
    // Explicit collections only: an automatic one at the parked thread's safepoint would tear
    // down the garbage on that thread, after this thread's collection found none to count.
    let _threshold = Threshold(sync::threshold());
    sync::set_threshold(0);
    let ledger = Ledger::new();
    // Above the size whose walks are split: 2048 examined objects natively, 16 under Miri.
    let root = node(&ledger);
    let mut kept_ids = vec![root.item.id];
    let mut previous = root.clone();
    for i in 0..size(60_000, 40) {
        let next = node(&ledger);
        link(&previous, &next);
        if i % 5 == 0 {
            link(&next, &root);
        }
        kept_ids.push(next.item.id);
        previous = next;
    }
    drop(previous);
    let (ready, done) = (AtomicBool::new(false), AtomicBool::new(false));
    let helped = thread::scope(|s| {
        let parked = s.spawn(|| {
            // Registers this thread with the shared heap; then it only reaches safepoints, where
            // it parks while a collection runs.
            drop(node(&ledger));
            ready.store(true, Release);
            while !done.load(Relaxed) {
                sync::safepoint();
                std::hint::spin_loop();
            }
        });
        // Lets the parked thread finish, also when an assertion below fails.
        let finish = SetOnDrop(&done);
        // Its node made and dropped before the ledger is checked.
        sync::blocking(|| {
            while !ready.load(Acquire) {
                std::hint::spin_loop();
            }
        });
        sync::take_collection_log();
        let mut helped = false;
        for _ in 0..size(50, 10) {
            for _ in 0..size(2_000, 10) {
                cycle(&ledger);
            }
            sync::collect();
            let log = sync::take_collection_log();
            assert_eq!(log.len(), 1, "a collection besides this thread's: {log:?}");
            for &id in &kept_ids {
                assert_eq!(ledger.drops_of(id), 0, "reachable object {id} was freed");
            }
            assert_eq!(
                ledger.dropped(),
                ledger.made() - kept_ids.len(),
                "garbage was left"
            );
            helped = log[0].phases.walk_threads > 1;
            if helped {
                break;
            }
        }
        drop(finish);
        join(parked).expect("the parked thread finishes");
        helped
    });
    // The heap is left empty whatever the outcome: the next test's collections count garbage.
    drop(root);
    sync::collect();
    ledger.assert_all_dropped_once();
    assert!(
        helped,
        "no collection's walks were helped by the parked thread"
    );
}
