//! Real `Gc` objects on a heap whose allocator is gc-core's `PoolAllocator`: rings of cyclic
//! garbage and binary trees are built, checked, dropped and collected; every object must be freed
//! and the allocator must give its arenas back (all but the spare).
//!
//! Each test runs on a fresh thread, so that its heap is new and free to configure.

use gc_refcount::gc_core::alloc::pool::DEFAULT_SPARE_ARENA_LIMIT;
use gc_refcount::gc_core::alloc::PoolAllocator;
use gc_refcount::{gc, AllocatorChoice, Gc, GcCell, HeapConfig, Trace};

/// Runs `f` on a fresh thread: a heap nothing has touched yet, free to configure.
fn on_fresh_heap<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    match std::thread::spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Configures this thread's heap with a pool allocator.
fn use_pool(pool: PoolAllocator) {
    let config = HeapConfig::default().allocator(AllocatorChoice::custom(pool));
    gc::configure(config).unwrap();
    assert!(
        gc::config_name().ends_with("/pool"),
        "{}",
        gc::config_name()
    );
}

#[derive(Trace)]
struct Node {
    id: u64,
    next: GcCell<Option<Gc<Node>>>,
}

/// A ring of `len` nodes with ids from `first`; returns one of its nodes.
fn ring(first: u64, len: u64) -> Gc<Node> {
    let head = Gc::new(Node {
        id: first,
        next: GcCell::new(None),
    });
    let mut last = head.clone();
    for id in first + 1..first + len {
        let node = Gc::new(Node {
            id,
            next: GcCell::new(None),
        });
        *last.next.borrow_mut() = Some(node.clone());
        last = node;
    }
    *last.next.borrow_mut() = Some(head.clone());
    head
}

/// The sum of the ids around a ring.
fn ring_sum(head: &Gc<Node>) -> u64 {
    let mut sum = head.id;
    let mut node = head.next.borrow().clone().unwrap();
    while !Gc::ptr_eq(&node, head) {
        sum += node.id;
        let next = node.next.borrow().clone().unwrap();
        node = next;
    }
    sum
}

#[derive(Trace)]
struct Tree {
    value: u64,
    /// A leaf payload of a different size, so that several size classes are in use.
    label: Gc<String>,
    children: GcCell<Vec<Gc<Tree>>>,
}

/// A complete binary tree of the given depth, values numbered in preorder from `*next`.
fn tree(depth: u32, next: &mut u64) -> Gc<Tree> {
    let value = *next;
    *next += 1;
    let node = Gc::new(Tree {
        value,
        label: Gc::new(format!("node {value}")),
        children: GcCell::new(Vec::new()),
    });
    if depth > 0 {
        let left = tree(depth - 1, next);
        let right = tree(depth - 1, next);
        node.children.borrow_mut().extend([left, right]);
    }
    node
}

fn tree_sum(node: &Gc<Tree>) -> u64 {
    assert_eq!(*node.label, format!("node {}", node.value));
    node.value + node.children.borrow().iter().map(tree_sum).sum::<u64>()
}

/// Every object freed, every block back in the allocator, every arena unmapped but at most
/// `spares` kept for reuse.
fn assert_everything_returned(spares: usize) {
    let stats = gc::stats();
    assert_eq!(stats.live_objects(), 0, "{stats:?}");
    assert_eq!(stats.allocator.blocks_in_use, 0, "{:?}", stats.allocator);
    assert_eq!(stats.allocator.bytes_in_use, 0);
    assert!(
        stats.allocator.arenas_live <= spares,
        "{:?}",
        stats.allocator
    );
    assert_eq!(
        stats.allocator.arenas_freed + stats.allocator.arenas_live,
        stats.allocator.arenas_allocated
    );
}

#[test]
fn rings_of_garbage_are_collected_and_arenas_come_back() {
    on_fresh_heap(|| {
        use_pool(PoolAllocator::new());
        let (rings, len) = if cfg!(miri) { (4, 5) } else { (2_000, 20) };
        let mut heads = Vec::new();
        for r in 0..rings {
            heads.push(ring(r * len, len));
        }
        for (r, head) in heads.iter().enumerate() {
            let first = r as u64 * len;
            assert_eq!(ring_sum(head), (first..first + len).sum::<u64>());
        }
        let stats = gc::stats();
        assert_eq!(stats.live_objects(), rings * len);
        assert_eq!(stats.allocator.blocks_in_use as u64, rings * len);
        if !cfg!(miri) {
            assert!(stats.allocator.arenas_live >= 2, "{:?}", stats.allocator);
        }
        drop(heads);
        // Reference counting alone cannot free a ring.
        assert_eq!(gc::stats().live_objects(), rings * len);
        assert_eq!(gc::collect() as u64, rings * len);
        assert_everything_returned(1);
    });
}

#[test]
fn trees_are_freed_by_reference_counting_and_arenas_come_back() {
    on_fresh_heap(|| {
        use_pool(PoolAllocator::new());
        let depth = if cfg!(miri) { 5 } else { 15 };
        let mut next = 0;
        let root = tree(depth, &mut next);
        let nodes = next;
        assert_eq!(tree_sum(&root), nodes * (nodes - 1) / 2);
        // Two objects per node: the tree node and its label.
        assert_eq!(gc::stats().live_objects(), 2 * nodes);
        if !cfg!(miri) {
            assert!(gc::stats().allocator.arenas_allocated >= 2);
        }
        drop(root);
        // Refcounting freed it all; the emptied arenas are unmapped but the spares.
        assert_everything_returned(DEFAULT_SPARE_ARENA_LIMIT);
        // An explicit collection gives the spares back, but one.
        assert_eq!(gc::collect(), 0);
        assert_everything_returned(1);
    });
}

#[test]
fn trees_and_rings_interleaved_with_survivors() {
    on_fresh_heap(|| {
        // Release empty pools at once, so that the madvise path runs under a real heap.
        use_pool(PoolAllocator::new().with_dirty_pool_limit(0));
        let (rounds, depth, rings) = if cfg!(miri) { (2, 4, 3) } else { (6, 12, 500) };
        let mut survivors = Vec::new();
        let mut id = 0;
        for round in 0..rounds {
            let mut next = 0;
            let root = tree(depth, &mut next);
            let heads: Vec<Gc<Node>> = (0..rings)
                .map(|_| {
                    id += 10;
                    ring(id, 10)
                })
                .collect();
            // Keep one small ring and one subtree per round; the rest becomes garbage.
            survivors.push((
                heads[round % heads.len()].clone(),
                root.children.borrow()[0].clone(),
            ));
            drop(heads);
            drop(root);
            gc::collect();
        }
        for (ring_head, subtree) in &survivors {
            let first = ring_head.id;
            assert_eq!(ring_sum(ring_head), (first..first + 10).sum::<u64>());
            tree_sum(subtree);
        }
        let stats = gc::stats();
        assert!(stats.live_objects() > 0);
        if !cfg!(miri) {
            assert!(
                stats.allocator.bytes_released > 0,
                "empty pools in live arenas were released: {:?}",
                stats.allocator
            );
        }
        drop(survivors);
        gc::collect();
        assert_everything_returned(1);
    });
}

/// Builds `n` self-cycles of one node each, keeps every `keep`-th, drops the others and collects;
/// returns the allocator's released bytes after the collection.
fn released_after_collect(n: u64, keep: usize) -> usize {
    let nodes: Vec<Gc<Node>> = (0..n).map(|id| ring(id, 1)).collect();
    let kept: Vec<Gc<Node>> = nodes.into_iter().step_by(keep).collect();
    assert_eq!(gc::stats().allocator.bytes_released, 0);
    let found = gc::collect() as u64;
    assert_eq!(found, n - kept.len() as u64);
    for node in &kept {
        assert_eq!(ring_sum(node), node.id);
    }
    let released = gc::stats().allocator.bytes_released;
    // The survivors are self-cycles too: collect them, so that the heap ends empty.
    let survivors = kept.len();
    drop(kept);
    assert_eq!(gc::collect(), survivors);
    assert_eq!(gc::stats().live_objects(), 0);
    released
}

#[test]
fn an_explicit_collection_trims_a_heap_mostly_freed() {
    let n = if cfg!(miri) { 600 } else { 100_000 };
    // One survivor in 100: the pools all keep one, so none is empty, yet most pages hold only
    // free blocks; `gc::collect()` releases them.
    let fragmented = on_fresh_heap(move || {
        use_pool(PoolAllocator::new());
        released_after_collect(n, 100)
    });
    assert!(fragmented > 0, "nothing released");
    // Everything survives: nothing to give back, and no page is released. (Not under Miri: its
    // heap fills a fraction of one 1 MiB arena, which counts as mostly free and is trimmed.)
    if !cfg!(miri) {
        let dense = on_fresh_heap(move || {
            use_pool(PoolAllocator::new());
            released_after_collect(n, 1)
        });
        assert_eq!(dense, 0);
    }
}
