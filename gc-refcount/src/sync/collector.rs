//! The shared collector: trial deletion over the tracked shared objects (every one, or the young
//! ones: see [`SharedSchedule`](super::SharedSchedule)), with the world stopped, and the
//! tear-down of what it finds.
//!
//! ## One collection
//!
//! 1. **Stop the world** (`registry::StoppedWorld`): every other registered thread is parked at
//!    a safepoint or held in a blocking section; no thread can register, allocate, free, lock a
//!    [`GcLock`](super::GcLock) or store into an [`AtomicGc`](super::AtomicGc) until the restart.
//! 2. **Merge, then count.** What threads queued to other threads (biased counting) is merged
//!    into the counts first, from every registered thread's mailbox, as the owners would at their
//!    next safepoint; an object the merges leave with no reference is freed once the world runs
//!    again. Then trial deletion, as the thread-local `TrialDeletion`: every examined object gets
//!    `gc_refs` = its count as [`Counts::collector_count`](super::counts::Counts::collector_count)
//!    reads it (a queued entry outside every mailbox counts as a reference from outside: the
//!    thread holding it may be running); an object whose count is zero is being freed — by a
//!    thread that waits for the collection to end or is parked inside a `Drop` — and its value is
//!    never read: it is a root with no edges (its references count as external). The examined
//!    objects are found by walking the pages the shared objects live in (the `pages` module),
//!    and each one's number, its place among them, is written into its header. Each examined
//!    object's value is traced **once**, in the same walk: its edges are recorded,
//!    and then each edge to an examined object subtracts one from its target's `gc_refs` (see
//!    `examine` for why in two walks). Objects left with `gc_refs > 0` are referenced from
//!    outside the examined objects (a handle on some thread's stack, a thread-local object, a
//!    static, an object not examined): they are the roots. The walk that traces and the one
//!    that subtracts are split in parts, which the mutators parked at their safepoints take
//!    while they wait (see `Split`): the world is stopped for them as for the collector, which
//!    restarts it once every part is done — every value it reads has been read.
//! 3. **Garbage**, with the world running again, this thread still the collector (no other
//!    collection starts): what the roots reach *along the recorded edges* is marked, by a
//!    breadth-first walk of the edge table on this thread (see `mark` for why not gc-core's
//!    parallel engine), so that the marking sees exactly what the subtraction saw. What is
//!    examined and not reached is garbage: unreachable when the world stopped, so unreachable
//!    for good (see `find_unreachable`). It is flagged dead (so that the next collection's walk
//!    of the pages skips it) and held (one extra count each); then the collector role is given
//!    up. No mailbox holds an entry for it: an entry's reference counted as external in step 2.
//!    Survivors are not touched; a collection of the generational schedule flagged its young
//!    members old as it numbered them in step 2.
//! 4. **Tear-down**, with the world running (garbage is unreachable, so no mutator can see it):
//!    every value is dropped, then the holds are released, which frees the memory. The rules are
//!    the thread-local heap's (see `teardown.rs` in this crate): a handle to a torn-down object
//!    that a `Drop` kept or resurrected panics on dereference instead of reading freed memory;
//!    a panicking `Drop` does not stop the tear-down, and the first panic is resumed at the end.
//!
//! ## Why tracing is sound while threads hold locks and references
//!
//! What a stopped thread may hold, and why the collector may still trust its counts and edges.
//! (Where these docs, and the other modules', say that a thread waits for the collection to
//! end, it waits for the world to restart: what follows the restart reads no count, value or
//! lock, only the recorded edges and the garbage, which no thread can reach.)
//!
//! - **A handle or a borrowed `&T`**: its count is in the object's strong count, so the object
//!   is a root (or reachable from one). Threads in a blocking section may clone and drop handles
//!   while the collection runs; inside the section every count update is atomic (the thread does
//!   not count as an owner there), so each object's count is read as one consistent word, and a
//!   change to it only concerns objects the thread can reach — live ones. A drop that would
//!   *free* waits for the collection to end.
//! - **A `GcLock` guard**: the collector sees that lock held, so it does not read the value —
//!   it never traces data another thread may be writing. The value's references then count as
//!   external: what it references, and everything reachable from that, survives this collection.
//!   Each value is traced once, so the collector's view of a lock cannot change between its
//!   passes — which it can: a thread waiting for a contended lock waits in a blocking section, and
//!   may take the lock while the world is stopped (an earlier version traced twice and tore down
//!   what such a value referenced: the stress tests found it). The waiter cannot change the value
//!   before the collection ends (leaving the blocking section waits). A thread holding a guard in
//!   a blocking section may change that value, but only by moving references between it, its
//!   own handles, and other values it holds locked: every reference moved lands where the
//!   collector counts it as external. It cannot *release* the lock before the collection ends
//!   (the guard's drop waits, as a heap operation): so a lock held when the world stopped stays
//!   held, and a lock free then changes only by a waiter taking it, which writes nothing the
//!   collector reads. (Released mid-collection, the value could be read after the holder stored
//!   into it a handle cloned after the collector had read the target's count: an edge no count
//!   backs. The collector reads a free lock's value without taking it — see `GcLock`'s `Trace`.)
//! - **An `AtomicGc` slot**: stores wait for the collection (they change an edge); loads only add
//!   a reference to an object the loader reaches through live objects.

use std::any::Any;
use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use gc_core::{Edge, Visitor};

use super::edge_table::EdgeTable;
use super::object::{type_info_in, type_info_of};
use super::pages;
use super::parts::Parts;
use super::registry::{self, end_collecting, NotStopped, StoppedWorld};
use super::schedule::{Scope, SCHEDULE};
use super::tracked::{state, TrackedLinks};
use crate::scratch::clear_scratch;
use gc_core::prefetch::prefetch_object;

/// Collects the thread-shared heap: stops the world, finds every unreachable cycle of shared
/// objects, restarts the world, and tears them down. Returns the number of unreachable objects
/// found.
///
/// Called from a `Drop` that a collection runs, it does nothing and returns 0 (as CPython). A
/// thread in a [`blocking`](super::blocking) section leaves it for the collection.
///
/// # Panics
///
/// If a value's `Drop` panics during the tear-down (the rest is still torn down first), or if a
/// `Trace` impl reported a false edge (then nothing is freed).
///
/// It waits for every registered thread to reach a safepoint or a blocking section: a thread
/// blocked outside one (in a `join`, the end of a `std::thread::scope`, on a channel or a std
/// lock — wrap such waits in [`blocking`](super::blocking)) holds it up until it gets there; after
/// two seconds of waiting it says so on stderr, once. Automatic collections do not
/// wait that long: they give up after [`AUTOMATIC_PATIENCE`] and try again later.
pub fn collect() -> usize {
    collect_within(Scope::Full, None, || true).unwrap_or(0)
}

/// As [`collect`], but examines only the young generation: the objects allocated since the last
/// collection of the [generational schedule](super::SharedSchedule::Generational), which
/// promotes the survivors. A cycle with an old member is left for a full collection. Under the
/// free-threaded schedule nothing is promoted, so every object is young: a full collection.
pub fn collect_young() -> usize {
    collect_within(Scope::Young, None, || true).unwrap_or(0)
}

/// How long an automatic collection waits for the running threads to reach a safepoint before it
/// gives up (and is put off by a threshold's worth of allocations).
pub const AUTOMATIC_PATIENCE: Duration = Duration::from_millis(50);

/// Runs a collection if the schedule finds one due (the threshold was crossed since the last
/// one). Called at safepoints.
///
/// Several threads may find the same collection due: the first to take the collector role runs
/// it, and the others, which wait for the role, check again once they have it. Before that
/// check, half of the automatic collections on `shared-churn` ran right after another one (both
/// mutators crossed the threshold together), and each waited a whole collection to start.
pub(crate) fn collect_if_due() {
    let due = || SCHEDULE.is_due();
    match collect_within(SCHEDULE.automatic_scope(), Some(AUTOMATIC_PATIENCE), due) {
        Ok(_) | Err(NotStopped::NoLongerWanted) => {}
        // Put off by a threshold's worth of allocations.
        Err(NotStopped::GaveUp | NotStopped::MayNotCollect) => SCHEDULE.restart_count(),
    }
}

/// A collection of `scope` that gives up stopping the world after `patience` (`None`: never),
/// and that does not run if `wanted` returns false once this thread holds the collector role.
/// Returns the number of unreachable objects found, or why it did not run (see
/// `StoppedWorld::stop`).
fn collect_within(
    scope: Scope,
    patience: Option<Duration>,
    wanted: impl Fn() -> bool,
) -> Result<usize, NotStopped> {
    let requested = Instant::now();
    let world = StoppedWorld::stop(patience, wanted)?;
    let stopped = Instant::now();
    /// Ends the collection even if a `Trace` impl or a `Drop` panics.
    struct End;
    impl Drop for End {
        fn drop(&mut self) {
            end_collecting();
        }
    }
    let _end = End;
    // Step 2's first half: what threads queued to owners is merged now, so that the counts are
    // whole (an entry left queued would count as a reference from outside).
    let unreferenced = world.merge_mailboxes();
    let mut scratch = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner);
    let examination = examine(&world, scope, &mut scratch);
    // Step 3 runs with the world running; this thread keeps the collector role until the garbage
    // is flagged dead (see `find_unreachable`).
    let role = world.restart();
    let restarted = Instant::now();
    let outcome = examination.and_then(|examined| find_unreachable(&mut scratch, examined));
    drop(scratch);
    drop(role);
    let found_at = Instant::now();
    // A panicking `Drop` does not stop the others, nor the tear-down; the first panic is resumed
    // at the end, as the tear-down does with its own.
    let mut first_panic = None;
    for object in unreferenced {
        // SAFETY: the world runs again.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| unsafe { object.free() })) {
            first_panic.get_or_insert(panic);
        }
    }
    match outcome {
        Ok(Found {
            garbage,
            examined,
            phases,
        }) => {
            let found = garbage.len();
            /// Logs the collection even if a `Drop` panics in the tear-down.
            struct Log(SharedCollection);
            impl Drop for Log {
                fn drop(&mut self) {
                    self.0.teardown = self.0.teardown_started.elapsed();
                    let mut log = LOG.lock().unwrap_or_else(PoisonError::into_inner);
                    if log.len() < LOG_CAPACITY {
                        log.push(self.0.clone());
                    }
                }
            }
            let _log = Log(SharedCollection {
                stop: stopped - requested,
                pause: restarted - requested,
                teardown: Duration::ZERO,
                teardown_started: found_at,
                examined,
                found,
                phases,
                scope,
            });
            tear_down(&garbage);
            keep_for_next(garbage);
            if let Some(panic) = first_panic {
                resume_unwind(panic);
            }
            Ok(found)
        }
        Err(FalseEdge) => panic!(
            "a Trace impl reported a false edge to a shared object (more edges than references); \
             nothing was freed"
        ),
    }
}

/// One shared collection, as [`take_collection_log`] reports it.
#[derive(Debug, Clone)]
pub struct SharedCollection {
    /// From the request to the moment every other thread was stopped: the time-to-safepoint.
    pub stop: Duration,
    /// From the request to the restart: how long the other threads could not run heap code.
    pub pause: Duration,
    /// The tear-down that followed, with the world running (including any time this thread
    /// spent stopped in it for another collection).
    pub teardown: Duration,
    teardown_started: Instant,
    /// Tracked objects of the examined generations when the world stopped — with the freed ones
    /// that still wait in some thread's batch of frees (at most 31 per thread; the collection
    /// skips them).
    pub examined: usize,
    /// Unreachable objects found (and torn down).
    pub found: usize,
    /// How long each step of the search for garbage took, within the pause.
    pub phases: CollectionPhases,
    /// What the collection examined: the young generation or every object.
    pub scope: Scope,
}

/// The steps of one shared collection's search for garbage (steps 2 and 3 of [`collect`]'s
/// collection, described in the `sync` module's collector docs). The first two, with the world
/// stopped, are most of the pause, the rest being the time to stop the world, the merge of the
/// mailboxes and the restart; the last two run after the restart, before the tear-down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectionPhases {
    /// One walk over the pages, numbering the tracked objects, then one over those: reading each
    /// one's count and tracing its value (recording where its edges point).
    pub trace: Duration,
    /// Resolving the recorded edges to examined objects and subtracting them from the counts.
    pub resolve: Duration,
    /// Marking what the roots (objects referenced from outside) reach along the edges, with the
    /// world running.
    pub mark: Duration,
    /// Flagging and holding the garbage (for the tear-down that follows), with the world running.
    pub sweep: Duration,
    /// How many threads did parts of the trace and resolve walks (of either): this one, and the
    /// parked threads that helped it while they waited. 1 when the walks were not split (a
    /// small heap, no parked thread, one core) or no parked thread took a part in time.
    pub walk_threads: usize,
}

/// The collections logged since the last call (explicit and automatic, on every thread), oldest
/// first; the log keeps at most [`LOG_CAPACITY`] entries between calls.
pub fn take_collection_log() -> Vec<SharedCollection> {
    std::mem::take(&mut *LOG.lock().unwrap_or_else(PoisonError::into_inner))
}

/// How many collections the log keeps between two [`take_collection_log`] calls.
pub const LOG_CAPACITY: usize = 100_000;

static LOG: Mutex<Vec<SharedCollection>> = Mutex::new(Vec::new());

/// The `gc_refs` of an object whose count does not fit in 32 bits (`gc_refs` are 32-bit to keep
/// the marking's tables small): never decremented, so the object is a root. Conservative, so
/// sound: it survives the collection whatever its edges.
const SATURATED: u32 = u32::MAX;

/// A `Trace` impl reported more edges to an object than it has references.
struct FalseEdge;

/// The buffers of a collection, kept from one collection to the next (one collector runs at a
/// time) so that a collection of a heap that does not grow allocates nothing.
struct Scratch {
    /// The examined objects and their recorded edges.
    table: EdgeTable,
    /// Each member's references not (yet) accounted for by an edge from another member.
    gc_refs: Vec<u32>,
    /// Which members the marking reached.
    marked: Vec<bool>,
    /// The marking's queue of member indices.
    queue: Vec<u32>,
    /// The addresses the traced edges point to, one buffer per part of the walks (see
    /// [`Split`]), each in the order of its part's edges in `table.edges`.
    targets: Vec<Vec<NonNull<TrackedLinks>>>,
    /// For each part of the resolving walk but the first: how many of its edges point to each
    /// member (subtracted from `gc_refs` once the parts are done; the first part subtracts
    /// directly).
    decrements: Vec<Vec<u32>>,
    /// The buffer of the last collection's garbage list, given back after its tear-down (see
    /// [`keep_for_next`]), for the next one to fill.
    garbage: Vec<NonNull<TrackedLinks>>,
}

// SAFETY: `targets` holds addresses of thread-shared objects, dereferenced only by the collecting
// thread with the world stopped (as `EdgeTable`'s).
unsafe impl Send for Scratch {}

impl Scratch {
    const fn new() -> Self {
        Scratch {
            table: EdgeTable::new(),
            gc_refs: Vec::new(),
            marked: Vec::new(),
            queue: Vec::new(),
            targets: Vec::new(),
            decrements: Vec::new(),
            garbage: Vec::new(),
        }
    }

    /// Empties every buffer, giving back the memory of those that grew far beyond this
    /// collection's use (a heap that shrank).
    fn clear(&mut self) {
        fn clear<T>(buffer: &mut Vec<T>) {
            let used = buffer.len();
            clear_scratch(buffer, used);
        }
        clear(&mut self.table.members);
        clear(&mut self.table.offsets);
        clear(&mut self.table.edges);
        clear(&mut self.gc_refs);
        clear(&mut self.marked);
        clear(&mut self.queue);
        self.targets.iter_mut().for_each(clear);
        self.decrements.iter_mut().for_each(clear);
        // `garbage` is empty here: it is trimmed when it comes back (`keep_for_next`).
    }
}

/// Gives the buffer of a collection's garbage list back to the scratch buffers once its
/// tear-down is over, emptied and trimmed to that collection's use (as the other scratch
/// buffers), unless a collection that ran meanwhile left a larger one there.
///
/// The buffer is large (8 bytes per garbage object: 10 000 or so per collection on
/// `shared-churn`), and freeing a chunk of more than 64 KiB makes glibc's `free` consolidate
/// every small free chunk of its arena (`malloc_consolidate`), which then has to be split again
/// for the next small allocations. In a `perf` profile of `shared-churn` (`sync-atomic`,
/// `--scale medium`, `collect_ms=0`), 1.5 % of the samples were that consolidation, called from
/// the tear-down's free of this list. With this and (then) the remote-free batches' fixed
/// capacity, the consolidation and the chunk unlinking it does took 0.7 % of the samples
/// instead of 4.4–5.1 % (two profiles of each build). The runs' wall time moved within their
/// noise: medians of 8 alternating runs 808 → 802 ms (`sync-atomic`), 1067 → 1099 ms
/// (`sync-biased`), single runs ranging over ±30 %.
fn keep_for_next(mut garbage: Vec<NonNull<TrackedLinks>>) {
    let used = garbage.len();
    clear_scratch(&mut garbage, used);
    let mut scratch = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner);
    if garbage.capacity() > scratch.garbage.capacity() {
        scratch.garbage = garbage;
    }
}

static SCRATCH: Mutex<Scratch> = Mutex::new(Scratch::new());

/// How many objects ahead of the one it traces [`examine`]'s walk over the members prefetches.
const OBJECTS_AHEAD: usize = 16;

/// How many recorded edges ahead of the one it resolves [`examine`] prefetches the target.
const TARGETS_AHEAD: usize = 32;

/// Step 2 (see the module docs), with the world stopped: fills the scratch buffers with the
/// examined objects, their recorded edges and their `gc_refs` once the internal references are
/// subtracted, for [`find_unreachable`], which finishes the collection with the world running.
///
/// The objects were last written by the mutators, on other cores, and are scattered over the
/// heap: the pause is mostly the wait for their cache misses, so the collection reads each object
/// as few times as it can and always knows the address it will read some steps ahead, to
/// prefetch it:
///
/// 0. One walk over the pages, in address order, reads each block's type record and state, and
///    numbers the tracked objects it examines (in their first word): the members.
/// 1. One walk over the members (prefetching [`OBJECTS_AHEAD`] objects ahead) takes each
///    object's count and traces its value, recording the *addresses* of its edges' targets.
/// 2. One walk over those addresses (prefetching [`TARGETS_AHEAD`] ahead) reads each target's
///    number: its index if it is the member of that index (a number left from an earlier
///    collection names another member, or none).
///
///    Walks 1 and 2 are split in parts that the parked mutators help with ([`Split`]), each part
///    a range of members and its edges.
/// 3. The marking reads only the edge table; the sweep touches only the garbage. Neither needs
///    the world stopped ([`find_unreachable`]).
///
/// The walk over the pages runs on this thread alone, before the split walks. Two other shapes
/// were measured against it on `shared-churn` (`sync-atomic`, `--scale medium`, 10–12 rounds of
/// alternating runs) and not kept, since neither made the runs faster:
///
/// - One walk over the pages, split in parts by page, each part numbering and tracing what it
///   finds (members numbered in the part's own sequence): the runs took 1.002× as long, the
///   trace 0.93× and the resolving walk 1.23× (the numbers were written by both cores).
/// - The same, writing no number into the objects: the resolving walk found a target's index
///   from its address (its page, through a small hash table of the walked pages, and its block
///   there) in a table of 4 bytes per block. The resolving walk took 1.15–1.34× as long (with
///   the page's header read directly, all headers 64 KiB-aligned, then through the table), the
///   runs 1.00–1.09×.
///
/// The numbers are written because the objects are no longer in lists whose places could
/// number them (the `tracked` module says why). When they were, the numbering build had been
/// measured against the one that numbered from the lists: on the `sync_collect` bench (three
/// alternating runs) the collection of a cached heap took 1.07–1.37 ms numbering, 1.34–1.47 ms
/// not; a cold one 1.41–1.83 ms against 1.44–1.56.
///
/// Numbering, tracing and resolving in one pass each, where the collector used to number in one
/// walk and then trace and resolve each edge at once in a second (a cache miss per target that
/// nothing had prefetched), and sweeping only the garbage, measured on `shared-churn`
/// (`sync-atomic`, `--scale medium`, medians over each run's collections of more than 30 000
/// objects, three alternating runs against the previous build): numbering and tracing
/// 5340–7463 µs → 3440–3810 µs with both distances at 8, and 2328–3120 µs with these distances
/// (against 3850–5411). Each collection's [`CollectionPhases`] are in the log.
///
/// The walk prefetches an object's first two lines only, although a 96-byte object (a
/// `shared-churn` node under atomic counts) straddles a third one when it starts 48 bytes into a
/// line. Prefetching that last line too, 8 objects after the first two (when the header, which
/// holds the size, has arrived), made the walk slower: trace p50 1686 → 1883 µs with atomic
/// counts and 1788 → 1893 µs with biased ones (`--scale medium`, medians of 6 alternating runs).
fn examine(
    world: &StoppedWorld,
    scope: Scope,
    scratch: &mut Scratch,
) -> Result<Examined, FalseEdge> {
    let started = Instant::now();
    scratch.clear();
    let Scratch {
        table,
        gc_refs,
        targets,
        decrements,
        ..
    } = scratch;

    // The members are the tracked objects in the pages (the old ones too, for a full
    // collection), in the pages' order, and each one's number is its place among them, written
    // into it. A collection of the generational schedule promotes the young members (flags them
    // old) as it numbers them: if the walk panics after that, they are old without having been
    // examined, which only leaves them to a full collection.
    let promotes = SCHEDULE.promotes();
    let mut young = 0;
    let registered = pages::registered();
    // Pages of leaf objects (values that hold no handle) hold nothing a collection examines.
    for page in registered
        .pages()
        .into_iter()
        .filter(|page| page.holds_tracked())
    {
        for at in 0..page.touched() {
            let obj = page.block_at(at).cast::<TrackedLinks>();
            // SAFETY: a block the pages handed out; with the world stopped no thread writes a
            // block's type record (a free forgets it holding heap access).
            let Some(info) = (unsafe { type_info_in(obj) }) else {
                continue;
            };
            if !info.tracked {
                continue;
            }
            // SAFETY: a block handed out holds an object's header or a free block's stale one:
            // either way its state word is an initialised atomic.
            let links = unsafe { obj.as_ref() };
            let flags = links.state();
            if flags & state::DEAD != 0 || (scope == Scope::Young && flags & state::OLD != 0) {
                continue;
            }
            if promotes && flags & state::OLD == 0 {
                links.set_state(flags | state::OLD);
                young += 1;
            }
            // SAFETY: this thread holds the stopped world.
            unsafe { links.set_number(table.members.len()) };
            table.members.push(obj);
        }
    }
    drop(registered);
    let examined = table.members.len();
    // One walk over the members takes each one's count and traces its value once, recording the
    // addresses its edges point to. A count of zero means "being freed": the value is never
    // read, and the object is a root with no edges (its references count as external), which the
    // marking reaches at once and the sweep never frees. The walk is split in parts, which the
    // parked threads help with (see `Split`); each part records its own edges.
    let split = Split::new(world, examined);
    gc_refs.resize(examined, 0);
    table.offsets.resize(examined + 1, 0);
    if targets.len() < split.parts {
        targets.resize_with(split.parts, Vec::new);
    }
    let members = &table.members;
    let mut parts = Vec::with_capacity(split.parts);
    let (mut refs_left, mut ends_left) = (&mut gc_refs[..], &mut table.offsets[1..]);
    for (part, targets) in targets.iter_mut().take(split.parts).enumerate() {
        let range = split.range(part);
        let (refs, refs_rest) = std::mem::take(&mut refs_left).split_at_mut(range.len());
        let (ends, ends_rest) = std::mem::take(&mut ends_left).split_at_mut(range.len());
        (refs_left, ends_left) = (refs_rest, ends_rest);
        parts.push(TracePart {
            members: &members[range],
            gc_refs: refs,
            ends,
            targets: std::mem::take(targets),
        });
    }
    let workers = vec![(); split.threads];
    let (parts, _, trace_threads) = Parts::run(world, parts, workers, trace_part);
    for (part, traced) in parts.into_iter().enumerate() {
        targets[part] = traced.targets;
    }
    let traced = Instant::now();
    // The members' indices and the edges' offsets are 32-bit: a heap beyond that stops here,
    // before any truncated offset or index is read.
    let edges: usize = targets.iter().take(split.parts).map(Vec::len).sum();
    assert!(
        u32::try_from(examined).is_ok() && u32::try_from(edges).is_ok(),
        "more than 2^32 tracked shared objects or edges between them"
    );

    // Resolve the recorded edges: each target's number gives its index, and one is
    // subtracted from its `gc_refs`. Each part of the trace is resolved as one part, which
    // also shifts its members' offsets by the edges of the parts before it. One thread
    // subtracts from `gc_refs` directly, each other one counts in its own buffer.
    table.edges.resize(edges, 0);
    let mut parts = Vec::with_capacity(split.parts);
    let (mut edges_left, mut ends_left) = (&mut table.edges[..], &mut table.offsets[1..]);
    let mut base = 0;
    for (part, targets) in targets.iter().take(split.parts).enumerate() {
        let members_of_part = split.range(part).len();
        let (edges, edges_rest) = std::mem::take(&mut edges_left).split_at_mut(targets.len());
        let (ends, ends_rest) = std::mem::take(&mut ends_left).split_at_mut(members_of_part);
        (edges_left, ends_left) = (edges_rest, ends_rest);
        parts.push(ResolvePart {
            targets,
            members,
            edges,
            ends,
            // Fewer than 2^32 edges (asserted).
            base: base as u32,
        });
        base += targets.len();
    }
    if decrements.len() + 1 < split.threads {
        decrements.resize_with(split.threads - 1, Vec::new);
    }
    let mut workers = vec![Subtractor {
        subtract: Subtract::FromRefs(gc_refs),
        false_edge: false,
    }];
    for counts in decrements.iter_mut().take(split.threads - 1) {
        counts.resize(examined, 0);
        workers.push(Subtractor {
            subtract: Subtract::Count(counts),
            false_edge: false,
        });
    }
    let (_, workers, resolve_threads) = Parts::run(world, parts, workers, resolve_part);
    if workers.iter().any(|worker| worker.false_edge) {
        return Err(FalseEdge);
    }
    drop(workers);
    for counts in decrements.iter().take(split.threads - 1) {
        for (refs, &count) in gc_refs.iter_mut().zip(counts) {
            if *refs != SATURATED {
                *refs = refs.checked_sub(count).ok_or(FalseEdge)?;
            }
        }
    }

    let resolved = Instant::now();
    // The allocation count starts anew at the restart: what is allocated from then on was not
    // examined (the survivors are recorded once they are known).
    SCHEDULE.restart_count();
    Ok(Examined {
        scope,
        examined,
        young,
        trace: traced - started,
        resolve: resolved - traced,
        walk_threads: trace_threads.max(resolve_threads),
    })
}

/// What [`examine`] found with the world stopped, besides the scratch buffers it filled.
struct Examined {
    /// What the collection examined.
    scope: Scope,
    /// The tracked objects in the heap when the world stopped.
    examined: usize,
    /// How many of them were young ones that the collection promotes.
    young: usize,
    /// How long the walk that traced took.
    trace: Duration,
    /// How long the walk that resolved took.
    resolve: Duration,
    /// How many threads did parts of the walks.
    walk_threads: usize,
}

/// Step 3 (see the module docs), with the world running again: marks what the roots reach along
/// the edges that [`examine`] recorded, flags the rest dead and holds it; returns it.
///
/// Neither step reads what a mutator may change. The marking reads only the edge table. The
/// garbage was unreachable when the world stopped — nothing but other garbage referenced it —
/// and no thread can reach it again: a thread reaches an object only through a handle, or an
/// object or slot it reaches, and no reference to the garbage is outside it. So no thread
/// touches a garbage object's count or value before the tear-down, and the sweep flags and
/// holds it alone, taking no lock. This thread keeps the collector role meanwhile
/// ([`CollectorRole`](super::registry::CollectorRole)): no other collection walks the pages
/// before the garbage is flagged dead, which makes that walk skip it. (None could anyway: this
/// thread is registered and running, and reaches no safepoint before the sweep ends, so no
/// other collector could stop the world; the role says so outright, and keeps a thread that
/// would collect from stopping the others while it waits.)
///
/// Both steps used to run with the world stopped, while the helpers waited: about half of each
/// pause.
fn find_unreachable(scratch: &mut Scratch, examination: Examined) -> Result<Found, FalseEdge> {
    let started = Instant::now();
    let Scratch {
        table,
        gc_refs,
        marked,
        queue,
        garbage: spare,
        ..
    } = scratch;
    mark(table, gc_refs, marked, queue);
    let marked_at = Instant::now();

    // Only the garbage is touched: flagged `DEAD` (a free and the next walk of the pages check
    // that flag). The garbage is listed first (from the marks alone), so that the walk that
    // flags it can prefetch it.
    let mut garbage = std::mem::take(spare);
    garbage.extend(
        table
            .members
            .iter()
            .zip(marked.iter())
            .filter(|&(_, &reached)| !reached)
            .map(|(&obj, _)| obj),
    );
    for (at, &obj) in garbage.iter().enumerate() {
        if let Some(&ahead) = garbage.get(at + OBJECTS_AHEAD) {
            prefetch_object(ahead.as_ptr());
        }
        // SAFETY: a garbage object is allocated until its tear-down (its count is not zero, and
        // only other garbage holds references to it).
        unsafe { obj.as_ref() }.set_state(state::DEAD);
    }
    let Examined {
        scope,
        examined,
        young,
        ..
    } = examination;
    SCHEDULE.record_survivors(
        scope,
        examined - garbage.len(),
        young.saturating_sub(garbage.len()),
    );

    for &obj in &garbage {
        // SAFETY: garbage by its `collector_count`, which counts a queued entry as a reference:
        // nothing is pending for it, and no thread can reach it (see above).
        unsafe { (type_info_of(obj).hold_for_teardown)(obj) };
    }
    let phases = CollectionPhases {
        trace: examination.trace,
        resolve: examination.resolve,
        mark: marked_at - started,
        sweep: marked_at.elapsed(),
        walk_threads: examination.walk_threads,
    };
    Ok(Found {
        garbage,
        examined,
        phases,
    })
}

/// What [`find_unreachable`] found.
struct Found {
    /// The garbage: dead and held.
    garbage: Vec<NonNull<TrackedLinks>>,
    /// The tracked objects in the heap when the world stopped.
    examined: usize,
    /// How long each step took.
    phases: CollectionPhases,
}

/// How [`examine`]'s walks over the members and over their edges are split: among as
/// many threads as there are to do them — this one and the threads parked at a safepoint, which
/// help while they wait (see [`HelpBoard`](super::help_board::HelpBoard)) — but no more than the
/// machine's cores, and on this thread alone below [`MIN_MEMBERS_TO_SPLIT`]. The walks are cut
/// in [`PARTS_PER_THREAD`] parts per thread, contiguous ranges of members of nearly equal
/// length, handed out one at a time: a helper that starts late, or whose part is slower (its
/// objects in the other core's cache), takes fewer, and the collector waits for at most one
/// part at the end.
struct Split {
    threads: usize,
    parts: usize,
    examined: usize,
}

/// The fewest examined objects whose walks [`examine`] splits: a helper starts within
/// microseconds (it is awake, yielding), a walk takes about 100 ns per object. Small under Miri,
/// so that the tests' heaps are walked in parts there too.
const MIN_MEMBERS_TO_SPLIT: usize = if cfg!(miri) { 16 } else { 2048 };

/// How many parts per thread [`examine`]'s split walks have.
const PARTS_PER_THREAD: usize = 4;

impl Split {
    fn new(world: &StoppedWorld, examined: usize) -> Self {
        static CORES: OnceLock<usize> = OnceLock::new();
        // Two under Miri, which reports one core, so that its tests run the split walks.
        let cores = *CORES.get_or_init(|| {
            if cfg!(miri) {
                2
            } else {
                std::thread::available_parallelism().map_or(1, usize::from)
            }
        });
        let threads = if examined < MIN_MEMBERS_TO_SPLIT {
            1
        } else {
            (1 + world.parked()).min(cores).max(1)
        };
        let parts = if threads == 1 {
            1
        } else {
            threads * PARTS_PER_THREAD
        };
        Split {
            threads,
            parts,
            examined,
        }
    }

    /// The members of part `part`.
    fn range(&self, part: usize) -> Range<usize> {
        // In 64 bits, whatever `usize` is: the product overflows only past 2^56 objects.
        let bound = |part: usize| (part as u64 * self.examined as u64 / self.parts as u64) as usize;
        bound(part)..bound(part + 1)
    }
}

/// One part of the walk that traces the members (see [`examine`]).
struct TracePart<'a> {
    /// Its members.
    members: &'a [NonNull<TrackedLinks>],
    /// Its members' counts, written by the walk.
    gc_refs: &'a mut [u32],
    /// Where each of its members' edges end in `targets`, written by the walk.
    ends: &'a mut [u32],
    /// Its members' edges' targets, in order.
    targets: Vec<NonNull<TrackedLinks>>,
}

// SAFETY: addresses of thread-shared objects (their values are `Send + Sync`), dereferenced by
// the thread that does the part only while the world is stopped (`Parts::run` returns before
// the restart).
unsafe impl Send for TracePart<'_> {}

/// Traces the members of `part`: each one's count goes to its `gc_refs`, its edges' targets to
/// the part's `targets`, and where they end there to its `ends`.
fn trace_part(part: &mut TracePart<'_>, _: &mut ()) {
    let TracePart {
        members,
        gc_refs,
        ends,
        targets,
    } = part;
    let mut record = Record { targets };
    for (i, &obj) in members.iter().enumerate() {
        if let Some(&ahead) = members.get(i + OBJECTS_AHEAD) {
            prefetch_object(ahead.as_ptr());
        }
        // SAFETY: a member was an object in use when the walk of the pages found it, and with the
        // world stopped no thread frees one (a free needs heap access); this part is done
        // before the world restarts. No mutator changes a counted value while the world is
        // stopped (locked `GcLock`s are skipped, not waited for: this thread counts as holding
        // the stopped world). Traced once: the marking follows the recorded edges, never a
        // second trace — a `GcLock` that a thread waiting in a blocking section acquires during
        // the collection would make a second trace disagree with the first.
        let count = unsafe { (type_info_of(obj).examine)(obj, &mut record) };
        // A count beyond `u32::MAX` saturates: the object stays a root (see `SATURATED`).
        gc_refs[i] = match count {
            0 => SATURATED,
            count => u32::try_from(count).unwrap_or(SATURATED),
        };
        // Fewer than 2^32 edges in all (asserted after the walk, before any offset is read).
        ends[i] = record.targets.len() as u32;
    }
}

/// One part of the walk that resolves the recorded edges to member indices (see
/// [`examine`]): the edges of one [`TracePart`].
struct ResolvePart<'a> {
    /// The part's recorded targets.
    targets: &'a [NonNull<TrackedLinks>],
    /// Every member.
    members: &'a [NonNull<TrackedLinks>],
    /// Where the part's edges go, as member indices.
    edges: &'a mut [u32],
    /// The part's members' ends, counted from the part's first edge: shifted by `base`.
    ends: &'a mut [u32],
    /// How many edges the parts before this one have.
    base: u32,
}

// SAFETY: as `TracePart`'s.
unsafe impl Send for ResolvePart<'_> {}

/// What one thread of the resolving walk subtracts, in every part it does.
struct Subtractor<'a> {
    /// Where the edges are subtracted.
    subtract: Subtract<'a>,
    /// Set if an object has more edges than references (a false edge).
    false_edge: bool,
}

/// Where a [`Subtractor`] subtracts the edges it resolves.
enum Subtract<'a> {
    /// From the members' `gc_refs` (one thread).
    FromRefs(&'a mut [u32]),
    /// Into a count per member, subtracted from `gc_refs` after every part is done (the other
    /// threads, which run beside the first).
    Count(&'a mut [u32]),
}

/// Resolves the edges of `part`: each target's number gives its index, which goes to the
/// part's `edges`, and one is subtracted for it.
fn resolve_part(part: &mut ResolvePart<'_>, worker: &mut Subtractor<'_>) {
    let ResolvePart {
        targets,
        members,
        edges,
        ends,
        base,
    } = part;
    let Subtractor {
        subtract,
        false_edge,
    } = worker;
    if *base != 0 {
        for end in ends.iter_mut() {
            *end += *base;
        }
    }
    let examined = members.len();
    // The addresses are all known now, so the walk prefetches the target [`TARGETS_AHEAD`]
    // edges ahead: these are the collection's most scattered reads.
    for (at, (&target, edge)) in targets.iter().zip(edges.iter_mut()).enumerate() {
        if let Some(&ahead) = targets.get(at + TARGETS_AHEAD) {
            prefetch_object(ahead.as_ptr());
        }
        // SAFETY: an edge holds a reference, so its target is allocated; its number is read by
        // this collection only (the world is stopped), and was written before this walk if it
        // is a member.
        let index = unsafe { target.as_ref().number() };
        // The number is the target's index if the target is the member there. Otherwise the
        // target is not examined — old, in a young collection, or a torn-down object that a
        // `Drop` kept (dead) — and its number is left from an earlier collection: its edge counts
        // nothing, and points to the sentinel `examined`, which the marking never queues.
        if members.get(index) != Some(&target) {
            *edge = examined as u32;
            continue;
        }
        match subtract {
            Subtract::FromRefs(gc_refs) => {
                let refs = &mut gc_refs[index];
                match refs.checked_sub(1) {
                    Some(less) => {
                        if *refs != SATURATED {
                            *refs = less;
                        }
                    }
                    None => {
                        *false_edge = true;
                        return;
                    }
                }
            }
            // Fewer than 2^32 edges in all (asserted), so a count cannot overflow.
            Subtract::Count(counts) => counts[index] += 1,
        }
        // Fewer than 2^32 members (asserted).
        *edge = index as u32;
    }
}

/// Records where the edges of a traced value point: the addresses of their targets' headers,
/// resolved to member indices once every examined value is traced.
struct Record<'a> {
    targets: &'a mut Vec<NonNull<TrackedLinks>>,
}

impl Visitor for Record<'_> {
    fn visit(&mut self, _edge: Edge) {}

    fn visit_shared(&mut self, object: NonNull<u8>) {
        // `sync::Gc` reports the header of a live tracked object (the edge holds a reference),
        // and `TrackedLinks` is the header's first field.
        self.targets.push(object.cast());
    }
}

/// Fills `marked` with whether a root — a member with `gc_refs > 0` — reaches each member of
/// `table` through its recorded edges: a breadth-first walk of the recorded edges by member
/// index, on this thread, with the marks in `marked` (filled here), so the walk reads only the
/// table and touches no object.
///
/// The queue says which members the walk will scan next, so it prefetches their table entries:
/// the offsets of the member [`QUEUE_AHEAD_OFFSETS`] places ahead, and the edges of the one
/// [`QUEUE_AHEAD_EDGES`] places ahead (whose offsets were prefetched eight scans earlier, if the
/// queue was long enough then). A depth-first walk
/// scans what it just found, too soon for a prefetch; a table of 57 000 members is bigger than
/// this machine's L2 cache, and each scan waited for its entries. Measured on `shared-churn`
/// (`sync-atomic`, 2 mutators, `--scale medium`, medians over each run's collections, three
/// alternating runs): depth-first 489–522 µs (9.1–9.5 ns per member), breadth-first with the
/// prefetches 361–364 µs (6.5–6.6 ns). Prefetch distances from 4/12 to 16/32 measured the same.
///
/// gc-core's parallel marking engine did this on its worker pool (2 workers) for 20 000 examined
/// objects or more, with the members as nodes and their state words as mark words; each edge
/// then cost a read of the target object, a closure call and a trip through the prefetch queue.
/// Measured on `shared-churn` (`sync-atomic`, 2 mutators; medians over its collections, one run
/// each): `--scale medium` (57 000 examined) 776–1035 µs with the engine against 507 µs with a
/// depth-first walk of the table; `--scale large` (252 000 examined) 22.7 ms against 5.4 ms.
/// A walk of the members in index order with a finger (as `gc_core::mark::finger` walks objects)
/// measured no faster than the depth-first walk (527–541 µs against 489–522).
///
/// Splitting it as the walks before it was tried and not kept: the collector and the parked
/// mutators took ranges of roots, each walked breadth-first with its own queue, marks in a
/// shared array of `AtomicBool`s (plain loads and stores: a member found twice is only scanned
/// twice), and a thread whose queue was long gave chunks of it to a hungry one (one range's
/// roots reached 45 000 of the 50 000 members on `shared-churn`, so without that one thread did
/// nearly all of it). The marking took 984–1035 µs (p50) against 614–653 µs for this walk
/// (`sync-atomic`, `--scale medium`, `collect_ms=0`, three alternating runs): two cores writing
/// marks into the same cache lines cost more than the second core saves.
fn mark(table: &EdgeTable, gc_refs: &[u32], marked: &mut Vec<bool>, queue: &mut Vec<u32>) {
    marked.clear();
    marked.resize(table.members.len(), false);
    // The sentinel that edges to objects outside the examined set point to: reached already, so
    // never queued.
    marked.push(true);
    queue.clear();
    for (index, &refs) in gc_refs.iter().enumerate() {
        if refs > 0 {
            marked[index] = true;
            // Fewer than 2^32 members (asserted by the caller).
            queue.push(index as u32);
        }
    }
    let offsets = &table.offsets;
    let mut head = 0;
    while let Some(&member) = queue.get(head) {
        if let Some(&far) = queue.get(head + QUEUE_AHEAD_OFFSETS) {
            prefetch_object(&offsets[far as usize]);
        }
        if let Some(&near) = queue.get(head + QUEUE_AHEAD_EDGES) {
            prefetch_object(
                table
                    .edges
                    .as_ptr()
                    .wrapping_add(offsets[near as usize] as usize),
            );
        }
        head += 1;
        let member = member as usize;
        for &target in &table.edges[offsets[member] as usize..offsets[member + 1] as usize] {
            let reached = &mut marked[target as usize];
            if !*reached {
                *reached = true;
                queue.push(target);
            }
        }
    }
}

/// How far ahead in its queue the marking prefetches a member's offsets.
const QUEUE_AHEAD_OFFSETS: usize = 16;

/// How far ahead in its queue the marking prefetches a member's edges.
const QUEUE_AHEAD_EDGES: usize = 8;

/// Step 4: drops every garbage value, then releases the collector's holds (which frees the
/// memory of every object no resurrected handle keeps).
///
/// Both walks prefetch the objects [`OBJECTS_AHEAD`] places ahead: last touched when the world
/// was stopped, they are out of the cache again. Measured on `shared-churn` (`sync-atomic`,
/// `--scale medium`, medians over each run's collections, three alternating runs): the drops
/// took 69–161 ns per garbage object without the prefetch and 43–64 with it, the releases 89–157
/// and 55–70; the run's tear-downs 188–277 ms and 82–185 (the sweep before the restart, which
/// prefetches the garbage the same way, 509–1016 µs and 341–463).
///
/// The world runs during the tear-down, so another collection may ask this thread to stop: it
/// stops between two objects (a parked tear-down is what a `Drop` that allocates does already;
/// the garbage is flagged dead, and what it still references counts as external). A tear-down with
/// no such stop held the other collections up until it ended: on `shared-churn`
/// (`sync-biased`, `--scale medium`, four alternating runs) the explicit collections waited
/// 44–805 µs (p50) for the world to stop without it and 19–22 µs with it. The run's
/// `collection_teardown_ms` now includes the time a tear-down spent stopped.
fn tear_down(garbage: &[NonNull<TrackedLinks>]) {
    let mut first_panic: Option<Box<dyn Any + Send>> = None;
    for (at, &obj) in garbage.iter().enumerate() {
        if let Some(&ahead) = garbage.get(at + OBJECTS_AHEAD) {
            prefetch_object(ahead.as_ptr());
        }
        registry::poll_stop_only();
        // SAFETY: garbage, dead (so no one else drops its value: `free` skips dead values), and
        // held by this collection, so its memory stays allocated; its value is dropped once, here.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
            (type_info_of(obj).drop_value)(obj)
        }));
        if let Err(panic) = dropped {
            first_panic.get_or_insert(panic);
        }
    }
    for (at, &obj) in garbage.iter().enumerate() {
        if let Some(&ahead) = garbage.get(at + OBJECTS_AHEAD) {
            // The allocator's bookkeeping just before the object, and the object's header.
            prefetch_object(ahead.as_ptr().cast::<u8>().wrapping_sub(16));
        }
        registry::poll_stop_only();
        // SAFETY: the collection's hold (`hold_for_teardown`), given up once.
        unsafe { (type_info_of(obj).release)(obj) };
    }
    if let Some(panic) = first_panic {
        resume_unwind(panic);
    }
}
