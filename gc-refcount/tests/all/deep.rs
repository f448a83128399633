//! Deep structures: freeing and collecting a long chain must not use the stack in proportion to
//! its length (the trashcan; iterative detectors and tear-down), under every configuration of
//! `configurations.rs`.
//!
//! The generic tests use chains of 1 000 000 nodes (200 under Miri, see [`N`]) — a recursion of
//! that depth overflows a thread's stack many times over (the tests run on fresh threads with the
//! default 2 MiB stack). Every configuration frees four of them, collects a live one (the
//! detector walks all of it and finds nothing) and then collects it as a garbage ring. The
//! 10 000 000-node list of the design's rule 5 is dropped once, on the default heap (and
//! `mark_sweep.rs` marks and collects a 10 000 000-node ring with one and with two markers).
//!
//! What differs between configurations is said explicitly: under the deferred discipline a chain
//! whose head is dropped waits for a collection, which frees all of it; under the `none` detector
//! a ring leaks and is broken by hand (then counting frees it, iteratively too); under the
//! buffered discipline nodes freed by counting while they were cycle candidates keep their memory
//! until the next collection.

use gc_refcount::{gc, Gc, GcCell, Trace};

use crate::configurations::Traits;

per_configuration!(
    dropping_the_head_of_a_long_chain_frees_it,
    a_long_ring_is_collected,
    a_long_chain_behind_a_weak_head_is_freed,
    a_long_chain_replaced_out_of_a_cell_is_freed,
);

/// Chain length: a million natively. Under Miri, which checks the pointer work of the iterative
/// paths rather than the stack, 100: twice the depth at which releases stop nesting and queue
/// (the trashcan's 50); a longer chain takes no other path. Miri's time grows with the length:
/// the 32 tests took 111 s in all at 200 nodes, 54 s at 100.
const N: usize = if cfg!(miri) { 100 } else { 1_000_000 };

/// A singly linked node whose link never changes.
#[derive(Trace)]
struct Link {
    next: Option<Gc<Link>>,
}

/// A singly linked node whose link can be set later.
#[derive(Trace)]
struct CellLink {
    next: GcCell<Option<Gc<CellLink>>>,
}

/// Runs `build` with the young threshold raised to CPython's 700 if the schedule's is lower (and
/// not 0): a threshold of 3 would run 333 333 young collections while a million-node chain is
/// built, which tests the scheduler's per-collection cost (30 µs each with two parallel markers),
/// not depth. Automatic collections still run during the build, every 700 allocations, and with
/// them the older generations' (which walk the live chain).
fn building<R>(heap: &Traits, build: impl FnOnce() -> R) -> R {
    let raise = heap.young_threshold > 0 && heap.young_threshold < 700;
    if raise {
        gc::set_threshold(&[700]).expect("a schedule with a threshold takes a new one");
    }
    let built = build();
    if raise {
        gc::set_threshold(&[heap.young_threshold]).expect("and takes its own back");
    }
    built
}

fn chain(n: usize) -> Gc<Link> {
    let mut head = Gc::new(Link { next: None });
    for _ in 1..n {
        head = Gc::new(Link { next: Some(head) });
    }
    head
}

/// A chain of `n` cell links: (head, tail).
fn cell_chain(n: usize) -> (Gc<CellLink>, Gc<CellLink>) {
    let tail = Gc::new(CellLink {
        next: GcCell::new(None),
    });
    let mut head = tail.clone();
    for _ in 1..n {
        head = Gc::new(CellLink {
            next: GcCell::new(Some(head)),
        });
    }
    (head, tail)
}

fn live_objects() -> u64 {
    gc::stats().live_objects()
}

fn assert_all_freed(heap: &Traits) {
    heap.release_buffered();
    let stats = gc::stats();
    assert_eq!(stats.live_objects(), 0, "{stats:?}");
    assert_eq!(gc::tracked_count(), 0);
}

fn dropping_the_head_of_a_long_chain_frees_it(heap: &Traits) {
    let head = building(heap, || chain(N));
    assert_eq!(live_objects(), N as u64);
    assert_eq!(
        gc::tracked_count(),
        N,
        "automatic collections found nothing"
    );
    drop(head);
    if !heap.frees_at_zero() {
        assert_eq!(live_objects(), N as u64, "nothing is freed at zero");
        assert_eq!(gc::collect(), N, "one collection frees the whole chain");
    }
    assert_all_freed(heap);
    assert_eq!(gc::stats().objects_freed, N as u64);
}

fn a_long_ring_is_collected(heap: &Traits) {
    // Automatic collections (if the schedule has them) run while the chain is built: every node
    // survives them.
    let (head, tail) = building(heap, || cell_chain(N));
    assert_eq!(gc::tracked_count(), N);
    *tail.next.borrow_mut() = Some(head.clone());
    drop(tail);
    // Live: a collection walks the whole ring (marks it, or scans it back to reachable) and
    // finds nothing.
    assert_eq!(gc::collect(), 0);
    assert_eq!(gc::tracked_count(), N);
    let weak = Gc::downgrade(&head);
    drop(head);
    assert_eq!(live_objects(), N as u64, "a ring is not freed by counting");
    if heap.collects_cycles {
        assert_eq!(gc::collect(), N);
        assert!(weak.upgrade().is_none());
        assert_eq!(live_objects(), 1, "the weak handle keeps the head's memory");
    } else {
        assert_eq!(gc::collect(), 0, "the none detector finds nothing");
        assert_eq!(live_objects(), N as u64, "the ring leaks");
        // Broken by hand: counting frees the rest of the chain, then the head.
        let head = weak.upgrade().expect("the leaked ring is alive");
        let rest = head.next.borrow_mut().take();
        drop(rest);
        assert_eq!(live_objects(), 1, "only the head is left");
        drop(head);
    }
    drop(weak);
    assert_all_freed(heap);
}

fn a_long_chain_behind_a_weak_head_is_freed(heap: &Traits) {
    let head = building(heap, || chain(N));
    let weak_head = Gc::downgrade(&head);
    let weak_second = Gc::downgrade(head.next.as_ref().expect("N > 1"));
    assert_eq!(weak_head.upgrade().map(|h| Gc::strong_count(&h)), Some(2));
    drop(head);
    assert!(weak_head.upgrade().is_none());
    if !heap.frees_at_zero() {
        // Deferred: the head's count is zero, but its value, which holds the second node, has not
        // been dropped: the second node is still referenced.
        assert_eq!(weak_second.upgrade().map(|h| Gc::strong_count(&h)), Some(2));
        assert_eq!(live_objects(), N as u64, "nothing is freed at zero");
        assert_eq!(gc::collect(), N);
    }
    assert!(weak_second.upgrade().is_none());
    // Values all dropped; two nodes' memory waits for the weak handles.
    assert_eq!(live_objects(), 2);
    assert_eq!(gc::tracked_count(), 0);
    drop((weak_head, weak_second));
    assert_all_freed(heap);
}

fn a_long_chain_replaced_out_of_a_cell_is_freed(heap: &Traits) {
    let root = Gc::new(CellLink {
        next: GcCell::new(None),
    });
    let (head, tail) = building(heap, || cell_chain(N));
    let weak_tail = Gc::downgrade(&tail);
    drop(tail);
    *root.next.borrow_mut() = Some(head);
    assert_eq!(live_objects(), N as u64 + 1);
    let old = root.next.replace(None);
    drop(old);
    if !heap.frees_at_zero() {
        assert_eq!(live_objects(), N as u64 + 1, "nothing is freed at zero");
        assert_eq!(gc::collect(), N);
    }
    assert!(weak_tail.upgrade().is_none());
    drop(weak_tail);
    // The buffered discipline still holds the tail's memory: it was a cycle candidate.
    heap.release_buffered();
    assert_eq!(live_objects(), 1, "only the root is left");
    assert_eq!(gc::tracked_count(), 1);
    drop(root);
    if !heap.frees_at_zero() {
        assert_eq!(gc::collect(), 1);
    }
    assert_all_freed(heap);
}

// --- the design's ten million -------------------------------------------------------------------

/// The design's rule 5, literally: a 10 000 000-node list (about 600 MB) dropped by counting on the
/// default heap. (Collecting one is `mark_sweep.rs`'s: a 10 000 000-node ring, marked and
/// collected by one and by two markers.)
#[test]
#[cfg_attr(
    miri,
    ignore = "the generic tests above run the same under Miri, on shorter chains"
)]
fn ten_million_nodes_are_freed_by_counting_on_the_default_heap() {
    let n = 10_000_000;
    let head = chain(n);
    assert_eq!(gc::tracked_count(), n);
    drop(head);
    assert_eq!(gc::stats().objects_freed, n as u64);
    assert_eq!(live_objects(), 0);
    assert_eq!(gc::tracked_count(), 0);
}
