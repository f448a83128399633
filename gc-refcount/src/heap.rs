//! The thread's heap: its configuration, its generations, its counters, and the refcount free path.
//!
//! Every thread that creates a `Gc` gets one heap, in a thread-local, configured by
//! [`HeapConfig::default`] unless [`gc::configure`](crate::gc::configure) chose another before the
//! first allocation. The hot paths — allocation and freeing at zero — read plain `Cell`s and match
//! on the allocator enum; the detector and the scheduler are trait objects consulted only when a
//! collection runs (and the scheduler once per `threshold` allocations).

use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::time::Instant;

use gc_core::header::flags;
use gc_core::{
    CollectionRecord, CycleDetector, Discipline, Edge, Examined, GenerationStats, Header,
    ObjectBox, ObjectList, Scheduler, ThresholdError, Trace, Visitor, MAX_GENERATIONS,
};

use crate::any::GcAny;
use crate::callbacks::{CallbackInfo, Callbacks, Phase};
use crate::config::{AllocatorChoice, ConfigError, HeapConfig};
use crate::debug;
use crate::object::memory_releasable;
use crate::stats::HeapStats;
use crate::teardown;

thread_local! {
    static HEAP: Heap = Heap::new(HeapConfig::default());
}

/// The candidate buffer length below which pushes never sweep it.
const MIN_CANDIDATE_SWEEP: usize = 4096;

/// How deep releases may nest (a value's `Drop` releasing another value) before further ones are
/// queued for the outermost release: CPython's trashcan limit. Nesting is cheaper than queueing;
/// the limit keeps the stack bounded on a 10 000 000-node chain.
const TRASHCAN_DEPTH: u32 = 50;

/// One thread's heap.
pub(crate) struct Heap {
    // --- read on every tracked allocation --------------------------------------------------
    /// `count[0]` .. `count[MAX-1]` (see `gc_core::scheduler`).
    counts: [Cell<usize>; MAX_GENERATIONS],
    /// The count[0] above which an allocation asks the scheduler; `usize::MAX` while automatic
    /// collection is off (disabled, threshold 0, or a collection running).
    trigger: Cell<usize>,
    generations: [ObjectList; MAX_GENERATIONS],
    /// The permanent generation of `gc.freeze`: tracked, never examined.
    permanent: ObjectList,
    /// Replaced only by `configure`, when no object of this heap is alive and no allocator call
    /// is in progress (allocator code never calls back into the heap).
    allocator: UnsafeCell<AllocatorChoice>,

    /// Header flags set on every tracked allocation: `TRACKED`, plus `BUFFER_ON_DECREMENT` under
    /// the buffered discipline.
    tracked_flags: Cell<u32>,

    // --- the refcount free path ------------------------------------------------------------
    discipline: Cell<Discipline>,
    /// How many releases are running inside each other (values dropping values).
    release_depth: Cell<u32>,
    /// Objects released deeper than [`TRASHCAN_DEPTH`], waiting for the outermost release.
    pending: Cell<Option<NonNull<Header>>>,
    /// The first panic of a `Drop` during a release, resumed by the outermost release.
    release_panic: Cell<Option<Box<dyn Any + Send>>>,
    /// Buffered discipline: the cycle candidates (each flagged `BUFFERED`, memory kept).
    candidates: RefCell<Vec<Edge>>,
    /// The candidate buffer's length at which a push first sweeps out the entries whose count
    /// reached zero (see [`Heap::buffer_candidate`]).
    sweep_at: Cell<usize>,
    /// Deferred discipline: untracked objects whose count reached zero, threaded through their
    /// `next` links (Deutsch–Bobrow's zero count table), freed by the next collection.
    zero_count: Cell<Option<NonNull<Header>>>,

    // --- policy, consulted on the slow path -------------------------------------------------
    detector: RefCell<Box<dyn CycleDetector>>,
    scheduler: RefCell<Box<dyn Scheduler>>,
    generation_count: Cell<usize>,
    enabled: Cell<bool>,
    collecting: Cell<bool>,
    debug: Cell<u32>,
    callbacks: Callbacks,
    /// `gc.garbage`: what `DEBUG_SAVEALL` kept.
    garbage: RefCell<Vec<GcAny>>,

    // --- statistics --------------------------------------------------------------------------
    objects_allocated: Cell<u64>,
    objects_freed: Cell<u64>,
    bytes_allocated: Cell<u64>,
    bytes_freed: Cell<u64>,
    peak_live_bytes: Cell<u64>,
    tracked: Cell<usize>,
    /// The most objects tracked at once (since the heap was created or `reset_peak`).
    peak_tracked: Cell<usize>,
    generation_stats: RefCell<[GenerationStats; MAX_GENERATIONS]>,
    records: RefCell<Option<Vec<CollectionRecord>>>,
}

impl Heap {
    fn new(config: HeapConfig) -> Self {
        let heap = Heap {
            counts: Default::default(),
            trigger: Cell::new(usize::MAX),
            generations: Default::default(),
            permanent: ObjectList::new(),
            allocator: UnsafeCell::new(AllocatorChoice::default()),
            tracked_flags: Cell::new(flags::TRACKED),
            discipline: Cell::new(Discipline::Immediate),
            release_depth: Cell::new(0),
            pending: Cell::new(None),
            release_panic: Cell::new(None),
            candidates: RefCell::new(Vec::new()),
            sweep_at: Cell::new(MIN_CANDIDATE_SWEEP),
            zero_count: Cell::new(None),
            detector: RefCell::new(Box::new(crate::detect::NoCycles)),
            scheduler: RefCell::new(Box::new(gc_generational::Manual)),
            generation_count: Cell::new(1),
            enabled: Cell::new(true),
            collecting: Cell::new(false),
            debug: Cell::new(0),
            callbacks: Callbacks::default(),
            garbage: RefCell::new(Vec::new()),
            objects_allocated: Cell::new(0),
            objects_freed: Cell::new(0),
            bytes_allocated: Cell::new(0),
            bytes_freed: Cell::new(0),
            peak_live_bytes: Cell::new(0),
            tracked: Cell::new(0),
            peak_tracked: Cell::new(0),
            generation_stats: RefCell::new(Default::default()),
            records: RefCell::new(None),
        };
        heap.install(config);
        heap
    }

    /// Runs `f` with this thread's heap.
    ///
    /// # Panics
    ///
    /// If the thread's heap has already been destroyed (during thread exit).
    #[inline(always)]
    pub(crate) fn with<R>(f: impl FnOnce(&Heap) -> R) -> R {
        HEAP.with(f)
    }

    /// Runs `f` with this thread's heap, or returns `None` if it has been destroyed.
    #[inline]
    pub(crate) fn try_with<R>(f: impl FnOnce(&Heap) -> R) -> Option<R> {
        HEAP.try_with(f).ok()
    }

    #[inline(always)]
    fn allocator(&self) -> &AllocatorChoice {
        // SAFETY: `allocator` is only replaced by `install`, which runs when no object is live
        // and never while a reference from this method is in use (see the field's docs).
        unsafe { &*self.allocator.get() }
    }

    // --- configuration ------------------------------------------------------------------------

    /// Replaces the heap's policies; only possible while no object of this heap is alive.
    pub(crate) fn configure(&self, config: HeapConfig) -> Result<(), ConfigError> {
        if self.collecting.get() || self.release_depth.get() > 0 {
            return Err(ConfigError::Busy);
        }
        config.validate()?;
        self.sweep_candidates();
        let live = self.live_objects();
        if live > 0 {
            return Err(ConfigError::HeapInUse { live_objects: live });
        }
        self.install(config);
        Ok(())
    }

    fn install(&self, config: HeapConfig) {
        let HeapConfig {
            discipline,
            detector,
            scheduler,
            allocator,
        } = config;
        self.discipline.set(discipline);
        self.tracked_flags.set(match discipline {
            Discipline::Buffered => flags::TRACKED | flags::BUFFER_ON_DECREMENT,
            Discipline::Immediate | Discipline::Deferred => flags::TRACKED,
        });
        self.generation_count.set(scheduler.generations());
        *self.detector.borrow_mut() = detector;
        *self.scheduler.borrow_mut() = scheduler;
        // SAFETY: no object is live (checked by `configure`, or the heap is new), so no block of
        // the old allocator is outstanding and no reference from `allocator()` is in use.
        unsafe { *self.allocator.get() = allocator };
        for count in &self.counts {
            count.set(0);
        }
        *self.generation_stats.borrow_mut() = Default::default();
        self.update_trigger();
    }

    /// A name for the current configuration (`"trial-deletion/threshold:700/system"`).
    pub(crate) fn config_name(&self) -> String {
        crate::config::full_name(
            self.discipline.get(),
            &**self.detector.borrow(),
            &**self.scheduler.borrow(),
            self.allocator(),
        )
    }

    fn update_trigger(&self) {
        let threshold = self.scheduler.borrow().threshold();
        let on = self.enabled.get() && !self.collecting.get() && threshold > 0;
        self.trigger.set(if on { threshold } else { usize::MAX });
    }

    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.set(enabled);
        self.update_trigger();
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.get()
    }

    // --- allocation ---------------------------------------------------------------------------

    /// Allocates an object holding `value`, strong count 1; tracks it if `T` is a container.
    #[inline(always)]
    pub(crate) fn allocate<T: Trace + 'static>(&self, value: T) -> NonNull<Header> {
        if T::MAY_CONTAIN_GC {
            let count = self.counts[0].get() + 1;
            self.counts[0].set(count);
            if count > self.trigger.get() {
                self.collect_scheduled();
            }
        }
        let layout = ObjectBox::<T>::TYPE_INFO.layout;
        let block = match self.allocator().allocate(layout) {
            Some(block) => block.cast::<ObjectBox<T>>(),
            None => std::alloc::handle_alloc_error(layout),
        };
        // SAFETY: the allocator returned a block valid for `layout`, the layout of
        // `ObjectBox<T>`; it is uninitialised and ours.
        unsafe { block.as_ptr().write(ObjectBox::new(value)) };
        let object = block.cast::<Header>();
        if T::MAY_CONTAIN_GC {
            // SAFETY: the object was just initialised and is in no list.
            let header = unsafe { Header::from_ptr(object) };
            header.set(self.tracked_flags.get());
            // SAFETY: the object is live and unlinked; it is unlinked before it is freed.
            unsafe { self.generations[0].push_back(object) };
            let tracked = self.tracked.get() + 1;
            self.tracked.set(tracked);
            if tracked > self.peak_tracked.get() {
                self.peak_tracked.set(tracked);
            }
        }
        self.objects_allocated.set(self.objects_allocated.get() + 1);
        let bytes = self.bytes_allocated.get() + layout.size() as u64;
        self.bytes_allocated.set(bytes);
        let live = bytes - self.bytes_freed.get();
        if live > self.peak_live_bytes.get() {
            self.peak_live_bytes.set(live);
        }
        object
    }

    /// Returns an object's memory to the allocator.
    ///
    /// # Safety
    ///
    /// The object is of this heap, its value has been dropped, and no strong or weak reference to
    /// it remains; it is in no list.
    pub(crate) unsafe fn free_memory(&self, object: NonNull<Header>) {
        // SAFETY: the caller guarantees the memory is still live here.
        let layout = unsafe { Header::from_ptr(object) }.type_info().layout;
        self.objects_freed.set(self.objects_freed.get() + 1);
        self.bytes_freed
            .set(self.bytes_freed.get() + layout.size() as u64);
        // SAFETY: the block came from this heap's allocator with the type's layout (the allocator
        // cannot have changed while the object was live) and nothing references it any more.
        unsafe { self.allocator().deallocate(object.cast(), layout) }
    }

    /// Stops tracking a live object (it is about to be freed or torn down).
    ///
    /// # Safety
    ///
    /// `header` belongs to `object`, which is live.
    pub(crate) unsafe fn untrack(&self, object: NonNull<Header>, header: &Header) {
        if header.has(flags::TRACKED) {
            header.clear(flags::TRACKED);
            self.tracked.set(self.tracked.get() - 1);
            if header.is_linked() {
                // SAFETY: a linked object of this heap is in one of its lists, whose members and
                // sentinels are live.
                unsafe { ObjectList::unlink(object) };
            }
        }
    }

    // --- freeing at zero ------------------------------------------------------------------------

    /// Drops and frees an object whose strong count reached zero (see `object.rs` on the trashcan).
    ///
    /// # Safety
    ///
    /// `object` is of this heap, live, and its strong count is zero.
    pub(crate) unsafe fn release(&self, object: NonNull<Header>) {
        // SAFETY: the object is live.
        let header = unsafe { Header::from_ptr(object) };
        header.set(flags::DEAD);
        if self.discipline.get() == Discipline::Deferred {
            // Nothing is freed at zero. A tracked object stays in its generation, where the next
            // collection that examines it finds it unreachable; an untracked one waits in the
            // zero count table.
            if !header.has(flags::TRACKED) {
                // SAFETY: an untracked object is in no list; the table holds objects like it.
                unsafe { header.set_pending_next(self.zero_count.get()) };
                self.zero_count.set(Some(object));
            }
            return;
        }
        if header.has(flags::TRACKED) {
            // CPython: a tracked deallocation lowers count[0].
            let count = self.counts[0].get();
            self.counts[0].set(count.saturating_sub(1));
            // SAFETY: the object is live and belongs to `header`.
            unsafe { self.untrack(object, header) };
        }
        let depth = self.release_depth.get();
        if depth >= TRASHCAN_DEPTH {
            // SAFETY: the object is in no list now; `pending` holds objects in the same state.
            unsafe { header.set_pending_next(self.pending.get()) };
            self.pending.set(Some(object));
            return;
        }
        self.release_depth.set(depth + 1);
        // SAFETY: `object` reached zero and was unlinked; its value is dropped once here.
        if let Err(payload) = unsafe { self.drop_released(object) } {
            self.stash_panic(payload);
        }
        if depth == 0 {
            while let Some(pending) = self.pending.get() {
                // SAFETY: pending objects are live (their memory is freed only by this loop).
                let pending_header = unsafe { Header::from_ptr(pending) };
                self.pending.set(pending_header.pending_next());
                // SAFETY: taking it off the stack: its links become unused again.
                unsafe { pending_header.set_pending_next(None) };
                // SAFETY: a pending object reached zero and was unlinked; dropped once, here.
                if let Err(payload) = unsafe { self.drop_released(pending) } {
                    self.stash_panic(payload);
                }
            }
        }
        self.release_depth.set(depth);
        if depth == 0 {
            if let Some(payload) = self.release_panic.take() {
                resume_unwind(payload);
            }
        }
    }

    /// Keeps the first panic raised by a `Drop` during a release, for the outermost release to
    /// resume once every pending object has been freed.
    fn stash_panic(&self, payload: Box<dyn Any + Send>) {
        let mut stashed = self.release_panic.take();
        stashed.get_or_insert(payload);
        self.release_panic.set(stashed);
    }

    /// Drops the value of a released object (catching a panic) and frees its memory unless weak
    /// handles remain.
    ///
    /// # Safety
    ///
    /// `object` is live, unlinked, strong count zero, and this is its only release.
    unsafe fn drop_released(&self, object: NonNull<Header>) -> Result<(), Box<dyn Any + Send>> {
        // SAFETY: the object is live.
        let header = unsafe { Header::from_ptr(object) };
        // With no strong handle, no weak one and no buffer entry, nothing can look at this
        // object's flags again (no handle can be made from nothing): skip their upkeep.
        if header.weak() == 0 && !header.has_any(flags::BUFFERED | flags::DROPPED) {
            // SAFETY: the value is initialised (not DROPPED) and dropped exactly once, here.
            let result = catch_unwind(AssertUnwindSafe(|| unsafe {
                (header.type_info().drop_value)(object)
            }));
            // SAFETY: value dropped, no reference of any kind, in no list.
            unsafe { self.free_memory(object) };
            return result;
        }
        let mut result = Ok(());
        if !header.has(flags::DROPPED) {
            header.set(flags::DROPPING);
            // SAFETY: the value is initialised (not DROPPED) and dropped exactly once, here.
            result = catch_unwind(AssertUnwindSafe(|| unsafe {
                (header.type_info().drop_value)(object)
            }));
            header.clear(flags::DROPPING);
            header.set(flags::DROPPED);
        }
        if memory_releasable(header) {
            // SAFETY: value dropped, no strong (zero) and no weak reference, not buffered, in no
            // list.
            unsafe { self.free_memory(object) };
        }
        result
    }

    /// Records a cycle candidate (buffered discipline).
    ///
    /// # Safety
    ///
    /// `object` is a live, tracked object of this heap, not buffered.
    ///
    /// An object freed by refcounting while it is buffered keeps its memory until it leaves the
    /// buffer (Bacon and Rajan's rule: the buffer must not point at freed memory). So that a
    /// program which rarely collects does not keep all of that memory, a push that finds the
    /// buffer twice as long as after the last sweep sweeps it first: amortised O(1) per push, and
    /// the dead memory held stays below the live candidates' count (or [`MIN_CANDIDATE_SWEEP`]).
    /// Never during a collection, whose tear-down may hold buffered garbage.
    pub(crate) unsafe fn buffer_candidate(&self, object: NonNull<Header>) {
        // SAFETY: the caller guarantees the object is live.
        unsafe { Header::from_ptr(object) }.set(flags::BUFFERED);
        let len = {
            let mut candidates = self.candidates.borrow_mut();
            candidates.push(object);
            candidates.len()
        };
        if len >= self.sweep_at.get() && !self.collecting.get() {
            self.sweep_candidates();
        }
    }

    /// Takes out of the candidate buffer the objects whose count reached zero while buffered
    /// (their values are dropped; their memory was kept for the buffer) and frees them.
    fn sweep_candidates(&self) {
        let mut candidates = self.candidates.borrow_mut();
        candidates.retain(|&object| {
            // SAFETY: a buffered object's memory is kept until it leaves the buffer.
            let header = unsafe { Header::from_ptr(object) };
            if header.strong() > 0 {
                return true;
            }
            header.clear(flags::BUFFERED);
            if memory_releasable(header) {
                // SAFETY: releasable and now referenced by nothing.
                unsafe { self.free_memory(object) };
            }
            false
        });
        self.sweep_at
            .set((2 * candidates.len()).max(MIN_CANDIDATE_SWEEP));
    }

    /// Deferred discipline: drops and frees the untracked objects whose count reached zero.
    fn drain_zero_count_table(&self) -> Option<Box<dyn Any + Send>> {
        let mut first_panic = None;
        while let Some(object) = self.zero_count.get() {
            // SAFETY: objects in the table are live (freed only here).
            let header = unsafe { Header::from_ptr(object) };
            self.zero_count.set(header.pending_next());
            // SAFETY: off the table, its links are unused again.
            unsafe { header.set_pending_next(None) };
            if header.strong() > 0 {
                continue; // cannot happen without a handle, but never free a counted object
            }
            // SAFETY: count zero, in no list, value not dropped yet (it is dropped only here).
            if let Err(payload) = unsafe { self.drop_released(object) } {
                first_panic.get_or_insert(payload);
            }
        }
        first_panic
    }

    // --- collection -----------------------------------------------------------------------------

    #[cold]
    #[inline(never)]
    fn collect_scheduled(&self) {
        let counts = self.count_snapshot();
        let generation = self.scheduler.borrow_mut().choose(&counts);
        if let Some(generation) = generation {
            let generation = generation.min(self.generation_count.get() - 1);
            self.collect(generation);
        }
    }

    fn count_snapshot(&self) -> [usize; MAX_GENERATIONS] {
        std::array::from_fn(|g| self.counts[g].get())
    }

    /// The current counts, one per generation the scheduler uses.
    pub(crate) fn counts(&self) -> Vec<usize> {
        self.count_snapshot()[..self.generation_count.get()].to_vec()
    }

    /// The number of generations of the current schedule.
    pub(crate) fn generation_count(&self) -> usize {
        self.generation_count.get()
    }

    /// Collects `generation` and every younger one; returns the number of unreachable objects
    /// found. Returns 0 without collecting if a collection is already running (a `Drop` or a
    /// callback asked for one), as CPython does.
    pub(crate) fn collect(&self, generation: usize) -> usize {
        if self.collecting.get() {
            return 0;
        }
        assert!(
            generation < self.generation_count.get(),
            "generation {generation} does not exist"
        );
        let start = Instant::now();
        self.collecting.set(true);
        self.update_trigger();
        let _running = CollectingGuard(self);
        let debug = self.debug.get();
        let mut first_panic = None;

        if !self.callbacks.is_empty() {
            let info = CallbackInfo {
                generation,
                ..CallbackInfo::default()
            };
            first_panic = self.callbacks.run(Phase::Start, &info);
        }
        if debug & debug::DEBUG_STATS != 0 {
            debug::report_start(
                generation,
                &self.generations[..self.generation_count.get()],
                &self.permanent,
            );
        }

        self.sweep_candidates();
        let examined = ObjectList::new();
        for list in &self.generations[..=generation] {
            examined.append(list);
        }
        let garbage = ObjectList::new();
        let destination = self.scheduler.borrow().survivors_to(generation);
        let mut candidates = std::mem::take(&mut *self.candidates.borrow_mut());
        let detection = {
            let restore = RestoreOnUnwind {
                heap: self,
                generation,
                lists: [&examined, &garbage],
            };
            // SAFETY: `examined` holds live tracked objects of this heap; no handle changes while
            // the detector runs (it runs no user code but `Trace`, which may not touch handles).
            let detection = unsafe {
                self.detector.borrow_mut().find_garbage(
                    Examined {
                        objects: &examined,
                        candidates: &mut candidates,
                        generation,
                        survivors_to: destination,
                    },
                    &garbage,
                )
            };
            std::mem::forget(restore);
            detection
        };
        // Candidates the detector left stay buffered, ahead of any recorded during tear-down.
        {
            let mut buffer = self.candidates.borrow_mut();
            candidates.append(&mut buffer);
            *buffer = candidates;
        }
        self.generations[destination].append(&examined);

        if debug & debug::DEBUG_COLLECTABLE != 0 {
            // SAFETY: the garbage is live until torn down below.
            unsafe { debug::report_objects("collectable", &garbage) };
        }
        let mut saved = 0;
        let teardown = if debug & debug::DEBUG_SAVEALL != 0 {
            // Keep the garbage alive in `gc.garbage`; it moves on with the survivors.
            // SAFETY: the garbage is live; each object gets a strong reference from its GcAny.
            unsafe {
                garbage.for_each(|object| {
                    let header = Header::from_ptr(object);
                    header.clear_marks_into(flags::generation_tag(destination));
                    header.set_scratch(0);
                    self.garbage.borrow_mut().push(GcAny::retain(object));
                    saved += 1;
                });
            }
            if debug & debug::DEBUG_UNCOLLECTABLE != 0 {
                // SAFETY: as above.
                unsafe { debug::report_objects("uncollectable", &garbage) };
            }
            self.generations[destination].append(&garbage);
            teardown::Teardown::default()
        } else {
            // SAFETY: the detector moved only unreachable objects of this heap into `garbage`.
            unsafe { teardown::tear_down(self, &garbage) }
        };
        if let Some(payload) = teardown.panic {
            first_panic.get_or_insert(payload);
        }
        if let Some(payload) = self.drain_zero_count_table() {
            first_panic.get_or_insert(payload);
        }

        let survivors = detection.examined - detection.garbage + saved;
        let mut counts = self.count_snapshot();
        self.scheduler
            .borrow_mut()
            .collected(generation, survivors, &mut counts);
        for (cell, value) in self.counts.iter().zip(counts) {
            cell.set(value);
        }
        let record = CollectionRecord {
            generation,
            examined: detection.examined,
            unreachable: detection.garbage,
            uncollectable: saved,
            freed: teardown.freed,
            resurrected: teardown.resurrected,
            pause: start.elapsed(),
            split: detection.split,
        };
        self.generation_stats.borrow_mut()[generation].add(&record);
        if let Some(records) = self.records.borrow_mut().as_mut() {
            records.push(record);
        }
        if debug & debug::DEBUG_STATS != 0 {
            debug::report_done(record.unreachable, saved, record.pause);
            if generation + 1 == self.generation_count.get() {
                eprint!("{}", self.allocator_report());
            }
        }
        if !self.callbacks.is_empty() {
            let info = CallbackInfo {
                generation,
                collected: detection.garbage,
                uncollectable: saved,
            };
            if let Some(payload) = self.callbacks.run(Phase::Stop, &info) {
                first_panic.get_or_insert(payload);
            }
        }
        if let Some(payload) = first_panic {
            resume_unwind(payload);
        }
        detection.garbage
    }

    // --- the rest of the gc module ----------------------------------------------------------------

    pub(crate) fn thresholds(&self) -> Vec<usize> {
        self.scheduler.borrow().thresholds()
    }

    pub(crate) fn set_thresholds(&self, thresholds: &[usize]) -> Result<(), ThresholdError> {
        self.scheduler.borrow_mut().set_thresholds(thresholds)?;
        self.update_trigger();
        Ok(())
    }

    /// `gc.freeze()`: moves every tracked object into the permanent generation.
    pub(crate) fn freeze(&self) {
        for list in &self.generations {
            // SAFETY: members of a generation are live.
            unsafe { retag(list, flags::PERMANENT_GENERATION) };
            self.permanent.append(list);
        }
        for count in &self.counts {
            count.set(0);
        }
    }

    /// `gc.unfreeze()`: moves the permanent generation back into the oldest one.
    pub(crate) fn unfreeze(&self) {
        let oldest = self.generation_count.get() - 1;
        // SAFETY: members of the permanent generation are live.
        unsafe { retag(&self.permanent, flags::generation_tag(oldest)) };
        self.generations[oldest].append(&self.permanent);
    }

    pub(crate) fn freeze_count(&self) -> usize {
        self.permanent.len()
    }

    /// Strong handles to the tracked objects of `generation` (all generations if `None`, the
    /// permanent one excluded).
    pub(crate) fn objects(&self, generation: Option<usize>) -> Vec<GcAny> {
        let lists = match generation {
            Some(g) => &self.generations[g..=g],
            None => &self.generations[..self.generation_count.get()],
        };
        let mut objects = Vec::new();
        for list in lists {
            // SAFETY: members of a generation are live; each handle takes its own reference.
            unsafe { list.for_each(|object| objects.push(GcAny::retain(object))) };
        }
        objects
    }

    /// Every tracked object (permanent generation included) that holds an edge to `target`.
    pub(crate) fn referrers(&self, target: Edge) -> Vec<GcAny> {
        struct Finds {
            target: Edge,
            found: bool,
        }
        impl Visitor for Finds {
            fn visit(&mut self, edge: Edge) {
                self.found |= edge == self.target;
            }
        }
        let mut referrers = Vec::new();
        let lists = self.generations[..self.generation_count.get()]
            .iter()
            .chain(std::iter::once(&self.permanent));
        for list in lists {
            // SAFETY: members of a generation are live; `Header::trace` checks the value.
            unsafe {
                list.for_each(|object| {
                    let mut finds = Finds {
                        target,
                        found: false,
                    };
                    Header::trace(object, &mut finds);
                    if finds.found {
                        referrers.push(GcAny::retain(object));
                    }
                })
            };
        }
        referrers
    }

    pub(crate) fn set_debug(&self, flags: u32) -> Result<(), u32> {
        let unknown = flags & !debug::ALL;
        if unknown != 0 {
            return Err(unknown);
        }
        self.debug.set(flags);
        Ok(())
    }

    pub(crate) fn debug(&self) -> u32 {
        self.debug.get()
    }

    pub(crate) fn callbacks(&self) -> &Callbacks {
        &self.callbacks
    }

    pub(crate) fn garbage(&self) -> Vec<GcAny> {
        self.garbage.borrow().clone()
    }

    pub(crate) fn take_garbage(&self) -> Vec<GcAny> {
        std::mem::take(&mut *self.garbage.borrow_mut())
    }

    // --- statistics -----------------------------------------------------------------------------

    fn live_objects(&self) -> u64 {
        self.objects_allocated.get() - self.objects_freed.get()
    }

    pub(crate) fn tracked(&self) -> usize {
        self.tracked.get()
    }

    pub(crate) fn stats(&self) -> HeapStats {
        let allocator = self.allocator().stats();
        HeapStats {
            config: self.config_name(),
            objects_allocated: self.objects_allocated.get(),
            objects_freed: self.objects_freed.get(),
            bytes_allocated: self.bytes_allocated.get(),
            bytes_freed: self.bytes_freed.get(),
            peak_live_bytes: self.peak_live_bytes.get(),
            tracked_objects: self.tracked.get(),
            peak_tracked_objects: self.peak_tracked.get(),
            generations: self.generation_stats.borrow()[..self.generation_count.get()].to_vec(),
            allocator,
        }
    }

    pub(crate) fn trim(&self) -> usize {
        self.allocator().trim()
    }

    /// A collection the program asked for. After a full one (unless it was skipped because one
    /// is running) the allocator gives memory back: what it keeps empty for reuse, and — when
    /// less than a quarter of its resident memory holds blocks in use, the state a program is in
    /// after dropping most of a large heap — the free pages of partly used memory too (a trim,
    /// which costs a system call per page range; not worth it for a heap still mostly in use).
    pub(crate) fn collect_explicit(&self, generation: usize) -> usize {
        let running = self.collecting.get();
        let found = self.collect(generation);
        if !running && generation + 1 == self.generation_count.get() {
            let allocator = self.allocator();
            let stats = allocator.stats();
            let resident = stats.bytes_mapped.saturating_sub(stats.bytes_released);
            if stats.bytes_in_use.saturating_mul(4) < resident {
                allocator.trim();
            } else {
                allocator.release_empty();
            }
        }
        found
    }

    pub(crate) fn allocator_report(&self) -> String {
        self.allocator().report()
    }

    pub(crate) fn reset_peak(&self) {
        self.peak_live_bytes
            .set(self.bytes_allocated.get() - self.bytes_freed.get());
        self.peak_tracked.set(self.tracked.get());
    }

    pub(crate) fn record_collections(&self, on: bool) {
        let mut records = self.records.borrow_mut();
        match (on, records.is_some()) {
            (true, false) => *records = Some(Vec::new()),
            (false, true) => *records = None,
            _ => {}
        }
    }

    pub(crate) fn take_records(&self) -> Vec<CollectionRecord> {
        self.records
            .borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

/// Clears the `collecting` state when a collection ends, normally or by a panic.
struct CollectingGuard<'a>(&'a Heap);

impl Drop for CollectingGuard<'_> {
    fn drop(&mut self) {
        self.0.collecting.set(false);
        self.0.update_trigger();
    }
}

/// Tags every object of `list` with `tag` (it is about to move into that generation).
///
/// # Safety
///
/// The members of `list` are live.
unsafe fn retag(list: &ObjectList, tag: u32) {
    // SAFETY: the caller's promise.
    unsafe { list.for_each(|object| Header::from_ptr(object).clear_marks_into(tag)) };
}

/// If a detector panics (a faulty `Trace` impl can make it), puts every object back into the
/// generation being collected, with its collection marks cleared, so the heap stays consistent.
struct RestoreOnUnwind<'a> {
    heap: &'a Heap,
    generation: usize,
    lists: [&'a ObjectList; 2],
}

impl Drop for RestoreOnUnwind<'_> {
    fn drop(&mut self) {
        let target = &self.heap.generations[self.generation];
        let tag = flags::generation_tag(self.generation);
        for list in self.lists {
            // SAFETY: both lists hold live tracked objects of this heap.
            unsafe {
                list.for_each(|object| {
                    let header = Header::from_ptr(object);
                    header.clear_marks_into(tag);
                    header.set_scratch(0);
                })
            };
            target.append(list);
        }
    }
}
