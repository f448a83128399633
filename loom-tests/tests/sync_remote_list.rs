//! Loom models of the list that threads push the freed blocks of another thread's page set onto
//! (`gc_refcount::sync::remote_list::RemoteList`): the real list, on loom's atomic pointer.
//!
//! A block here is a link word (the list's) followed by a payload in a loom `UnsafeCell`, which
//! the freeing thread writes before it pushes the block and the holder reads after it takes it:
//! loom fails an execution where that read does not happen-after the write, as the holder's reuse
//! of a block must happen-after everything the freeing thread did to it.
//!
//! The model: two threads push a block each while the holder takes twice (once racing with them,
//! once after they are done); every block comes back exactly once, with its payload.
//!
//! The deliberately broken variant, at the end, must be caught: a list whose atomic pointer
//! ignores every ordering (all `Relaxed`), so the take does not synchronise with the pushes.

use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use gc_refcount::sync::remote_list::RemoteList;
use gc_refcount::sync::AtomicSlot;
use loom::cell::UnsafeCell;
use loom::sync::atomic::AtomicPtr;
use loom::sync::Arc;
use loom_tests::explore;

/// Preemption bound: the model explores everything within it in about a second.
const BOUND: usize = 3;

/// A freed block: the list's link word first, then what the freeing thread wrote.
#[repr(C)]
struct Block {
    link: *mut u8,
    payload: UnsafeCell<usize>,
}

/// The blocks of one execution, freed at its end.
struct Blocks(Vec<NonNull<Block>>);

// SAFETY: the blocks are handed between the model's threads through the list under test.
unsafe impl Send for Blocks {}
// SAFETY: as above.
unsafe impl Sync for Blocks {}

impl Blocks {
    fn new(count: usize) -> Self {
        Blocks(
            (0..count)
                .map(|_| {
                    NonNull::from(Box::leak(Box::new(Block {
                        link: std::ptr::null_mut(),
                        payload: UnsafeCell::new(0),
                    })))
                })
                .collect(),
        )
    }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        for &block in &self.0 {
            // SAFETY: leaked by `new`, freed once, here, when no thread uses it any more.
            drop(unsafe { Box::from_raw(block.as_ptr()) });
        }
    }
}

/// Takes everything from `list` and returns each block's payload, reading it as the holder
/// reuses a block.
fn take_payloads<S: AtomicSlot<u8>>(list: &RemoteList<S>) -> Vec<usize> {
    let mut payloads = Vec::new();
    let mut next = list.take_all();
    while let Some(block) = next {
        // SAFETY: a block of this take, not written since.
        next = unsafe { RemoteList::<S>::next(block) };
        let block = block.cast::<Block>();
        // SAFETY: the block is the holder's now; loom checks that the payload's write
        // happens-before this read.
        payloads.push(
            unsafe { block.as_ref() }
                .payload
                .with(|payload| unsafe { *payload }),
        );
    }
    payloads
}

/// Two threads free a block each (payloads 1 and 2) while the holder takes twice.
fn two_frees_and_a_racing_take<S: AtomicSlot<u8> + 'static>() {
    let list = Arc::new(RemoteList::<S>::new());
    let blocks = Arc::new(Blocks::new(2));
    let pushers: Vec<_> = (0..2)
        .map(|at| {
            let (list, blocks) = (Arc::clone(&list), Arc::clone(&blocks));
            loom::thread::spawn(move || {
                let block = blocks.0[at];
                // SAFETY: this thread's block until it pushes it.
                unsafe { block.as_ref() }
                    .payload
                    .with_mut(|payload| unsafe { *payload = at + 1 });
                // SAFETY: the block starts with a pointer-sized, aligned link; given up here.
                unsafe { list.push(block.cast()) };
            })
        })
        .collect();
    let mut payloads = take_payloads(&list);
    for pusher in pushers {
        pusher.join().expect("a pusher panicked");
    }
    payloads.extend(take_payloads(&list));
    payloads.sort_unstable();
    assert_eq!(payloads, [1, 2], "a block was lost or taken twice");
    assert!(list.looks_empty());
}

#[test]
fn every_freed_block_comes_back_once_with_what_its_thread_wrote() {
    explore(BOUND, two_frees_and_a_racing_take::<AtomicPtr<u8>>);
}

// --- broken variant: loom must catch it ----------------------------------------------------------

/// Loom's atomic pointer with every ordering weakened to `Relaxed`.
struct RelaxedSlot(AtomicPtr<u8>);

impl AtomicSlot<u8> for RelaxedSlot {
    fn new(ptr: *mut u8) -> Self {
        RelaxedSlot(AtomicPtr::new(ptr))
    }
    fn load(&self, _: Ordering) -> *mut u8 {
        self.0.load(Ordering::Relaxed)
    }
    fn swap(&self, ptr: *mut u8, _: Ordering) -> *mut u8 {
        self.0.swap(ptr, Ordering::Relaxed)
    }
    fn compare_exchange(
        &self,
        current: *mut u8,
        new: *mut u8,
        _: Ordering,
        _: Ordering,
    ) -> Result<*mut u8, *mut u8> {
        self.0
            .compare_exchange(current, new, Ordering::Relaxed, Ordering::Relaxed)
    }
}

#[test]
fn a_list_that_does_not_order_its_pushes_and_takes_is_caught() {
    let failure = panic::catch_unwind(AssertUnwindSafe(|| {
        explore(BOUND, two_frees_and_a_racing_take::<RelaxedSlot>)
    }))
    .expect_err("loom found no failing execution");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| failure.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        message.contains("Causality violation"),
        "unexpected failure: {message}"
    );
}
