//! [`MarkSweep`]: a tracing cycle detector — mark from the externally referenced objects, in
//! parallel, then sweep.
//!
//! 1. **Roots** — [`gc_refs::compute_by_generation`] (or, with a thread pool when the edges
//!    are sampled, [`gc_refs::compute_parallel`]), the first half of CPython's trial deletion:
//!    an examined object whose strong count exceeds the references from other examined objects
//!    is referenced from outside the set (a handle, an older generation, an untracked object).
//!    Those objects are alive, and so is everything they reach.
//! 2. **Mark** — a walk of the examined objects in list order with a "finger" (Printezis and
//!    Detlefs, ISMM 2000; `gc_core::mark::finger`): the list is in allocation order, which the
//!    pool allocator makes address order, so the hardware prefetcher streams the objects it
//!    traces. The mark is the top bit of each header's scratch word (below it `gc_refs` stays
//!    untouched); edges are followed only into the examined set. With several workers and a large
//!    set whose edges mostly lead far from their source, the walk is split: the workers claim
//!    chunks of the list in order and walk them at once, with an atomic mark (see
//!    [`MarkSweep`] for when, and the figures).
//! 3. **Sweep** — a marked object survives (its marks are cleared and it is tagged with the
//!    generation it moves to); an unmarked one is unreachable and moves to the garbage list,
//!    which the heap tears down by the same rules as for every detector (weak handles cleared
//!    first, no member freed while the values drop, memory freed last). When one walk marks, the
//!    sweep rides along: each object is finished with as soon as the walk has traced it, and only
//!    the objects the walk passed unmarked are looked at again afterwards
//!    (`SweepWhileMarking`). After a split walk, one more walk of the examined list sweeps.
//!
//! Trial deletion does the same job as steps 2 and 3 in one sequential walk
//! (`move_unreachable`), as one walk of mark–sweep does; what mark–sweep adds is that the
//! marking — the part that follows every edge of the live objects — spreads over several
//! threads. Nothing recurses: a 10 000 000-node
//! chain costs no call stack, only stack memory.
//!
//! The workers read the heap of the collecting thread while that thread waits for them; the
//! `gc_core::mark` module docs explain why that is sound for a heap whose objects are not `Send`.
//! (The work-stealing engine of `gc_core::mark`, `Marker`, marked for this detector before the
//! finger walk could be split; see [`MarkSweep`] for how the two compare.)

use gc_core::header::flags;
use gc_core::mark::{is_marked, FingerMarker, HeaderGraph, HeaderNode, Retire};
use gc_core::{CycleDetector, Detection, Edge, Examined, Header, ObjectList};

use super::gc_refs;
use crate::scratch::clear_scratch;

/// The thread pool the parallel marking runs on: rayon's, except under Miri, whose leak check
/// wants every thread joined before the program ends (a rayon pool's threads outlive it).
#[cfg(not(miri))]
type Workers = gc_core::mark::RayonPool;
#[cfg(miri)]
type Workers = gc_core::mark::ScopedThreads;

/// The most workers a [`MarkSweep`] runs.
pub const MAX_WORKERS: usize = 64;

/// Examined objects below which a collection marks sequentially even with several workers.
/// Waking the pool and joining it costs tens of microseconds (measured on the 2-core reference
/// machine: a collection of 1 000 live objects took 48 µs with a parallel marking and 12 µs with
/// a sequential one); below a few tens of thousands of objects the threads cannot earn that back.
pub const DEFAULT_PARALLEL_THRESHOLD: usize = 20_000;

/// With several workers, a large set is marked by one walk when at least this fraction of its
/// sampled edges lead near their source, and by a split walk otherwise (see [`MarkSweep`]).
pub const ONE_WALK_NEAR_EDGES: f64 = 0.75;

/// Objects whose edges are sampled to decide how to mark (see [`ONE_WALK_NEAR_EDGES`]).
pub const NEAR_EDGE_SAMPLE: usize = 1024;

/// Generations whose last collection's marking a [`MarkSweep`] remembers: every generation a
/// scheduler may have (a deeper one would share the last slot).
const GENERATIONS: usize = gc_core::MAX_GENERATIONS;

/// Mark–sweep with parallel marking from the roots that trial deletion's first pass finds. See
/// the [module docs](self).
///
/// ## When several workers mark
///
/// One finger walk streams through a set whose edges lead near their source (to objects
/// allocated close by: lists, trees, parsed documents): most targets are cached when it tests
/// them. There a split walk loses: reachability runs forward through the allocation order, so a
/// worker's chunk is usually passed before anything in it is marked, and another worker then
/// traces it out of order. Where edges lead anywhere, the walk waits on cache misses and a split
/// walk overlaps them. So with several workers and at least the parallel threshold of objects,
/// the collection samples the edges of [`NEAR_EDGE_SAMPLE`] objects spread over the set
/// (`FingerMarker::near_edges`): if at least [`ONE_WALK_NEAR_EDGES`] of them are near, one walk
/// on this thread marks (and the external counts are computed on this thread too); otherwise
/// both are split over the workers.
///
/// Sampling needs the members in a vector, which costs the count a second walk. So the detector
/// remembers, for each oldest generation examined, whether its last collection was marked by one
/// walk (being below the threshold, or having mostly near edges). If so, the next such
/// collection counts in one walk and marks by one walk without sampling, and the walk's own
/// tally of near and far edges (`FingerMarker::last_near_edges`) decides whether the one after
/// samples again. A heap whose edges turn far pays one collection marked on one thread before
/// the split comes back.
///
/// Measured on the reference machine, `--bench mark` (`full_collection`, 1 000 000 live objects,
/// the whole `gc::collect()`), criterion medians, ms. The engine's column comes from a run made
/// before the choice existed; the others from one run of today's code:
///
/// | graph | near edges | split walk, 2 workers | one walk (1 worker) | work-stealing engine, 2 workers | `mark-sweep:2`, choosing | trial deletion |
/// |---|---|---|---|---|---|---|
/// | `random` (edges anywhere) | 0.3 % | 72.7 | 102.3 | 89.5 | 68.5 (split) | 100.6 |
/// | `fields-random` (a tree, and one edge anywhere) | 48 % | 36.9 | 49.2 | 40.7 | 44.7, 34.8–40.5 in other runs (split) | 61.1 |
/// | `local` (edges among the 64 objects allocated around) | 99.7 % | 76.2 | 22.7 | 56.6 | 22.6 (one walk) | 20.1 |
/// | `fields-local` | 99.7 % | 23.5 | 11.9 | 30.5 | 11.4 (one walk) | 9.0 |
///
/// Marking alone (`mark`, 4 000 000 objects, edges anywhere): the split walk 116.0 ms with 2
/// workers against 219.2 with one (1.89×); the engine 180.0 against 297.6 (1.65×).
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
    parallel_threshold: usize,
    always_split: bool,
    name: &'static str,
    /// The thread pool, started at the first collection that can use it.
    pool: Option<Workers>,
    /// The examined objects of a collection that samples its edges (filled by the first pass of
    /// `gc_refs::compute_parallel`), kept for their allocation (see `clear_scratch`).
    members: Vec<HeaderNode>,
    /// The finger marking, kept for its buffers.
    finger: FingerMarker<HeaderGraph>,
    /// The objects a sequential marking passed unmarked, kept for its allocation (see
    /// `clear_scratch`).
    passed: Vec<HeaderNode>,
    /// By the oldest generation examined: whether the last such collection (with the pool
    /// started) was marked by one walk, being small or having mostly near edges. The next one
    /// then counts in one walk too, without sampling first (see [`MarkSweep`]).
    one_walk_last: [bool; GENERATIONS],
}

impl std::fmt::Debug for MarkSweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarkSweep")
            .field("workers", &self.workers)
            .field("parallel_threshold", &self.parallel_threshold)
            .field("always_split", &self.always_split)
            .finish()
    }
}

/// The graph the marker sees: the examined objects.
const EXAMINED: HeaderGraph = HeaderGraph::new(flags::EXAMINED);

impl MarkSweep {
    /// Mark–sweep with `workers` marking threads (1: sequential marking, no thread is started),
    /// clamped to `1..=MAX_WORKERS`.
    pub fn new(workers: usize) -> Self {
        let workers = workers.clamp(1, MAX_WORKERS);
        MarkSweep {
            workers,
            parallel_threshold: DEFAULT_PARALLEL_THRESHOLD,
            always_split: false,
            name: NAMES[workers - 1],
            pool: None,
            members: Vec::new(),
            finger: FingerMarker::new(EXAMINED),
            passed: Vec::new(),
            one_walk_last: [false; GENERATIONS],
        }
    }

    /// Marks sequentially when fewer than `objects` objects are examined
    /// ([`DEFAULT_PARALLEL_THRESHOLD`] by default; 0: every set may be split).
    pub fn parallel_threshold(mut self, objects: usize) -> Self {
        self.parallel_threshold = objects;
        self
    }

    /// Splits the marking over the workers for every set of at least the parallel threshold,
    /// however near its edges lead (by default one walk marks a set whose edges are mostly near;
    /// see [`MarkSweep`]). For comparing the two, and for tests that must run the split walk on
    /// small graphs.
    pub fn always_split(mut self) -> Self {
        self.always_split = true;
        self
    }

    /// The number of marking threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Parses a detector name: `mark-sweep` (as many workers as the machine has processors) or
    /// `mark-sweep:N` (N workers, 1 to [`MAX_WORKERS`]).
    ///
    /// ```
    /// use gc_refcount::MarkSweep;
    /// assert_eq!(MarkSweep::from_name("mark-sweep:2").unwrap().workers(), 2);
    /// assert!(MarkSweep::from_name("mark-sweep:0").is_none());
    /// assert!(MarkSweep::from_name("trial-deletion").is_none());
    /// ```
    pub fn from_name(name: &str) -> Option<MarkSweep> {
        match name.strip_prefix("mark-sweep")? {
            "" => Some(MarkSweep::default()),
            count => {
                let workers: usize = count.strip_prefix(':')?.parse().ok()?;
                (1..=MAX_WORKERS)
                    .contains(&workers)
                    .then(|| MarkSweep::new(workers))
            }
        }
    }

    /// Starts the thread pool unless it runs already; leaves none if the system refused threads
    /// (the collection then runs on this thread alone).
    fn start_pool(&mut self) {
        if self.pool.is_none() {
            self.pool = new_workers(self.workers);
        }
    }
}

#[cfg(not(miri))]
fn new_workers(workers: usize) -> Option<Workers> {
    gc_core::mark::RayonPool::new(workers).ok()
}

#[cfg(miri)]
fn new_workers(workers: usize) -> Option<Workers> {
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
            // SAFETY: linked into `examined`, whose members are live.
            unsafe { move_to_garbage(object, garbage) };
            found += 1;
        }
    }
    found
}

/// Unlinks `object` from the examined list, appends it to `garbage` and flags it unreachable.
///
/// # Safety
///
/// `object` is live and linked into a list whose members are live.
unsafe fn move_to_garbage(object: Edge, garbage: &ObjectList) {
    // SAFETY: the caller's promise; once unlinked, it is in no list.
    unsafe {
        ObjectList::unlink(object);
        garbage.push_back(object);
        Header::from_ptr(object).set(flags::UNREACHABLE);
    }
}

/// The sweep folded into a sequential marking: an object the walk traces is reachable, and is
/// done with at once (its marks cleared, tagged with the generation it moves to), which takes it
/// out of the examined set; the objects the walk passes unmarked are kept, in list order, for
/// [`sweep_passed`]. Spares the walk over every examined object that [`sweep`] makes. Measured
/// on `full_collection` (`--bench mark`, 1 000 000 live objects, `mark-sweep:1`, criterion
/// medians of two alternating runs, ms): `local` 25.8–26.1 → 23.0, `fields-local` 16.2–17.2 →
/// 12.0–12.1, `random` 106.5–106.7 → 103.9–104.1.
struct SweepWhileMarking<'a> {
    survivors_to: u32,
    passed: &'a mut Vec<HeaderNode>,
}

impl<'a> SweepWhileMarking<'a> {
    /// # Safety
    ///
    /// Every node reported to it is a live examined object of the collection in progress.
    unsafe fn new(survivors_to: u32, passed: &'a mut Vec<HeaderNode>) -> Self {
        SweepWhileMarking {
            survivors_to,
            passed,
        }
    }
}

impl Retire<HeaderNode> for SweepWhileMarking<'_> {
    #[inline(always)]
    fn traced(&mut self, node: HeaderNode) {
        // SAFETY: a live examined object (`new`'s contract).
        let header = unsafe { Header::from_ptr(node.edge()) };
        // Clearing EXAMINED takes it out of the marking's graph (`HeaderGraph::is_node`).
        header.clear_marks_into(self.survivors_to);
        header.set_scratch(0);
    }

    #[inline(always)]
    fn passed(&mut self, node: HeaderNode) {
        self.passed.push(node);
    }
}

/// Finishes a sweep folded into the marking ([`SweepWhileMarking`]): of the objects the walk
/// passed unmarked, those still examined were never traced, so they are unreachable and move to
/// `garbage` (flagged). Returns their number.
///
/// # Safety
///
/// `passed` holds live objects of the collection, each once; `garbage` is empty.
unsafe fn sweep_passed(passed: &[HeaderNode], garbage: &ObjectList) -> usize {
    let mut found = 0;
    for &node in passed {
        let object = node.edge();
        // SAFETY: live (the caller's promise).
        let header = unsafe { Header::from_ptr(object) };
        if header.has(flags::EXAMINED) {
            // SAFETY: still examined, so still linked into the examined list, whose members are
            // live.
            unsafe { move_to_garbage(object, garbage) };
            found += 1;
        }
    }
    found
}

// SAFETY: an object moves to `garbage` only if it is unmarked after marking (or, when the sweep
// rides along with one walk, never traced, which is the same set), and marking reaches every
// examined object that a root (an object referenced from outside the examined set) reaches
// through examined objects. An examined object that no such path reaches is referenced only by
// examined objects that are themselves unreached — or by none — so it is unreachable from every
// handle and every object outside `garbage`. Survivors stay in `examined` with their marks
// cleared. If a `Trace` impl panics during marking, the panic leaves `find_garbage` before any
// object has moved, and the heap restores every mark and generation tag.
unsafe impl CycleDetector for MarkSweep {
    fn name(&self) -> &'static str {
        self.name
    }

    unsafe fn find_garbage(&mut self, examined: Examined<'_>, garbage: &ObjectList) -> Detection {
        let objects = examined.objects;
        // Survivors that stay in the oldest generation examined: a collection of the heap's
        // oldest generation, so of every generation (every schedule promotes towards the last).
        let full = examined.survivors_to == examined.generation;
        if self.workers > 1 {
            // Without threads (the system refused them) the collection runs as with one worker.
            self.start_pool();
        }
        let slot = examined.generation.min(GENERATIONS - 1);
        // With the pool, sample the edges unless the last collection of this generation found
        // one walk enough.
        let sample = self.pool.is_some() && (self.always_split || !self.one_walk_last[slot]);
        let (members, split) = match self.pool.as_ref() {
            Some(spawner) if sample => {
                let threshold = self.parallel_threshold;
                let always_split = self.always_split;
                let finger = &mut self.finger;
                let split = |members: &[HeaderNode]| {
                    members.len() >= threshold
                        && (always_split
                            // SAFETY: the members are live, counted (their scratch words hold
                            // strong counts, which the sampling does not read) and frozen.
                            || unsafe { finger.near_edges(members, NEAR_EDGE_SAMPLE) }
                                < ONE_WALK_NEAR_EDGES)
                };
                // SAFETY: the caller's promise covers `compute_parallel`'s: the objects are live
                // and frozen, and their `Trace` may run on the pool's threads while this thread
                // waits.
                unsafe { gc_refs::compute_parallel(objects, spawner, &mut self.members, split) }
            }
            _ => {
                // SAFETY: the caller's promise covers `compute_by_generation`'s, and the tags
                // are exact: the heap keeps them where it moves objects, and every survivor is
                // tagged by `sweep` or `SweepWhileMarking` (see `Examined::generation`).
                let members =
                    unsafe { gc_refs::compute_by_generation(objects, examined.generation) };
                (members, false)
            }
        };
        let survivors_to = flags::generation_tag(examined.survivors_to);
        // The markings' common ground: every examined object is live and frozen with its
        // `gc_refs` computed, none is marked or passed yet, and no other code touches the scratch
        // words until the marking returns (but `SweepWhileMarking`, on this thread, clearing those
        // of the objects a one-walk marking has traced).
        self.passed.clear();
        // SAFETY: the nodes the walks report are examined objects, live for the collection.
        let mut retire = unsafe { SweepWhileMarking::new(survivors_to, &mut self.passed) };
        let found = match self.pool.as_ref() {
            Some(spawner) if split => {
                // SAFETY: as above; the members vector holds exactly the examined objects, each
                // once, and their `Trace` may run on the pool's threads while this thread waits
                // (see the `gc_core::mark` module docs).
                unsafe { self.finger.mark_parallel(&mut self.members, spawner) };
                // SAFETY: as above.
                unsafe { sweep(objects, garbage, survivors_to) }
            }
            _ => {
                // One walk of the list, whether or not the counting filled the members vector
                // (which holds the same objects in the same order).
                let walk = std::iter::successors(objects.first(), |&object| {
                    // SAFETY: a live member of `examined`; the walk unlinks none.
                    unsafe { objects.next(object) }
                });
                // SAFETY: as above; the walk yields exactly the examined objects, and
                // `SweepWhileMarking` takes each traced one out of the examined set.
                unsafe {
                    self.finger
                        .mark_retiring(walk.map(HeaderNode::from), &mut retire)
                };
                // SAFETY: the walk reported each examined object at most once as passed, and
                // `garbage` is still empty.
                unsafe { sweep_passed(&self.passed, garbage) }
            }
        };
        if self.pool.is_some() {
            self.one_walk_last[slot] = if sample {
                !split
            } else {
                // Judged by the edges the walk followed, as the sampling would have.
                members < self.parallel_threshold
                    || self.finger.last_near_edges() >= ONE_WALK_NEAR_EDGES
            };
        }

        if full {
            // A collection of every object is as large as the next ones until the next such
            // collection: if the heap has shrunk since the buffers' peak, they give it back.
            clear_scratch(&mut self.members, members);
            clear_scratch(&mut self.passed, members);
        }
        Detection {
            examined: members,
            garbage: found,
            split,
        }
    }
}

/// Detector names by worker count: `NAMES[n - 1]` is `"mark-sweep:n"`.
const NAMES: [&str; MAX_WORKERS] = names();

/// Builds [`NAMES`] at compile time.
const fn names() -> [&'static str; MAX_WORKERS] {
    macro_rules! names {
        ($($n:literal)*) => {
            [$(concat!("mark-sweep:", $n)),*]
        };
    }
    names!(
        1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
        33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
        62 63 64
    )
}
