//! Resident memory of the pool allocator against the system allocator, on the fragmentation
//! pattern behind "I deleted it and memory did not go down".
//!
//! For each allocator: allocate 1 000 000 blocks of 64 bytes (each written, as an object would
//! be), free all but every 100th, free the rest; the pool allocator also runs
//! [`Allocator::trim`] after each free phase. Printed at every step: VmRSS from
//! `/proc/self/status`, and the pool allocator's bytes mapped and released (`madvise`).
//! Then the dense case: 1 000 000 blocks, all freed.
//!
//! ```sh
//! cargo run --release -p gc-core --example pool_rss
//! ```

use std::alloc::Layout;
use std::ptr::NonNull;

use gc_core::alloc::PoolAllocator;
use gc_core::{Allocator, SystemAllocator};

const BLOCKS: usize = 1_000_000;
const KEEP_EVERY: usize = 100;

/// VmRSS in KiB, or 0 where `/proc` is not available.
fn rss_kib() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Prints one line: step, RSS, and the allocator's own view of its memory.
fn line(allocator: &dyn Allocator, step: &str, baseline: usize) {
    let stats = allocator.stats();
    let rss = rss_kib();
    println!(
        "{:<7} {:<34} RSS {:7.1} MiB (+{:6.1})  mapped {:6.1} MiB  released {:6.1} MiB  \
         arenas {:3}  blocks {:8}",
        allocator.name(),
        step,
        rss as f64 / 1024.0,
        rss.saturating_sub(baseline) as f64 / 1024.0,
        mib(stats.bytes_mapped),
        mib(stats.bytes_released),
        stats.arenas_live,
        stats.blocks_in_use,
    );
}

/// The harness's own bookkeeping: one vector of block pointers, allocated and touched before any
/// baseline is taken, so that its 8 MB never shows up in a difference.
struct Blocks(Vec<NonNull<u8>>);

impl Blocks {
    fn new() -> Self {
        let mut v = Vec::with_capacity(BLOCKS);
        v.resize(BLOCKS, NonNull::dangling());
        v.clear();
        Blocks(v)
    }

    fn allocate_all(&mut self, allocator: &dyn Allocator, layout: Layout) {
        for i in 0..BLOCKS {
            let block = allocator.allocate(layout).expect("out of memory");
            // SAFETY: the block is valid for `layout.size()` bytes.
            unsafe { block.as_ptr().write_bytes(i as u8, layout.size()) };
            self.0.push(block);
        }
    }

    /// Frees the blocks whose position `which` selects, keeps the others (in place).
    fn free_where(
        &mut self,
        allocator: &dyn Allocator,
        layout: Layout,
        which: impl Fn(usize) -> bool,
    ) {
        let mut i = 0;
        self.0.retain(|&block| {
            let free = which(i);
            i += 1;
            if free {
                // SAFETY: allocated by `allocator` with `layout`, freed once.
                unsafe { allocator.deallocate(block, layout) };
            }
            !free
        });
    }
}

fn fragmented(blocks: &mut Blocks, allocator: &dyn Allocator, trim: bool) {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let baseline = rss_kib();
    line(allocator, "start", baseline);
    blocks.allocate_all(allocator, layout);
    line(allocator, "1M blocks of 64 B", baseline);
    blocks.free_where(allocator, layout, |i| i % KEEP_EVERY != 0);
    line(allocator, "freed all but every 100th", baseline);
    if trim {
        let given = allocator.trim();
        line(
            allocator,
            &format!("trim() gave {:.1} MiB", mib(given)),
            baseline,
        );
    }
    blocks.free_where(allocator, layout, |_| true);
    line(allocator, "freed the rest", baseline);
    if trim {
        allocator.trim();
        line(allocator, "trim()", baseline);
    }
}

fn dense(blocks: &mut Blocks, allocator: &dyn Allocator) {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let baseline = rss_kib();
    line(allocator, "dense: start", baseline);
    blocks.allocate_all(allocator, layout);
    line(allocator, "dense: 1M blocks of 64 B", baseline);
    blocks.free_where(allocator, layout, |_| true);
    line(allocator, "dense: freed all", baseline);
}

fn main() {
    let mut blocks = Blocks::new();
    println!("-- every 100th block kept (fragmentation) --");
    let pool = PoolAllocator::new();
    fragmented(&mut blocks, &pool, true);
    drop(pool);
    fragmented(&mut blocks, &SystemAllocator::new(), false);
    println!("\n-- dense: everything freed --");
    dense(&mut blocks, &PoolAllocator::new());
    dense(&mut blocks, &SystemAllocator::new());
    println!("\n-- the pool allocator's report with every 100th block kept, before trim() --");
    let pool = PoolAllocator::new();
    let layout = Layout::from_size_align(64, 8).unwrap();
    blocks.allocate_all(&pool, layout);
    blocks.free_where(&pool, layout, |i| i % KEEP_EVERY != 0);
    print!("{}", pool.report());
    blocks.free_where(&pool, layout, |_| true);
}
