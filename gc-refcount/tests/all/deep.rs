//! Deep structures: freeing and collecting a 10 000 000-node chain must not use the stack in
//! proportion to its length (the trashcan; iterative trial deletion and tear-down).
//!
//! The tests run one at a time (a lock): each chain takes about 600 MB.

use std::sync::Mutex;

use gc_refcount::{gc, Gc, GcCell, HeapConfig, Manual, Trace};

/// Chain length: ten million natively, a thousand under Miri.
const N: usize = if cfg!(miri) { 1_000 } else { 10_000_000 };

/// Serialises the tests of this module: two 10 000 000-node chains at once would double the
/// memory needed.
static BIG: Mutex<()> = Mutex::new(());

fn big() -> std::sync::MutexGuard<'static, ()> {
    BIG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

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

fn assert_all_freed() {
    let stats = gc::stats();
    assert_eq!(stats.live_objects(), 0, "{stats:?}");
    assert_eq!(gc::tracked_count(), 0);
}

#[test]
fn dropping_the_head_of_a_long_chain_frees_it_iteratively() {
    let _big = big();
    let head = chain(N);
    assert_eq!(gc::stats().live_objects(), N as u64);
    drop(head);
    assert_all_freed();
    assert_eq!(gc::stats().objects_freed, N as u64);
}

#[test]
fn a_long_ring_is_collected() {
    let _big = big();
    // Manual scheduling: the only collection is the one under test.
    gc::configure(HeapConfig::default().scheduler(Manual)).unwrap();
    let (head, tail) = cell_chain(N);
    *tail.next.borrow_mut() = Some(head.clone());
    let weak = Gc::downgrade(&head);
    drop((head, tail));
    assert_eq!(
        gc::stats().live_objects(),
        N as u64,
        "a ring is not freed by counting"
    );
    assert_eq!(gc::collect(), N);
    assert!(weak.upgrade().is_none());
    assert_eq!(
        gc::stats().live_objects(),
        1,
        "the weak handle keeps the head's memory"
    );
    drop(weak);
    assert_all_freed();
}

#[test]
fn a_long_ring_is_collected_on_the_default_schedule() {
    let _big = big();
    // Automatic young collections run while the chain is built; every node survives them.
    let (head, tail) = cell_chain(N);
    assert_eq!(gc::tracked_count(), N);
    *tail.next.borrow_mut() = Some(head.clone());
    drop((head, tail));
    assert_eq!(gc::collect(), N);
    assert_all_freed();
}

#[test]
fn a_long_chain_behind_a_weak_head_is_freed() {
    let _big = big();
    let head = chain(N);
    let weak_head = Gc::downgrade(&head);
    let weak_second = Gc::downgrade(head.next.as_ref().expect("N > 1"));
    assert_eq!(weak_head.upgrade().map(|h| Gc::strong_count(&h)), Some(2));
    drop(head);
    assert!(weak_head.upgrade().is_none());
    assert!(weak_second.upgrade().is_none());
    // Values all dropped; two nodes' memory waits for the weak handles.
    assert_eq!(gc::stats().live_objects(), 2);
    assert_eq!(gc::tracked_count(), 0);
    drop((weak_head, weak_second));
    assert_all_freed();
}

#[test]
fn a_long_chain_replaced_out_of_a_cell_is_freed() {
    let _big = big();
    let root = Gc::new(CellLink {
        next: GcCell::new(None),
    });
    let (head, tail) = cell_chain(N);
    let weak_tail = Gc::downgrade(&tail);
    drop(tail);
    *root.next.borrow_mut() = Some(head);
    assert_eq!(gc::stats().live_objects(), N as u64 + 1);
    let old = root.next.replace(None);
    drop(old);
    assert!(weak_tail.upgrade().is_none());
    drop(weak_tail);
    assert_eq!(gc::stats().live_objects(), 1, "only the root is left");
    assert_eq!(gc::tracked_count(), 1);
    drop(root);
    assert_all_freed();
}
