//! [`ExplicitPauses`]: the pause log of a peer adapter.
//!
//! A peer crate's automatic collections happen inside its own code and cannot be timed from
//! outside; what an adapter can time is each explicit collect call the workload makes. Those are
//! its pauses (and its report says so: `pause_source = "explicit"`).

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use crate::backend::BackendMetrics;

/// The explicit collect calls of one run: how many, and how long each took.
#[derive(Debug, Default)]
pub struct ExplicitPauses {
    pauses: RefCell<Vec<Duration>>,
    calls: Cell<u64>,
}

impl ExplicitPauses {
    /// Runs `collect`, timing it as one pause.
    pub fn time(&self, collect: impl FnOnce()) {
        let start = Instant::now();
        collect();
        self.pauses.borrow_mut().push(start.elapsed());
        self.calls.set(self.calls.get() + 1);
    }

    /// How many collect calls were timed.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// Takes the pauses timed since the last call.
    pub fn take(&self) -> Vec<Duration> {
        std::mem::take(&mut *self.pauses.borrow_mut())
    }

    /// What a peer can say of its work: `collections` (one generation) and pauses that cover the
    /// explicit collect calls only (`pause_source = "explicit"`); every other count unknown.
    pub fn metrics(&self, collections: u64) -> BackendMetrics {
        BackendMetrics {
            collections: vec![collections],
            pause_source: "explicit",
            split_markings: None,
            ..BackendMetrics::default()
        }
    }
}
