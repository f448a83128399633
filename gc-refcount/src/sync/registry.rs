//! The threads of the shared heap on [`Std`]: who is registered, each one's mailbox (biased
//! counting), handshake state ([`ThreadState`]) and set of pages (the `pages` module), and the
//! heap access that [`blocking`] sections give up.
//!
//! ## Registration
//!
//! A thread is registered the first time it runs heap code (allocates, frees, locks a `GcLock`,
//! stores into an `AtomicGc`): it gets an owner id from a global counter (never reused, so an
//! object whose owner has exited is never mistaken for a new thread's), a mailbox, a handshake
//! state and a set of pages (one a thread left behind, or a new one). The registration is a
//! thread-local whose destructor, when the thread exits — normally or by a panic — enters a
//! blocking section (so that a collector need not wait for it), unregisters, leaves its set of
//! pages for the next thread (its objects stay where they are) and merges what its mailbox still
//! holds.
//!
//! Registering and unregistering take the `MEMBERSHIP` lock, which a collector holds for the
//! whole time the world is stopped: the set of threads it stopped cannot change under it. A
//! thread waiting there is not registered yet (or no longer), so the collector never waits for
//! it — no deadlock.
//!
//! A thread whose registration is already destroyed (other thread-locals' destructors run after
//! it) runs heap code as an *anonymous* thread: through the world's anonymous gate.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use gc_core::sync::Std;

use super::biased::{BiasedCounts, Queued, Unreferenced};
use super::help_board::SharedWork;
use super::object::forget_type;
use super::pages;
use super::runtime::ANONYMOUS;
use super::schedule::{REPORT_EVERY, SCHEDULE};
use super::tracked::TrackedLinks;
use super::world::{ThreadState, World};

/// What [`current_thread`] returns inside a blocking section: an id no object is owned by, so
/// that every count update takes the shared (atomic) path there.
const BLOCKED: usize = usize::MAX - 1;

/// A registered thread.
pub(crate) struct ThreadRecord {
    id: usize,
    /// Objects other threads queued to this one.
    mailbox: Mailbox,
    /// The handshake state.
    state: ThreadState<Std>,
}

/// A thread's mailbox: objects other threads queued to it.
#[derive(Default)]
struct Mailbox {
    /// Set after a push, cleared by the owner before it takes the items: the owner's safepoint
    /// reads only this when nothing is queued.
    pending: AtomicBool,
    items: Mutex<Inbox>,
}

/// What a mailbox's lock guards.
#[derive(Default)]
struct Inbox {
    items: Vec<Queued<Std>>,
    /// Set by the owner as it exits, with its last take of `items`: from then on a sender merges
    /// the object itself. The mailbox's lock orders the owner's count updates, all made before,
    /// before that merge.
    closed: bool,
}

/// Live threads by owner id.
static REGISTRY: Mutex<BTreeMap<usize, Arc<ThreadRecord>>> = Mutex::new(BTreeMap::new());
/// Held to register or unregister a thread, and by a collector while the world is stopped.
static MEMBERSHIP: Mutex<()> = Mutex::new(());
/// The next owner id.
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
/// The handshake words.
pub(crate) static WORLD: LazyLock<World<Std>> = LazyLock::new(World::new);

/// A thread's registration; its destructor unregisters the thread when it exits.
struct Registration {
    record: Arc<ThreadRecord>,
    /// How many entries the owner took from its mailbox last time.
    last_taken: Cell<usize>,
}

impl Registration {
    fn new() -> Self {
        let _membership = lock(&MEMBERSHIP);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        assert!(id < BLOCKED / 2, "owner ids exhausted");
        let record = Arc::new(ThreadRecord {
            id,
            mailbox: Mailbox::default(),
            state: ThreadState::new(),
        });
        lock(&REGISTRY).insert(id, Arc::clone(&record));
        pages::take_set();
        Registration {
            record,
            last_taken: Cell::new(0),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // A thread that exits inside a blocking section (a panic unwinding through it) is
        // already there.
        if THREAD_ID.get() != BLOCKED {
            WORLD.enter_blocking(&self.record.state);
        }
        // From here on this thread owns nothing: its count updates take the shared path.
        THREAD_ID.set(ANONYMOUS);
        {
            let _membership = lock(&MEMBERSHIP);
            // After this, senders merge objects owned by this thread themselves; the lock orders
            // every local-count update this thread made before their merges.
            lock(&REGISTRY).remove(&self.record.id);
            pages::leave_set();
        }
        // What was queued before the mailbox closes is merged here, on the owner thread, one last
        // time, as an anonymous thread holding heap access: no collection reads the counts while
        // a merge moves them. (A sender that had found this mailbox before the registry forgot
        // it may still post until it closes.)
        let _access = enter_heap();
        let items = {
            let mut inbox = lock(&self.record.mailbox.items);
            inbox.closed = true;
            std::mem::take(&mut inbox.items)
        };
        BiasedCounts::<Std>::merge_all(items);
    }
}

thread_local! {
    /// The owner id, `BLOCKED` inside a blocking section, or `ANONYMOUS`. No destructor: it stays
    /// readable while other thread-locals are destroyed.
    static THREAD_ID: Cell<usize> = const { Cell::new(ANONYMOUS) };
    /// How many anonymous heap accesses this thread holds (they nest).
    static ANONYMOUS_DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Whether this thread is running a collection (a collection started from a `Drop` that the
    /// collection runs is skipped).
    static COLLECTING: Cell<bool> = const { Cell::new(false) };
    /// Whether this thread holds the stopped world (a `StoppedWorld` lives): no other thread
    /// runs heap code. `GcLock`'s trace reads lock words instead of taking the locks then.
    static HOLDS_STOPPED_WORLD: Cell<bool> = const { Cell::new(false) };
    /// Created on the thread's first heap operation; destroyed when it exits.
    static REGISTRATION: Registration = Registration::new();
    /// Tracked allocations minus frees this thread has not reported to the schedule yet, and the
    /// schedule's count they belong to (see [`count_tracked`]).
    static UNREPORTED: Cell<(usize, isize)> = const { Cell::new((0, 0)) };
    /// The mailboxes this thread posted to lately (see [`send_to_owner`]).
    static RECENT_OWNERS: RefCell<RecentOwners> = RefCell::new(RecentOwners::default());
}

/// Locks a mutex whose data stays consistent across a panic (every critical section that takes
/// one this way — here and in `pages` — is a single push, take or map update, or panics only
/// before it changes anything).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// --- thread identity and mailboxes (see `Runtime`) ---------------------------------------------

#[inline(always)]
pub(crate) fn current_thread() -> usize {
    THREAD_ID.get()
}

pub(crate) fn register_current_thread() -> usize {
    match THREAD_ID.get() {
        // Inside a blocking section the thread owns nothing new (callers take heap access
        // first, which leaves the section, so this is a fallback).
        BLOCKED => ANONYMOUS,
        ANONYMOUS => match REGISTRATION.try_with(|registration| registration.record.id) {
            Ok(id) => {
                THREAD_ID.set(id);
                id
            }
            Err(_) => ANONYMOUS,
        },
        id => id,
    }
}

/// Posts `obj` to its owner's mailbox, or gives it back if the owner has exited (then the caller
/// merges it).
///
/// The owner's record is looked up in a small per-thread cache ([`RecentOwners`]) before the
/// registry: the registry's lock is global, and taking it for every drop of another thread's
/// object made the two mutators of `shared-churn` contend on it (in the kernel, on a futex).
/// A cached record may belong to a thread that has exited; its mailbox says so (`closed`).
pub(crate) fn send_to_owner(owner: usize, obj: Queued<Std>) -> Result<(), Queued<Std>> {
    let mut obj = Some(obj);
    let posted = RECENT_OWNERS.try_with(|recent| {
        let mut recent = recent.borrow_mut();
        let queued = obj.take().expect("posted once");
        match recent.find(owner) {
            Some(record) => record.mailbox.post(queued),
            None => Err(queued),
        }
    });
    match (posted, obj) {
        (Ok(posted), _) => posted,
        // The cache is gone (this thread is exiting): look the owner up in the registry.
        (Err(_), Some(queued)) => match lock(&REGISTRY).get(&owner) {
            Some(record) => record.mailbox.post(queued),
            None => Err(queued),
        },
        (Err(_), None) => unreachable!("a destroyed cache runs no closure"),
    }
}

impl Mailbox {
    /// Queues `obj` here, or gives it back if the owner has closed the mailbox (it exited).
    fn post(&self, obj: Queued<Std>) -> Result<(), Queued<Std>> {
        let mut inbox = lock(&self.items);
        if inbox.closed {
            return Err(obj);
        }
        inbox.items.push(obj);
        self.pending.store(true, Ordering::Release);
        Ok(())
    }
}

/// The records of the owners this thread last sent objects to, most recent last.
#[derive(Default)]
struct RecentOwners {
    records: Vec<Arc<ThreadRecord>>,
}

impl RecentOwners {
    /// How many records the cache keeps.
    const CAPACITY: usize = 8;

    /// The record of `owner`: from the cache, or from the registry (then cached); `None` if the
    /// owner is not registered (it has exited, or is exiting). A hit touches no reference count:
    /// the record's `Arc` is shared by every thread that posts to its owner.
    fn find(&mut self, owner: usize) -> Option<&ThreadRecord> {
        let at = match self.records.iter().rposition(|record| record.id == owner) {
            Some(at) => at,
            None => {
                let record = Arc::clone(lock(&REGISTRY).get(&owner)?);
                if self.records.len() == Self::CAPACITY {
                    self.records.remove(0);
                }
                self.records.push(record);
                self.records.len() - 1
            }
        };
        Some(&self.records[at])
    }
}

#[inline]
pub(crate) fn take_mailbox() -> Vec<Queued<Std>> {
    // Not registered: nothing can be queued to this thread. Blocking: merging would write the
    // owner's counts, which a collection may be reading; it waits for the next safepoint.
    if matches!(THREAD_ID.get(), ANONYMOUS | BLOCKED) {
        return Vec::new();
    }
    REGISTRATION
        .try_with(|registration| {
            let mailbox = &registration.record.mailbox;
            if !mailbox.pending.load(Ordering::Acquire) {
                return Vec::new();
            }
            mailbox.pending.store(false, Ordering::Relaxed);
            // The senders' next posts go into a buffer allocated here, outside the lock, as large
            // as what was last taken: a sender that grew an empty buffer under the lock made this
            // thread sleep on it (a futex wait per few merges on `shared-churn`).
            let fresh = Vec::with_capacity(registration.last_taken.get().clamp(16, 4096));
            let items = std::mem::replace(&mut lock(&mailbox.items).items, fresh);
            registration.last_taken.set(items.len());
            items
        })
        .unwrap_or_default()
}

// --- heap access and blocking sections ----------------------------------------------------------

/// The current thread's permission to run heap code (see `Runtime::enter_heap`).
/// Not `Send`: it is given back on the thread that took it.
#[must_use]
pub struct HeapAccess {
    kind: Access,
    _not_send: PhantomData<*const ()>,
}

enum Access {
    /// A running registered thread: nothing to give back.
    Running,
    /// A thread that left its blocking section for this access, and re-enters it after.
    LeftBlocking,
    /// An unregistered thread, counted by the world's anonymous gate.
    Anonymous,
}

#[inline]
pub(crate) fn enter_heap() -> HeapAccess {
    let kind = match THREAD_ID.get() {
        id @ (BLOCKED | ANONYMOUS) => enter_heap_from(id),
        _ => Access::Running,
    };
    HeapAccess {
        kind,
        _not_send: PhantomData,
    }
}

/// [`enter_heap`] for a thread that is not running registered: in a blocking section, or not
/// registered yet (or any more). Out of line, so that the common case inlines.
#[cold]
#[inline(never)]
fn enter_heap_from(id: usize) -> Access {
    match id {
        BLOCKED => {
            let left = REGISTRATION.try_with(|registration| {
                WORLD.leave_blocking(&registration.record.state);
                THREAD_ID.set(registration.record.id);
            });
            debug_assert!(left.is_ok(), "a blocking thread is registered");
            Access::LeftBlocking
        }
        ANONYMOUS if register_current_thread() == ANONYMOUS => {
            let depth = ANONYMOUS_DEPTH.get();
            if depth == 0 {
                WORLD.enter_anonymous();
            }
            ANONYMOUS_DEPTH.set(depth + 1);
            Access::Anonymous
        }
        _ => Access::Running,
    }
}

impl Drop for HeapAccess {
    #[inline]
    fn drop(&mut self) {
        if !matches!(self.kind, Access::Running) {
            self.give_back();
        }
    }
}

impl HeapAccess {
    /// What [`drop`](Drop::drop) does for an access that was not a running thread's.
    #[cold]
    #[inline(never)]
    fn give_back(&self) {
        match self.kind {
            Access::Running => {}
            Access::LeftBlocking => enter_blocking(),
            Access::Anonymous => {
                let depth = ANONYMOUS_DEPTH.get() - 1;
                ANONYMOUS_DEPTH.set(depth);
                if depth == 0 {
                    WORLD.leave_anonymous();
                }
            }
        }
    }
}

/// Whether the current thread may run heap code now without waiting: a running registered
/// thread, or an anonymous one inside a heap access. Not inside a blocking section (where a
/// collection may be running).
#[inline]
pub(crate) fn has_heap_access() -> bool {
    match THREAD_ID.get() {
        BLOCKED => false,
        ANONYMOUS => ANONYMOUS_DEPTH.get() != 0,
        _ => true,
    }
}

/// The current thread (running and registered) enters a blocking section.
fn enter_blocking() {
    let _ = REGISTRATION.try_with(|registration| {
        WORLD.enter_blocking(&registration.record.state);
        THREAD_ID.set(BLOCKED);
    });
}

/// Runs `f` in a *blocking section*: a collection does not wait for this thread while `f` runs,
/// so `f` may block (on I/O, a lock, a channel) or compute for long without reaching a
/// safepoint. What `f` may do with the shared heap:
///
/// - **Anything that does not change an edge or free an object is free:** read values, clone
///   and drop handles (drops that do not free), load from an [`AtomicGc`](super::AtomicGc).
///   Count updates take the atomic path inside the section.
/// - **Heap operations wait for a running collection to end:** allocating, a drop that frees,
///   [`GcLock::lock`](super::GcLock::lock), storing into an `AtomicGc`. They leave the section
///   for their duration (for a lock, as long as the guard lives) and re-enter it after.
/// - **A `GcLock` guard taken before the section stays usable in it**: a collection that runs
///   meanwhile sees that lock held, so it treats the value as unreadable, keeping everything
///   it references alive for that collection (see [`GcLock`](super::GcLock)). Dropping the
///   guard inside the section waits for a running collection to end, so that a lock held when
///   the world stopped stays held until it restarts.
///
/// Nested sections are one section. On a thread that is not registered (it never used the
/// shared heap), `f` just runs.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match THREAD_ID.get() {
        BLOCKED => f(),
        ANONYMOUS if ANONYMOUS_DEPTH.get() == 0 => f(),
        ANONYMOUS => {
            // An anonymous thread inside a heap access gives it up while `f` runs.
            struct Restore(usize);
            impl Drop for Restore {
                fn drop(&mut self) {
                    WORLD.enter_anonymous();
                    ANONYMOUS_DEPTH.set(self.0);
                }
            }
            let _restore = Restore(ANONYMOUS_DEPTH.replace(0));
            WORLD.leave_anonymous();
            f()
        }
        _ => {
            enter_blocking();
            let _leave = LeaveBlocking;
            f()
        }
    }
}

/// Leaves the current thread's blocking section when dropped (waiting while a collector holds
/// it).
struct LeaveBlocking;

impl Drop for LeaveBlocking {
    fn drop(&mut self) {
        let _ = REGISTRATION.try_with(|registration| {
            WORLD.leave_blocking(&registration.record.state);
            THREAD_ID.set(registration.record.id);
        });
    }
}

/// A safepoint: parks while a collection runs (a running registered thread only: the others are
/// not waited for), then runs a collection if one is due.
#[inline]
pub(crate) fn poll() {
    poll_stop_only();
    if SCHEDULE.is_due() {
        super::collector::collect_if_due();
    }
}

#[cold]
fn park() {
    if matches!(THREAD_ID.get(), ANONYMOUS | BLOCKED) {
        return;
    }
    let _ = REGISTRATION.try_with(|registration| WORLD.safepoint(&registration.record.state));
}

// --- tracking -------------------------------------------------------------------------------------

/// Adds `delta` (tracked allocations minus frees) to what this thread has not reported to the
/// schedule yet, and reports the whole amount once it reaches [`REPORT_EVERY`] either way. What
/// a thread counted before the schedule last started its count anew
/// ([`Schedule::count`](super::schedule::Schedule::count) changed) is dropped, as it was examined.
#[inline]
fn count_tracked(delta: isize) {
    let count = SCHEDULE.count();
    let full = UNREPORTED.try_with(|unreported| {
        let (counted_in, before) = unreported.get();
        let now = if counted_in == count {
            before + delta
        } else {
            delta
        };
        let full = now.abs() >= REPORT_EVERY;
        unreported.set((count, if full { 0 } else { now }));
        full.then_some(now)
    });
    match full {
        Ok(Some(now)) => SCHEDULE.report(now),
        Ok(None) => {}
        // The thread-local is gone (the thread is exiting): report at once.
        Err(_) => SCHEDULE.report(delta),
    }
}

/// # Safety
/// As `Runtime::track`.
pub(crate) unsafe fn track(_obj: NonNull<TrackedLinks>) {
    // The collector finds the object in its page: nothing to link.
    count_tracked(1);
}

/// # Safety
/// As `Runtime::untrack`.
pub(crate) unsafe fn untrack(obj: NonNull<TrackedLinks>) {
    // SAFETY: the caller's promise: a live tracked object, whose value is dropped, and heap
    // access, so no collection is walking the pages.
    unsafe { forget_type(obj) };
    count_tracked(-1);
}

// --- what a collector needs ----------------------------------------------------------------------

/// How long an explicit collection waits for the world to stop before it warns on stderr.
const STALL_WARNING: Duration = Duration::from_secs(2);

/// The world, stopped by the current thread: every other registered thread is parked or held in
/// its blocking section, no anonymous thread is inside a heap operation, and no thread can
/// register or unregister. Dropping it restarts the world and gives up the collector role;
/// [`restart`](StoppedWorld::restart) keeps the role.
///
/// Its fields drop in order: the threads go, then the membership lock, then the role.
pub(crate) struct StoppedWorld {
    held: HeldThreads,
    _membership: MutexGuard<'static, ()>,
    role: CollectorRole,
}

/// The threads a [`StoppedWorld`] holds; dropping it lets them run again.
struct HeldThreads {
    others: Vec<Arc<ThreadRecord>>,
}

impl Drop for HeldThreads {
    fn drop(&mut self) {
        HOLDS_STOPPED_WORLD.set(false);
        WORLD.release(self.others.iter().map(|record| &record.state));
    }
}

/// The collector role of the current thread, which it keeps after it restarts the world
/// ([`StoppedWorld::restart`]) to finish a collection with the world running: until it is
/// dropped, no other thread can stop the world, so no other collection walks the pages. The
/// thread keeps its heap access as long (a thread that collects from a blocking section stays
/// out of it).
pub(crate) struct CollectorRole {
    /// The collector's own heap access, given back after the role.
    _access: HeapAccess,
}

impl Drop for CollectorRole {
    fn drop(&mut self) {
        WORLD.resign();
    }
}

impl StoppedWorld {
    /// Stops the world, unless the current thread may not collect now
    /// ([`NotStopped::MayNotCollect`]), or `wanted` says, while this thread waits for the
    /// collector role or once it holds it, that the collection is no longer wanted
    /// ([`NotStopped::NoLongerWanted`]: an automatic collection asked for while another
    /// thread's ran, which did its work).
    ///
    /// With `patience`, it gives up ([`NotStopped::GaveUp`]) if some running thread has not
    /// reached a safepoint after that long.
    pub(crate) fn stop(
        patience: Option<Duration>,
        wanted: impl Fn() -> bool,
    ) -> Result<StoppedWorld, NotStopped> {
        if COLLECTING.get() || ANONYMOUS_DEPTH.get() != 0 {
            return Err(NotStopped::MayNotCollect);
        }
        // Collecting is heap code: a blocking thread leaves its section until the collection
        // ends. An exiting thread (no registration any more) does not collect.
        let access = enter_heap();
        if matches!(access.kind, Access::Anonymous) {
            return Err(NotStopped::MayNotCollect);
        }
        let me = current_thread();
        let mut turn = 0u32;
        while !WORLD.try_become_collector() {
            // Another thread collects: stop for it like any mutator, then try again — unless its
            // collection did the work this one was for. That collection keeps the role after it
            // restarts the world (its marking and sweep run then), and an automatic collection
            // found due together with it waited that long for the role, its thread idle: on
            // `shared-churn` the other mutator made about 26 objects during the marking and
            // sweep, against the thousands that fit in that time.
            if !wanted() {
                return Err(NotStopped::NoLongerWanted);
            }
            poll_stop_only();
            <Std as gc_core::sync::Platform>::backoff(turn);
            turn = turn.saturating_add(1);
        }
        if !wanted() {
            WORLD.resign();
            return Err(NotStopped::NoLongerWanted);
        }
        let membership = lock(&MEMBERSHIP);
        let others: Vec<Arc<ThreadRecord>> = lock(&REGISTRY)
            .values()
            .filter(|record| record.id != me)
            .cloned()
            .collect();
        let started = Instant::now();
        let mut warned = false;
        let give_up = || {
            let waited = started.elapsed();
            if patience.is_none() && !warned && waited > STALL_WARNING {
                // A registered thread waits for something outside a blocking section (a `join`,
                // a channel): say so once, since this wait may never end.
                warned = true;
                eprintln!(
                    "gclab: sync::collect has waited {waited:?} for a thread to reach a safepoint; \
                     a thread that uses the shared heap and waits for another thread (join, \
                     channel, lock) should wait inside sync::blocking"
                );
            }
            patience.is_some_and(|patience| waited > patience)
        };
        if !WORLD.try_stop(others.iter().map(|record| &record.state), give_up) {
            return Err(NotStopped::GaveUp);
        }
        COLLECTING.set(true);
        HOLDS_STOPPED_WORLD.set(true);
        Ok(StoppedWorld {
            held: HeldThreads { others },
            _membership: membership,
            role: CollectorRole { _access: access },
        })
    }

    /// Restarts the world, keeping the collector role (see [`CollectorRole`]).
    pub(crate) fn restart(self) -> CollectorRole {
        let StoppedWorld {
            held,
            _membership,
            role,
        } = self;
        drop(held);
        role
    }

    /// How many of the stopped threads are parked at a safepoint (not in a blocking section):
    /// those that may help with [`share`](StoppedWorld::share)d work.
    pub(crate) fn parked(&self) -> usize {
        self.held
            .others
            .iter()
            .filter(|record| !record.state.is_blocking())
            .count()
    }

    /// Runs `work` on this thread and on the parked threads that take part (see
    /// [`HelpBoard`](super::help_board::HelpBoard)); returns once it is done. A helper runs it as
    /// if it held the stopped world ([`holds_stopped_world`] is true on its thread meanwhile):
    /// it does, on the collector's behalf, until `share` returns.
    pub(crate) fn share(&self, work: &(dyn SharedWork + '_)) {
        // SAFETY: this thread holds the collector role with the world stopped (this
        // `StoppedWorld` lives), so no other thread shares work on the board.
        unsafe { WORLD.help_board().share(work) };
    }

    /// Merges what every registered thread's mailbox holds (biased counting), as the owners
    /// would at their next safepoint, and returns the objects left without a reference, to be
    /// freed once the world runs again.
    pub(crate) fn merge_mailboxes(&self) -> Vec<Unreferenced<Std>> {
        let mut items = Vec::new();
        for record in lock(&REGISTRY).values() {
            items.append(&mut lock(&record.mailbox.items).items);
        }
        // SAFETY: the world is stopped (this `StoppedWorld` lives), and the entries come from
        // registered threads' mailboxes: each owner is parked at a safepoint or in a blocking
        // section (where its count updates take the shared path), and its earlier updates
        // happen-before the stop's handshake.
        unsafe { BiasedCounts::<Std>::merge_for_collector(items) }
    }
}

/// Runs `f` with [`holds_stopped_world`] true on this thread: `f` is a part of the stopped
/// world's collection (the collector's own, or one a parked thread helps with, which the
/// collector waits for before it restarts the world).
pub(crate) fn as_stopped_world<R>(f: impl FnOnce() -> R) -> R {
    /// Restores the flag, even if `f` unwinds.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            HOLDS_STOPPED_WORLD.set(self.0);
        }
    }
    let _restore = Restore(HOLDS_STOPPED_WORLD.replace(true));
    f()
}

/// Why [`StoppedWorld::stop`] did not stop the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotStopped {
    /// The current thread is running a collection already, or it is inside an anonymous heap
    /// access (an exiting thread freeing objects), which the collector would wait for.
    MayNotCollect,
    /// A running thread did not reach a safepoint within the patience.
    GaveUp,
    /// Another collection ran while this thread waited for the collector role, and the caller no
    /// longer wants one.
    NoLongerWanted,
}

/// Parks the current thread if a stop is requested (without starting a collection).
#[inline]
pub(crate) fn poll_stop_only() {
    if WORLD.stop_requested() {
        park();
    }
}

/// Whether the current thread holds the stopped world: every other registered thread is parked
/// or held in its blocking section and no anonymous thread is inside a heap operation, until this
/// thread restarts the world. (False on every thread while the world runs.)
#[inline]
pub(crate) fn holds_stopped_world() -> bool {
    HOLDS_STOPPED_WORLD.get()
}

/// Marks the end of the current thread's collection (after its tear-down).
pub(crate) fn end_collecting() {
    COLLECTING.set(false);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests that hold or expect the collector role take turns.
    static ROLE_TESTS: Mutex<()> = Mutex::new(());

    /// Takes the collector role, as a collection does (`try_become_collector` may fail
    /// spuriously).
    fn take_role() {
        while !WORLD.try_become_collector() {
            std::thread::yield_now();
        }
    }

    /// A collection no longer wanted once its thread holds the collector role stops no one and
    /// gives the role back; the next one runs.
    #[test]
    fn a_collection_no_longer_wanted_gives_the_collector_role_back() {
        let _turn = lock(&ROLE_TESTS);
        let unwanted = StoppedWorld::stop(None, || false);
        assert_eq!(unwanted.err(), Some(NotStopped::NoLongerWanted));
        assert!(!WORLD.stop_requested());
        // `try_become_collector` may fail spuriously, but not a hundred times in a row.
        assert!(
            (0..100).any(|_| WORLD.try_become_collector()),
            "the collector role was not given back"
        );
        WORLD.resign();
    }

    /// A thread that waits for the collector role gives up as soon as its collection is no
    /// longer wanted, while another thread still holds the role — as a collection does while it
    /// marks and sweeps with the world running, after it did the work the waiter was for.
    #[test]
    fn a_collection_no_longer_wanted_stops_waiting_for_the_role() {
        use std::sync::atomic::AtomicBool;
        use std::sync::mpsc;
        let _turn = lock(&ROLE_TESTS);
        static WANTED: AtomicBool = AtomicBool::new(true);
        WANTED.store(true, Ordering::SeqCst);
        take_role();
        let (sender, receiver) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let outcome = StoppedWorld::stop(None, || WANTED.load(Ordering::SeqCst)).err();
            let _ = sender.send(outcome);
        });
        // The waiter is waiting for the role now, or will be.
        assert!(receiver.recv_timeout(Duration::from_millis(50)).is_err());
        WANTED.store(false, Ordering::SeqCst);
        let outcome = receiver.recv_timeout(Duration::from_secs(10));
        WORLD.resign();
        waiter.join().expect("the waiter ends");
        assert_eq!(
            outcome,
            Ok(Some(NotStopped::NoLongerWanted)),
            "the waiter waited for the role after its collection was no longer wanted"
        );
    }
}
