//! Stopping the world: the handshake between the shared collector and the threads that use the
//! shared heap (mutators).
//!
//! ## Thread states
//!
//! Every registered mutator has a [`ThreadState`], one atomic word:
//!
//! | state | meaning | who leaves it |
//! |---|---|---|
//! | `RUNNING` | may run heap code: allocate, lock a [`GcLock`](super::GcLock), store into an [`AtomicGc`](super::AtomicGc), free | the mutator, at a safepoint (→ `PARKED`) or entering [`blocking`](super::blocking) (→ `BLOCKING`) |
//! | `PARKED` | stopped at a safepoint because a collection was requested | the mutator, once no stop is requested and the collector does not hold it |
//! | `BLOCKING` | runs code that does not touch the heap (a blocking call, a long computation) | the mutator, when it returns to heap code |
//! | `+ HELD` (a bit on `PARKED` or `BLOCKING`) | the collector has claimed the thread: it may not return to `RUNNING` | the collector, when it restarts the world |
//!
//! Threads that are not registered (one that never allocated, or one whose registration is
//! already destroyed because it is exiting) are counted together in one word, `anonymous`: the
//! number of them inside a heap operation right now.
//!
//! ## The protocol
//!
//! **Collector** ([`World::stop`]): take the collector role (one collector at a time); set
//! `stop`; then for each registered thread, wait until it is `PARKED` or `BLOCKING` and claim it
//! with a compare-and-swap to the same state plus `HELD`; then wait until `anonymous` is zero.
//! Now no mutator can run heap code until [`World::restart`] clears `stop` and every `HELD` bit
//! (or [`World::release`] does, and the collector keeps its role until [`World::resign`]: it
//! finishes a collection with the world running, and no other thread stops it meanwhile).
//! A collector that will not wait forever ([`World::try_stop`]) may give up while it waits: it
//! then restarts the threads it had claimed, exactly as `restart` does.
//!
//! **Mutator at a safepoint** ([`World::safepoint`]): if `stop` is set, store `PARKED` and wait
//! until the state is plain `PARKED` (not `HELD`) *and* `stop` is clear, then compare-and-swap
//! `PARKED → RUNNING`. While it waits held (`PARKED + HELD`: the world is stopped), it helps
//! with the work the collector posts on the world's [`HelpBoard`] (each posting once): the
//! collection's walks, which the collector splits in parts (see `sync/collector.rs`). The board
//! keeps the work alive until every helper has left it, before the collector restarts anyone.
//!
//! **Mutator around a blocking section** ([`World::enter_blocking`], [`World::leave_blocking`]):
//! store `BLOCKING`; afterwards compare-and-swap `BLOCKING → RUNNING`, waiting while it fails
//! (the state is `BLOCKING + HELD`).
//!
//! **Anonymous threads** ([`World::enter_anonymous`], [`World::leave_anonymous`]): wait until
//! `stop` is clear, increment `anonymous`, and check `stop` again: if it is set, decrement and
//! start over. Leave by decrementing.
//!
//! ## Why no mutator runs heap code while the world is stopped
//!
//! - *Registered threads.* Only the mutator moves its state out of `RUNNING`, and only the
//!   collector sets or clears `HELD`. The collector claims a thread with a compare-and-swap from
//!   `PARKED` or `BLOCKING`; the mutator leaves either state only by a compare-and-swap from the
//!   same state without `HELD`. The two exchanges are on one word, so exactly one succeeds: either
//!   the mutator got back to `RUNNING` first (and the collector, seeing `RUNNING`, waits for its
//!   next safepoint), or the claim came first (and the mutator waits until `restart`).
//! - *Anonymous threads.* `stop` and `anonymous` are written and read sequentially consistently:
//!   the collector stores `stop` then loads `anonymous`; a thread increments `anonymous` then
//!   loads `stop`. In the single total order of these four operations one of the two loads comes
//!   after the other side's write: either the thread sees `stop` and backs out, or the collector
//!   sees the thread and waits for its decrement.
//! - *Memory.* Every claim is an acquire exchange that reads the state the mutator released
//!   (`PARKED` and `BLOCKING` are stored with release), and every return to `RUNNING` acquires
//!   what the collector released when it cleared `HELD`: what a mutator did before it stopped
//!   happens-before the collection, and the collection happens-before what it does next.
//!
//! ## No deadlock
//!
//! The collector waits only for `RUNNING` threads, which reach a safepoint by the contract of
//! the heap (every allocation is one; code that runs long without allocating calls
//! [`safepoint`](super::safepoint) or runs inside [`blocking`](super::blocking)). A mutator that
//! must wait for something another thread holds — a [`GcLock`](super::GcLock) held by a parked
//! thread — waits inside a blocking section, so the collector can claim it.
//!
//! ## Waiting by yielding, not sleeping
//!
//! A parked mutator spins briefly and then yields its core ([`Platform::backoff`]) until the
//! restart, however long the pause: it never sleeps. Sleeping was tried — a held mutator slept on
//! its state word (the `Parking` of `GcLock`'s lock) after about 100 µs of yielding, and
//! `restart` woke it — and not kept. On `shared-churn` (`sync-atomic`, `--scale medium`, 2
//! mutators, alternating runs of both builds) it cut the run's kernel time from 304 to 44 ms
//! (medians) and its CPU time by 19 %, with no change in wall time when only automatic
//! collections ran (501 against 512 ns per node, 6 rounds), but with the workload's collection
//! every 10 ms the runs took 1.14× as long (median of 12 paired rounds; 9 of them slower): on
//! this 2-core virtual machine, waking two sleeping threads after each pause costs more than
//! the yields it saves. A parked mutator's kernel time is the price of a prompt restart; the
//! report's CPU-time columns show it.
//!
//! The word operations go through gc-core's [`Platform`], so `loom-tests` checks this very code
//! (a collector and two mutators, one in a blocking section; a parked mutator that helps the
//! collector), and deliberately broken variants.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

use gc_core::sync::{AtomicWord, Platform};

use super::help_board::HelpBoard;

const RUNNING: usize = 0;
const PARKED: usize = 1;
const BLOCKING: usize = 2;
const HELD: usize = 4;

/// One mutator's state in the handshake (see the [module docs](self)).
pub struct ThreadState<P: Platform> {
    state: P::AtomicUsize,
}

impl<P: Platform> ThreadState<P> {
    /// A running thread's state.
    pub fn new() -> Self {
        ThreadState {
            state: P::AtomicUsize::new(RUNNING),
        }
    }

    /// Whether the thread is inside a blocking section (it may be held by a collector).
    pub fn is_blocking(&self) -> bool {
        self.state.load(Relaxed) & BLOCKING != 0
    }
}

impl<P: Platform> Default for ThreadState<P> {
    fn default() -> Self {
        Self::new()
    }
}

/// The shared words of the handshake: whether a stop is requested, who collects, and how many
/// anonymous threads are inside a heap operation.
pub struct World<P: Platform> {
    stop: P::AtomicUsize,
    collector: P::AtomicUsize,
    anonymous: P::AtomicUsize,
    board: HelpBoard<P>,
}

impl<P: Platform> Default for World<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Platform> World<P> {
    /// A world with no collector and no stop requested.
    pub fn new() -> Self {
        World {
            stop: P::AtomicUsize::new(0),
            collector: P::AtomicUsize::new(0),
            anonymous: P::AtomicUsize::new(0),
            board: HelpBoard::new(),
        }
    }

    /// Where the collector of the stopped world posts work for the mutators it holds at their
    /// safepoints: they run it while they wait (see [`HelpBoard`]). Only the collector, with
    /// the world stopped, may [`share`](HelpBoard::share) work.
    pub fn help_board(&self) -> &HelpBoard<P> {
        &self.board
    }

    /// Whether a collector has asked the world to stop.
    #[inline(always)]
    pub fn stop_requested(&self) -> bool {
        self.stop.load(SeqCst) != 0
    }

    /// A safepoint of the running mutator `me`: parks until the collection ends if one is
    /// requested. One load when none is.
    #[inline]
    pub fn safepoint(&self, me: &ThreadState<P>) {
        if self.stop_requested() {
            self.park(me);
        }
    }

    #[cold]
    fn park(&self, me: &ThreadState<P>) {
        debug_assert_eq!(me.state.load(Relaxed), RUNNING);
        me.state.store(PARKED, Release);
        let mut turn = 0u32;
        // The last posting of the help board this thread looked at.
        let mut seen = 0;
        loop {
            let state = me.state.load(Relaxed);
            if state == PARKED && !self.stop_requested() {
                if me
                    .state
                    .compare_exchange_weak(PARKED, RUNNING, Acquire, Relaxed)
                    .is_ok()
                {
                    return;
                }
                continue;
            }
            // Held: the world is stopped, and its collector may have posted work. After helping,
            // spin before yielding again: the collection's next walk may be posted soon.
            if state == PARKED | HELD {
                let posting = self.board.posting();
                if posting != 0 && posting != seen {
                    seen = posting;
                    if self.board.help(posting) {
                        turn = 0;
                    }
                }
            }
            P::backoff(turn);
            turn = turn.saturating_add(1);
        }
    }

    /// The running mutator `me` enters a blocking section: a collector need not wait for it.
    #[inline]
    pub fn enter_blocking(&self, me: &ThreadState<P>) {
        debug_assert_eq!(me.state.load(Relaxed), RUNNING);
        me.state.store(BLOCKING, Release);
    }

    /// The mutator `me` leaves its blocking section, waiting while a collector holds it.
    #[inline]
    pub fn leave_blocking(&self, me: &ThreadState<P>) {
        let mut turn = 0u32;
        while me
            .state
            .compare_exchange_weak(BLOCKING, RUNNING, Acquire, Relaxed)
            .is_err()
        {
            P::backoff(turn);
            turn = turn.saturating_add(1);
        }
    }

    /// An unregistered thread starts a heap operation, waiting while a collection runs.
    pub fn enter_anonymous(&self) {
        let mut turn = 0u32;
        loop {
            while self.stop_requested() {
                P::backoff(turn);
                turn = turn.saturating_add(1);
            }
            self.anonymous.fetch_add(1, SeqCst);
            if !self.stop_requested() {
                return;
            }
            self.anonymous.fetch_sub(1, SeqCst);
        }
    }

    /// An unregistered thread ends the heap operation [`enter_anonymous`](World::enter_anonymous)
    /// began.
    pub fn leave_anonymous(&self) {
        self.anonymous.fetch_sub(1, Release);
    }

    /// Tries to take the collector role: `false` if another thread holds it — or, rarely, on a
    /// spurious failure of the compare-and-swap (callers retry in a loop).
    pub fn try_become_collector(&self) -> bool {
        self.collector
            .compare_exchange_weak(0, 1, Acquire, Relaxed)
            .is_ok()
    }

    /// Gives up the collector role taken by [`try_become_collector`](World::try_become_collector),
    /// with no thread stopped (none was, or [`release`](World::release) let them go).
    pub fn resign(&self) {
        self.collector.store(0, Release);
    }

    /// Stops every mutator in `threads` (the collector's own state, if it is registered, must not
    /// be among them) and every anonymous one. Returns once none can run heap code.
    ///
    /// The caller holds the collector role ([`try_become_collector`](World::try_become_collector))
    /// and passes the same threads to [`restart`](World::restart); no thread joins `threads` in
    /// between (the registry sees to that).
    pub fn stop<'a, I>(&self, threads: I)
    where
        I: IntoIterator<Item = &'a ThreadState<P>> + Clone,
    {
        let stopped = self.try_stop(threads, || false);
        debug_assert!(stopped);
    }

    /// As [`stop`](World::stop), but gives up if `give_up` returns `true` while it waits for a
    /// thread to reach a safepoint: then it lets the threads it had stopped go, gives up the
    /// collector role, and returns `false`. A thread blocked outside a blocking section (on a
    /// join, a channel, a lock that is not a `GcLock`) never reaches a safepoint, and a collector
    /// that must not wait forever for it uses this.
    pub fn try_stop<'a, I>(&self, threads: I, mut give_up: impl FnMut() -> bool) -> bool
    where
        I: IntoIterator<Item = &'a ThreadState<P>> + Clone,
    {
        self.stop.store(1, SeqCst);
        for (claimed, thread) in threads.clone().into_iter().enumerate() {
            let mut turn = 0u32;
            loop {
                let state = thread.state.load(Relaxed);
                if (state == PARKED || state == BLOCKING)
                    && thread
                        .state
                        .compare_exchange_weak(state, state | HELD, Acquire, Relaxed)
                        .is_ok()
                {
                    break;
                }
                debug_assert_eq!(state & HELD, 0, "a thread held by another collector");
                if give_up() {
                    self.restart(threads.into_iter().take(claimed));
                    return false;
                }
                P::backoff(turn);
                turn = turn.saturating_add(1);
            }
        }
        let mut turn = 0u32;
        while self.anonymous.load(SeqCst) != 0 {
            if give_up() {
                self.restart(threads);
                return false;
            }
            P::backoff(turn);
            turn = turn.saturating_add(1);
        }
        // Acquire what the last anonymous thread did before it left.
        let _ = self.anonymous.load(Acquire);
        true
    }

    /// Lets the mutators stopped by [`stop`](World::stop) run again and gives up the collector
    /// role.
    pub fn restart<'a>(&self, threads: impl IntoIterator<Item = &'a ThreadState<P>>) {
        self.release(threads);
        self.resign();
    }

    /// Lets the mutators stopped by [`stop`](World::stop) run again, but keeps the collector
    /// role: no other thread stops the world until [`resign`](World::resign). The collector
    /// finishes a collection this way, with the world running (see `sync/collector.rs`).
    pub fn release<'a>(&self, threads: impl IntoIterator<Item = &'a ThreadState<P>>) {
        self.stop.store(0, SeqCst);
        for thread in threads {
            let old = thread.state.fetch_sub(HELD, Release);
            debug_assert_ne!(old & HELD, 0, "restarting a thread that was not stopped");
        }
    }
}
