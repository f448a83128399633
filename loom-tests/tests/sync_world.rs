//! Loom models of the stop-the-world handshake (`gc_refcount::sync::World`): the real `World`
//! and `ThreadState`, instantiated with gc-core's loom atomics, driven by a collector and
//! mutators on loom's threads. `gc-refcount/src/sync/world.rs` describes the protocol.
//!
//! The models:
//!
//! 1. a collector and two registered mutators, one of them in a blocking section;
//! 2. an unregistered (anonymous) thread racing a collector through the anonymous gate, and an
//!    exiting thread that goes from registered to anonymous;
//! 3. two would-be collectors, each also a mutator the other must stop, and each finishing its
//!    collection after the restart, still holding the collector role (as the shared collector
//!    marks and sweeps);
//!
//! Properties checked in every execution, on a small instrumented heap ([`Heap`]):
//!
//! - *Mutual exclusion.* No thread runs heap code while a collector examines the heap, and no
//!   two collectors examine it at once (mutators may overlap each other). The sections are
//!   counted in std atomics, which loom neither sees nor reorders: they record the interleaving
//!   as it is. Each section contains loom operations, so loom may switch threads inside it.
//! - *Ordering.* Heap code happens-before the collection that follows it, and the collection
//!   happens-before the heap code that follows it. Every heap word is a loom atomic accessed
//!   `Relaxed` only (it adds no synchronization of its own), and every read checks that it
//!   returns the last value written: loom lets a `Relaxed` load return an older value unless the
//!   last write happens-before it.
//! - *No deadlock.* Every execution ends: the collector's waits end, and every mutator gets
//!   back to heap code after the collection. A wait that never ends exceeds loom's branch limit
//!   and fails the model.
//!
//! A registered mutator that finishes enters a blocking section and stays there: that is what
//! its registration's destructor does when the thread exits (`sync/registry.rs`), and it is what
//! keeps a collector from waiting for a thread that will never reach a safepoint again. The
//! collector stops the same set of threads for the whole model, as the registry's `MEMBERSHIP`
//! lock guarantees.
//!
//! The platform ([`Model`]) is gc-core's `Loom` with two adjustments for loom's own limits
//! (unfair schedules of busy-waits, and `SeqCst` loads); deliberately broken variants of it, at
//! the end, must be caught.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering::{self, AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool as StdAtomicBool, AtomicUsize as StdAtomicUsize};
use std::sync::Arc;
use std::time::Instant;

use gc_core::mark::LoomDeque;
use gc_core::sync::{AtomicWord, Loom, Platform};
use gc_refcount::sync::{SharedWork, ThreadState, World};
use loom_tests::explore;

/// Preemption bound. Models 2 and 3 explore everything within it in milliseconds; model 1 (three
/// threads and the most waits) in a few seconds.
const BOUND: usize = 3;

/// Every assertion of mutual exclusion or ordering contains this.
const OVERLAP: &str = "heap code overlaps the collection";

/// The heap as the models see it: one word per thread that runs heap code, and who is inside
/// heap code or a collection right now.
struct Heap {
    /// The heap words, loom atomics accessed `Relaxed` only. Each thread's heap code reads and
    /// writes its own word; a collection reads and writes every word.
    words: Vec<loom::sync::atomic::AtomicUsize>,
    /// The last value written to each word (instrumentation, invisible to loom).
    latest: Vec<StdAtomicUsize>,
    /// How many threads are inside heap code (instrumentation).
    mutators: StdAtomicUsize,
    /// How many threads are examining the heap (instrumentation).
    collectors: StdAtomicUsize,
}

impl Heap {
    fn new(words: usize) -> Self {
        Heap {
            words: (0..words)
                .map(|_| loom::sync::atomic::AtomicUsize::new(0))
                .collect(),
            latest: (0..words).map(|_| StdAtomicUsize::new(0)).collect(),
            mutators: StdAtomicUsize::new(0),
            collectors: StdAtomicUsize::new(0),
        }
    }

    /// Heap code of the thread that owns word `word`.
    fn mutate(&self, word: usize) {
        self.mutators.fetch_add(1, SeqCst);
        assert_eq!(
            self.collectors.load(SeqCst),
            0,
            "{OVERLAP}: thread {word} runs heap code while a collector examines the heap"
        );
        self.touch(word, "heap code");
        self.mutators.fetch_sub(1, SeqCst);
    }

    /// A collection: reads and writes every word.
    fn examine(&self) {
        assert_eq!(
            self.collectors.fetch_add(1, SeqCst),
            0,
            "two collectors examine the heap at once"
        );
        assert_eq!(
            self.mutators.load(SeqCst),
            0,
            "{OVERLAP}: a collector examines the heap while a thread runs heap code"
        );
        for word in 0..self.words.len() {
            self.touch(word, "the collection");
        }
        self.collectors.fetch_sub(1, SeqCst);
    }

    /// The end of a collection, after the restart, on the collector that still holds the role:
    /// reads and writes word `word`, which only collections touch (the state words of the
    /// garbage, as the shared collector's sweep flags it dead). Mutators may run heap code
    /// meanwhile; another
    /// collection may not examine the heap.
    fn finish(&self, word: usize) {
        assert_eq!(
            self.collectors.load(SeqCst),
            0,
            "a collection examines the heap while another one finishes"
        );
        self.touch(word, "the end of a collection");
    }

    /// One part of a collection's shared work, on whichever thread does it (the collector or a
    /// parked mutator that helps): reads and writes word `word`.
    fn part(&self, word: usize) {
        assert_eq!(
            self.mutators.load(SeqCst),
            0,
            "{OVERLAP}: a part of the collection's work runs while a thread runs heap code"
        );
        self.touch(word, "a part of the collection's work");
    }

    /// Reads word `word`, checks that the last write to it happens-before the read, and writes
    /// it. Two loom operations: loom may switch threads at each.
    fn touch(&self, word: usize, who: &str) {
        let seen = self.words[word].load(Relaxed);
        let latest = self.latest[word].load(SeqCst);
        assert_eq!(
            seen, latest,
            "{OVERLAP} (no happens-before): {who} reads {seen} from word {word}, whose last \
             write was {latest}"
        );
        stored();
        self.words[word].store(latest + 1, Relaxed);
        self.latest[word].store(latest + 1, SeqCst);
    }

    /// After every thread has been joined: how many writes word `word` received.
    fn writes(&self, word: usize) -> usize {
        self.latest[word].load(SeqCst)
    }
}

/// What the threads of a model share: the world, the registered threads' states and the heap.
struct Shared<P: Platform> {
    world: World<P>,
    threads: Vec<ThreadState<P>>,
    heap: Heap,
}

impl<P: Platform> Shared<P> {
    /// `registered` registered mutators, and a heap word for each of `words` threads.
    fn new(registered: usize, words: usize) -> Arc<Self> {
        Arc::new(Shared {
            world: World::new(),
            threads: (0..registered).map(|_| ThreadState::new()).collect(),
            heap: Heap::new(words),
        })
    }

    /// A registered thread exits: its registration's destructor enters a blocking section,
    /// which it never leaves.
    fn exit(&self, me: &ThreadState<P>) {
        self.world.enter_blocking(me);
    }

    /// The collector of models 1 and 2 (the model's main thread, not itself registered): takes
    /// the role, stops every registered thread and every anonymous one, examines the heap and
    /// restarts the world.
    fn collect(&self) {
        assert!(self.world.try_become_collector(), "no other collector");
        self.world.stop(&self.threads);
        self.heap.examine();
        self.world.restart(&self.threads);
    }
}

/// Runs `f` under loom with the preemption bound [`BOUND`]; returns how many executions loom
/// explored, and prints it with the time taken (shown with `--nocapture`).
fn model(name: &str, f: impl Fn() + Sync + Send + 'static) -> usize {
    let start = Instant::now();
    let n = explore(BOUND, f);
    println!("{name}: {n} executions in {:.2?}", start.elapsed());
    n
}

// --- 1. a collector and two mutators -------------------------------------------------------------

/// The collector (the model's main thread) stops two registered mutators, examines the heap
/// and restarts them. Mutator A runs heap code three times with a safepoint in between; mutator
/// B starts with a blocking section (a blocking call: a yield), leaves it for heap code, and
/// reaches a safepoint between two heap codes. Both exit at the end. Generic over the platform
/// so that a broken variant below runs the same model.
fn collector_and_two_mutators<P: Platform>() {
    let shared = Shared::<P>::new(2, 2);
    let a = {
        let shared = Arc::clone(&shared);
        loom::thread::spawn(move || {
            let (world, me) = (&shared.world, &shared.threads[0]);
            shared.heap.mutate(0);
            world.safepoint(me);
            shared.heap.mutate(0);
            world.safepoint(me);
            shared.heap.mutate(0);
            shared.exit(me);
        })
    };
    let b = {
        let shared = Arc::clone(&shared);
        loom::thread::spawn(move || {
            let (world, me) = (&shared.world, &shared.threads[1]);
            world.enter_blocking(me);
            loom::thread::yield_now(); // the blocking call: no heap code
            world.leave_blocking(me);
            shared.heap.mutate(1);
            world.safepoint(me);
            shared.heap.mutate(1);
            shared.exit(me);
        })
    };
    shared.collect();
    a.join().unwrap();
    b.join().unwrap();
    assert!(shared.threads.iter().all(ThreadState::is_blocking));
    // Each thread's writes and the collection's: none was lost.
    assert_eq!(shared.heap.writes(0), 4);
    assert_eq!(shared.heap.writes(1), 3);
}

#[test]
fn a_collector_and_two_mutators_one_blocking() {
    model(
        "collector_and_two_mutators",
        collector_and_two_mutators::<Sound>,
    );
}

// --- 2. anonymous threads ------------------------------------------------------------------------

/// An unregistered thread (one that never allocated) runs one heap operation through the
/// anonymous gate while the collector, with no registered thread to stop, collects.
fn anonymous_thread_and_collector<P: Platform>() {
    let shared = Shared::<P>::new(0, 1);
    let anonymous = {
        let shared = Arc::clone(&shared);
        loom::thread::spawn(move || {
            shared.world.enter_anonymous();
            shared.heap.mutate(0);
            shared.world.leave_anonymous();
        })
    };
    shared.collect();
    anonymous.join().unwrap();
    assert_eq!(shared.heap.writes(0), 2);
}

#[test]
fn an_anonymous_thread_and_a_collector() {
    model(
        "anonymous_thread_and_collector",
        anonymous_thread_and_collector::<Sound>,
    );
}

/// A registered thread exits while the collector collects: heap code, a safepoint, then its
/// registration's destructor enters a blocking section, and a later destructor frees an object
/// as an anonymous thread. The collector stops it as a registered thread throughout. (The
/// registry lets the thread unregister only while no world is stopped; here it may turn
/// anonymous at any time, which only adds interleavings.)
#[test]
fn an_exiting_thread_and_a_collector() {
    model("exiting_thread_and_collector", || {
        let shared = Shared::<Sound>::new(1, 1);
        let exiting = {
            let shared = Arc::clone(&shared);
            loom::thread::spawn(move || {
                let (world, me) = (&shared.world, &shared.threads[0]);
                shared.heap.mutate(0);
                world.safepoint(me);
                shared.exit(me);
                world.enter_anonymous();
                shared.heap.mutate(0);
                world.leave_anonymous();
            })
        };
        shared.collect();
        exiting.join().unwrap();
        assert_eq!(shared.heap.writes(0), 3);
    });
}

// --- 3. two would-be collectors ------------------------------------------------------------------

/// Two registered threads each run heap code, then collect: take the collector role, stop the
/// other thread, examine, let it go ([`World::release`]), finish the collection with the world
/// running — a write to a word only collections touch (word 2) — and give up the role. While it
/// waits for the role, a thread stops for the other one's collection like any mutator (as the
/// registry's `StoppedWorld::stop` does). Each exits after its collection, so the second
/// collector finds the first one blocking. The second collection's examination must
/// happen-after the first one's end. The role orders them, and so does the handshake: with the
/// role given up before the end (tried), the model still passes, since the second collector must
/// stop the first, which reaches no safepoint before its end (as in `sync/collector.rs`).
fn two_would_be_collectors<P: Platform>() {
    let shared = Shared::<P>::new(2, 3);
    let run = |shared: &Shared<P>, mine: usize| {
        let (world, me) = (&shared.world, &shared.threads[mine]);
        let other = &shared.threads[1 - mine];
        shared.heap.mutate(mine);
        let mut turn = 0u32;
        while !world.try_become_collector() {
            world.safepoint(me);
            P::backoff(turn);
            turn = turn.saturating_add(1);
        }
        world.stop([other]);
        shared.heap.examine();
        world.release([other]);
        shared.heap.finish(2);
        world.resign();
        shared.exit(me);
    };
    let second = {
        let shared = Arc::clone(&shared);
        loom::thread::spawn(move || run(&shared, 1))
    };
    run(&shared, 0);
    second.join().unwrap();
    assert!(shared.threads.iter().all(ThreadState::is_blocking));
    // One write by each thread's heap code, one by each collection; the collections' own word,
    // two by each.
    assert_eq!(shared.heap.writes(0), 3);
    assert_eq!(shared.heap.writes(1), 3);
    assert_eq!(shared.heap.writes(2), 4);
}

#[test]
fn two_would_be_collectors_take_turns() {
    model("two_would_be_collectors", two_would_be_collectors::<Sound>);
}

// --- 4. a parked mutator helps the collector -----------------------------------------------------

/// The work the collector of model 4 shares: two parts, each the write of one heap word by
/// whichever thread takes it (as the collector's walks write their results). `ended` is set once
/// `share` has returned: a helper that touched the work after that would use a borrow that has
/// ended (the work lives on the collector's stack).
struct TwoParts<'a, P: Platform> {
    heap: &'a Heap,
    next: P::AtomicUsize,
    ended: StdAtomicBool,
    /// The collector's thread.
    collector: loom::thread::ThreadId,
    /// Counts the parts the mutator did, over every execution of the model.
    helped: &'a StdAtomicUsize,
}

/// Says that a helper ran work whose `share` had returned.
const ENDED: &str = "a helper runs work whose share has returned";

impl<P: Platform> SharedWork for TwoParts<'_, P> {
    fn run(&self) {
        loop {
            assert!(!self.ended.load(SeqCst), "{ENDED}");
            let part = self.next.fetch_add(1, Relaxed);
            if part >= 2 {
                return;
            }
            self.heap.part(part);
            if loom::thread::current().id() != self.collector {
                self.helped.fetch_add(1, SeqCst);
            }
        }
    }
}

/// The collector stops a registered mutator (heap code, a safepoint, heap code, exit), shares
/// two parts of work on the world's help board, examines the heap and restarts the world. If the
/// mutator is parked at its safepoint when the work is posted, it helps: each part is done once,
/// by either thread; every part's write happens-before the collector's examination (which
/// checks it); no part overlaps heap code; and no helper touches the work once `share` has
/// returned. Counts the parts the mutator did in `helped`.
fn a_parked_mutator_helps<P: Platform>(helped: &StdAtomicUsize) {
    let shared = Shared::<P>::new(1, 3);
    let mutator = {
        let shared = Arc::clone(&shared);
        loom::thread::spawn(move || {
            let (world, me) = (&shared.world, &shared.threads[0]);
            shared.heap.mutate(2);
            world.safepoint(me);
            shared.heap.mutate(2);
            shared.exit(me);
        })
    };
    let (world, threads) = (&shared.world, &shared.threads);
    assert!(world.try_become_collector(), "no other collector");
    world.stop(threads);
    let work = TwoParts::<P> {
        heap: &shared.heap,
        next: P::AtomicUsize::new(0),
        ended: StdAtomicBool::new(false),
        collector: loom::thread::current().id(),
        helped,
    };
    // SAFETY: this thread holds the collector role, with the world stopped.
    unsafe { world.help_board().share(&work) };
    work.ended.store(true, SeqCst);
    shared.heap.examine();
    world.restart(threads);
    mutator.join().unwrap();
    // Each part's write and the collection's; the mutator's two and the collection's.
    assert_eq!(shared.heap.writes(0), 2);
    assert_eq!(shared.heap.writes(1), 2);
    assert_eq!(shared.heap.writes(2), 3);
}

#[test]
fn a_parked_mutator_helps_the_collector() {
    let helped = Arc::new(StdAtomicUsize::new(0));
    model("a_parked_mutator_helps", {
        let helped = Arc::clone(&helped);
        move || a_parked_mutator_helps::<Sound>(&helped)
    });
    let helped = helped.load(SeqCst);
    println!("a_parked_mutator_helps: the mutator did {helped} parts in all");
    assert!(
        helped > 0,
        "no execution in which the parked mutator helped"
    );
}

// --- the platform --------------------------------------------------------------------------------

/// gc-core's `Loom` platform with two adjustments for loom's limits, and a flaw (`FLAW`:
/// [`SOUND`] for none, or one of the broken variants at the end of the file).
///
/// 1. **A busy-wait turn that saw nothing change ends the branching.** The world's busy-waits
///    are unbounded (a mutator waits as long as the collection lasts) and yield every turn. At
///    a yield loom may run *any* other thread, at no cost in preemptions; with two threads
///    waiting (mutator A parked, mutator B held in its blocking section) it explores the
///    schedule in which the two yield to each other forever while the collector, the only
///    thread that can end their waits, never runs — an unfair schedule no real scheduler keeps
///    up — and exceeds its branch limit. So when a thread comes back to a busy-wait turn and no
///    thread has stored to any word of the model since its previous turn (a turn that changed
///    nothing), the execution stops branching ([`loom::skip_branch`]) and runs to its end under
///    loom's default schedule, which after a yield runs the thread that has yielded least. The
///    pruned executions are those with such an idle turn; without it, the same steps of the other
///    threads are explored in full. A wait that never ends under the default schedule (a real
///    deadlock) still exceeds the branch limit and fails the model.
/// 2. **Initial values are `SeqCst`.** Loom records an atomic's initial value as a release
///    store, and lets a `SeqCst` load return a store older than a newer `SeqCst` store unless
///    both are `SeqCst` (its README: "`SeqCst` accesses are regarded as `AcqRel`",
///    tokio-rs/loom#180). Under plain `Loom` an anonymous thread that starts after the collector
///    has restarted the world may load the initial 0 of `stop` — older than the collector's
///    `SeqCst` stores of 1 and 0 — and its heap code then misses the collection: a false alarm.
///    C++20 forbids that execution (a `SeqCst` load that reads a value older than a `SeqCst`
///    store precedes the store in the single total order), so the models store each initial
///    value once more, `SeqCst`, at creation, before any other thread can see the word. That
///    restores the rule for the initial value and adds no synchronization.
struct Model<const FLAW: u8>;

/// No flaw.
const SOUND: u8 = 0;

/// The platform of the models.
type Sound = Model<SOUND>;

std::thread_local! {
    /// How many stores the model's threads have made to its atomics (world words and heap
    /// words), counted on the OS thread that runs the model: loom runs every thread of a model
    /// on it, and each test has its own. Only its changes matter.
    static STORES: Cell<u64> = const { Cell::new(0) };
}

loom::thread_local! {
    /// [`STORES`] at the loom thread's previous busy-wait turn.
    static PREVIOUS_TURN: Cell<u64> = Cell::new(u64::MAX);
}

/// Counts a store to one of the model's atomics.
fn stored() {
    STORES.with(|stores| stores.set(stores.get() + 1));
}

impl<const FLAW: u8> Platform for Model<FLAW> {
    type AtomicUsize = Word<FLAW>;
    type Deque<T: Send + 'static> = LoomDeque<T>;

    fn spin_loop() {
        Loom::spin_loop();
    }
    fn yield_now() {
        Loom::yield_now();
    }
    fn backoff(turn: u32) {
        let stores = STORES.with(Cell::get);
        if PREVIOUS_TURN.with(|previous| previous.replace(stores)) == stores {
            loom::skip_branch();
        }
        Loom::backoff(turn);
    }
}

/// Loom's atomic word, with its initial value stored `SeqCst`, stores counted, and `FLAW`.
struct Word<const FLAW: u8>(loom::sync::atomic::AtomicUsize);

impl<const FLAW: u8> Word<FLAW> {
    /// `order`, except for [`NO_SEQ_CST`]: `acquire_release` instead of `SeqCst`.
    fn order(order: Ordering, acquire_release: Ordering) -> Ordering {
        if FLAW == NO_SEQ_CST && order == SeqCst {
            acquire_release
        } else {
            order
        }
    }
}

impl<const FLAW: u8> AtomicWord for Word<FLAW> {
    fn new(value: usize) -> Self {
        let word = loom::sync::atomic::AtomicUsize::new(value);
        word.store(value, SeqCst); // with every flaw: see `Model`
        Word(word)
    }
    fn load(&self, order: Ordering) -> usize {
        self.0.load(Self::order(order, Acquire))
    }
    fn store(&self, value: usize, order: Ordering) {
        stored();
        self.0.store(value, Self::order(order, Release))
    }
    fn fetch_or(&self, value: usize, order: Ordering) -> usize {
        stored();
        self.0.fetch_or(value, Self::order(order, AcqRel))
    }
    fn fetch_add(&self, value: usize, order: Ordering) -> usize {
        stored();
        self.0.fetch_add(value, Self::order(order, AcqRel))
    }
    fn fetch_sub(&self, value: usize, order: Ordering) -> usize {
        stored();
        self.0.fetch_sub(value, Self::order(order, AcqRel))
    }
    fn swap(&self, value: usize, order: Ordering) -> usize {
        stored();
        self.0.swap(value, Self::order(order, AcqRel))
    }
    fn compare_exchange_weak(
        &self,
        current: usize,
        new: usize,
        success: Ordering,
        failure: Ordering,
    ) -> Result<usize, usize> {
        let (success, failure) = (Self::order(success, AcqRel), Self::order(failure, Acquire));
        if FLAW == NON_ATOMIC_CAS {
            // Broken on purpose: a load, a comparison and a store, with the orderings of the
            // exchange's read and write; another thread may run between the load and the store.
            let (read, write) = match success {
                Relaxed => (Relaxed, Relaxed),
                Acquire => (Acquire, Relaxed),
                Release => (failure, Release),
                _ => (Acquire, Release),
            };
            let old = self.0.load(read);
            if old != current {
                return Err(old);
            }
            stored();
            self.0.store(new, write);
            return Ok(old);
        }
        let exchanged = self.0.compare_exchange_weak(current, new, success, failure);
        if exchanged.is_ok() {
            stored();
        }
        exchanged
    }
}

// --- the broken variants -------------------------------------------------------------------------

/// Runs the broken variant `f`, which must fail, and checks that the failure is one of
/// `expected`. Loom stops at the first failing execution it finds, and which one that is depends
/// on the exploration order and on the build (the world's `debug_assert`s see some failures
/// first), so each variant lists every failure its flaw can cause; each is the flaw caught.
fn assert_caught(name: &str, f: impl Fn() + Sync + Send + 'static, expected: &[&str]) {
    let failure = panic::catch_unwind(AssertUnwindSafe(|| model(name, f)))
        .expect_err("loom found no failing execution");
    let message = failure
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| failure.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(
        expected.iter().any(|expected| message.contains(expected)),
        "{name} failed, but not as expected: {message}"
    );
    println!(
        "{name}: caught: {}",
        message.lines().next().unwrap_or_default()
    );
}

/// A compare-and-swap that is a load, a comparison and a store.
const NON_ATOMIC_CAS: u8 = 1;

/// The same model as `a_collector_and_two_mutators_one_blocking`, with a non-atomic
/// compare-and-swap. The collector claims a thread, and a thread leaves `PARKED` or `BLOCKING`,
/// with a compare-and-swap on the thread's state: with this one, both can succeed. Loom finds a
/// mutator returning to `RUNNING` between the collector's load of its state and the store of
/// the claim; then, depending on the interleaving, the mutator's heap code overlaps the
/// collection, or the claim overwrites the state the mutator went on to (the world's own check
/// at the restart, in a debug build), or the mutator waits for ever in a state that nobody
/// changes.
#[test]
fn a_non_atomic_claim_is_caught() {
    assert_caught(
        "broken: collector_and_two_mutators",
        collector_and_two_mutators::<Model<NON_ATOMIC_CAS>>,
        &[
            OVERLAP,
            "restarting a thread that was not stopped",
            "Model exceeded maximum number of branches",
        ],
    );
}

/// `SeqCst` operations that are only acquire/release: a `SeqCst` load is an acquire load, a
/// store a release store, a read-modify-write an acquire-release one.
const NO_SEQ_CST: u8 = 2;

/// The same model as `an_anonymous_thread_and_a_collector`, without `SeqCst`. The anonymous
/// gate is a store-then-load on each side (the collector stores `stop` and loads `anonymous`,
/// the thread increments `anonymous` and loads `stop`), which needs the single total order of
/// `SeqCst`: without it, each load may miss the other side's store, and the collection and the
/// thread's heap code are not ordered.
#[test]
fn an_anonymous_gate_without_seqcst_is_caught() {
    assert_caught(
        "broken: anonymous_thread_and_collector",
        anonymous_thread_and_collector::<Model<NO_SEQ_CST>>,
        &[OVERLAP],
    );
}

/// The same model as `a_parked_mutator_helps_the_collector`, without `SeqCst`. The help board
/// is a store-then-load on each side (the collector clears `posted` and loads `helpers`, a
/// helper increments `helpers` and loads `posted`): without the single total order, a helper may
/// load the posting after the collector has seen no helper and returned from `share`, and run
/// work that has ended, or write a part after the collector examined the heap.
#[test]
fn a_help_board_without_seqcst_is_caught() {
    assert_caught(
        "broken: a_parked_mutator_helps",
        || a_parked_mutator_helps::<Model<NO_SEQ_CST>>(&StdAtomicUsize::new(0)),
        &[ENDED, OVERLAP],
    );
}

// --- what loom cannot check here -----------------------------------------------------------------
//
// 1. An anonymous gate entered more than once. `leave_anonymous` decrements with `Release`, not
//    `SeqCst`, and loom lets the collector's `SeqCst` load of `anonymous` return an earlier
//    decrement's 0 although a later `SeqCst` increment is newer: the collector then neither waits
//    for the later heap operation nor synchronizes with its end, and the model fails. C++20
//    forbids that execution when the entering thread's `SeqCst` load of `stop` read a value older
//    than the collector's store (each load precedes the other side's write in the single total
//    order, a cycle with program order). So every model has at most one anonymous heap
//    operation; registered threads' safepoints and blocking sections repeat freely.
// 2. Spurious failures of `compare_exchange_weak`: loom's never fails spuriously. The world
//    retries every exchange on a thread's state in a loop, so a spurious failure only adds a turn.
//    `try_become_collector` is a single weak exchange and may return `false` on real hardware
//    (LL/SC) although no collector holds the role; the registry and model 3 retry it, models 1
//    and 2 assert that it succeeds (there is no other collector), which holds only under loom.
