//! [`MarkSweep`]: a tracing cycle detector — mark from the externally referenced objects, in
//! parallel, then sweep.
//!
//! 1. **Roots** — [`gc_refs::compute_by_generation`] (or, with a thread pool,
//!    [`gc_refs::compute_parallel`]), the first half of CPython's trial deletion: an examined
//!    object whose strong count exceeds the references from other examined objects is referenced
//!    from outside the set (a handle, an older generation, an untracked object). Those objects
//!    are alive, and so is everything they reach.
//! 2. **Mark** — by default the parallel marking engine of `gc_core::mark`, after Endo, Taura
//!    and Yonezawa (SC 1997) and Flood, Detlefs, Shavit and Zhang (JVM 2001): workers with
//!    work-stealing deques, an atomic test-and-set mark in the top bit of each header's scratch
//!    word (below it `gc_refs` stays untouched), and a termination protocol; or, with
//!    [`ParallelMarking::Finger`], the finger walk split over the workers. Edges are followed
//!    only into the examined set. With one worker, or a set too small to be worth waking threads
//!    for, the marking is sequential, with plain loads and stores, and walks the examined list in
//!    address order with a "finger" (Printezis and Detlefs, ISMM 2000; see
//!    `gc_core::mark::finger`), so that the hardware prefetcher streams the objects it traces.
//! 3. **Sweep** — one walk of the examined list: a marked object survives (its marks are
//!    cleared and it is tagged with the generation it moves to); an unmarked one is unreachable
//!    and moves to the garbage list, which the heap tears down by the same rules as for every
//!    detector (weak handles cleared first, no member freed while the values drop, memory
//!    freed last).
//!
//! Trial deletion does the same job as steps 2 and 3 in one sequential walk
//! (`move_unreachable`); what mark–sweep adds is that the marking — the part that follows every
//! edge of the live objects — spreads over several threads. Nothing recurses: a 10 000 000-node
//! chain costs no call stack, only deque or stack memory.
//!
//! The workers read the heap of the collecting thread while that thread waits for them; the
//! `gc_core::mark` module docs explain why that is sound for a heap whose objects are not `Send`.

use gc_core::header::flags;
use gc_core::mark::{is_marked, FingerMarker, HeaderGraph, HeaderNode, Marker};
use gc_core::{CycleDetector, Detection, Examined, Header, ObjectList};

use super::gc_refs;

/// The thread pool the parallel marking runs on: rayon's, except under Miri, whose leak check
/// wants every thread joined before the program ends (a rayon pool's threads outlive it).
#[cfg(not(miri))]
pub(crate) type Workers = gc_core::mark::RayonPool;
#[cfg(miri)]
pub(crate) type Workers = gc_core::mark::ScopedThreads;

/// The most workers a [`MarkSweep`] runs.
pub const MAX_WORKERS: usize = 64;

/// Examined objects below which a collection marks sequentially even with several workers.
/// Waking the pool and joining it costs tens of microseconds (measured on the 2-core reference
/// machine: a collection of 1 000 live objects took 48 µs with a parallel marking and 12 µs with
/// a sequential one); below a few tens of thousands of objects the threads cannot earn that back.
pub const DEFAULT_PARALLEL_THRESHOLD: usize = 20_000;

/// Mark–sweep with parallel marking from the roots that trial deletion's first pass finds. See
/// the [module docs](self).
///
/// ```
/// use gc_refcount::{gc, Gc, GcCell, HeapConfig, MarkSweep, Trace};
///
/// #[derive(Trace)]
/// struct Node { next: GcCell<Option<Gc<Node>>> }
///
/// gc::configure(HeapConfig::default().detector(MarkSweep::new(2))).unwrap();
/// let a = Gc::new(Node { next: GcCell::new(None) });
/// *a.next.borrow_mut() = Some(a.clone());
/// drop(a);
/// assert_eq!(gc::collect(), 1);
/// ```
pub struct MarkSweep {
    workers: usize,
    parallel_marking: ParallelMarking,
    parallel_threshold: usize,
    name: &'static str,
    /// The engine; its thread pool is started at the first parallel marking.
    marker: Marker<HeaderGraph, Workers>,
    /// The roots of a parallel marking, kept for their allocation.
    roots: Vec<HeaderNode>,
    /// The examined objects of a parallel collection (filled by the first `gc_refs` pass), kept
    /// for their allocation.
    members: Vec<HeaderNode>,
    /// The finger marking, kept for its buffers.
    finger: FingerMarker<HeaderGraph>,
}

impl std::fmt::Debug for MarkSweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarkSweep")
            .field("workers", &self.workers)
            .field("parallel_marking", &self.parallel_marking)
            .field("parallel_threshold", &self.parallel_threshold)
            .finish()
    }
}

/// The graph the marker sees: the examined objects.
const EXAMINED: HeaderGraph = HeaderGraph::new(flags::EXAMINED);

/// How a [`MarkSweep`] with several workers marks a set of at least its parallel threshold.
/// (Smaller sets, and one worker, always take the sequential finger walk.)
///
/// Neither wins everywhere. `--bench mark` on the reference machine, one run, criterion medians,
/// ms: `full_collection` (1 000 000 live objects, the whole `gc::collect()`) and `mark` (marking
/// alone, 4 000 000 objects, edges anywhere):
///
/// | heap | work stealing, 2 workers | finger, 2 workers | one worker (finger) |
/// |---|---|---|---|
/// | `full_collection/random` (edges anywhere) | 89.5 | 75.1 | 101.9 |
/// | `full_collection/local` (edges among the 64 objects allocated around) | 56.6 | 75.3 | 26.7 |
/// | `full_collection/fields-random` | 40.7 | 34.6 | 53.6 |
/// | `full_collection/fields-local` | 30.5 | 19.1 | 15.9 |
/// | `mark` | 180.0 (engine alone, 1 worker: 297.6) | 116.0 | 219.2 |
///
/// The finger's chunks only pay when the marks they need arrive in time: in `local`, whose
/// reachability runs forward through the allocation order, the second worker passes its chunk
/// before anything in it is marked, and the first then traces all of it out of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParallelMarking {
    /// The marking engine (`gc_core::mark::Marker`): depth-first from the roots, work-stealing
    /// deques, a termination protocol. Detector name `mark-sweep:N`.
    #[default]
    WorkStealing,
    /// The finger walk split over the workers (`gc_core::mark::FingerMarker::mark_parallel`):
    /// each claims chunks of the examined objects in list order and walks them. Detector name
    /// `mark-sweep-finger:N`.
    Finger,
}

impl MarkSweep {
    /// Mark–sweep with `workers` marking threads (1: sequential marking, no thread is started),
    /// clamped to `1..=MAX_WORKERS`.
    pub fn new(workers: usize) -> Self {
        let workers = workers.clamp(1, MAX_WORKERS);
        MarkSweep {
            workers,
            parallel_marking: ParallelMarking::WorkStealing,
            parallel_threshold: DEFAULT_PARALLEL_THRESHOLD,
            name: NAMES[workers - 1],
            marker: Marker::sequential(EXAMINED),
            roots: Vec::new(),
            members: Vec::new(),
            finger: FingerMarker::new(EXAMINED),
        }
    }

    /// Marks sequentially when fewer than `objects` objects are examined
    /// ([`DEFAULT_PARALLEL_THRESHOLD`] by default; 0 makes every marking parallel).
    pub fn parallel_threshold(mut self, objects: usize) -> Self {
        self.parallel_threshold = objects;
        self
    }

    /// How several workers mark ([`ParallelMarking::WorkStealing`] by default).
    pub fn parallel_marking(mut self, marking: ParallelMarking) -> Self {
        self.parallel_marking = marking;
        self.name = match marking {
            ParallelMarking::WorkStealing => NAMES[self.workers - 1],
            ParallelMarking::Finger => FINGER_NAMES[self.workers - 1],
        };
        self
    }

    /// The number of marking threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Parses a detector name: `mark-sweep` (as many workers as the machine has processors),
    /// `mark-sweep:N` (N workers, 1 to [`MAX_WORKERS`]), or `mark-sweep-finger` and
    /// `mark-sweep-finger:N` (the same, marking with [`ParallelMarking::Finger`]).
    ///
    /// ```
    /// use gc_refcount::MarkSweep;
    /// assert_eq!(MarkSweep::from_name("mark-sweep:2").unwrap().workers(), 2);
    /// assert_eq!(MarkSweep::from_name("mark-sweep-finger:2").unwrap().workers(), 2);
    /// assert!(MarkSweep::from_name("mark-sweep:0").is_none());
    /// assert!(MarkSweep::from_name("mark-sweep-finger:").is_none());
    /// assert!(MarkSweep::from_name("trial-deletion").is_none());
    /// ```
    pub fn from_name(name: &str) -> Option<MarkSweep> {
        let rest = name.strip_prefix("mark-sweep")?;
        let (marking, count) = match rest.strip_prefix("-finger") {
            Some(count) => (ParallelMarking::Finger, count),
            None => (ParallelMarking::WorkStealing, rest),
        };
        let detector = match count {
            "" => MarkSweep::default(),
            count => {
                let workers: usize = count.strip_prefix(':')?.parse().ok()?;
                if !(1..=MAX_WORKERS).contains(&workers) {
                    return None;
                }
                MarkSweep::new(workers)
            }
        };
        Some(detector.parallel_marking(marking))
    }

    /// Marks everything reachable from the roots (examined objects with `gc_refs > 0`); returns
    /// whether the parallel engine ran. `pool`: the thread pool is started, and
    /// [`gc_refs::compute_parallel`] (rather than [`gc_refs::compute_by_generation`]) ran.
    ///
    /// # Safety
    ///
    /// As [`CycleDetector::find_garbage`], after [`gc_refs::compute_by_generation`] or
    /// [`gc_refs::compute_parallel`] on `objects`.
    unsafe fn mark(&mut self, objects: &ObjectList, members: usize, pool: bool) -> bool {
        if pool && members >= self.parallel_threshold {
            // With the pool started, `gc_refs::compute_parallel` filled the members vector.
            match self.parallel_marking {
                ParallelMarking::WorkStealing => {
                    for &object in &self.members {
                        // SAFETY: members are live (the caller's promise).
                        if unsafe { gc_refs::is_root(object.edge()) } {
                            self.roots.push(object);
                        }
                    }
                    // SAFETY: every root and every examined object reachable from it is live
                    // and tracked, with a `Trace` that may run on the pool's threads while this
                    // thread waits (see the `gc_core::mark` module docs); nothing else touches
                    // the scratch words until the marker returns.
                    unsafe { self.marker.mark(&mut self.roots) };
                }
                ParallelMarking::Finger => {
                    let spawner = self.marker.spawner().expect("a started pool");
                    // SAFETY: as above; the members are exactly the examined objects, each once,
                    // and none is marked or passed yet.
                    unsafe { self.finger.mark_parallel(&mut self.members, spawner) };
                }
            }
            return true;
        }
        let walk = std::iter::successors(objects.first(), |&object| {
            // SAFETY: a member of `examined`, live (the caller's promise); the walk unlinks none.
            unsafe { objects.next(object) }
        });
        // SAFETY: the caller's promise; nothing has marked yet.
        unsafe { self.finger.mark(walk.map(HeaderNode::from)) };
        false
    }

    /// Starts the thread pool unless it runs already; `false` if the system refused threads
    /// (the collection then marks sequentially).
    fn start_pool(&mut self) -> bool {
        if self.marker.workers() == self.workers {
            return true;
        }
        match new_workers(self.workers) {
            Some(workers) => {
                self.marker = Marker::parallel(EXAMINED, workers);
                true
            }
            None => false,
        }
    }
}

#[cfg(not(miri))]
pub(crate) fn new_workers(workers: usize) -> Option<Workers> {
    gc_core::mark::RayonPool::new(workers).ok()
}

#[cfg(miri)]
pub(crate) fn new_workers(workers: usize) -> Option<Workers> {
    Some(gc_core::mark::ScopedThreads::new(workers))
}

impl Default for MarkSweep {
    /// As many workers as the machine has processors (`std::thread::available_parallelism`).
    fn default() -> Self {
        MarkSweep::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// Sweeps `examined` after marking: unmarked objects move to `garbage` (flagged unreachable),
/// survivors get their marks cleared and are tagged `survivors_to`. Returns the garbage count.
///
/// # Safety
///
/// Every member of `examined` is live; `garbage` is empty.
unsafe fn sweep(examined: &ObjectList, garbage: &ObjectList, survivors_to: u32) -> usize {
    let mut found = 0;
    let mut cursor = examined.first();
    while let Some(object) = cursor {
        // SAFETY: `object` is a live member of `examined`.
        cursor = unsafe { examined.next(object) };
        // SAFETY: as above.
        let header = unsafe { Header::from_ptr(object) };
        if is_marked(header) {
            header.clear_marks_into(survivors_to);
            header.set_scratch(0);
        } else {
            // SAFETY: linked into `examined`, whose members are live; then in no list.
            unsafe {
                ObjectList::unlink(object);
                garbage.push_back(object);
            }
            header.set(flags::UNREACHABLE);
            found += 1;
        }
    }
    found
}

// SAFETY: an object moves to `garbage` only if it is unmarked after marking, and marking reaches
// every examined object that a root (an object referenced from outside the examined set) reaches
// through examined objects. An examined object that no such path reaches is referenced only by
// examined objects that are themselves unreached — or by none — so it is unreachable from every
// handle and every object outside `garbage`. Survivors stay in `examined` with their marks
// cleared. If a `Trace` impl panics during marking, the panic leaves `find_garbage` before any
// object has moved, and the heap restores every mark.
unsafe impl CycleDetector for MarkSweep {
    fn name(&self) -> &'static str {
        self.name
    }

    unsafe fn find_garbage(&mut self, examined: Examined<'_>, garbage: &ObjectList) -> Detection {
        let objects = examined.objects;
        let pool = self.workers > 1 && self.start_pool();
        let members = if pool {
            let spawner = self.marker.spawner().expect("a started pool");
            // SAFETY: the caller's promise covers `compute_parallel`'s: the objects are live and
            // frozen, and their `Trace` may run on the pool's threads while this thread waits.
            unsafe {
                gc_refs::compute_parallel(
                    objects,
                    spawner,
                    self.parallel_threshold,
                    &mut self.members,
                )
            }
        } else {
            // SAFETY: the caller's promise covers `compute_by_generation`'s, and the tags are
            // exact: the heap keeps them where it moves objects and `sweep` tags every survivor
            // (see `Examined::generation`).
            unsafe { gc_refs::compute_by_generation(objects, examined.generation) }
        };
        // SAFETY: as above; the counts are computed.
        unsafe { self.mark(objects, members, pool) };

        let survivors_to = flags::generation_tag(examined.survivors_to);
        // SAFETY: as above.
        let found = unsafe { sweep(objects, garbage, survivors_to) };

        Detection {
            examined: members,
            garbage: found,
        }
    }
}

/// `[prefix1, prefix2, …, prefix64]`, built at compile time: the detector names by worker count.
macro_rules! names {
    ($prefix:literal) => {
        names!($prefix;
            1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
            33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
            62 63 64)
    };
    ($prefix:literal; $($n:literal)*) => {
        [$(concat!($prefix, $n)),*]
    };
}

/// Detector names by worker count: `NAMES[n - 1]` is `"mark-sweep:n"`.
const NAMES: [&str; MAX_WORKERS] = names!("mark-sweep:");

/// Detector names by worker count with finger marking: `FINGER_NAMES[n - 1]` is
/// `"mark-sweep-finger:n"`.
const FINGER_NAMES: [&str; MAX_WORKERS] = names!("mark-sweep-finger:");
