//! The buffered (Bacon–Rajan) and deferred disciplines.

use std::cell::Cell;

use gc_refcount::{gc, BaconRajan, Discipline, Gc, GcCell, HeapConfig, Trace, TrialDeletion};

thread_local! {
    static DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
    #[trace(skip)]
    _counted: Counted,
}

struct Counted;

impl Drop for Counted {
    fn drop(&mut self) {
        DROPS.with(|d| d.set(d.get() + 1));
    }
}

fn node() -> Gc<Node> {
    Gc::new(Node {
        next: GcCell::new(None),
        _counted: Counted,
    })
}

/// A ring of `len` nodes; returns one handle to it.
fn ring(len: usize) -> Gc<Node> {
    let first = node();
    let mut last = first.clone();
    for _ in 1..len {
        let n = node();
        *last.next.borrow_mut() = Some(n.clone());
        last = n;
    }
    *last.next.borrow_mut() = Some(first.clone());
    first
}

fn drops() -> usize {
    DROPS.with(Cell::get)
}

#[test]
fn bacon_rajan_collects_rings_from_candidates() {
    gc::configure_by_name("bacon-rajan").unwrap();
    assert_eq!(gc::config_name(), "bacon-rajan/threshold:700/system");
    gc::disable();
    let rings = if cfg!(miri) { 5 } else { 200 };
    let keep = ring(4);
    for _ in 0..rings {
        drop(ring(10));
    }
    assert_eq!(drops(), 0);
    assert_eq!(gc::collect(), rings * 10);
    assert_eq!(drops(), rings * 10);
    assert_eq!(gc::stats().live_objects(), 4, "the kept ring survives");
    // A ring that is still referenced is examined (it was a candidate) but survives.
    let inner = keep.next.borrow().clone().unwrap();
    drop(inner);
    assert_eq!(gc::collect(), 0);
    drop(keep);
    assert_eq!(gc::collect(), 4);
    assert_eq!(gc::stats().live_objects(), 0);
}

#[test]
fn bacon_rajan_candidate_freed_by_refcount_is_not_read_after_free() {
    gc::configure(HeapConfig::default().detector(BaconRajan::default())).unwrap();
    let a = node();
    let b = a.clone();
    drop(b); // 2 -> 1: `a` becomes a candidate
    drop(a); // 1 -> 0: dropped by refcount while buffered; memory kept for the buffer
    assert_eq!(drops(), 1);
    assert_eq!(gc::stats().live_objects(), 1, "memory waits for the buffer");
    assert_eq!(gc::collect(), 0);
    assert_eq!(
        gc::stats().live_objects(),
        0,
        "the collection emptied the buffer"
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "4 200 rounds to pass the sweep's starting length took 133 s under Miri; the sweep's \
              freeing runs under Miri in `buffered_dead_candidates_are_freed_when_the_buffer_is_swept`"
)]
fn bacon_rajan_gives_back_buffered_dead_memory_without_a_collection() {
    gc::configure_by_name("buffered/bacon-rajan/manual/pool").unwrap();
    let rounds = 100_000;
    for _ in 0..rounds {
        // 2 -> 1 buffers the object as a candidate; 1 -> 0 drops its value, and its memory is
        // kept as long as the buffer points at it.
        let a = node();
        drop(a.clone());
        drop(a);
    }
    assert_eq!(drops(), rounds);
    // No collection ran, yet the buffer was swept as it grew: the memory held for dead
    // candidates stays below the sweep's starting length (4 096), not one per round.
    let stats = gc::stats();
    let collections: usize = stats.generations.iter().map(|g| g.collections).sum();
    assert_eq!(collections, 0, "{stats:?}");
    assert!(stats.live_objects() < 4_096, "{stats:?}");
    gc::collect();
    assert_eq!(gc::stats().live_objects(), 0);
}

/// The sweep of the test above, at a size Miri runs: candidates that refcounting dropped while
/// buffered keep their memory until a sweep of the buffer — here the one `configure` makes
/// before it checks that the heap is empty — frees it.
#[test]
fn buffered_dead_candidates_are_freed_when_the_buffer_is_swept() {
    gc::configure_by_name("buffered/bacon-rajan/manual/pool").unwrap();
    for _ in 0..64 {
        let a = node();
        drop(a.clone());
        drop(a);
    }
    assert_eq!(drops(), 64);
    assert_eq!(gc::stats().live_objects(), 64, "memory kept for the buffer");
    gc::configure_by_name("buffered/bacon-rajan/manual/system")
        .expect("the sweep freed every dead candidate, so the heap is empty");
}

#[test]
fn bacon_rajan_keeps_what_a_live_object_reaches() {
    gc::configure_by_name("bacon-rajan").unwrap();
    gc::disable();
    // root -> a <-> b, with b a candidate: a and b are reachable through root.
    let root = node();
    let a = node();
    let b = node();
    *root.next.borrow_mut() = Some(a.clone());
    *a.next.borrow_mut() = Some(b.clone());
    *b.next.borrow_mut() = Some(a.clone());
    drop(a);
    drop(b);
    assert_eq!(gc::collect(), 0);
    assert_eq!(drops(), 0);
    drop(root);
    assert_eq!(drops(), 1, "root freed by refcount");
    assert_eq!(gc::collect(), 2);
    assert_eq!(drops(), 3);
}

#[test]
fn incompatible_disciplines_are_refused() {
    let error = HeapConfig::from_name("immediate/bacon-rajan/manual/system").unwrap_err();
    assert!(error.to_string().contains("needs buffered"), "{error}");
    assert!(HeapConfig::from_name("deferred/none/manual/system").is_err());
    let config = HeapConfig::default().discipline(Discipline::Buffered);
    assert!(
        gc::configure(config).is_err(),
        "trial deletion does not use candidates"
    );
    assert!(HeapConfig::from_name("sometimes/trial-deletion/manual/system").is_err());
}

#[test]
fn deferred_frees_only_in_collections() {
    let config = HeapConfig::default()
        .detector(TrialDeletion)
        .discipline(Discipline::Deferred);
    gc::configure(config).unwrap();
    assert_eq!(gc::config_name(), "deferred/trial-deletion/cpython312/pool");
    gc::disable();
    let a = node();
    let leaf = Gc::new(String::from("leaf"));
    let weak = Gc::downgrade(&a);
    drop(a);
    drop(leaf);
    assert_eq!(drops(), 0, "nothing is freed at zero");
    assert!(
        weak.upgrade().is_none(),
        "but a zero-count object cannot be revived"
    );
    assert_eq!(gc::stats().live_objects(), 2);
    drop(ring(3));
    assert_eq!(gc::collect(), 4, "the zero-count container and the ring");
    assert_eq!(drops(), 4);
    drop(weak);
    assert_eq!(
        gc::stats().live_objects(),
        0,
        "the leaf went with the collection"
    );
}

#[test]
fn deferred_long_chain_is_freed_by_one_collection() {
    gc::configure_by_name("deferred").unwrap();
    gc::disable();
    let n = if cfg!(miri) { 200 } else { 100_000 };
    let head = node();
    let mut last = head.clone();
    for _ in 1..n {
        let next = node();
        *last.next.borrow_mut() = Some(next.clone());
        last = next;
    }
    drop(last);
    drop(head);
    assert_eq!(gc::collect(), n);
    assert_eq!(drops(), n);
    assert_eq!(gc::stats().live_objects(), 0);
}
