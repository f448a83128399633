//! `Drop` impls of garbage-cycle members: the tear-down rule of `teardown.rs`.
//!
//! A `Drop` may read a partner that has not been dropped yet and gets a panic naming the problem
//! for one that has — never freed memory; weak handles to garbage are cleared before any `Drop`
//! runs; a panicking `Drop` does not stop the rest of the garbage from being freed; a resurrected
//! handle is dead but safe; a `Drop` may collect (nested: 0) and allocate.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

use gc_refcount::{gc, ConfigError, Gc, GcCell, HeapConfig, Trace, Weak};

/// The message of a panic payload (`panic!` with arguments gives a `String`, without a `&str`).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic)")
}

/// Every object of this thread's heap is gone: memory freed, nothing tracked.
fn assert_heap_empty() {
    let stats = gc::stats();
    assert_eq!(stats.live_objects(), 0, "objects left: {stats:?}");
    assert_eq!(stats.live_bytes(), 0);
    assert_eq!(gc::tracked_count(), 0);
}

// --- (a) a Drop that reads its partner ----------------------------------------------------------

/// What a `Drop` saw of its partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// The partner's value, intact: (reader, partner's secret).
    Alive(u32, u64),
    /// The partner's value was already dropped (`Gc::is_alive` said so).
    Dropped(u32),
}

thread_local! {
    static SEEN: RefCell<Vec<Seen>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
struct Peer {
    id: u32,
    secret: u64,
    /// Check `Gc::is_alive` before reading the partner (otherwise read it unconditionally).
    careful: bool,
    partner: GcCell<Option<Gc<Peer>>>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let partner = self.partner.borrow();
        let Some(partner) = partner.as_ref() else {
            return;
        };
        let seen = if !self.careful || Gc::is_alive(partner) {
            // Panics (without touching freed memory) if the partner's value is gone.
            Seen::Alive(self.id, partner.secret)
        } else {
            Seen::Dropped(self.id)
        };
        SEEN.with(|s| s.borrow_mut().push(seen));
    }
}

/// Two peers that reference each other, no handle left.
fn garbage_pair(careful: bool) {
    let a = Gc::new(Peer {
        id: 1,
        secret: 0xA11CE,
        careful,
        partner: GcCell::new(None),
    });
    let b = Gc::new(Peer {
        id: 2,
        secret: 0xB0B,
        careful,
        partner: GcCell::new(Some(a.clone())),
    });
    *a.partner.borrow_mut() = Some(b.clone());
}

fn secret_of(id: u32) -> u64 {
    match id {
        1 => 0xA11CE,
        2 => 0xB0B,
        _ => unreachable!(),
    }
}

#[test]
fn drop_checking_is_alive_sees_one_partner_alive_and_one_dropped() {
    garbage_pair(true);
    assert_eq!(gc::tracked_count(), 2);
    assert_eq!(gc::collect(), 2);
    let seen = SEEN.with(|s| s.take());
    assert_eq!(seen.len(), 2, "both drops ran: {seen:?}");
    // Whichever dropped first saw its partner intact; the second saw it dropped.
    let Seen::Alive(first, secret) = seen[0] else {
        panic!("the first drop saw its partner dropped: {seen:?}");
    };
    assert_eq!(
        secret,
        secret_of(3 - first),
        "read the partner's real value"
    );
    assert_eq!(seen[1], Seen::Dropped(3 - first));
    assert_heap_empty();
}

#[test]
fn drop_reading_a_dropped_partner_panics_out_of_collect() {
    gc::record_collections(true);
    garbage_pair(false);
    let outcome = catch_unwind(gc::collect);
    let payload = outcome.expect_err("the second drop reads a dropped partner: collect panics");
    let message = panic_message(&*payload);
    assert!(
        message.contains("dereferenced"),
        "the panic names the problem: {message}"
    );
    assert!(message.contains("Peer"), "and the type: {message}");
    // The first drop read its partner intact; the second panicked before recording anything.
    let seen = SEEN.with(|s| s.take());
    let [Seen::Alive(first, secret)] = seen[..] else {
        panic!("expected exactly one successful read: {seen:?}");
    };
    assert_eq!(secret, secret_of(3 - first));
    // The collection completed before the panic was resumed: it found and freed both.
    let records = gc::take_collection_records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].unreachable, 2);
    assert_eq!(records[0].freed, 2);
    assert_eq!(records[0].resurrected, 0);
    assert_heap_empty();
    // The heap still works.
    garbage_pair(true);
    assert_eq!(gc::collect(), 2);
    assert_heap_empty();
}

// --- (b) a Drop that panics mid-collection --------------------------------------------------------

thread_local! {
    static BOMBS_DROPPED: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
struct Bomb {
    id: usize,
    explode: bool,
    next: GcCell<Option<Gc<Bomb>>>,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        BOMBS_DROPPED.with(|c| c.set(c.get() + 1));
        if self.explode {
            panic!("bomb {} exploded", self.id);
        }
    }
}

/// A ring of `n` bombs; those whose id is in `exploding` panic in `Drop`. Returns a handle to one.
fn ring(n: usize, exploding: &[usize]) -> Gc<Bomb> {
    let first = Gc::new(Bomb {
        id: 0,
        explode: exploding.contains(&0),
        next: GcCell::new(None),
    });
    let mut last = first.clone();
    for id in 1..n {
        let bomb = Gc::new(Bomb {
            id,
            explode: exploding.contains(&id),
            next: GcCell::new(None),
        });
        *last.next.borrow_mut() = Some(bomb.clone());
        last = bomb;
    }
    *last.next.borrow_mut() = Some(first.clone());
    first
}

#[test]
fn panicking_drops_in_a_garbage_ring_still_free_all_of_it() {
    gc::record_collections(true);
    drop(ring(10, &[3, 6]));
    assert_eq!(gc::stats().live_objects(), 10);
    let payload = catch_unwind(gc::collect).expect_err("a bomb's panic reaches collect");
    let message = panic_message(&*payload);
    assert!(
        message == "bomb 3 exploded" || message == "bomb 6 exploded",
        "one of the panics is resumed: {message}"
    );
    assert_eq!(BOMBS_DROPPED.with(Cell::get), 10, "every value was dropped");
    let records = gc::take_collection_records();
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].unreachable, records[0].freed), (10, 10));
    assert_heap_empty();
    // Consistent afterwards: a new ring is collected normally.
    drop(ring(4, &[]));
    assert_eq!(gc::collect(), 4);
    assert_eq!(BOMBS_DROPPED.with(Cell::get), 14);
    assert_heap_empty();
}

#[test]
fn panicking_drop_in_a_refcount_free_still_frees_the_chain() {
    // No cycle: the chain is freed by counting, and the panic reaches the handle's drop.
    let head = Gc::new(Bomb {
        id: 0,
        explode: false,
        next: GcCell::new(None),
    });
    let mut last = head.clone();
    for id in 1..10 {
        let bomb = Gc::new(Bomb {
            id,
            explode: id == 5,
            next: GcCell::new(None),
        });
        *last.next.borrow_mut() = Some(bomb.clone());
        last = bomb;
    }
    drop(last);
    let payload = catch_unwind(AssertUnwindSafe(|| drop(head))).expect_err("bomb 5 panics");
    assert_eq!(panic_message(&*payload), "bomb 5 exploded");
    assert_eq!(BOMBS_DROPPED.with(Cell::get), 10);
    assert_heap_empty();
}

// --- (c) weak handles to garbage are cleared first ------------------------------------------------

thread_local! {
    /// For every drop: (id, whether the partner's weak upgraded, whether self's weak upgraded).
    static UPGRADES: RefCell<Vec<(u32, bool, bool)>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
struct Watcher {
    id: u32,
    partner: GcCell<Option<Gc<Watcher>>>,
    partner_weak: GcCell<Option<Weak<Watcher>>>,
    self_weak: GcCell<Option<Weak<Watcher>>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let upgrade = |weak: &GcCell<Option<Weak<Watcher>>>| {
            weak.borrow()
                .as_ref()
                .expect("weak set")
                .upgrade()
                .is_some()
        };
        let entry = (
            self.id,
            upgrade(&self.partner_weak),
            upgrade(&self.self_weak),
        );
        UPGRADES.with(|u| u.borrow_mut().push(entry));
    }
}

fn watcher(id: u32) -> Gc<Watcher> {
    let w = Gc::new(Watcher {
        id,
        partner: GcCell::new(None),
        partner_weak: GcCell::new(None),
        self_weak: GcCell::new(None),
    });
    *w.self_weak.borrow_mut() = Some(Gc::downgrade(&w));
    w
}

#[test]
fn weak_handles_to_garbage_are_cleared_before_any_drop() {
    let a = watcher(1);
    let b = watcher(2);
    *a.partner.borrow_mut() = Some(b.clone());
    *b.partner.borrow_mut() = Some(a.clone());
    *a.partner_weak.borrow_mut() = Some(Gc::downgrade(&b));
    *b.partner_weak.borrow_mut() = Some(Gc::downgrade(&a));
    let outside = Gc::downgrade(&a);
    assert_eq!(Gc::weak_count(&a), 3); // its own, b's, and `outside`
    drop((a, b));
    assert!(
        outside.upgrade().is_some(),
        "not collected yet: still alive"
    );
    assert_eq!(gc::collect(), 2);
    let mut seen = UPGRADES.with(|u| u.take());
    seen.sort();
    // Even the first drop, whose partner's value was still intact, could not upgrade.
    assert_eq!(seen, [(1, false, false), (2, false, false)]);
    assert!(outside.upgrade().is_none());
    assert_eq!(outside.strong_count(), 0);
    // `outside` keeps a's memory (not its value); b's memory is freed.
    assert_eq!(gc::stats().live_objects(), 1);
    assert_eq!(gc::tracked_count(), 0);
    drop(outside);
    assert_heap_empty();
}

#[test]
fn in_a_refcount_free_only_the_dying_objects_weak_handles_are_cleared() {
    // a -> b strongly, weak handles both ways, no cycle: freed by counting, a first.
    let a = watcher(1);
    let b = watcher(2);
    *a.partner.borrow_mut() = Some(b.clone());
    *a.partner_weak.borrow_mut() = Some(Gc::downgrade(&b));
    *b.partner_weak.borrow_mut() = Some(Gc::downgrade(&a));
    drop(b);
    drop(a);
    let seen = UPGRADES.with(|u| u.take());
    // a's drop: b is still referenced by a's field (fields drop after `Drop::drop`), so b's weak
    // upgrades; a's own does not. Then b's drop: neither.
    assert_eq!(seen, [(1, true, false), (2, false, false)]);
    assert_heap_empty();
}

// --- (d) resurrection ---------------------------------------------------------------------------------

thread_local! {
    static RESURRECTED: RefCell<Option<Gc<Zombie>>> = const { RefCell::new(None) };
}

#[derive(Trace, Debug)]
struct Zombie {
    value: u64,
    partner: GcCell<Option<Gc<Zombie>>>,
}

impl Drop for Zombie {
    fn drop(&mut self) {
        // Store a new handle to the partner somewhere live (once).
        RESURRECTED.with(|r| {
            let mut r = r.borrow_mut();
            if r.is_none() {
                *r = self.partner.borrow().clone();
            }
        });
    }
}

#[test]
fn a_resurrected_handle_is_dead_but_safe() {
    gc::record_collections(true);
    let a = Gc::new(Zombie {
        value: 1,
        partner: GcCell::new(None),
    });
    let b = Gc::new(Zombie {
        value: 2,
        partner: GcCell::new(Some(a.clone())),
    });
    *a.partner.borrow_mut() = Some(b.clone());
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    let records = gc::take_collection_records();
    assert_eq!(
        (
            records[0].unreachable,
            records[0].freed,
            records[0].resurrected
        ),
        (2, 1, 1)
    );
    let zombie = RESURRECTED
        .with(|r| r.borrow_mut().take())
        .expect("a drop resurrected its partner");
    assert!(!Gc::is_alive(&zombie));
    assert_eq!(Gc::strong_count(&zombie), 1);
    assert!(format!("{zombie:?}").contains("dropped"), "{zombie:?}");
    let payload = catch_unwind(AssertUnwindSafe(|| zombie.value))
        .expect_err("dereferencing a resurrected handle panics");
    assert!(panic_message(&*payload).contains("dereferenced"));
    // Its memory is still held, not tracked any more.
    assert_eq!(gc::stats().live_objects(), 1);
    assert_eq!(gc::tracked_count(), 0);
    assert_eq!(
        gc::collect(),
        0,
        "a dead handle is not garbage to collect again"
    );
    // Its weak handle never upgrades.
    let weak = Gc::downgrade(&zombie);
    assert!(weak.upgrade().is_none());
    assert_eq!(weak.strong_count(), 0);
    drop(weak);
    assert_eq!(gc::stats().live_objects(), 1, "the handle keeps the memory");
    // Dropping the handle frees the memory, without dropping the value again (`Zombie::drop`
    // would store a new handle).
    drop(zombie);
    assert!(RESURRECTED.with(|r| r.borrow().is_none()));
    assert_heap_empty();
}

// --- (e) a Drop that collects, configures or allocates -----------------------------------------------

thread_local! {
    /// What `gc::collect()` returned inside drops.
    static NESTED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// What `gc::configure` returned inside drops.
    static CONFIGURED: RefCell<Vec<Result<(), ConfigError>>> = const { RefCell::new(Vec::new()) };
    /// Objects that drops allocated and kept.
    static KEPT: RefCell<Vec<Gc<u64>>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
struct Collector {
    next: GcCell<Option<Gc<Collector>>>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let found = gc::collect();
        NESTED.with(|n| n.borrow_mut().push(found));
        let configured = gc::configure(HeapConfig::default());
        CONFIGURED.with(|c| c.borrow_mut().push(configured));
    }
}

#[test]
fn collect_inside_a_collection_returns_zero() {
    let a = Gc::new(Collector {
        next: GcCell::new(None),
    });
    let b = Gc::new(Collector {
        next: GcCell::new(Some(a.clone())),
    });
    *a.next.borrow_mut() = Some(b.clone());
    drop((a, b));
    assert_eq!(gc::collect(), 2);
    assert_eq!(NESTED.with(|n| n.take()), [0, 0]);
    assert_eq!(
        CONFIGURED.with(|c| c.take()),
        [Err(ConfigError::Busy), Err(ConfigError::Busy)]
    );
    assert_heap_empty();
}

#[test]
fn collect_inside_a_refcount_free_collects() {
    // An unrelated garbage cycle, hanging on to a leaf that only it references.
    #[derive(Trace)]
    struct Cyclic {
        me: GcCell<Option<Gc<Cyclic>>>,
        leaf: Gc<String>,
    }
    let leaf = Gc::new(String::from("leaf"));
    let weak_leaf = Gc::downgrade(&leaf);
    let cyclic = Gc::new(Cyclic {
        me: GcCell::new(None),
        leaf,
    });
    *cyclic.me.borrow_mut() = Some(cyclic.clone());
    drop(cyclic);
    // An acyclic chain whose drops collect: the first drop's collection finds the cycle.
    let chain = Gc::new(Collector {
        next: GcCell::new(Some(Gc::new(Collector {
            next: GcCell::new(None),
        }))),
    });
    assert_eq!(gc::stats().live_objects(), 4);
    drop(chain);
    assert_eq!(NESTED.with(|n| n.take()), [1, 0]);
    assert_eq!(
        CONFIGURED.with(|c| c.take()),
        [Err(ConfigError::Busy), Err(ConfigError::Busy)]
    );
    assert!(weak_leaf.upgrade().is_none());
    drop(weak_leaf);
    assert_heap_empty();
}

#[derive(Trace)]
struct Builder {
    me: GcCell<Option<Gc<Builder>>>,
}

/// A self-cycle, allocated by `Builder::drop`, whose own drop does nothing.
#[derive(Trace)]
struct Built {
    me: GcCell<Option<Gc<Built>>>,
}

impl Drop for Builder {
    fn drop(&mut self) {
        // A leaf kept alive past the collection...
        KEPT.with(|k| k.borrow_mut().push(Gc::new(7)));
        // ... and new garbage, made while the collector tears down the old.
        let built = Gc::new(Built {
            me: GcCell::new(None),
        });
        *built.me.borrow_mut() = Some(built.clone());
    }
}

#[test]
fn drops_may_allocate_during_teardown() {
    let a = Gc::new(Builder {
        me: GcCell::new(None),
    });
    *a.me.borrow_mut() = Some(a.clone());
    let b = Gc::new(Builder {
        me: GcCell::new(None),
    });
    *b.me.borrow_mut() = Some(b.clone());
    drop((a, b));
    assert_eq!(
        gc::collect(),
        2,
        "only the garbage that existed when it started"
    );
    // Two kept leaves and two new self-cycles.
    assert_eq!(gc::stats().live_objects(), 4);
    assert_eq!(gc::tracked_count(), 2);
    assert_eq!(
        KEPT.with(|k| k.borrow().iter().map(|g| **g).sum::<u64>()),
        14
    );
    assert_eq!(
        gc::collect(),
        2,
        "the garbage made during the first collection"
    );
    KEPT.with(|k| k.borrow_mut().clear());
    assert_heap_empty();
}

#[test]
fn drops_may_allocate_during_a_refcount_free() {
    let a = Gc::new(Builder {
        me: GcCell::new(None),
    });
    drop(a);
    assert_eq!(gc::stats().live_objects(), 2);
    assert_eq!(gc::collect(), 1);
    KEPT.with(|k| k.borrow_mut().clear());
    assert_heap_empty();
}
