//! Starting the marking workers: the [`Spawn`] trait and its instances.
//!
//! A marking phase runs one worker per thread, all at the same time, and waits for all of them.
//! Where the threads come from is a policy of its own:
//!
//! - [`RayonPool`] — a private rayon thread pool, created once and reused by every marking phase
//!   (waking a parked thread costs microseconds; creating one costs tens). Production.
//! - [`ScopedThreads`] — `std::thread::scope`: new threads for every phase, all joined before it
//!   returns. No thread outlives the call, which is what Miri's leak check wants; also the
//!   baseline that shows what the pool saves.
//! - `LoomThreads` (cargo feature `loom`) — loom's threads, for the models.

use std::fmt;

/// Runs the workers of one marking phase.
///
/// # Contract
///
/// [`Spawn::run`] calls `work` once for every item, **each call on its own thread, all of them
/// concurrently** (a worker may start late, but no call waits for another to finish before it
/// starts), and returns the results in item order once every call has returned. The marking
/// engine depends on this: its termination protocol counts the workers that have not yet gone
/// idle, and a worker that never starts would keep the others waiting forever. If a call
/// panics, `run` panics too, after every call has returned.
pub trait Spawn {
    /// How many workers `run` can run at once.
    fn workers(&self) -> usize;

    /// Runs `work(item)` for every item concurrently, each on its own thread; returns the results
    /// in item order. `items.len()` is at most [`Spawn::workers`].
    fn run<W, R>(&self, items: Vec<W>, work: fn(W) -> R) -> Vec<R>
    where
        W: Send + 'static,
        R: Send + 'static;
}

/// Workers from a private rayon thread pool of a fixed size, created once.
pub struct RayonPool {
    pool: rayon::ThreadPool,
}

impl fmt::Debug for RayonPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RayonPool")
            .field("workers", &self.pool.current_num_threads())
            .finish()
    }
}

impl RayonPool {
    /// A pool of `workers` threads named `gclab-mark-N`. Fails if the operating system refuses
    /// to start the threads.
    ///
    /// # Panics
    ///
    /// If `workers` is 0.
    pub fn new(workers: usize) -> std::io::Result<Self> {
        assert!(workers > 0, "a marking pool needs at least one worker");
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|index| format!("gclab-mark-{index}"))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(RayonPool { pool })
    }
}

impl Spawn for RayonPool {
    fn workers(&self) -> usize {
        self.pool.current_num_threads()
    }

    fn run<W, R>(&self, items: Vec<W>, work: fn(W) -> R) -> Vec<R>
    where
        W: Send + 'static,
        R: Send + 'static,
    {
        assert!(items.len() <= self.workers(), "more workers than threads");
        let mut results: Vec<Option<R>> = items.iter().map(|_| None).collect();
        // The calling thread is not one of the pool's: it blocks until every job is done. Each
        // job occupies its thread until the phase ends (it never returns to rayon's scheduler in
        // between), so with no more jobs than threads every job gets a thread of its own: they
        // all run concurrently, as the contract requires.
        self.pool.in_place_scope(|scope| {
            for (item, slot) in items.into_iter().zip(results.iter_mut()) {
                scope.spawn(move |_| *slot = Some(work(item)));
            }
        });
        results
            .into_iter()
            .map(|result| result.expect("a worker that returned left its result"))
            .collect()
    }
}

/// Workers on threads started for each phase with `std::thread::scope`; the calling thread runs
/// the first item itself.
#[derive(Debug, Clone, Copy)]
pub struct ScopedThreads {
    workers: usize,
}

impl ScopedThreads {
    /// Up to `workers` workers per phase.
    ///
    /// # Panics
    ///
    /// If `workers` is 0.
    pub fn new(workers: usize) -> Self {
        assert!(workers > 0, "a marking phase needs at least one worker");
        ScopedThreads { workers }
    }
}

impl Spawn for ScopedThreads {
    fn workers(&self) -> usize {
        self.workers
    }

    fn run<W, R>(&self, items: Vec<W>, work: fn(W) -> R) -> Vec<R>
    where
        W: Send + 'static,
        R: Send + 'static,
    {
        assert!(items.len() <= self.workers, "more workers than threads");
        let mut items = items.into_iter();
        let Some(first) = items.next() else {
            return Vec::new();
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = items.map(|item| scope.spawn(move || work(item))).collect();
            let mut results = vec![work(first)];
            for handle in handles {
                match handle.join() {
                    Ok(result) => results.push(result),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            results
        })
    }
}

#[cfg(feature = "loom")]
pub use self::loom_threads::LoomThreads;

#[cfg(feature = "loom")]
mod loom_threads {
    use super::Spawn;

    /// Workers on loom's threads; the calling (model) thread runs the first item itself, which
    /// saves one of loom's few threads and some interleavings. Works only inside `loom::model`.
    #[derive(Debug, Clone, Copy)]
    pub struct LoomThreads {
        workers: usize,
    }

    impl LoomThreads {
        /// Up to `workers` workers (loom allows at most 4 besides the model thread).
        ///
        /// # Panics
        ///
        /// If `workers` is 0 or more than loom can run.
        pub fn new(workers: usize) -> Self {
            assert!(
                (1..loom::MAX_THREADS).contains(&workers),
                "loom runs 1 to {} workers",
                loom::MAX_THREADS - 1
            );
            LoomThreads { workers }
        }
    }

    impl Spawn for LoomThreads {
        fn workers(&self) -> usize {
            self.workers
        }

        fn run<W, R>(&self, items: Vec<W>, work: fn(W) -> R) -> Vec<R>
        where
            W: Send + 'static,
            R: Send + 'static,
        {
            assert!(items.len() <= self.workers, "more workers than threads");
            let mut items = items.into_iter();
            let Some(first) = items.next() else {
                return Vec::new();
            };
            let handles: Vec<_> = items
                .map(|item| loom::thread::spawn(move || work(item)))
                .collect();
            let mut results = vec![work(first)];
            for handle in handles {
                results.push(handle.join().expect("a marking worker panicked"));
            }
            results
        }
    }
}
