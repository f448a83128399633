//! Work-stealing deques: where a marking worker keeps its grey objects.
//!
//! Each worker owns one deque. It pushes the objects it has just marked and pops them back in
//! LIFO order (depth first, which keeps the deque short and the caches warm); other workers take
//! from the other end (FIFO, the oldest and usually the largest pieces of work) when they run
//! dry. This is the arrangement of Arora, Blumofe and Plaxton's scheduler, used for marking by
//! Flood et al. (2001) and Endo et al. (1997).
//!
//! The engine sees the deque through two small traits, so that the model checker can replace it:
//!
//! - [`WorkQueue`] — the owner's end: `push`, `pop`, and a [`Stealer`] handle for the others;
//! - [`Stealer`] — a thief's end: `steal_batch_and_pop`, `is_empty`.
//!
//! Production uses crossbeam-deque's Chase–Lev deque (`crossbeam_deque::Worker`), whose steal
//! moves up to half of the victim's items to the thief in one operation ([`MutexDeque`] under
//! Miri). The loom instance,
//! `LoomDeque` (cargo feature `loom`), is a `VecDeque` behind loom's mutex: obviously correct,
//! and visible to the checker, so that the models check the engine's hand-off logic rather than
//! crossbeam's (which has its own tests).

/// The outcome of a steal, as crossbeam-deque reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steal<T> {
    /// The victim's deque was empty.
    Empty,
    /// One item was taken (and, for batch steals, perhaps more moved to the thief's deque).
    Success(T),
    /// A race with another thread; the deque may hold items: try again.
    Retry,
}

/// The owner's end of a work-stealing deque.
///
/// ## Memory ordering
///
/// - A `push` happens-before the `pop` or the steal (through any [`Stealer`]) that returns the
///   pushed item, so the thread that takes an item sees everything its pusher did before the push.
/// - Every item pushed is returned exactly once, by `pop` or by a steal.
/// - If the owner's `pop` returns `None`, the deque is empty and stays so until the owner pushes.
pub trait WorkQueue<T: Send + 'static>: Send + Sized + 'static {
    /// The handle other workers steal through.
    type Stealer: Stealer<T, Self>;

    /// A new, empty deque whose owner pops in LIFO order.
    fn new_lifo() -> Self;
    /// A thief's handle to this deque.
    fn stealer(&self) -> Self::Stealer;
    /// Pushes an item (owner only).
    fn push(&self, item: T);
    /// Pops the most recently pushed item (owner only).
    fn pop(&self) -> Option<T>;
    /// Whether the deque is empty (owner only). Thieves may take items right after a `false`;
    /// nobody else can add any after a `true`.
    fn is_empty(&self) -> bool;
}

/// A thief's end of a work-stealing deque `Q`.
pub trait Stealer<T: Send + 'static, Q>: Send + Sync + 'static {
    /// Takes the oldest item; may also move more of the victim's items into `dest` (the thief's
    /// own deque).
    fn steal_batch_and_pop(&self, dest: &Q) -> Steal<T>;
    /// Whether the deque looked empty. Only a hint: it may change right after the call.
    fn is_empty(&self) -> bool;
}

impl<T: Send + 'static> WorkQueue<T> for crossbeam_deque::Worker<T> {
    type Stealer = crossbeam_deque::Stealer<T>;

    #[inline]
    fn new_lifo() -> Self {
        crossbeam_deque::Worker::new_lifo()
    }

    #[inline]
    fn stealer(&self) -> Self::Stealer {
        crossbeam_deque::Worker::stealer(self)
    }

    #[inline(always)]
    fn push(&self, item: T) {
        crossbeam_deque::Worker::push(self, item);
    }

    #[inline(always)]
    fn pop(&self) -> Option<T> {
        crossbeam_deque::Worker::pop(self)
    }

    #[inline(always)]
    fn is_empty(&self) -> bool {
        crossbeam_deque::Worker::is_empty(self)
    }
}

impl<T: Send + 'static> Stealer<T, crossbeam_deque::Worker<T>> for crossbeam_deque::Stealer<T> {
    #[inline]
    fn steal_batch_and_pop(&self, dest: &crossbeam_deque::Worker<T>) -> Steal<T> {
        match crossbeam_deque::Stealer::steal_batch_and_pop(self, dest) {
            crossbeam_deque::Steal::Empty => Steal::Empty,
            crossbeam_deque::Steal::Success(item) => Steal::Success(item),
            crossbeam_deque::Steal::Retry => Steal::Retry,
        }
    }

    #[inline]
    fn is_empty(&self) -> bool {
        crossbeam_deque::Stealer::is_empty(self)
    }
}

/// A work-stealing deque as a `VecDeque` behind `std`'s mutex: the owner pushes and pops at the
/// back, a thief takes half of the items (at least one) from the front. Slower than
/// crossbeam's lock-free deque; the production platform uses it only under Miri, whose
/// strict-provenance mode rejects crossbeam-epoch's integer-to-pointer casts.
#[derive(Debug)]
pub struct MutexDeque<T>(std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<T>>>);

/// A thief's handle to a [`MutexDeque`].
#[derive(Debug)]
pub struct MutexStealer<T>(std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<T>>>);

fn lock_std<T>(
    deque: &std::sync::Mutex<std::collections::VecDeque<T>>,
) -> std::sync::MutexGuard<'_, std::collections::VecDeque<T>> {
    deque
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<T: Send + 'static> WorkQueue<T> for MutexDeque<T> {
    type Stealer = MutexStealer<T>;

    fn new_lifo() -> Self {
        MutexDeque(Default::default())
    }

    fn stealer(&self) -> MutexStealer<T> {
        MutexStealer(std::sync::Arc::clone(&self.0))
    }

    fn push(&self, item: T) {
        lock_std(&self.0).push_back(item);
    }

    fn pop(&self) -> Option<T> {
        lock_std(&self.0).pop_back()
    }

    fn is_empty(&self) -> bool {
        lock_std(&self.0).is_empty()
    }
}

impl<T: Send + 'static> Stealer<T, MutexDeque<T>> for MutexStealer<T> {
    fn steal_batch_and_pop(&self, dest: &MutexDeque<T>) -> Steal<T> {
        // Take the batch under the victim's lock only, then hand it to `dest`: never two locks
        // at once, so two workers stealing from each other cannot deadlock.
        let batch: Vec<T> = {
            let mut victim = lock_std(&self.0);
            let take = victim.len().div_ceil(2);
            victim.drain(..take).collect()
        };
        let mut batch = batch.into_iter();
        match batch.next() {
            Some(first) => {
                let mut own = lock_std(&dest.0);
                own.extend(batch);
                Steal::Success(first)
            }
            None => Steal::Empty,
        }
    }

    fn is_empty(&self) -> bool {
        lock_std(&self.0).is_empty()
    }
}

#[cfg(feature = "loom")]
pub use self::loom_deque::LoomDeque;

#[cfg(feature = "loom")]
mod loom_deque {
    use std::collections::VecDeque;

    use loom::sync::{Arc, Mutex};

    use super::{Steal, Stealer, WorkQueue};

    /// The loom instance of a work-stealing deque: a `VecDeque` behind loom's mutex. The owner
    /// pushes and pops at the back; a thief takes one item from the front (no batch: the batch
    /// size is crossbeam's business, and a steal of one already exercises every hand-off the
    /// engine must handle). Works only inside `loom::model`.
    #[derive(Debug)]
    pub struct LoomDeque<T>(Arc<Mutex<VecDeque<T>>>);

    /// A thief's handle to a [`LoomDeque`].
    #[derive(Debug)]
    pub struct LoomStealer<T>(Arc<Mutex<VecDeque<T>>>);

    fn lock<T>(deque: &Mutex<VecDeque<T>>) -> loom::sync::MutexGuard<'_, VecDeque<T>> {
        deque
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    impl<T: Send + 'static> WorkQueue<T> for LoomDeque<T> {
        type Stealer = LoomStealer<T>;

        fn new_lifo() -> Self {
            LoomDeque(Arc::new(Mutex::new(VecDeque::new())))
        }

        fn stealer(&self) -> LoomStealer<T> {
            LoomStealer(self.0.clone())
        }

        fn push(&self, item: T) {
            lock(&self.0).push_back(item);
        }

        fn pop(&self) -> Option<T> {
            lock(&self.0).pop_back()
        }

        fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
    }

    impl<T: Send + 'static> Stealer<T, LoomDeque<T>> for LoomStealer<T> {
        fn steal_batch_and_pop(&self, _dest: &LoomDeque<T>) -> Steal<T> {
            match lock(&self.0).pop_front() {
                Some(item) => Steal::Success(item),
                None => Steal::Empty,
            }
        }

        fn is_empty(&self) -> bool {
            lock(&self.0).is_empty()
        }
    }
}
