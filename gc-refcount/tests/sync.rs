//! Tests of `gc_refcount::sync`: thread-shared handles, both counting disciplines, `AtomicGc`
//! and `GcLock`, with drop counters that check every object is dropped exactly once.
//!
//! Sizes shrink under Miri (`cfg(miri)`), which runs these too (see `.ci/run`).

use std::sync::{mpsc, Arc, Barrier};
use std::thread;

use gc_refcount::sync::{self, AtomicCounts, AtomicGc, BiasedCounts, Counts, Gc, GcLock};
use gc_refcount::{Edge, Trace, Visitor};

/// Joins scoped threads explicitly. A scope's implicit wait ends when the threads' closures have
/// returned, before their thread-local destructors run — and a thread's exit merges the objects
/// queued to it there. `join` waits for the thread itself.
fn join_all<T>(handles: Vec<thread::ScopedJoinHandle<'_, T>>) -> Vec<T> {
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

mod ledger;
mod miri;
use ledger::{Item, Ledger};
use miri::size;

// --- basics -------------------------------------------------------------------------------------

fn basics<C: Counts>() {
    let ledger = Ledger::new();
    let a = Gc::<Item, C>::new_counted(ledger.item());
    assert_eq!(Gc::strong_count(&a), 1);
    let b = a.clone();
    assert_eq!(Gc::strong_count(&a), 2);
    assert!(Gc::ptr_eq(&a, &b));
    assert_eq!(b.id, 0);
    let other = Gc::<Item, C>::new_counted(ledger.item());
    assert!(!Gc::ptr_eq(&a, &other));
    drop((a, other));
    assert_eq!(ledger.dropped(), 1);
    assert_eq!(Gc::strong_count(&b), 1);
    drop(b);
    ledger.assert_all_dropped_once();
}

#[test]
fn basics_biased() {
    basics::<BiasedCounts>();
}

#[test]
fn basics_atomic() {
    basics::<AtomicCounts>();
}

#[test]
fn handles_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Gc<u32>>();
    shared::<Gc<u32, AtomicCounts>>();
    shared::<AtomicGc<u32>>();
    shared::<GcLock<Option<Gc<u32>>>>();
}

#[test]
fn strong_count_sees_other_threads() {
    let a = Gc::new(7u32);
    let clones: Vec<Gc<u32>> = thread::scope(|s| {
        s.spawn(|| (0..3).map(|_| a.clone()).collect())
            .join()
            .unwrap()
    });
    assert_eq!(Gc::strong_count(&a), 4);
    drop(clones); // shared-count references, dropped by the owner
    assert_eq!(Gc::strong_count(&a), 1);
}

// --- storms ---------------------------------------------------------------------------------------

/// `threads` threads clone and drop handles to a few shared objects, and pass clones to each
/// other; at the end every object is dropped exactly once, whoever dropped last.
fn clone_drop_storm<C: Counts>(threads: usize) {
    let ledger = Ledger::new();
    let objects: Vec<Gc<Item, C>> = (0..4).map(|_| Gc::new_counted(ledger.item())).collect();
    let rounds = size(20_000, 20);
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..threads).map(|_| mpsc::channel::<Gc<Item, C>>()).unzip();
    thread::scope(|s| {
        let mut handles = Vec::new();
        for (t, receiver) in receivers.into_iter().enumerate() {
            let objects: Vec<Gc<Item, C>> = objects.to_vec();
            let next = senders[(t + 1) % threads].clone();
            handles.push(s.spawn(move || {
                let mut held = Vec::new();
                for round in 0..rounds {
                    let gc = objects[round % objects.len()].clone();
                    if round % 3 == 0 {
                        let _ = next.send(gc.clone()); // another thread drops this one
                    }
                    held.push(gc);
                    if held.len() > 8 {
                        held.drain(..4);
                    }
                    while let Ok(gc) = receiver.try_recv() {
                        drop(gc);
                    }
                    if round % 64 == 0 {
                        sync::safepoint();
                    }
                }
                drop(next);
                drop(held);
                drop(objects);
            }));
        }
        drop(senders);
        join_all(handles);
    });
    // Every thread is gone: what remains are the originals, plus what the exits merged.
    sync::safepoint();
    for gc in &objects {
        assert_eq!(Gc::strong_count(gc), 1, "object {}", gc.id);
    }
    assert_eq!(ledger.dropped(), 0);
    drop(objects);
    ledger.assert_all_dropped_once();
}

#[test]
fn clone_drop_storm_biased() {
    clone_drop_storm::<BiasedCounts>(4);
}

#[test]
fn clone_drop_storm_atomic() {
    clone_drop_storm::<AtomicCounts>(4);
}

/// Objects made on several threads, each dropped last by a random one of them.
fn exactly_once_across_threads<C: Counts>() {
    let ledger = Ledger::new();
    let per_thread = size(20_000, 30);
    let barrier = Barrier::new(3);
    let (to_a, from_b) = mpsc::channel::<Gc<Item, C>>();
    let (to_b, from_a) = mpsc::channel::<Gc<Item, C>>();
    thread::scope(|s| {
        let mut handles = Vec::new();
        for (to, from) in [(to_b, from_b), (to_a, from_a)] {
            let ledger = &ledger;
            let barrier = &barrier;
            handles.push(s.spawn(move || {
                for i in 0..per_thread {
                    let gc = Gc::new_counted(ledger.item());
                    if i % 2 == 0 {
                        let _ = to.send(gc.clone()); // the last drop is a race
                    }
                    drop(gc);
                    for got in from.try_iter() {
                        drop(got.clone());
                        drop(got);
                    }
                }
                drop(to);
                barrier.wait();
                for got in from.iter() {
                    drop(got);
                }
                sync::safepoint();
            }));
        }
        barrier.wait();
        join_all(handles);
    });
    ledger.assert_all_dropped_once();
}

#[test]
fn exactly_once_across_threads_biased() {
    exactly_once_across_threads::<BiasedCounts>();
}

#[test]
fn exactly_once_across_threads_atomic() {
    exactly_once_across_threads::<AtomicCounts>();
}

// --- biased counting: merges ------------------------------------------------------------------------

/// Objects made on the producer and dropped on the consumer: every drop is a cross-thread drop of
/// a reference the owner counted, so each object is queued to the producer and merged at its
/// allocations and safepoints.
#[test]
fn producer_consumer_merges() {
    let ledger = Ledger::new();
    let count = size(50_000, 40);
    let (to_consumer, from_producer) = mpsc::sync_channel::<Gc<Item>>(64);
    let done = Barrier::new(2);
    thread::scope(|s| {
        s.spawn(|| {
            let to_consumer = to_consumer;
            for _ in 0..count {
                to_consumer.send(Gc::new(ledger.item())).unwrap(); // each `new` merges
            }
            drop(to_consumer);
            done.wait(); // the consumer has dropped everything
            assert!(
                ledger.dropped() < count,
                "nothing was queued to the producer"
            );
            sync::safepoint();
            assert_eq!(ledger.dropped(), count, "merged at the safepoint");
        });
        s.spawn(|| {
            let from_producer = from_producer;
            for gc in from_producer.iter() {
                let again = gc.clone(); // a shared increment, then two shared decrements
                drop(gc);
                drop(again);
            }
            done.wait();
        });
    });
    ledger.assert_all_dropped_once();
}

/// The owner exits while others still hold its objects: their last drops merge themselves.
#[test]
fn objects_outlive_their_owner() {
    let ledger = Ledger::new();
    let count = size(500, 10);
    let objects: Vec<Gc<Item>> = thread::spawn({
        let ledger = Arc::clone(&ledger);
        move || (0..count).map(|_| Gc::new(ledger.item())).collect()
    })
    .join()
    .unwrap();
    let copies = objects.clone();
    drop(objects);
    assert_eq!(ledger.dropped(), 0);
    thread::scope(|s| {
        join_all(vec![s.spawn(|| drop(copies))]);
    });
    ledger.assert_all_dropped_once();
}

/// A thread that has posted to an owner's mailbox (and remembers where it is) drops another of
/// that owner's objects after the owner has exited: the mailbox is closed, so it merges the object
/// itself instead of posting it where no one will merge it.
#[test]
fn a_sender_merges_itself_once_the_owner_it_posted_to_has_exited() {
    let ledger = Ledger::new();
    let (to_main, handed) = mpsc::channel();
    let (go, exit) = mpsc::channel::<()>();
    let owner = thread::spawn({
        let ledger = Arc::clone(&ledger);
        move || {
            to_main
                .send((Gc::new(ledger.item()), Gc::new(ledger.item())))
                .unwrap();
            exit.recv().unwrap();
        }
    });
    let (first, second): (Gc<Item>, Gc<Item>) = handed.recv().unwrap();
    drop(first); // the owner counted it: queued to the owner, which has not merged yet
    assert_eq!(ledger.dropped(), 0);
    go.send(()).unwrap();
    owner.join().unwrap(); // its exit merged `first`
    assert_eq!(ledger.dropped(), 1);
    drop(second);
    assert_eq!(
        ledger.dropped(),
        2,
        "the second object was posted to a closed mailbox"
    );
    ledger.assert_all_dropped_once();
}

/// A thread that panics holding references (its own objects and the main thread's) leaks nothing:
/// the references are dropped as it unwinds, its exit merges what was queued to it, and the main
/// thread's next safepoint merges the rest.
#[test]
fn a_panicking_thread_leaks_nothing() {
    let ledger = Ledger::new();
    let mine: Vec<Gc<Item>> = (0..10).map(|_| Gc::new(ledger.item())).collect();
    let slot: AtomicGc<Item> = AtomicGc::new(Some(Gc::new(ledger.item())));
    let result = thread::scope(|s| {
        s.spawn(|| {
            let _held: Vec<Gc<Item>> = mine.to_vec();
            let _own: Vec<Gc<Item>> = (0..10).map(|_| Gc::new(ledger.item())).collect();
            let _loaded = slot.load();
            let lock = GcLock::new(Some(Gc::new(ledger.item())));
            let _guard = lock.lock();
            slot.store(Some(Gc::new(ledger.item())));
            panic!("a mutator panics holding references");
        })
        .join()
    });
    assert!(result.is_err());
    sync::safepoint();
    // The thread's own objects and the slot's replaced object are gone; the main thread's live on.
    assert_eq!(ledger.dropped(), 10 + 1 + 1);
    for gc in &mine {
        assert_eq!(Gc::strong_count(gc), 1);
    }
    drop(mine);
    drop(slot);
    ledger.assert_all_dropped_once();
}

// --- AtomicGc ------------------------------------------------------------------------------------------

fn atomic_gc_storm<C: Counts>() {
    let ledger = Ledger::new();
    let slots: Vec<AtomicGc<Item, C>> = (0..2)
        .map(|_| AtomicGc::new(Some(Gc::new_counted(ledger.item()))))
        .collect();
    let rounds = size(30_000, 25);
    thread::scope(|s| {
        let mut handles = Vec::new();
        for t in 0..4 {
            let slots = &slots;
            let ledger = &ledger;
            handles.push(s.spawn(move || {
                for round in 0..rounds {
                    let slot = &slots[(round + t) % slots.len()];
                    match (round + t) % 5 {
                        0 => slot.store(Some(Gc::new_counted(ledger.item()))),
                        1 => drop(slot.swap(Some(Gc::new_counted(ledger.item())))),
                        2 => {
                            let seen = slot.load();
                            let new = Some(Gc::new_counted(ledger.item()));
                            let _ = slot.compare_exchange(seen.as_ref(), new);
                        }
                        3 => {
                            if let Some(gc) = slot.load() {
                                assert!(gc.id < ledger.made());
                            }
                        }
                        _ => drop(slot.swap(None)),
                    }
                    if round % 128 == 0 {
                        sync::safepoint();
                    }
                }
            }));
        }
        join_all(handles);
    });
    drop(slots);
    sync::safepoint();
    ledger.assert_all_dropped_once();
}

#[test]
fn atomic_gc_storm_biased() {
    atomic_gc_storm::<BiasedCounts>();
}

#[test]
fn atomic_gc_storm_atomic() {
    atomic_gc_storm::<AtomicCounts>();
}

/// Loads race with stores of the last reference: every loaded handle reads a live value.
fn load_races_last_store<C: Counts>() {
    let ledger = Ledger::new();
    let slot: AtomicGc<Item, C> = AtomicGc::new(Some(Gc::new_counted(ledger.item())));
    let rounds = size(50_000, 30);
    thread::scope(|s| {
        let mut handles = vec![s.spawn(|| {
            for _ in 0..rounds {
                slot.store(Some(Gc::new_counted(ledger.item())));
            }
            slot.store(None);
            0
        })];
        for _ in 0..2 {
            handles.push(s.spawn(|| {
                let mut loaded = 0;
                for _ in 0..rounds {
                    if let Some(gc) = slot.load() {
                        // The drop flag of a freed object would be set (and the ledger knows).
                        let drops = ledger.drops_of(gc.id);
                        assert_eq!(drops, 0, "loaded a dropped object");
                        loaded += 1;
                    }
                }
                sync::safepoint();
                loaded
            }));
        }
        join_all(handles);
    });
    sync::safepoint();
    ledger.assert_all_dropped_once();
}

#[test]
fn load_races_last_store_biased() {
    load_races_last_store::<BiasedCounts>();
}

#[test]
fn load_races_last_store_atomic() {
    load_races_last_store::<AtomicCounts>();
}

#[test]
fn compare_exchange_semantics() {
    let a = Gc::new(1u32);
    let b = Gc::new(2u32);
    let slot = AtomicGc::new(Some(a.clone()));
    // Wrong expectation: `new` comes back, with what the slot holds.
    let err = slot.compare_exchange(Some(&b), None).unwrap_err();
    assert!(err.new.is_none());
    assert!(Gc::ptr_eq(err.current.as_ref().unwrap(), &a));
    drop(err);
    // Right expectation: the old reference goes to the caller.
    let old = slot.compare_exchange(Some(&a), Some(b.clone())).unwrap();
    assert!(Gc::ptr_eq(old.as_ref().unwrap(), &a));
    assert_eq!(Gc::strong_count(&a), 2);
    drop(old);
    assert_eq!(Gc::strong_count(&a), 1);
    assert_eq!(Gc::strong_count(&b), 2);
    assert_eq!(*slot.load().unwrap(), 2);
    assert!(slot.compare_exchange(Some(&b), None).unwrap().is_some());
    assert!(slot
        .compare_exchange(None, Some(a.clone()))
        .unwrap()
        .is_none());
    assert_eq!(slot.into_inner().map(|gc| *gc), Some(1));
    assert_eq!(Gc::strong_count(&a), 1);
}

// --- GcLock ----------------------------------------------------------------------------------------------

#[derive(Trace)]
struct Node {
    value: u32,
    next: GcLock<Option<Gc<Node>>>,
}

#[test]
fn gc_lock_shares_mutation() {
    let head = Gc::new(Node {
        value: 0,
        next: GcLock::new(None),
    });
    thread::scope(|s| {
        for i in 1..=3 {
            let head = &head;
            s.spawn(move || {
                let node = Gc::new(Node {
                    value: i,
                    next: GcLock::new(None),
                });
                let mut next = head.next.lock();
                *node.next.lock() = next.take();
                *next = Some(node);
            });
        }
    });
    let mut values = Vec::new();
    let mut cursor = head.next.lock().clone();
    while let Some(node) = cursor {
        values.push(node.value);
        cursor = node.next.lock().clone();
    }
    values.sort();
    assert_eq!(values, [1, 2, 3]);
    sync::safepoint();
}

/// A visitor that counts edges.
/// Counts thread-local edges, then shared ones.
struct Count(usize, usize);
impl Visitor for Count {
    fn visit(&mut self, _edge: Edge) {
        self.0 += 1;
    }
    fn visit_shared(&mut self, _object: std::ptr::NonNull<u8>) {
        self.1 += 1;
    }
}

#[test]
fn gc_lock_traces_only_when_free() {
    let local = gc_refcount::Gc::new(5u32);
    let lock = GcLock::new(vec![local.clone(), local]);
    let mut count = Count(0, 0);
    lock.trace(&mut count);
    assert_eq!(count.0, 2, "unlocked: both edges");
    let guard = lock.lock();
    let mut count = Count(0, 0);
    lock.trace(&mut count);
    assert_eq!(count.0, 0, "locked: the value is not read");
    drop(guard);
    // A shared `Gc` is outside the thread-local heaps: reported as a shared edge only.
    let shared = GcLock::new(Some(Gc::new(Node {
        value: 1,
        next: GcLock::new(None),
    })));
    let mut count = Count(0, 0);
    shared.trace(&mut count);
    assert_eq!(count.0, 0, "no thread-local edge");
    assert_eq!(count.1, 1, "one shared edge");
}

#[test]
fn gc_lock_survives_a_panicking_holder() {
    let lock = GcLock::new(1u32);
    let _ = thread::scope(|s| {
        s.spawn(|| {
            let mut guard = lock.lock();
            *guard = 2;
            panic!("holder panics");
        })
        .join()
    });
    assert_eq!(*lock.lock(), 2);
    assert!(lock.try_lock().is_some());
}

#[test]
fn gc_lock_excludes_while_held() {
    let lock = GcLock::new(0u32);
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    thread::scope(|s| {
        let lock = &lock;
        let holder = s.spawn(move || {
            let mut guard = lock.lock();
            held_tx.send(()).unwrap();
            sync::blocking(|| release_rx.recv().unwrap());
            *guard += 1;
        });
        held_rx.recv().unwrap();
        // A failed attempt leaves the holder's lock held: the next one fails too. (Checked once
        // the holder is released, so that a failure does not leave it waiting.)
        let first = lock.try_lock().is_none();
        let second = lock.try_lock().is_none();
        release_tx.send(()).unwrap();
        assert!(first, "try_lock took a held lock");
        assert!(second, "a failed try_lock released the lock");
        // Contended: waits for the holder (inside a blocking section), then sees its write.
        let mut guard = lock.lock();
        *guard += 10;
        drop(guard);
        sync::blocking(|| holder.join()).unwrap();
    });
    assert_eq!(*lock.lock(), 11);
    // Many threads, many contended increments: none lost.
    let rounds = size(1_000, 25);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..rounds {
                    *lock.lock() += 1;
                }
            });
        }
    });
    assert_eq!(lock.into_inner() as usize, 11 + 4 * rounds);
}

// --- long chains ---------------------------------------------------------------------------------

/// A link of a chain of shared objects.
struct Link<C: Counts> {
    /// Dropped with the link: the ledger counts it.
    _item: Item,
    next: Option<Gc<Link<C>, C>>,
}

// SAFETY: reports its one handle (the derive would ask `C: Trace`, which a discipline is not).
unsafe impl<C: Counts> Trace for Link<C> {
    const MAY_CONTAIN_GC: bool = true;
    fn trace(&self, visitor: &mut dyn Visitor) {
        self.next.trace(visitor);
    }
}

/// Builds a chain of `len` links and drops its head: the frees nest one inside the other, and
/// the trashcan must keep the stack bounded (a 1 000 000-link chain overflows an 8 MiB stack
/// otherwise).
fn long_chain<C: Counts>(len: usize) {
    let ledger = Ledger::new();
    let mut head: Option<Gc<Link<C>, C>> = None;
    for _ in 0..len {
        head = Some(Gc::new_counted(Link {
            _item: ledger.item(),
            next: head.take(),
        }));
    }
    drop(head);
    sync::safepoint();
    ledger.assert_all_dropped_once();
}

#[test]
fn a_long_chain_drops_without_deep_recursion_biased() {
    long_chain::<BiasedCounts>(size(1_000_000, 300));
}

#[test]
fn a_long_chain_drops_without_deep_recursion_atomic() {
    long_chain::<AtomicCounts>(size(1_000_000, 300));
}
