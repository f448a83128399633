//! [`Parts`]: a walk of the stopped world split into parts, which the collector and the parked
//! mutators that help it (see [`HelpBoard`](super::help_board::HelpBoard)) take one at a time.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use super::help_board::SharedWork;
use super::registry::{as_stopped_world, StoppedWorld};

/// A walk split into parts, and the threads that do them: each part's state (its range of the
/// walk, and where its results go), each thread's state (results that are the thread's own, so
/// that parts done by one thread can share them), and the function that does one part.
///
/// Parts are handed out in order, one at a time, to whichever thread asks: a thread that comes
/// late, or is slowed down, takes fewer. Each thread that joins takes the next worker state;
/// a thread that finds none left does nothing.
pub(crate) struct Parts<T, W, F> {
    parts: Vec<Mutex<T>>,
    workers: Vec<Mutex<W>>,
    /// The next part to hand out.
    next: AtomicUsize,
    /// The next worker state to hand out.
    joined: AtomicUsize,
    /// How many threads did at least one part.
    worked: AtomicUsize,
    /// Does one part.
    walk: F,
    /// The first panic of a part (a `Trace` impl's), resumed by the collector.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl<T: Send, W: Send, F: Fn(&mut T, &mut W) + Sync> Parts<T, W, F> {
    /// Does every part of `parts` with `walk`, on this thread and on the parked threads that
    /// help, each with one of `workers` (only this thread, if there is one worker), and returns
    /// the parts and the workers, with their results, and how many threads did parts.
    ///
    /// # Panics
    ///
    /// If `workers` is empty, or if `walk` panicked in some part, once every part is over (the
    /// others are done).
    pub(crate) fn run(
        world: &StoppedWorld,
        mut parts: Vec<T>,
        mut workers: Vec<W>,
        walk: F,
    ) -> (Vec<T>, Vec<W>, usize) {
        if let [worker] = &mut workers[..] {
            for part in &mut parts {
                walk(part, worker);
            }
            return (parts, workers, 1);
        }
        assert!(!workers.is_empty(), "a walk with no worker");
        let split = Parts {
            parts: parts.into_iter().map(Mutex::new).collect(),
            workers: workers.into_iter().map(Mutex::new).collect(),
            next: AtomicUsize::new(0),
            joined: AtomicUsize::new(0),
            worked: AtomicUsize::new(0),
            walk,
            panic: Mutex::new(None),
        };
        world.share(&split);
        if let Some(panic) = split
            .panic
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
        {
            resume_unwind(panic);
        }
        let worked = split.worked.into_inner();
        (into_inner(split.parts), into_inner(split.workers), worked)
    }
}

/// The values of `mutexes`.
fn into_inner<T>(mutexes: Vec<Mutex<T>>) -> Vec<T> {
    mutexes
        .into_iter()
        .map(|value| value.into_inner().unwrap_or_else(PoisonError::into_inner))
        .collect()
}

impl<T: Send, W: Send, F: Fn(&mut T, &mut W) + Sync> SharedWork for Parts<T, W, F> {
    fn run(&self) {
        // Each worker state and each part is taken once: the counters hand out every index once.
        let Some(worker) = self.workers.get(self.joined.fetch_add(1, Relaxed)) else {
            return;
        };
        let mut worker = worker.lock().unwrap_or_else(PoisonError::into_inner);
        let mut first = true;
        as_stopped_world(|| loop {
            let Some(part) = self.parts.get(self.next.fetch_add(1, Relaxed)) else {
                return;
            };
            if std::mem::take(&mut first) {
                self.worked.fetch_add(1, Relaxed);
            }
            let mut part = part.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(panic) =
                catch_unwind(AssertUnwindSafe(|| (self.walk)(&mut part, &mut worker)))
            {
                self.panic
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(panic);
            }
        })
    }
}
