//! Termination detection: when is a parallel marking phase over?
//!
//! The protocol is Flood et al.'s (2001, section 4): one shared count of the workers that are
//! *active* — that may hold a grey object — and a rule that a worker decrements it only when it
//! holds none. The full argument, with the orderings, is in `TERMINATION.md` beside this file;
//! in short:
//!
//! - the count starts at the number of workers (a worker that has not started yet counts as
//!   active);
//! - a worker that runs dry (own deque empty, the roots used up, one round of steals failed)
//!   decrements it ([`Termination::go_idle`]) and then waits ([`Termination::wait_for_work`]):
//!   while the count is not zero, it watches the other workers' deques; when one looks non-empty
//!   it increments the count *before* stealing ([`Termination::rejoin`]) and decrements it again
//!   if the steal fails;
//! - the increment refuses to leave zero, so zero is final: the phase is over the first time the
//!   count reads zero, and every worker sees the same verdict.
//!
//! A panic in a worker sets the [`POISONED`] bit instead; every waiting worker then gives up, and
//! the spawner re-raises the panic once all of them have returned.

use std::marker::PhantomData;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};

use crate::sync::{AtomicWord, Platform};

/// Set in the count when a worker panicked: the phase is abandoned, its marks are meaningless.
pub const POISONED: usize = 1 << (usize::BITS - 1);

/// The shared state of the termination protocol: the count of active workers.
pub struct Termination<P: Platform> {
    active: P::AtomicUsize,
    _platform: PhantomData<P>,
}

impl<P: Platform> Termination<P> {
    /// The state for a phase of `workers` workers, all counted active.
    pub fn new(workers: usize) -> Self {
        assert!(workers > 0 && workers < POISONED, "bad worker count");
        Termination {
            active: P::AtomicUsize::new(workers),
            _platform: PhantomData,
        }
    }

    /// The calling worker holds no grey object and its deque is empty: it stops counting as
    /// active. Release: everything it did (its marks, its scans) happens-before any load that
    /// reads the count it leaves, and so before the phase end that a worker detects.
    pub fn go_idle(&self) {
        let before = self.active.fetch_sub(1, Release);
        debug_assert!(before & !POISONED > 0, "went idle twice");
    }

    /// Whether the phase is over: no worker is active, or one panicked. Acquire: a worker that
    /// sees the phase over also sees everything every worker did before going idle (the
    /// decrements form one release sequence on the count).
    pub fn is_over(&self) -> bool {
        let active = self.active.load(Acquire);
        active == 0 || active & POISONED != 0
    }

    /// An idle worker becomes active again, to steal. Fails, leaving the count at zero, if the
    /// phase is over (zero is final) or poisoned. Every load here is Acquire, the failed ones
    /// included: a worker that fails to rejoin concludes that the phase is over, and must then
    /// see what every worker did, exactly as if [`Termination::is_over`] had said so. (With a
    /// Relaxed first load, loom finds the execution in which a worker exits here without seeing
    /// the last scans.)
    pub fn rejoin(&self) -> bool {
        let mut current = self.active.load(Acquire);
        loop {
            if current == 0 || current & POISONED != 0 {
                return false;
            }
            match self
                .active
                .compare_exchange_weak(current, current + 1, AcqRel, Acquire)
            {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// A worker panicked: every worker waiting in [`Termination::wait_for_work`] gives up.
    pub fn poison(&self) {
        self.active.fetch_or(POISONED, Release);
    }

    /// Whether a worker panicked.
    pub fn is_poisoned(&self) -> bool {
        self.active.load(Acquire) & POISONED != 0
    }

    /// The idle loop of a worker that has run dry. Goes idle, then waits until the phase is
    /// over ([`Wait::Over`]), or `steal` hands it a grey object ([`Wait::Work`], the worker
    /// counted active again), or — only on a platform with a finite
    /// [`SPIN_LIMIT`](Platform::SPIN_LIMIT) — it has waited that many turns in a row
    /// ([`Wait::GaveUp`]: the worker stops without knowing whether the phase is over, which is
    /// safe because it holds nothing). `work_visible` says whether another worker's deque looks
    /// non-empty; it is only a hint, which the steal then checks.
    pub fn wait_for_work<T>(
        &self,
        mut work_visible: impl FnMut() -> bool,
        mut steal: impl FnMut() -> Option<T>,
    ) -> Wait<T> {
        self.go_idle();
        let mut turn = 0;
        loop {
            if self.is_over() {
                return Wait::Over;
            }
            if work_visible() {
                // Counted active before taking anything: a stolen object is never held by a
                // worker the count does not include.
                if !self.rejoin() {
                    return Wait::Over;
                }
                if let Some(item) = steal() {
                    return Wait::Work(item);
                }
                self.go_idle();
                turn = 0;
            }
            if turn >= P::SPIN_LIMIT {
                return Wait::GaveUp;
            }
            P::backoff(turn);
            turn += 1;
        }
    }
}

/// How [`Termination::wait_for_work`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait<T> {
    /// A stolen grey object; the worker counts as active again.
    Work(T),
    /// The phase is over (or poisoned): no grey object is left anywhere.
    Over,
    /// The platform's spin limit was reached; the worker holds nothing and stops.
    GaveUp,
}
