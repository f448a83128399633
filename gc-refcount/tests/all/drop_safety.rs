//! `Drop` impls of garbage: the tear-down rule of `teardown.rs`, under every configuration of
//! `configurations.rs`.
//!
//! A `Drop` may read a partner that has not been dropped yet and gets a panic naming the problem
//! for one that has — never freed memory; weak handles to garbage are cleared before any `Drop`
//! runs; a panicking `Drop` does not stop the rest of the garbage from being freed; a resurrected
//! handle is dead but safe; a `Drop` may collect (nested: 0) and allocate.
//!
//! What differs between configurations is said explicitly in each test, from the heap's
//! [`Traits`]:
//!
//! - **no cycle detector** (`none`): `gc::collect()` finds nothing and the garbage cycles leak.
//!   The test checks exactly that — nothing dropped, nothing freed — and then breaks the cycle by
//!   hand, so that the same `Drop` impls run in a refcount free, where every partner is still alive
//!   (and the thread ends with an empty heap);
//! - **the deferred discipline**: nothing is freed at zero, so what the immediate disciplines free
//!   by counting (and the `Drop` behaviour that comes with it) happens in the next collection,
//!   with a collection's rules: weak handles of all the garbage cleared first, nested collections
//!   returning 0, panics resumed out of `gc::collect()`;
//! - **the buffered discipline**: an object freed by counting while it is a cycle candidate keeps
//!   its memory until the next collection ([`Traits::release_buffered`]);
//! - **schedules that collect inside small tests** (a young threshold of 3): a collection may run
//!   at any tracked allocation, so collection records are taken just before the collection under
//!   test.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

use gc_refcount::{gc, ConfigError, Gc, GcCell, HeapConfig, Trace, Weak};

use crate::configurations::{panic_message, Traits};

per_configuration!(
    drop_checking_is_alive_sees_one_partner_alive_and_one_dropped,
    drop_reading_a_dropped_partner_panics_out_of_collect,
    panicking_drops_in_a_garbage_ring_still_free_all_of_it,
    panicking_drop_in_a_refcount_free_still_frees_the_chain,
    weak_handles_to_garbage_are_cleared_before_any_drop,
    in_a_refcount_free_only_the_dying_objects_weak_handles_are_cleared,
    a_last_weak_handle_dropped_during_teardown_frees_no_member_early,
    a_resurrected_handle_is_dead_but_safe,
    collect_inside_a_collection_returns_zero,
    collect_inside_a_refcount_free_collects,
    drops_may_allocate_during_teardown,
    drops_may_allocate_during_a_refcount_free,
);

/// Every object of this thread's heap is gone: memory freed, nothing tracked.
fn assert_heap_empty(heap: &Traits) {
    heap.release_buffered();
    let stats = gc::stats();
    assert_eq!(stats.live_objects(), 0, "objects left: {stats:?}");
    assert_eq!(stats.live_bytes(), 0);
    assert_eq!(gc::tracked_count(), 0);
}

/// Under the `none` detector: a collection finds nothing, and the objects stay (`live` in all,
/// `tracked` of them containers).
fn assert_cycles_leak(live: u64, tracked: usize) {
    assert_eq!(gc::collect(), 0, "the none detector finds nothing");
    assert_eq!(gc::stats().live_objects(), live, "the cycles leak");
    assert_eq!(gc::tracked_count(), tracked);
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

/// Two peers that reference each other, no handle left; returns a weak handle to peer 1.
fn garbage_pair(careful: bool) -> Weak<Peer> {
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
    Gc::downgrade(&a)
}

fn secret_of(id: u32) -> u64 {
    match id {
        1 => 0xA11CE,
        2 => 0xB0B,
        _ => unreachable!(),
    }
}

/// Under the `none` detector: the pair leaks; broken by hand (peer 1 lets go of peer 2), it is
/// freed by counting, and peer 2's `Drop` reads peer 1 intact, careful or not.
fn pair_leaks_and_is_broken_by_hand(weak: Weak<Peer>) {
    assert_cycles_leak(2, 2);
    assert!(SEEN.with(|s| s.borrow().is_empty()), "no drop ran");
    let a = weak.upgrade().expect("the leaked pair is alive");
    let b = a.partner.borrow_mut().take();
    drop(b);
    assert_eq!(SEEN.with(|s| s.take()), [Seen::Alive(2, secret_of(1))]);
    drop(a);
    assert!(
        SEEN.with(|s| s.borrow().is_empty()),
        "peer 1 had no partner left"
    );
    drop(weak);
}

fn drop_checking_is_alive_sees_one_partner_alive_and_one_dropped(heap: &Traits) {
    let weak = garbage_pair(true);
    assert_eq!(gc::tracked_count(), 2);
    if !heap.collects_cycles {
        pair_leaks_and_is_broken_by_hand(weak);
        assert_heap_empty(heap);
        return;
    }
    drop(weak);
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
    assert_heap_empty(heap);
}

fn drop_reading_a_dropped_partner_panics_out_of_collect(heap: &Traits) {
    gc::record_collections(true);
    let weak = garbage_pair(false);
    if !heap.collects_cycles {
        // A refcount free never drops a value that is still referenced: no panic to provoke.
        pair_leaks_and_is_broken_by_hand(weak);
        assert_heap_empty(heap);
        return;
    }
    drop(weak);
    gc::take_collection_records();
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
    assert_heap_empty(heap);
    // The heap still works.
    drop(garbage_pair(true));
    assert_eq!(gc::collect(), 2);
    assert_eq!(SEEN.with(|s| s.take()).len(), 2);
    assert_heap_empty(heap);
}

// --- (b) a Drop that panics mid-collection --------------------------------------------------------

thread_local! {
    static BOMBS_DROPPED: Cell<usize> = const { Cell::new(0) };
}

fn bombs_dropped() -> usize {
    BOMBS_DROPPED.with(Cell::get)
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

fn bomb(id: usize, exploding: &[usize]) -> Gc<Bomb> {
    Gc::new(Bomb {
        id,
        explode: exploding.contains(&id),
        next: GcCell::new(None),
    })
}

/// A ring of `n` bombs; those whose id is in `exploding` panic in `Drop`. Returns a weak handle
/// to bomb 0.
fn ring(n: usize, exploding: &[usize]) -> Weak<Bomb> {
    let first = bomb(0, exploding);
    let mut last = first.clone();
    for id in 1..n {
        let bomb = bomb(id, exploding);
        *last.next.borrow_mut() = Some(bomb.clone());
        last = bomb;
    }
    *last.next.borrow_mut() = Some(first.clone());
    Gc::downgrade(&first)
}

/// Whether the panic is one of the bombs'.
fn is_bomb(message: &str, ids: &[usize]) -> bool {
    ids.iter()
        .any(|id| message == format!("bomb {id} exploded"))
}

fn panicking_drops_in_a_garbage_ring_still_free_all_of_it(heap: &Traits) {
    gc::record_collections(true);
    let weak = ring(10, &[3, 6]);
    assert_eq!(gc::stats().live_objects(), 10);
    if heap.collects_cycles {
        drop(weak);
        gc::take_collection_records();
        let payload = catch_unwind(gc::collect).expect_err("a bomb's panic reaches collect");
        let message = panic_message(&*payload);
        assert!(
            is_bomb(message, &[3, 6]),
            "one of the panics is resumed: {message}"
        );
        assert_eq!(bombs_dropped(), 10, "every value was dropped");
        let records = gc::take_collection_records();
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].unreachable, records[0].freed), (10, 10));
    } else {
        assert_cycles_leak(10, 10);
        assert_eq!(bombs_dropped(), 0);
        // Broken by hand, the ring is freed by counting: both panics are caught, the rest of the
        // chain is still freed, and the first is resumed where the count reached zero.
        let first = weak.upgrade().expect("the leaked ring is alive");
        let chain = first.next.borrow_mut().take();
        let payload = catch_unwind(AssertUnwindSafe(|| drop(chain)))
            .expect_err("a bomb's panic reaches the drop");
        let message = panic_message(&*payload);
        assert!(
            is_bomb(message, &[3, 6]),
            "one of the panics is resumed: {message}"
        );
        assert_eq!(bombs_dropped(), 9, "every value but bomb 0's was dropped");
        drop(first);
        assert_eq!(bombs_dropped(), 10);
        drop(weak);
    }
    assert_heap_empty(heap);
    // Consistent afterwards: a new ring is freed normally.
    let weak = ring(4, &[]);
    if heap.collects_cycles {
        drop(weak);
        assert_eq!(gc::collect(), 4);
    } else {
        assert_cycles_leak(4, 4);
        let first = weak.upgrade().expect("the leaked ring is alive");
        first.next.borrow_mut().take();
        drop((first, weak));
    }
    assert_eq!(bombs_dropped(), 14);
    assert_heap_empty(heap);
}

fn panicking_drop_in_a_refcount_free_still_frees_the_chain(heap: &Traits) {
    // No cycle: the chain is freed by counting, and the panic reaches the handle's drop.
    gc::record_collections(true);
    let head = bomb(0, &[5]);
    let mut last = head.clone();
    for id in 1..10 {
        let bomb = bomb(id, &[5]);
        *last.next.borrow_mut() = Some(bomb.clone());
        last = bomb;
    }
    drop(last);
    if heap.frees_at_zero() {
        let payload = catch_unwind(AssertUnwindSafe(|| drop(head))).expect_err("bomb 5 panics");
        assert_eq!(panic_message(&*payload), "bomb 5 exploded");
    } else {
        // Deferred: the count reaching zero frees nothing; the collection frees the chain, and
        // resumes the panic once the heap is consistent.
        drop(head);
        assert_eq!(bombs_dropped(), 0, "nothing is freed at zero");
        gc::take_collection_records();
        let payload = catch_unwind(gc::collect).expect_err("bomb 5 panics out of collect");
        assert_eq!(panic_message(&*payload), "bomb 5 exploded");
        let records = gc::take_collection_records();
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].unreachable, records[0].freed), (10, 10));
    }
    assert_eq!(bombs_dropped(), 10);
    assert_heap_empty(heap);
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

fn weak_handles_to_garbage_are_cleared_before_any_drop(heap: &Traits) {
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
    if !heap.collects_cycles {
        assert_cycles_leak(2, 2);
        assert!(UPGRADES.with(|u| u.borrow().is_empty()));
        // Broken by hand (a lets go of b), freed by counting: b's drop can still upgrade a, which
        // is alive; then a's drop upgrades neither.
        let a = outside.upgrade().expect("the leaked pair is alive");
        let b = a.partner.borrow_mut().take();
        drop(b);
        drop(a);
        assert_eq!(
            UPGRADES.with(|u| u.take()),
            [(2, true, false), (1, false, false)]
        );
        assert!(outside.upgrade().is_none());
        assert_eq!(gc::stats().live_objects(), 1, "`outside` keeps a's memory");
        drop(outside);
        assert_heap_empty(heap);
        return;
    }
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
    assert_heap_empty(heap);
}

fn in_a_refcount_free_only_the_dying_objects_weak_handles_are_cleared(heap: &Traits) {
    // a -> b strongly, weak handles both ways, no cycle: freed by counting, a first.
    let a = watcher(1);
    let b = watcher(2);
    *a.partner.borrow_mut() = Some(b.clone());
    *a.partner_weak.borrow_mut() = Some(Gc::downgrade(&b));
    *b.partner_weak.borrow_mut() = Some(Gc::downgrade(&a));
    drop(b);
    drop(a);
    let seen = UPGRADES.with(|u| u.take());
    if heap.frees_at_zero() {
        // a's drop: b is still referenced by a's field (fields drop after `Drop::drop`), so b's
        // weak upgrades; a's own does not. Then b's drop: neither.
        assert_eq!(seen, [(1, true, false), (2, false, false)]);
    } else {
        // Deferred: nothing dropped yet. The collection frees both, by a collection's rule: the
        // weak handles of all the garbage are cleared before any drop.
        assert!(seen.is_empty(), "nothing is freed at zero: {seen:?}");
        assert_eq!(gc::collect(), 2);
        let mut seen = UPGRADES.with(|u| u.take());
        seen.sort();
        assert_eq!(seen, [(1, false, false), (2, false, false)]);
    }
    assert_heap_empty(heap);
}

/// A garbage pair whose members hold the only weak handle to each other, behind the strong
/// edge: the second value to drop lets go of its partner's last strong reference and then of its
/// last weak one, after the partner's value is gone.
#[derive(Trace)]
struct LastWeak {
    partner: GcCell<Option<Gc<LastWeak>>>,
    partner_weak: GcCell<Option<Weak<LastWeak>>>,
}

fn a_last_weak_handle_dropped_during_teardown_frees_no_member_early(heap: &Traits) {
    let new = || {
        Gc::new(LastWeak {
            partner: GcCell::new(None),
            partner_weak: GcCell::new(None),
        })
    };
    let (a, b) = (new(), new());
    *a.partner.borrow_mut() = Some(b.clone());
    *b.partner.borrow_mut() = Some(a.clone());
    *a.partner_weak.borrow_mut() = Some(Gc::downgrade(&b));
    *b.partner_weak.borrow_mut() = Some(Gc::downgrade(&a));
    if !heap.collects_cycles {
        // Nothing to collect with: break the pair by hand, counting frees it.
        drop(a.partner.borrow_mut().take());
        drop((a, b));
        assert_heap_empty(heap);
        return;
    }
    drop((a, b));
    // The first member's memory has no reference of any kind left while the second's value
    // drops: it must still wait for the end of the tear-down (Miri and the system allocator's
    // double-free check see it if not).
    assert_eq!(gc::collect(), 2);
    assert_heap_empty(heap);
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

fn a_resurrected_handle_is_dead_but_safe(heap: &Traits) {
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
    let weak_a = Gc::downgrade(&a);
    drop((a, b));
    if !heap.collects_cycles {
        assert_cycles_leak(2, 2);
        // Broken by hand (a lets go of b), freed by counting: b's drop stores a handle to a,
        // which is alive — an ordinary handle, not a resurrection.
        let a = weak_a.upgrade().expect("the leaked pair is alive");
        let b = a.partner.borrow_mut().take();
        drop((a, b));
        let kept = RESURRECTED
            .with(|r| r.borrow_mut().take())
            .expect("b's drop stored its partner");
        assert!(Gc::is_alive(&kept));
        assert_eq!(kept.value, 1);
        assert_eq!(Gc::strong_count(&kept), 1);
        drop(kept);
        assert!(
            RESURRECTED.with(|r| r.borrow().is_none()),
            "a had no partner left"
        );
        drop(weak_a);
        assert_heap_empty(heap);
        return;
    }
    drop(weak_a);
    gc::take_collection_records();
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
    if !heap.frees_at_zero() {
        // Deferred: even this memory waits for a collection, which finds no garbage (the object
        // is untracked and its value gone) and frees it.
        assert_eq!(gc::stats().live_objects(), 1, "nothing is freed at zero");
        assert_eq!(gc::collect(), 0);
        assert!(
            RESURRECTED.with(|r| r.borrow().is_none()),
            "not dropped again"
        );
    }
    assert_heap_empty(heap);
}

// --- (e) a Drop that collects, configures or allocates -----------------------------------------------

thread_local! {
    /// What `gc::collect()` returned inside drops.
    static NESTED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// What `gc::configure` returned inside drops.
    static CONFIGURED: RefCell<Vec<Result<(), ConfigError>>> = const { RefCell::new(Vec::new()) };
    /// Objects that drops allocated and kept.
    static KEPT: RefCell<Vec<Gc<u64>>> = const { RefCell::new(Vec::new()) };
    /// Weak handles to the self-cycles that drops allocated (to break them by hand where cycles
    /// leak).
    static BUILT: RefCell<Vec<Weak<Built>>> = const { RefCell::new(Vec::new()) };
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

/// What the two `Collector` drops saw: `found` from their `gc::collect()`, `Busy` from
/// `gc::configure`.
fn assert_nested(found: [usize; 2]) {
    assert_eq!(NESTED.with(|n| n.take()), found);
    assert_eq!(
        CONFIGURED.with(|c| c.take()),
        [Err(ConfigError::Busy), Err(ConfigError::Busy)]
    );
}

fn collect_inside_a_collection_returns_zero(heap: &Traits) {
    let a = Gc::new(Collector {
        next: GcCell::new(None),
    });
    let b = Gc::new(Collector {
        next: GcCell::new(Some(a.clone())),
    });
    *a.next.borrow_mut() = Some(b.clone());
    let weak_a = Gc::downgrade(&a);
    drop((a, b));
    if heap.collects_cycles {
        drop(weak_a);
        assert_eq!(gc::collect(), 2);
    } else {
        assert_cycles_leak(2, 2);
        assert!(NESTED.with(|n| n.borrow().is_empty()));
        // Broken by hand: the drops run in a refcount free, and find nothing either.
        let a = weak_a.upgrade().expect("the leaked pair is alive");
        let b = a.next.borrow_mut().take();
        drop((a, b));
        drop(weak_a);
    }
    assert_nested([0, 0]);
    assert_heap_empty(heap);
}

fn collect_inside_a_refcount_free_collects(heap: &Traits) {
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
    let weak_cyclic = Gc::downgrade(&cyclic);
    drop(cyclic);
    // An acyclic chain whose drops collect. (Three tracked allocations in all: no schedule of the
    // list collects by itself before the chain is dropped.)
    let chain = Gc::new(Collector {
        next: GcCell::new(Some(Gc::new(Collector {
            next: GcCell::new(None),
        }))),
    });
    assert_eq!(gc::stats().live_objects(), 4);
    drop(chain);
    match (heap.frees_at_zero(), heap.collects_cycles) {
        (true, true) => {
            // The first drop's collection finds the cycle; the second finds nothing left.
            assert_nested([1, 0]);
        }
        (true, false) => {
            // The drops' collections find nothing: the cycle leaks; broken by hand.
            assert_nested([0, 0]);
            assert!(weak_leaf.upgrade().is_some());
            assert_cycles_leak(2, 1);
            let cyclic = weak_cyclic.upgrade().expect("the leaked cycle is alive");
            cyclic.me.borrow_mut().take();
        }
        (false, _) => {
            // Deferred: no drop has run. One collection frees the chain and the cycle, and the
            // drops' nested collections return 0.
            assert!(
                NESTED.with(|n| n.borrow().is_empty()),
                "nothing is freed at zero"
            );
            assert_eq!(gc::collect(), 3);
            assert_nested([0, 0]);
        }
    }
    assert!(weak_leaf.upgrade().is_none());
    assert!(weak_cyclic.upgrade().is_none());
    drop((weak_leaf, weak_cyclic));
    assert_heap_empty(heap);
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
        BUILT.with(|b| b.borrow_mut().push(Gc::downgrade(&built)));
    }
}

/// Under the `none` detector: breaks the leaked self-cycles that drops built.
fn break_built_by_hand() {
    for weak in BUILT.with(|b| b.take()) {
        let built = weak.upgrade().expect("the leaked self-cycle is alive");
        built.me.borrow_mut().take();
    }
}

/// Lets go of what `Builder` drops kept: their leaves and the weak handles to their self-cycles.
fn forget_built(heap: &Traits) {
    let leaves = KEPT.with(|k| k.take()).len() as u64;
    BUILT.with(|b| b.borrow_mut().clear());
    if !heap.frees_at_zero() {
        // Deferred: the leaves wait in the zero count table for the next collection, which frees
        // them without counting them as garbage (a leaf is not tracked).
        assert_eq!(
            gc::stats().live_objects(),
            leaves,
            "nothing is freed at zero"
        );
        assert_eq!(gc::collect(), 0);
    }
}

/// The values `Builder` drops kept: 7 each.
fn kept_sum() -> u64 {
    KEPT.with(|k| k.borrow().iter().map(|g| **g).sum::<u64>())
}

fn drops_may_allocate_during_teardown(heap: &Traits) {
    let a = Gc::new(Builder {
        me: GcCell::new(None),
    });
    *a.me.borrow_mut() = Some(a.clone());
    let b = Gc::new(Builder {
        me: GcCell::new(None),
    });
    *b.me.borrow_mut() = Some(b.clone());
    let weaks = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop((a, b));
    if !heap.collects_cycles {
        assert_cycles_leak(2, 2);
        // Broken by hand, the drops allocate during refcount frees instead.
        for weak in [&weaks.0, &weaks.1] {
            let builder = weak.upgrade().expect("the leaked self-cycle is alive");
            builder.me.borrow_mut().take();
        }
        drop(weaks);
        assert_eq!(kept_sum(), 14);
        assert_cycles_leak(4, 2);
        break_built_by_hand();
        forget_built(heap);
        assert_heap_empty(heap);
        return;
    }
    drop(weaks);
    assert_eq!(
        gc::collect(),
        2,
        "only the garbage that existed when it started"
    );
    // Two kept leaves and two new self-cycles.
    assert_eq!(gc::stats().live_objects(), 4);
    assert_eq!(gc::tracked_count(), 2);
    assert_eq!(kept_sum(), 14);
    assert_eq!(
        gc::collect(),
        2,
        "the garbage made during the first collection"
    );
    forget_built(heap);
    assert_heap_empty(heap);
}

fn drops_may_allocate_during_a_refcount_free(heap: &Traits) {
    let a = Gc::new(Builder {
        me: GcCell::new(None),
    });
    drop(a);
    if !heap.frees_at_zero() {
        // Deferred: the builder waits for a collection, whose tear-down runs its drop.
        assert_eq!(gc::stats().live_objects(), 1, "nothing is freed at zero");
        assert_eq!(gc::collect(), 1);
        assert_eq!(kept_sum(), 7);
    }
    // The builder is gone; its kept leaf and its self-cycle are live.
    assert_eq!(gc::stats().live_objects(), 2);
    assert_eq!(gc::tracked_count(), 1);
    if heap.collects_cycles {
        assert_eq!(gc::collect(), 1);
    } else {
        assert_cycles_leak(2, 1);
        break_built_by_hand();
    }
    forget_built(heap);
    assert_heap_empty(heap);
}
