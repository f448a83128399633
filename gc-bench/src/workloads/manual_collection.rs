//! [`ManualCollection`]: `gc.collect()` every so many steps, for backends that never collect by
//! themselves — as a program using such a collector would call it. On a backend that collects by
//! itself it does nothing, so that every backend runs the same workload code; nor on a policy
//! that has no cycle collector (gclab's `rc`): a program on plain reference counting has no
//! reason to call `gc.collect()`.

use crate::backend::Backend;

/// Calls [`Backend::collect`] every `every` steps, if the backend does not collect by itself.
#[derive(Debug, Clone)]
pub struct ManualCollection {
    every: u64,
    active: bool,
    since: u64,
}

impl ManualCollection {
    /// A schedule of one collection per `every` steps (`every` ≥ 1) on `heap`.
    pub fn new<B: Backend>(heap: &B, every: u64) -> ManualCollection {
        ManualCollection {
            every: every.max(1),
            active: !heap.collects_automatically() && !heap.leaks_cycles_by_design(),
            since: 0,
        }
    }

    /// Counts one step; collects when `every` steps have passed since the last collection.
    #[inline]
    pub fn step<B: Backend>(&mut self, heap: &B) {
        if !self.active {
            return;
        }
        self.since += 1;
        if self.since >= self.every {
            self.since = 0;
            heap.collect();
        }
    }

    /// Collects now (if the backend does not collect by itself), as at the end of a phase.
    pub fn now<B: Backend>(&mut self, heap: &B) {
        if self.active {
            self.since = 0;
            heap.collect();
        }
    }
}
