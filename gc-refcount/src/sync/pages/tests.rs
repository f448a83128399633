//! The page allocator on its own: blocks do not overlap, come back to the set they belong to
//! from any thread, and whole pages go back once empty.

use std::alloc::Layout;
use std::collections::HashSet;
use std::ptr::NonNull;

use super::*;

/// A block for `layout` (not zero-sized).
fn take(layout: Layout) -> NonNull<u8> {
    assert_ne!(layout.size(), 0);
    // SAFETY: a non-zero size.
    unsafe { alloc(layout, true) }
}

/// Frees a block. Each test gives back every block it took once, and never uses it after.
fn give(block: NonNull<u8>) {
    // SAFETY: see above: a block from `take`, in use, and unused from now on.
    unsafe { dealloc(block) }
}

/// A block's address, to free it on another thread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Sent(NonNull<u8>);
// SAFETY: only an address; the tests hand a block to one thread at a time.
unsafe impl Send for Sent {}

impl Sent {
    /// The address (a method, so that a closure captures the whole `Sent`).
    fn get(self) -> NonNull<u8> {
        self.0
    }
}

/// Frees `block` on a new thread that holds no set (a remote free).
fn give_on_another_thread(block: NonNull<u8>) {
    let sent = Sent(block);
    std::thread::scope(|s| {
        s.spawn(move || give(sent.get()));
    });
}

/// Runs `f` on a new thread that holds a set of its own, as a registered thread does.
fn on_a_thread_with_a_set<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        s.spawn(|| {
            take_set();
            let result = f();
            leave_set();
            result
        })
        .join()
        .expect("the test thread panicked")
    })
}

#[test]
fn the_classes_cover_every_small_size_and_alignment() {
    let mut previous = 0;
    for index in 0..CLASSES {
        assert!(class_size(index) > previous, "classes grow");
        previous = class_size(index);
    }
    assert_eq!(class_size(CLASSES - 1), MAX_SMALL);
    // Every size natively; a sample under Miri, where this loop alone took a minute.
    let sizes = (1..=MAX_SMALL).step_by(if cfg!(miri) { 61 } else { 1 });
    for size in sizes.chain([MAX_SMALL]) {
        for align in [1, 8, 16, 64, 128] {
            let layout = Layout::from_size_align(size, align).unwrap();
            let index = class_of(layout).expect("a small block");
            let block = class_size(index);
            assert!(
                block >= size && block % align == 0,
                "{size}/{align} → {block}"
            );
            // Not much larger than needed: at most a quarter above 128 bytes.
            let needed = size.next_multiple_of(align.max(16));
            assert!(block <= needed.max(128) * 5 / 4 || block == needed.next_power_of_two());
        }
    }
    assert_eq!(
        class_of(Layout::from_size_align(MAX_SMALL + 1, 8).unwrap()),
        None
    );
}

#[test]
fn blocks_do_not_overlap_and_are_reused_after_a_free() {
    on_a_thread_with_a_set(|| {
        let layout = Layout::from_size_align(96, 8).unwrap();
        // Several pages' worth.
        let blocks: Vec<NonNull<u8>> = (0..2000).map(|_| take(layout)).collect();
        let mut starts = HashSet::new();
        for &block in &blocks {
            assert!(
                starts.insert(block.as_ptr() as usize),
                "a block handed out twice"
            );
            assert_eq!(block.as_ptr() as usize % 8, 0);
            // SAFETY: a block of 96 bytes, ours.
            unsafe { block.as_ptr().write_bytes(0xa5, 96) };
        }
        let mut sorted: Vec<usize> = starts.iter().copied().collect();
        sorted.sort_unstable();
        for pair in sorted.windows(2) {
            assert!(pair[1] - pair[0] >= 96, "blocks overlap");
        }
        // A block of the current page (the last one made) is the next one handed out.
        let freed = blocks[1999];
        give(freed);
        let again = take(layout);
        assert_eq!(
            again, freed,
            "a freed block of the current page is the next one handed out"
        );
        // A block of an earlier page is handed out once the current page is full.
        let earlier = blocks[10];
        give(earlier);
        let mut more = Vec::new();
        while more.len() < PAGE_SIZE / 96 + 1 {
            let next = take(layout);
            more.push(next);
            if next == earlier {
                break;
            }
        }
        assert_eq!(
            more.last(),
            Some(&earlier),
            "the earlier page's block was not reused"
        );
        let handed_out_again = [freed, earlier];
        let rest = blocks
            .into_iter()
            .filter(|block| !handed_out_again.contains(block));
        for block in rest.chain(more) {
            give(block);
        }
        give(again);
    });
}

#[test]
fn a_block_freed_by_another_thread_comes_back_to_its_set() {
    let layout = Layout::from_size_align(48, 8).unwrap();
    on_a_thread_with_a_set(|| {
        let block = take(layout);
        // Freed by a thread that holds no set: a remote free.
        give_on_another_thread(block);
        // The set takes its remote frees when its current page runs out: use the page up.
        let mut taken = Vec::new();
        let found = loop {
            let next = take(layout);
            if next == block {
                break true;
            }
            taken.push(next);
            if taken.len() > 4 * PAGE_SIZE / 48 {
                break false;
            }
        };
        assert!(found, "the remotely freed block was never handed out again");
        for block in taken {
            give(block);
        }
        give(block);
    });
}

#[test]
fn empty_pages_go_back_but_one_spare_stays() {
    on_a_thread_with_a_set(|| {
        let layout = Layout::from_size_align(1024, 8).unwrap();
        let per_page = (PAGE_SIZE - FIRST_BLOCK) / 1024;
        let blocks: Vec<_> = (0..per_page * 4).map(|_| take(layout)).collect();
        let page_of = |block: NonNull<u8>| block.as_ptr() as usize & !(PAGE_SIZE - 1);
        let ours: HashSet<usize> = blocks.iter().map(|&block| page_of(block)).collect();
        assert_eq!(ours.len(), 4, "four pages' worth of blocks fill four pages");
        let still_registered = || {
            registered()
                .pages()
                .iter()
                .filter(|page| ours.contains(&(page.start.as_ptr() as usize)))
                .count()
        };
        assert_eq!(still_registered(), 4);
        for block in blocks {
            give(block);
        }
        // The current page and one spare stay; the other two go back.
        assert_eq!(
            still_registered(),
            2,
            "empty pages were kept, or too many went back"
        );
    });
}

#[test]
fn a_large_block_gets_a_page_of_its_own_which_goes_back_when_it_is_freed() {
    let layout = Layout::from_size_align(MAX_SMALL * 3, 16).unwrap();
    let block = take(layout);
    // SAFETY: ours, that large.
    unsafe { block.as_ptr().write_bytes(1, layout.size()) };
    let found = registered()
        .pages()
        .iter()
        .any(|page| (0..page.touched()).any(|at| page.block_at(at) == block));
    assert!(found, "a large block's page is registered");
    // Freed by another thread: a large page has no set.
    let address = block.as_ptr() as usize;
    give_on_another_thread(block);
    let still = registered()
        .pages()
        .iter()
        .any(|page| (0..page.touched()).any(|at| page.block_at(at).as_ptr() as usize == address));
    assert!(!still, "the large page is still registered");
}

#[test]
fn a_set_left_by_an_exiting_thread_is_taken_by_the_next_one() {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let (block, set) = on_a_thread_with_a_set(|| {
        let block = take(layout);
        (
            Sent(block),
            HELD.get().map(|set| set as *const PageSet as usize),
        )
    });
    // Freed while no thread holds the set: it waits in the set's remote list.
    give(block.0);
    on_a_thread_with_a_set(move || {
        // Other tests run threads too, so the set this thread got may not be that one; when it
        // is, the block comes back.
        if HELD.get().map(|set| set as *const PageSet as usize) == set {
            let mut taken = Vec::new();
            let mut found = false;
            while taken.len() < 2 * PAGE_SIZE / 64 {
                let next = take(layout);
                if next == block.get() {
                    found = true;
                    give(next);
                    break;
                }
                taken.push(next);
            }
            for next in taken {
                give(next);
            }
            assert!(found, "the block freed after the exit was not reused");
        }
    });
}

#[test]
fn leaf_objects_get_pages_of_their_own_which_a_collection_does_not_walk() {
    on_a_thread_with_a_set(|| {
        let layout = Layout::from_size_align(64, 8).unwrap();
        let tracked = take(layout);
        // SAFETY: a non-zero size.
        let leaf = unsafe { alloc(layout, false) };
        let page_of = |block: NonNull<u8>| block.as_ptr() as usize & !(PAGE_SIZE - 1);
        assert_ne!(page_of(tracked), page_of(leaf), "one page for both kinds");
        let kinds: Vec<(usize, bool)> = registered()
            .pages()
            .iter()
            .map(|page| (page.start.as_ptr() as usize, page.holds_tracked()))
            .filter(|&(start, _)| start == page_of(tracked) || start == page_of(leaf))
            .collect();
        assert!(kinds.contains(&(page_of(tracked), true)));
        assert!(kinds.contains(&(page_of(leaf), false)));
        give(tracked);
        give(leaf);
    });
}
