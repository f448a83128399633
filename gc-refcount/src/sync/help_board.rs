//! The [`HelpBoard`]: where the collector of a stopped world posts work that the parked mutators
//! may share, since they are awake and waiting anyway.
//!
//! ## The protocol
//!
//! Two words and a cell: `posted` (0, or the number of the posting: 1, 2, …, wrapping past 0),
//! `helpers` (how many helpers are inside [`HelpBoard::help`]) and `work`, the posted work's
//! address.
//!
//! **Collector** ([`HelpBoard::share`], with the world stopped): write `work`; store the next
//! number in `posted`; run the work itself; store `posted = 0`; wait until `helpers` is 0.
//!
//! **Helper** (a parked mutator, in its wait loop, [`HelpBoard::help`]): if `posted` holds a
//! number it has not helped with, increment `helpers`; load `posted` again, and if it still
//! holds that number, read `work` and run it; decrement `helpers`. It helps with each posting
//! once: when it comes back, the work's parts are taken, and it would only spin on `helpers`.
//!
//! ## Why a helper never touches work that has ended
//!
//! The work lives on the collector's stack, and `share` returns once the collector's run is over
//! and `helpers` is 0. A helper reads `work` only between its increment and its decrement, and
//! only after it loaded `posted = 1`. The collector stores `posted = 0` and then loads
//! `helpers`; a helper increments `helpers` and then loads `posted`: all four are sequentially
//! consistent, so in their single total order one of the two loads comes after the other side's
//! write. Either the helper's load comes after the clear (it sees 0, or a later number, and reads
//! nothing), or the
//! collector's load comes after the increment (it sees the helper and waits for its decrement).
//! This is the anonymous gate's argument (see the [`world`](super::world) module).
//!
//! `work` is written only while `posted` is 0, before the store that sets it, and read only
//! after a load that returned that number (which acquires that store); a helper that loaded it
//! holds up the next write of `work` by its increment. So the cell is never read while written.
//!
//! ## Memory
//!
//! Setting `posted` releases what the collector did before (the stop's handshake acquired what
//! every mutator did before it parked); a helper's load that sees it acquires that. A helper's
//! decrement releases what it did, and the collector's load of `helpers` that returns 0 acquires
//! it: when `share` returns, everything the helpers wrote is visible to the collector, and it
//! happens-before the restart.
//!
//! The words go through gc-core's [`Platform`], so `loom-tests` checks this code (a collector
//! sharing work with a parked mutator), and a variant without sequential consistency.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

use gc_core::sync::{AtomicWord, Platform};

/// Work a collector shares with the parked mutators (see [`HelpBoard::share`]).
///
/// [`run`](SharedWork::run) is called by the collector and by any number of helpers at once,
/// each on its own thread; between them they must do the work exactly once (each call takes
/// parts of it until none are left, and returns). It must not unwind: a helper runs it in the
/// middle of a safepoint. Work that calls code which may panic catches the panic and hands it to
/// the collector.
pub trait SharedWork: Sync {
    /// Takes parts of the work and does them until none are left.
    fn run(&self);
}

/// The work the collector of a stopped world shares with the mutators it holds at their
/// safepoints (see the [module docs](self)).
pub struct HelpBoard<P: Platform> {
    posted: P::AtomicUsize,
    /// The number of the last posting (written by collectors only, one at a time).
    last: P::AtomicUsize,
    helpers: P::AtomicUsize,
    /// The posted work; its lifetime is erased (see `share`).
    work: UnsafeCell<Option<NonNull<dyn SharedWork + 'static>>>,
}

// SAFETY: `work` is written by the collector only while no helper can read it, and read by
// helpers only after a load that acquires the write (the module docs); the work it points to is
// `Sync`.
unsafe impl<P: Platform> Sync for HelpBoard<P> {}
// SAFETY: as above; the pointer is only an address while nothing is posted.
unsafe impl<P: Platform> Send for HelpBoard<P> {}

impl<P: Platform> Default for HelpBoard<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Platform> HelpBoard<P> {
    /// A board with nothing posted.
    pub fn new() -> Self {
        HelpBoard {
            posted: P::AtomicUsize::new(0),
            last: P::AtomicUsize::new(0),
            helpers: P::AtomicUsize::new(0),
            work: UnsafeCell::new(None),
        }
    }

    /// The number of the posting on the board, or 0 if none may be: one relaxed load, for a
    /// helper's wait loop, which passes it to [`help`](HelpBoard::help).
    #[inline]
    pub fn posting(&self) -> usize {
        self.posted.load(Relaxed)
    }

    /// Posts `work`, runs it on this thread, and returns once every helper that took part has
    /// left it: then `work` is done, and everything the helpers wrote is visible here.
    ///
    /// # Safety
    ///
    /// No other thread shares work on this board until this call returns: the caller holds the
    /// collector role of the board's world (with the world stopped, so that the helpers are
    /// mutators held at their safepoints). Two calls at once would write the posted work's cell
    /// while a helper may read it.
    pub unsafe fn share(&self, work: &(dyn SharedWork + '_)) {
        // SAFETY: only the lifetime is erased. The pointer is read by helpers between this
        // store of `posted` and the wait for `helpers` below (module docs), while `work` is
        // borrowed; it is not dereferenced after this function returns.
        let erased: NonNull<dyn SharedWork + 'static> =
            unsafe { std::mem::transmute(NonNull::from(work)) };
        // SAFETY: `posted` is 0 and no helper that saw it set is left (the last `share` waited
        // for them, and no other is running: the caller's promise), so no thread reads the cell
        // now (module docs).
        unsafe { *self.work.get() = Some(erased) };
        let posting = match self.last.load(Relaxed).wrapping_add(1) {
            0 => 1,
            posting => posting,
        };
        self.last.store(posting, Relaxed);
        self.posted.store(posting, SeqCst);
        work.run();
        self.posted.store(0, SeqCst);
        let mut turn = 0u32;
        while self.helpers.load(SeqCst) != 0 {
            P::backoff(turn);
            turn = turn.saturating_add(1);
        }
    }

    /// Helps with the work of `posting` (a nonzero number [`posting`](HelpBoard::posting)
    /// returned) if it is still posted: runs it and returns `true`, or returns `false` if it
    /// is not. Called by a mutator held at a safepoint of a stopped world.
    pub fn help(&self, posting: usize) -> bool {
        self.helpers.fetch_add(1, SeqCst);
        let helped = posting != 0 && self.posted.load(SeqCst) == posting;
        if helped {
            // SAFETY: `posted` held `posting` when this thread, already counted in `helpers`,
            // loaded it: the cell holds the work of the current `share`, written before that
            // store, and that `share` does not return (its work stays borrowed) until this
            // thread leaves `helpers` (module docs).
            let work = unsafe { *self.work.get() };
            if let Some(work) = work {
                // SAFETY: as above, the work is alive until this thread's decrement.
                unsafe { work.as_ref() }.run();
            }
        }
        // `SeqCst`, though `Release` is all the argument needs (module docs: the decrements
        // form a release sequence, which the collector's load that returns 0 acquires). With
        // `Release`, Miri reported a data race between a helper's part and the collector's read
        // of the results after `share` (once in CI, in `sync_stress`), and so it did on 28 of
        // 40 seeds for a litmus of this protocol with three helpers; with `SeqCst`, on none.
        // The two orders cost the same here (once per posting).
        self.helpers.fetch_sub(1, SeqCst);
        helped
    }
}
