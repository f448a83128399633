//! Allocate + free per size class: [`PoolAllocator`] against [`SystemAllocator`] (Rust's global
//! allocator, glibc `malloc` here), in the same run.
//!
//! For each block size (16, 64, 256 and 512 bytes) three patterns:
//!
//! - `pair` — allocate one block and free it at once, nothing else live: the pool allocator's
//!   worst case, its one pool of the class empties on every free (its slow paths every time);
//! - `pair-warm` — the same with one more block of the size kept live: the fast paths;
//! - `lifo` — allocate 1000 blocks, then free them newest first;
//! - `random` — allocate 1000 blocks, then free them in a shuffled (fixed) order, which scatters
//!   the free lists.
//!
//! The layout goes through `black_box`, so neither allocator gets its size class computed at
//! compile time. Run with `cargo bench -p gc-core --bench alloc`; criterion's usual arguments
//! (a filter, `--save-baseline`, …) apply.

use std::alloc::Layout;
use std::hint::black_box;
use std::ptr::NonNull;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use gc_core::alloc::PoolAllocator;
use gc_core::{Allocator, SystemAllocator};

const SIZES: [usize; 4] = [16, 64, 256, 512];
const BATCH: usize = 1000;

/// What one benchmark does with its allocator.
enum Pattern {
    /// Allocate and free one block, with no other block of its size live: for the pool
    /// allocator, the pool empties on every free and is taken again on every allocation (its
    /// slow paths, every time).
    Pair,
    /// The same with one other block of the size kept live: the steady state of a heap, where a
    /// size class rarely runs out of live objects.
    PairWarm,
    /// Allocate `BATCH` blocks, free them in this order.
    Batch(Vec<usize>),
}

/// One group: every size, each allocator statically dispatched (as the heap's allocator enum
/// dispatches them).
fn group(c: &mut Criterion, name: &str, pattern: Pattern) {
    let mut group = c.benchmark_group(name);
    let elements = match &pattern {
        Pattern::Pair | Pattern::PairWarm => 1,
        Pattern::Batch(order) => order.len() as u64,
    };
    group.throughput(Throughput::Elements(elements));
    for size in SIZES {
        let layout = Layout::from_size_align(size, 8).unwrap();
        bench_one(&mut group, "pool", PoolAllocator::new(), layout, &pattern);
        bench_one(
            &mut group,
            "system",
            SystemAllocator::new(),
            layout,
            &pattern,
        );
    }
    group.finish();
}

fn bench_one<A: Allocator>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    allocator: A,
    layout: Layout,
    pattern: &Pattern,
) {
    group.bench_with_input(
        BenchmarkId::new(name, layout.size()),
        &layout,
        |b, &layout| match pattern {
            Pattern::Pair => pair_loop(b, &allocator, layout),
            Pattern::PairWarm => {
                let warm = allocator.allocate(layout).unwrap();
                pair_loop(b, &allocator, layout);
                // SAFETY: allocated just above with this layout.
                unsafe { allocator.deallocate(warm, layout) };
            }
            Pattern::Batch(order) => batch_loop(b, &allocator, layout, order),
        },
    );
}

fn pair_loop<A: Allocator>(b: &mut Bencher<'_>, a: &A, layout: Layout) {
    b.iter(|| {
        let block = a.allocate(black_box(layout)).unwrap();
        // SAFETY: allocated just above with this layout.
        unsafe { a.deallocate(black_box(block), layout) };
    });
}

fn batch_loop<A: Allocator>(b: &mut Bencher<'_>, a: &A, layout: Layout, order: &[usize]) {
    let mut blocks: Vec<NonNull<u8>> = Vec::with_capacity(order.len());
    b.iter(|| {
        for _ in 0..order.len() {
            blocks.push(a.allocate(black_box(layout)).unwrap());
        }
        for &i in order {
            // SAFETY: each block is freed once, with its layout.
            unsafe { a.deallocate(black_box(blocks[i]), layout) };
        }
        blocks.clear();
    });
}

/// A fixed shuffle of `0..n` (xorshift, no dependency).
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    group(&mut c, "alloc-free/pair", Pattern::Pair);
    group(&mut c, "alloc-free/pair-warm", Pattern::PairWarm);
    group(
        &mut c,
        "alloc-free/lifo",
        Pattern::Batch((0..BATCH).rev().collect()),
    );
    group(&mut c, "alloc-free/random", Pattern::Batch(shuffled(BATCH)));
    c.final_summary();
}
