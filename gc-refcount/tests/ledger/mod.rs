//! Drop accounting for the `sync` test binaries: a [`Ledger`] hands out [`Item`]s and counts
//! how many times each one is dropped.
//!
//! The shared heap is one for the whole binary and a collection examines every test's objects,
//! so the tests that collect take turns ([`serial`]) and count their own objects with a ledger.

// Each test binary uses part of it.
#![allow(dead_code)]

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use gc_refcount::{Trace, Visitor};

/// One test at a time: each collection examines every test's objects. A test that panicked
/// while holding the turn does not fail the next one.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts the drops of every object it has handed out, by id.
#[derive(Default)]
pub struct Ledger {
    made: AtomicUsize,
    drops: Mutex<Vec<u32>>,
}

impl Ledger {
    pub fn new() -> Arc<Ledger> {
        Arc::new(Ledger::default())
    }

    pub fn item(self: &Arc<Self>) -> Item {
        let id = self.made.fetch_add(1, Relaxed);
        let mut drops = self.drops.lock().unwrap();
        if drops.len() <= id {
            drops.resize(id + 1, 0);
        }
        Item {
            id,
            ledger: Arc::clone(self),
        }
    }

    /// Objects made so far.
    pub fn made(&self) -> usize {
        self.made.load(Relaxed)
    }

    /// How many times object `id` has been dropped.
    pub fn drops_of(&self, id: usize) -> u32 {
        self.drops.lock().unwrap()[id]
    }

    /// Objects dropped so far.
    pub fn dropped(&self) -> usize {
        self.drops
            .lock()
            .unwrap()
            .iter()
            .filter(|&&d| d > 0)
            .count()
    }

    /// Every object made has been dropped exactly once.
    #[track_caller]
    pub fn assert_all_dropped_once(&self) {
        let drops = self.drops.lock().unwrap();
        assert_eq!(drops.len(), self.made.load(SeqCst));
        for (id, &d) in drops.iter().enumerate() {
            assert_eq!(d, 1, "object {id} dropped {d} times");
        }
    }
}

/// A value that records its drop in its ledger (and panics if dropped twice).
pub struct Item {
    /// The item's number, in the order the ledger made them.
    pub id: usize,
    ledger: Arc<Ledger>,
}

impl Drop for Item {
    fn drop(&mut self) {
        let mut drops = self.ledger.drops.lock().unwrap();
        drops[self.id] += 1;
        assert_eq!(drops[self.id], 1, "object {} dropped twice", self.id);
    }
}

// SAFETY: holds no managed handle.
unsafe impl Trace for Item {
    const MAY_CONTAIN_GC: bool = false;
    fn trace(&self, _visitor: &mut dyn Visitor) {}
}
