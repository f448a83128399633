//! When the shared heap collects automatically, and what a collection examines: see
//! [`SharedSchedule`].

use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};

/// The automatic collection schedule of the shared heap, chosen with [`set_schedule`]:
///
/// - [`FreeThreaded`](SharedSchedule::FreeThreaded) (the default) — free-threaded CPython
///   3.13's: one generation. A collection is due when the tracked objects allocated minus those
///   freed since the last collection exceed the threshold ([`set_threshold`], 2000 by default)
///   *and* are at least a quarter of the objects that survived it; every collection examines
///   every tracked object.
/// - [`Generational`](SharedSchedule::Generational) — the generational idea of CPython up to
///   3.12, with two generations: objects allocated since the last collection are *young*, the
///   survivors of a collection are promoted to *old*. A collection is due on the same rule, and
///   examines only the young objects — unless the objects promoted since the last full
///   collection exceed a quarter of the objects that survived it (CPython's rule for its oldest
///   generation), in which case it examines everything.
///
/// The generational schedule keeps the free-threaded rule for *when*: with CPython 3.12's rule
/// (a collection whenever the young objects exceed the threshold alone) the collections were
/// too many for their fixed cost (stopping the world, merging the mailboxes). On `shared-churn`
/// (`--scale medium`, `sync-atomic-gen`, three runs) that made 481–485 collections of 554–823 µs
/// (p50), and the run took 1.3–1.5× as long as `sync-atomic`'s.
///
/// Measured on `shared-churn` (`--scale medium`, 2 mutators and a full collection every 10 ms;
/// medians of rounds of alternating runs, each against `arc` in its round): no consistent gain
/// in wall time yet. With atomic counts the runs took 2.51× `arc`'s time on this schedule
/// against 2.83× on the free-threaded one over 10 rounds, and 2.56× against 2.53× over 6 rounds
/// of a later build; with biased counts 3.29× against 3.31×, and 3.18× against 3.09×. The
/// collections examined 26–35 % fewer objects and paused 9–18 % less in all, but the full
/// collections took longer: p50 5.1 ms against 3.5–3.8 with atomic counts, 6.1 against 3.3–3.9
/// with biased ones; why is not known yet.
///
/// A collection of the young generation alone is sound for the same reason CPython's are: trial
/// deletion counts every reference from an object it does not examine (an old object, a handle
/// on a stack) as external, so what an old object references survives. What it cannot find is a
/// cycle with an old member: the next full collection finds that. An explicit
/// [`collect`](super::collect) is always full; [`collect_young`](super::collect_young) examines
/// the young generation alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SharedSchedule {
    /// Free-threaded CPython 3.13's: one generation, every collection full.
    #[default]
    FreeThreaded,
    /// Two generations: automatic collections examine the objects allocated since the last
    /// collection, and every object once enough have been promoted.
    Generational,
}

/// What one collection examines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The objects not promoted yet (every object, under the free-threaded schedule, which never
    /// promotes).
    Young,
    /// Every tracked object.
    Full,
}

/// The schedule's state, shared by every thread.
pub(crate) struct Schedule {
    /// Tracked allocations minus frees since the last collection, as reported by the threads
    /// (each reports in batches of [`REPORT_EVERY`]).
    young: AtomicIsize,
    /// Tracked objects after the last full collection.
    long_lived: AtomicUsize,
    /// Objects promoted since the last full collection.
    promoted: AtomicUsize,
    /// `young` must exceed this; 0 disables automatic collection.
    threshold: AtomicUsize,
    /// Whether the schedule is [`SharedSchedule::Generational`].
    generational: AtomicBool,
    /// Set when a report finds a collection due; cleared by the collection. Read through
    /// [`Schedule::is_due`].
    due: AtomicBool,
    /// How many times the count started anew ([`Schedule::count`]).
    count: AtomicUsize,
}

/// A thread reports its allocation count to the schedule every this many tracked allocations
/// (or frees), so that threads do not contend on one counter.
pub(crate) const REPORT_EVERY: isize = 64;

/// Free-threaded CPython 3.13's threshold.
pub const DEFAULT_THRESHOLD: usize = 2000;

pub(crate) static SCHEDULE: Schedule = Schedule {
    young: AtomicIsize::new(0),
    long_lived: AtomicUsize::new(0),
    promoted: AtomicUsize::new(0),
    threshold: AtomicUsize::new(DEFAULT_THRESHOLD),
    generational: AtomicBool::new(false),
    due: AtomicBool::new(false),
    count: AtomicUsize::new(0),
};

impl Schedule {
    /// Adds `delta` tracked allocations minus frees, and flags a collection due if they exceed
    /// the threshold and a quarter of the objects that survived the last full collection.
    pub(crate) fn report(&self, delta: isize) {
        let young = self.young.fetch_add(delta, Relaxed) + delta;
        let threshold = self.threshold.load(Relaxed);
        if threshold != 0
            && young > threshold as isize
            && young as usize >= self.long_lived.load(Relaxed) / 4
        {
            self.due.store(true, Relaxed);
        }
    }

    /// Whether an automatic collection is due: a report found one due since the last
    /// collection, and automatic collections are on. (A threshold set to 0 after the report
    /// turns the report off: the flag alone would still run one collection.)
    #[inline]
    pub(crate) fn is_due(&self) -> bool {
        self.due.load(Relaxed) && self.threshold.load(Relaxed) != 0
    }

    /// Whether collections promote their survivors.
    pub(crate) fn promotes(&self) -> bool {
        self.generational.load(Relaxed)
    }

    /// What an automatic collection examines now.
    pub(crate) fn automatic_scope(&self) -> Scope {
        if self.generational.load(Relaxed)
            && self.promoted.load(Relaxed) <= self.long_lived.load(Relaxed) / 4
        {
            Scope::Young
        } else {
            Scope::Full
        }
    }

    /// Starts counting anew, so that the next automatic collection is a threshold's worth of
    /// allocations away: a collection examined every object allocated so far (of the
    /// generations it examines) and the world restarts — its survivors are recorded once they
    /// are known ([`record_survivors`](Schedule::record_survivors)) — or an automatic collection
    /// could not stop the world in time and is put off.
    pub(crate) fn restart_count(&self) {
        self.young.store(0, Relaxed);
        self.due.store(false, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    /// Which count the reports go to: it changes each time the count starts anew, and a thread
    /// drops what it counted for an earlier one and has not reported (a collection examined
    /// those objects).
    #[inline]
    pub(crate) fn count(&self) -> usize {
        self.count.load(Relaxed)
    }

    /// Records that a collection of `scope` left `survivors` of the objects it examined, and
    /// promoted `promoted` of them.
    pub(crate) fn record_survivors(&self, scope: Scope, survivors: usize, promoted: usize) {
        match scope {
            Scope::Full => {
                self.long_lived.store(survivors, Relaxed);
                self.promoted.store(0, Relaxed);
            }
            Scope::Young => {
                self.promoted.fetch_add(promoted, Relaxed);
            }
        }
    }
}

/// Sets the automatic collection threshold: a collection runs when the tracked shared objects
/// allocated minus those freed since the last one exceed `threshold` (under the free-threaded
/// schedule, they must also be at least a quarter of the survivors of the last one). 0 disables
/// automatic collection; the default is free-threaded CPython 3.13's, 2000.
pub fn set_threshold(threshold: usize) {
    SCHEDULE.threshold.store(threshold, Relaxed);
}

/// The automatic collection threshold (see [`set_threshold`]).
pub fn threshold() -> usize {
    SCHEDULE.threshold.load(Relaxed)
}

/// Sets the automatic collection schedule (see [`SharedSchedule`]). Objects promoted under
/// the generational schedule stay old after a switch to the free-threaded one, whose collections
/// examine every object anyway.
pub fn set_schedule(schedule: SharedSchedule) {
    SCHEDULE
        .generational
        .store(schedule == SharedSchedule::Generational, Relaxed);
}

/// The automatic collection schedule (see [`set_schedule`]).
pub fn schedule() -> SharedSchedule {
    if SCHEDULE.generational.load(Relaxed) {
        SharedSchedule::Generational
    } else {
        SharedSchedule::FreeThreaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schedule of its own (not the process's), with `threshold`.
    fn schedule(threshold: usize) -> Schedule {
        Schedule {
            young: AtomicIsize::new(0),
            long_lived: AtomicUsize::new(0),
            promoted: AtomicUsize::new(0),
            threshold: AtomicUsize::new(threshold),
            generational: AtomicBool::new(false),
            due: AtomicBool::new(false),
            count: AtomicUsize::new(0),
        }
    }

    #[test]
    fn a_collection_is_due_past_the_threshold_until_one_runs() {
        let schedule = schedule(100);
        schedule.report(64);
        assert!(!schedule.is_due());
        schedule.report(64);
        assert!(schedule.is_due());
        schedule.restart_count();
        assert!(!schedule.is_due());
        schedule.record_survivors(Scope::Full, 1000, 0);
        // Past the threshold, but not a quarter of the survivors yet.
        schedule.report(128);
        assert!(!schedule.is_due());
        schedule.report(128);
        assert!(schedule.is_due());
    }

    /// A threshold set to 0 after a report found a collection due turns that collection off
    /// too: the flag alone ran one more automatic collection, on whichever thread reached a
    /// safepoint first, after the caller had turned them off.
    #[test]
    fn a_threshold_of_zero_turns_off_a_collection_already_due() {
        let schedule = schedule(100);
        schedule.report(128);
        assert!(schedule.is_due());
        schedule.threshold.store(0, Relaxed);
        assert!(!schedule.is_due());
    }
}
