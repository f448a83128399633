//! Stress tests of the shared heap and its collector: two to four threads share a graph of
//! nodes through `AtomicGc` root slots, `GcLock`ed edge lists and `AtomicGc` fields, run seeded
//! random programs that make cycles and drop references, and collect — explicitly, from mutator
//! threads, or automatically — while the others run, hold locks, park or block.
//!
//! ## The oracle
//!
//! The threads run in rounds. At the end of each round they keep a few local handles, *settle*
//! (every thread passes safepoints until a whole pass frees nothing: then no biased-counting
//! mailbox holds an entry, see [`Heap::settle`]), and the leader (thread 0) collects while the
//! others wait. Then every thread walks the graph from its local handles and the leader from the
//! root slots, dereferencing each node it reaches (which panics if a collection tore it down),
//! and the leader checks, for every node ever made: it has been dropped **iff** no walk reached
//! it. Reached and dropped is a use-after-free in the making; dropped twice is caught by the
//! ledger; unreached and not dropped is a leak — with the world quiescent, no lock held and no
//! mailbox entry left, one explicit collection must find every unreachable node.
//!
//! At the end the threads exit, the root slots are cleared, one collection runs, and every node
//! has been dropped exactly once.
//!
//! ## Reproducing a failure
//!
//! Each thread's program is fixed by the seed (`SYNC_STRESS_SEED=<n>` overrides the default);
//! the interleaving is not, so a failure reproduces statistically: run the failing test a few
//! times with the seed it printed. A test that stops making progress for [`STALL`] prints what
//! every thread was doing and aborts: a hang is a bug (every wait here is inside
//! `sync::blocking`, as the heap's contract asks).
//!
//! The shared heap is one for the whole binary, so the tests run one at a time (`serial`) and
//! count their own nodes with a [`Ledger`].
//!
//! ## A library bug these tests found
//!
//! [`a_waiter_taking_a_lock_mid_collection_hides_no_edge`] (at the end) reproduces it
//! deterministically: a thread waiting in `GcLock::lock` (inside a blocking section) can take
//! the lock while the world is stopped. The collector used to trace a `GcLock`'s value twice —
//! in its subtraction pass and in its marking — and when the lock was free the first time and
//! taken the second, it tore down what only that value referenced, while reachable. The stress
//! tests hit it intermittently. The collector now traces each value once and marks along the
//! recorded edges.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use gc_refcount::sync::{
    self, AtomicCounts, AtomicGc, BiasedCounts, Counts, Gc, GcLock, SharedSchedule,
};
use gc_refcount::{Trace, Visitor};

mod ledger;
mod miri;
use ledger::{serial, Item, Ledger};
use miri::size;

/// Locks a std mutex, ignoring poisoning (a panicking thread is part of some tests).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long a test may go without any thread making progress before it is declared hung.
const STALL: Duration = Duration::from_secs(30);

/// The seed of a test: `SYNC_STRESS_SEED` if set, else `default`.
fn seed(default: u64) -> u64 {
    match std::env::var("SYNC_STRESS_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .expect("SYNC_STRESS_SEED is an unsigned integer"),
        Err(_) => default,
    }
}

// --- the graph ----------------------------------------------------------------------------------

type Handle<C> = Gc<Node<C>, C>;

/// A shared node: an item for drop accounting, a list of edges behind a lock, and one more edge
/// in an atomic slot.
struct Node<C: Counts> {
    item: Item,
    edges: GcLock<Vec<Handle<C>>>,
    slot: AtomicGc<Node<C>, C>,
}

// By hand: the derive would ask `C: Trace`.
// SAFETY: both fields that hold handles are traced, each once, and nothing else: `item` holds no
// handle.
unsafe impl<C: Counts> Trace for Node<C> {
    const MAY_CONTAIN_GC: bool = true;

    fn trace(&self, visitor: &mut dyn Visitor) {
        self.edges.trace(visitor);
        self.slot.trace(visitor);
    }
}

/// At most this many edges per node (an edge list at the cap loses one before it gains one).
const MAX_EDGES: usize = 6;

fn new_node<C: Counts>(ledger: &Arc<Ledger>) -> Handle<C> {
    Gc::new_counted(Node {
        item: ledger.item(),
        edges: GcLock::new(Vec::new()),
        slot: AtomicGc::new(None),
    })
}

/// Walks the graph from `start`, adding the id of every node it reaches to `seen`. Each node is
/// dereferenced (a torn-down one panics) and must not have been dropped.
fn walk<C: Counts>(start: Vec<Handle<C>>, seen: &mut HashSet<usize>, ledger: &Ledger) {
    // Each node with the node whose edge led to it, for the report.
    let mut stack: Vec<(Handle<C>, Option<usize>)> = start.into_iter().map(|n| (n, None)).collect();
    while let Some((node, from)) = stack.pop() {
        let id = catch_unwind(AssertUnwindSafe(|| node.item.id)).unwrap_or_else(|_| {
            panic!(
                "a node reachable {} was torn down by a collection",
                match from {
                    Some(from) => format!("through an edge of node {from}"),
                    None => "from a local handle or a root slot".to_string(),
                }
            )
        });
        if !seen.insert(id) {
            continue;
        }
        assert_eq!(
            ledger.drops_of(id),
            0,
            "node {id} is reachable but was dropped"
        );
        let edges = node.edges.lock();
        stack.extend(edges.iter().map(|to| (to.clone(), Some(id))));
        drop(edges);
        stack.extend(node.slot.load().map(|to| (to, Some(id))));
    }
}

// --- a small deterministic random generator -------------------------------------------------------

/// xorshift64*, seeded through splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut z = seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Rng(z | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() >> 33) as usize % n
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

// --- operations -----------------------------------------------------------------------------------

/// What a mutator does in one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// A new node, kept locally, maybe stored in a root slot, maybe with an edge to a local.
    Alloc,
    /// A local handle to a root slot's node.
    LoadRoot,
    /// A local (or nothing) into a root slot.
    StoreRoot,
    /// A local into a root slot; the old value becomes a local.
    SwapRoot,
    /// `compare_exchange` on a root slot, against what a load saw.
    CasRoot,
    /// An edge from one local to another (or to itself): cycles.
    AddEdge,
    /// An edge removed, kept as a local or dropped.
    RemoveEdge,
    /// A local handle to the target of some local's edge.
    Follow,
    /// A local (or nothing) into some local's atomic slot.
    SetSlot,
    /// A local handle to what some local's atomic slot holds.
    LoadSlot,
    /// Dereferences a local and checks that its node is alive.
    Read,
    /// Drops a local handle.
    DropLocal,
    /// `sync::safepoint()`.
    Safepoint,
    /// Under a local's lock: allocates a node that points back to it, links it, maybe passes a
    /// safepoint or collects, all while holding the guard.
    LockAndAllocate,
    /// Locks two nodes (in id order) and moves an edge from one to the other.
    TwoLocks,
    /// `sync::collect()` from a mutator.
    Collect,
}

/// The relative weight of each operation in a program.
type Mix = &'static [(Op, usize)];

/// Every operation; mutators collect now and then.
const MIXED: Mix = &[
    (Op::Alloc, 10),
    (Op::LoadRoot, 10),
    (Op::StoreRoot, 8),
    (Op::SwapRoot, 4),
    (Op::CasRoot, 4),
    (Op::AddEdge, 14),
    (Op::RemoveEdge, 7),
    (Op::Follow, 10),
    (Op::SetSlot, 6),
    (Op::LoadSlot, 5),
    (Op::Read, 5),
    (Op::DropLocal, 10),
    (Op::Safepoint, 3),
    (Op::LockAndAllocate, 3),
    (Op::TwoLocks, 3),
    (Op::Collect, 1),
];

/// As [`MIXED`], with no explicit collection (automatic collections only): all of it but its last
/// entry.
const NO_COLLECT: Mix = match MIXED.split_last() {
    Some(((Op::Collect, _), rest)) => rest,
    _ => panic!("MIXED ends with its explicit collection"),
};

/// A thread that collects often.
const COLLECTOR: Mix = &[
    (Op::Alloc, 10),
    (Op::LoadRoot, 8),
    (Op::StoreRoot, 8),
    (Op::SwapRoot, 4),
    (Op::AddEdge, 14),
    (Op::RemoveEdge, 8),
    (Op::Follow, 6),
    (Op::SetSlot, 6),
    (Op::DropLocal, 10),
    (Op::LockAndAllocate, 3),
    (Op::Collect, 8),
];

/// What a thread inside `sync::blocking` mostly does: clone, drop, read and load handles (no
/// collection waits for that), with now and then a heap operation (which waits for a running
/// collection and then re-enters the section).
const BLOCKING_READER: Mix = &[
    (Op::LoadRoot, 20),
    (Op::Follow, 15),
    (Op::LoadSlot, 10),
    (Op::Read, 30),
    (Op::DropLocal, 15),
    (Op::Alloc, 2),
    (Op::AddEdge, 3),
    (Op::StoreRoot, 2),
    (Op::Safepoint, 2),
];

fn choose(mix: Mix, rng: &mut Rng) -> Op {
    let total: usize = mix.iter().map(|&(_, weight)| weight).sum();
    let mut pick = rng.below(total);
    for &(op, weight) in mix {
        if pick < weight {
            return op;
        }
        pick -= weight;
    }
    unreachable!()
}

// --- progress and hangs -------------------------------------------------------------------------

/// What each thread is doing, for the watchdog's report.
struct Board {
    status: Vec<Mutex<String>>,
    progress: AtomicUsize,
    done: AtomicBool,
}

impl Board {
    fn new(threads: usize) -> Board {
        Board {
            status: (0..threads).map(|_| Mutex::new(String::new())).collect(),
            progress: AtomicUsize::new(0),
            done: AtomicBool::new(false),
        }
    }

    fn note(&self, me: usize, round: usize, what: impl std::fmt::Debug) {
        let mut status = lock(&self.status[me]);
        status.clear();
        let _ = write!(status, "round {round}: {what:?}");
        drop(status);
        self.progress.fetch_add(1, Relaxed);
    }

    /// Runs on a thread that never touches the shared heap (so a collection never waits for it):
    /// aborts the process if no thread makes progress for [`STALL`].
    fn watch(&self, test: &str, seed: u64) {
        let mut last = self.progress.load(Relaxed);
        let mut since = Instant::now();
        while !self.done.load(SeqCst) {
            thread::sleep(Duration::from_millis(20));
            let now = self.progress.load(Relaxed);
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() > STALL {
                let mut report = format!(
                    "HANG in {test} (seed {seed}): no progress for {STALL:?}; each thread's last \
                     step:\n"
                );
                for (t, status) in self.status.iter().enumerate() {
                    let _ = writeln!(report, "  thread {t}: {}", lock(status));
                }
                eprintln!("{report}");
                std::process::abort();
            }
        }
    }
}

/// Tells the watchdog to stop when dropped — also when the test's thread unwinds, so that the
/// scope's wait for the watchdog ends.
struct StopWatching<'a>(&'a Board);

impl Drop for StopWatching<'_> {
    fn drop(&mut self) {
        self.0.done.store(true, SeqCst);
    }
}

/// Prints the context of a thread that panics (its test, seed and last step).
struct Context<'a, C: Counts> {
    heap: &'a Heap<C>,
    me: usize,
}

impl<C: Counts> Drop for Context<'_, C> {
    fn drop(&mut self) {
        if thread::panicking() {
            let config = self.heap.config;
            eprintln!(
                "{} failed on thread {} (seed {}, SYNC_STRESS_SEED={} reproduces the programs), \
                 last step: {}",
                config.test,
                self.me,
                config.seed,
                config.seed,
                lock(&self.heap.board.status[self.me])
            );
        }
    }
}

// --- a barrier that can be broken ------------------------------------------------------------------

/// A reusable barrier that waits inside `sync::blocking` (a collection does not wait for a thread
/// waiting here) and that a panicking thread breaks, so that the others fail instead of hanging.
struct Rendezvous {
    threads: usize,
    state: Mutex<RendezvousState>,
    changed: Condvar,
}

#[derive(Default)]
struct RendezvousState {
    arrived: usize,
    generation: u64,
    broken: bool,
}

impl Rendezvous {
    fn new(threads: usize) -> Rendezvous {
        Rendezvous {
            threads,
            state: Mutex::new(RendezvousState::default()),
            changed: Condvar::new(),
        }
    }

    fn wait(&self) {
        sync::blocking(|| {
            let mut state = lock(&self.state);
            assert!(!state.broken, "another thread panicked");
            let generation = state.generation;
            state.arrived += 1;
            if state.arrived == self.threads {
                state.arrived = 0;
                state.generation += 1;
                self.changed.notify_all();
                return;
            }
            while state.generation == generation && !state.broken {
                state = self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            assert!(!state.broken, "another thread panicked");
        });
    }

    fn break_it(&self) {
        lock(&self.state).broken = true;
        self.changed.notify_all();
    }
}

/// Breaks the rendezvous if the thread panics.
struct BreakOnPanic<'a>(&'a Rendezvous);

impl Drop for BreakOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.break_it();
        }
    }
}

/// Restores the automatic collection threshold and schedule, even if the test fails.
struct RestoreSchedule(usize, SharedSchedule);

impl Drop for RestoreSchedule {
    fn drop(&mut self) {
        sync::set_threshold(self.0);
        sync::set_schedule(self.1);
    }
}

// --- the heap and its mutators ---------------------------------------------------------------------

/// The shape of a stress run.
#[derive(Clone, Copy)]
struct Config {
    /// The test's name, for reports.
    test: &'static str,
    seed: u64,
    threads: usize,
    /// Root slots shared by every thread.
    slots: usize,
    rounds: usize,
    /// Steps per thread per round.
    steps: usize,
    /// Local handles a thread holds at most.
    max_locals: usize,
    /// The program mix of every thread but those below.
    mix: Mix,
    /// A thread that runs its rounds inside `sync::blocking` with [`BLOCKING_READER`].
    blocking_thread: Option<usize>,
    /// A thread that runs [`COLLECTOR`].
    collector_thread: Option<usize>,
}

impl Config {
    fn new(test: &'static str, threads: usize, default_seed: u64) -> Config {
        Config {
            test,
            seed: seed(default_seed),
            threads,
            slots: 24,
            rounds: size(60, 2),
            steps: size(2_500, 20),
            max_locals: 10,
            mix: MIXED,
            blocking_thread: None,
            collector_thread: None,
        }
    }
}

/// What the threads share.
struct Heap<C: Counts> {
    config: Config,
    ledger: Arc<Ledger>,
    roots: Vec<AtomicGc<Node<C>, C>>,
    rendezvous: Rendezvous,
    board: Board,
    /// Node ids reached by the walks of one check.
    reached: Mutex<HashSet<usize>>,
    /// The leader's verdict in `settle`.
    settled: AtomicBool,
    /// The most nodes a check found reachable, and the objects the checks' collections found
    /// unreachable, summed (a report that the runs were not trivial).
    most_reached: AtomicUsize,
    found_by_checks: AtomicUsize,
}

impl<C: Counts> Heap<C> {
    fn new(config: Config) -> Heap<C> {
        Heap {
            config,
            ledger: Ledger::new(),
            roots: (0..config.slots).map(|_| AtomicGc::new(None)).collect(),
            rendezvous: Rendezvous::new(config.threads),
            board: Board::new(config.threads),
            reached: Mutex::new(HashSet::new()),
            settled: AtomicBool::new(false),
            most_reached: AtomicUsize::new(0),
            found_by_checks: AtomicUsize::new(0),
        }
    }

    /// Every thread passes safepoints until a whole pass frees nothing. Then no mailbox holds an
    /// entry: an entry present at the start of a pass is merged by its owner's safepoint in that
    /// pass, and a new entry is made only by a drop, which only a free (a node's edges dropped)
    /// causes during a pass. Nodes whose last reference went to a mailbox are freed by then.
    fn settle(&self, me: usize, round: usize) {
        let mut last = usize::MAX;
        loop {
            self.board.note(me, round, "settle: waiting for the others");
            self.rendezvous.wait();
            self.board.note(me, round, "settle: safepoint");
            sync::safepoint();
            self.rendezvous.wait();
            if me == 0 {
                let now = self.ledger.dropped();
                self.settled.store(now == last, SeqCst);
                last = now;
            }
            self.rendezvous.wait();
            if self.settled.load(SeqCst) {
                return;
            }
        }
    }

    /// The end of a round: settle, the leader collects, every thread walks from its locals (the
    /// leader also from the roots), and the leader checks that exactly the unreached nodes have
    /// been dropped.
    fn check(&self, me: usize, round: usize, locals: &[Handle<C>]) {
        self.settle(me, round);
        if me == 0 {
            self.board.note(me, round, "check: collect");
            self.found_by_checks.fetch_add(sync::collect(), Relaxed);
        }
        self.board
            .note(me, round, "check: waiting for the collection");
        self.rendezvous.wait();
        self.board.note(me, round, "check: walk");
        let mut seen = HashSet::new();
        walk(locals.to_vec(), &mut seen, &self.ledger);
        if me == 0 {
            let roots = self.roots.iter().filter_map(AtomicGc::load).collect();
            walk(roots, &mut seen, &self.ledger);
        }
        lock(&self.reached).extend(seen);
        self.board.note(me, round, "check: waiting for the walks");
        self.rendezvous.wait();
        if me == 0 {
            self.board.note(me, round, "check: oracle");
            let mut reached = lock(&self.reached);
            self.assert_dropped_iff_unreached(&reached, round);
            self.most_reached.fetch_max(reached.len(), Relaxed);
            reached.clear();
        }
        self.board.note(me, round, "check: waiting for the oracle");
        self.rendezvous.wait();
    }

    /// Every node made is dropped (once) iff it is not in `reached`.
    fn assert_dropped_iff_unreached(&self, reached: &HashSet<usize>, round: usize) {
        let mut leaked = Vec::new();
        let mut lost = Vec::new();
        for id in 0..self.ledger.made() {
            match (reached.contains(&id), self.ledger.drops_of(id)) {
                (true, 0) | (false, 1) => {}
                (true, _) => lost.push(id),
                (false, 0) => leaked.push(id),
                (false, drops) => panic!("node {id} dropped {drops} times"),
            }
        }
        assert!(
            leaked.is_empty() && lost.is_empty(),
            "{} (seed {}), after round {round}: {} of {} nodes reachable; unreachable but not \
             dropped after a collection of the settled heap: {:?}; reachable but dropped: {:?}",
            self.config.test,
            self.config.seed,
            reached.len(),
            self.ledger.made(),
            &leaked[..leaked.len().min(20)],
            &lost[..lost.len().min(20)],
        );
    }

    /// The final check, on the main thread once every worker has exited: collects, checks the
    /// oracle against the roots, clears them, collects, and checks that every node was dropped
    /// exactly once.
    fn finish(&self) {
        sync::collect();
        let mut seen = HashSet::new();
        let roots = self.roots.iter().filter_map(AtomicGc::load).collect();
        walk(roots, &mut seen, &self.ledger);
        self.assert_dropped_iff_unreached(&seen, usize::MAX);
        for slot in &self.roots {
            slot.store(None);
        }
        sync::collect();
        sync::safepoint();
        // First without holding the ledger's lock while panicking (a poisoned ledger makes every
        // later drop of an item panic).
        self.assert_dropped_iff_unreached(&HashSet::new(), usize::MAX);
        self.ledger.assert_all_dropped_once();
    }
}

/// One thread's program state.
struct Mutator<'h, C: Counts> {
    heap: &'h Heap<C>,
    me: usize,
    round: usize,
    rng: Rng,
    mix: Mix,
    locals: Vec<Handle<C>>,
}

impl<'h, C: Counts> Mutator<'h, C> {
    fn new(heap: &'h Heap<C>, me: usize, mix: Mix) -> Self {
        Mutator {
            heap,
            me,
            round: 0,
            rng: Rng::new(heap.config.seed, me as u64 + 1),
            mix,
            locals: Vec::new(),
        }
    }

    /// A clone of a random local handle.
    fn pick(&mut self) -> Option<Handle<C>> {
        if self.locals.is_empty() {
            None
        } else {
            let at = self.rng.below(self.locals.len());
            Some(self.locals[at].clone())
        }
    }

    /// Keeps `handle` as a local, dropping a random one if there are too many.
    fn keep(&mut self, handle: Option<Handle<C>>) {
        if let Some(handle) = handle {
            if self.locals.len() >= self.heap.config.max_locals {
                let at = self.rng.below(self.locals.len());
                self.locals.swap_remove(at);
            }
            self.locals.push(handle);
        }
    }

    fn root(&mut self) -> &'h AtomicGc<Node<C>, C> {
        let at = self.rng.below(self.heap.roots.len());
        &self.heap.roots[at]
    }

    fn run(&mut self, steps: usize) {
        for _ in 0..steps {
            let op = choose(self.mix, &mut self.rng);
            self.heap.board.note(self.me, self.round, op);
            self.step(op);
        }
    }

    fn step(&mut self, op: Op) {
        let ledger = &self.heap.ledger;
        match op {
            Op::Alloc => {
                let node = new_node::<C>(ledger);
                if self.rng.chance(50) {
                    if let Some(target) = self.pick() {
                        node.edges.lock().push(target);
                    }
                }
                if self.rng.chance(50) {
                    let old = self.root().swap(Some(node.clone()));
                    self.keep(old);
                }
                self.keep(Some(node));
            }
            Op::LoadRoot => {
                let loaded = self.root().load();
                self.keep(loaded);
            }
            Op::StoreRoot => {
                let value = if self.rng.chance(25) {
                    None
                } else {
                    self.pick()
                };
                self.root().store(value);
            }
            Op::SwapRoot => {
                let value = self.pick();
                let old = self.root().swap(value);
                self.keep(old);
            }
            Op::CasRoot => {
                let root = self.root();
                let current = root.load();
                let new = self.pick();
                match root.compare_exchange(current.as_ref(), new) {
                    Ok(old) => self.keep(old),
                    Err(failed) => self.keep(failed.current),
                }
            }
            Op::AddEdge => {
                if let (Some(from), Some(to)) = (self.pick(), self.pick()) {
                    let mut edges = from.edges.lock();
                    if edges.len() >= MAX_EDGES {
                        let at = self.rng.below(edges.len());
                        edges.swap_remove(at); // may free a node while the guard is held
                    }
                    edges.push(to);
                }
            }
            Op::RemoveEdge => {
                if let Some(from) = self.pick() {
                    let removed = {
                        let mut edges = from.edges.lock();
                        if edges.is_empty() {
                            None
                        } else {
                            let at = self.rng.below(edges.len());
                            Some(edges.swap_remove(at))
                        }
                    };
                    if self.rng.chance(50) {
                        self.keep(removed);
                    }
                }
            }
            Op::Follow => {
                if let Some(from) = self.pick() {
                    let target = {
                        let edges = from.edges.lock();
                        if edges.is_empty() {
                            None
                        } else {
                            Some(edges[self.rng.below(edges.len())].clone())
                        }
                    };
                    self.keep(target);
                }
            }
            Op::SetSlot => {
                if let Some(node) = self.pick() {
                    if self.rng.chance(70) {
                        let value = self.pick();
                        node.slot.store(value);
                    } else {
                        let old = node.slot.swap(None);
                        self.keep(old);
                    }
                }
            }
            Op::LoadSlot => {
                if let Some(node) = self.pick() {
                    let loaded = node.slot.load();
                    self.keep(loaded);
                }
            }
            Op::Read => {
                if let Some(node) = self.pick() {
                    let id = node.item.id;
                    assert!(id < ledger.made());
                    assert_eq!(ledger.drops_of(id), 0, "a held node {id} was dropped");
                }
            }
            Op::DropLocal => {
                if !self.locals.is_empty() {
                    let at = self.rng.below(self.locals.len());
                    self.locals.swap_remove(at);
                }
            }
            Op::Safepoint => sync::safepoint(),
            Op::LockAndAllocate => {
                if let Some(node) = self.pick() {
                    let mut edges = node.edges.lock();
                    // Allocating is a safepoint: this thread may park holding the guard.
                    let child = new_node::<C>(ledger);
                    child.edges.lock().push(node.clone());
                    if edges.len() >= MAX_EDGES {
                        edges.swap_remove(0);
                    }
                    edges.push(child.clone());
                    if self.rng.chance(30) {
                        sync::safepoint();
                    }
                    if self.mix.iter().any(|&(op, _)| op == Op::Collect) && self.rng.chance(20) {
                        // The collector cannot take this lock: `node`'s edges count as external.
                        sync::collect();
                    }
                    drop(edges);
                    self.keep(Some(child));
                }
            }
            Op::TwoLocks => {
                if let (Some(a), Some(b)) = (self.pick(), self.pick()) {
                    if !Gc::ptr_eq(&a, &b) {
                        let (first, second) = if a.item.id < b.item.id {
                            (&a, &b)
                        } else {
                            (&b, &a)
                        };
                        let mut first_edges = first.edges.lock();
                        let mut second_edges = second.edges.lock();
                        let (from, to) = if self.rng.chance(50) {
                            (&mut first_edges, &mut second_edges)
                        } else {
                            (&mut second_edges, &mut first_edges)
                        };
                        if let Some(edge) = from.pop() {
                            if to.len() < MAX_EDGES {
                                to.push(edge);
                            }
                        }
                    }
                }
            }
            Op::Collect => {
                sync::collect();
            }
        }
    }

    /// Drops all but a few local handles (the ones the check walks from).
    fn thin_locals(&mut self) {
        let keep = self.rng.below(3);
        while self.locals.len() > keep {
            let at = self.rng.below(self.locals.len());
            self.locals.swap_remove(at);
        }
    }
}

/// One worker of [`stress`]: `rounds` rounds of its program, each followed by the check.
fn worker<C: Counts>(heap: &Heap<C>, me: usize) {
    let config = heap.config;
    let _break = BreakOnPanic(&heap.rendezvous);
    let _context = Context { heap, me };
    let blocking = config.blocking_thread == Some(me);
    let mix = if blocking {
        BLOCKING_READER
    } else if config.collector_thread == Some(me) {
        COLLECTOR
    } else {
        config.mix
    };
    let mut mutator = Mutator::new(heap, me, mix);
    for round in 0..config.rounds {
        mutator.round = round;
        if blocking {
            // Clones, drops and reads run while the others collect; the few heap operations wait
            // for a running collection and re-enter the section.
            sync::blocking(|| mutator.run(config.steps));
        } else {
            mutator.run(config.steps);
        }
        mutator.thin_locals();
        heap.check(me, round, &mutator.locals);
    }
    heap.board.note(me, config.rounds, "exiting");
}

/// Runs `config` on its threads, with the checks after each round and at the end.
fn stress<C: Counts>(config: Config) {
    let heap = Heap::<C>::new(config);
    let started = Instant::now();
    // The whole scope in a blocking section: its own wait for the threads (when the closure
    // returns, or unwinds) is a wait too. This thread touches no shared object in it.
    sync::blocking(|| {
        thread::scope(|s| {
            let heap = &heap;
            let _stop_watching = StopWatching(&heap.board);
            s.spawn(move || heap.board.watch(config.test, config.seed));
            let workers: Vec<_> = (0..config.threads)
                .map(|me| s.spawn(move || worker(heap, me)))
                .collect();
            // `join` (not the scope's end) also waits for the threads' exits, which merge what
            // was queued to them.
            let results: Vec<_> = workers.into_iter().map(|worker| worker.join()).collect();
            for (me, result) in results.into_iter().enumerate() {
                if let Err(panic) = result {
                    eprintln!("{}: thread {me} panicked", config.test);
                    std::panic::resume_unwind(panic);
                }
            }
        })
    });
    heap.finish();
    eprintln!(
        "{} (seed {}): {} threads, {} rounds of {} steps, {} nodes; at most {} reachable at a \
         check, {} found unreachable by the checks' collections; {:?}",
        config.test,
        config.seed,
        config.threads,
        config.rounds,
        config.steps,
        heap.ledger.made(),
        heap.most_reached.load(Relaxed),
        heap.found_by_checks.load(Relaxed),
        started.elapsed()
    );
}

// --- the tests --------------------------------------------------------------------------------------

#[test]
fn two_threads_collecting_biased() {
    let _serial = serial();
    stress::<BiasedCounts>(Config::new("two_threads_collecting_biased", 2, 1));
}

#[test]
fn three_threads_collecting_biased() {
    let _serial = serial();
    stress::<BiasedCounts>(Config::new("three_threads_collecting_biased", 3, 2));
}

#[test]
fn four_threads_collecting_biased() {
    let _serial = serial();
    let mut config = Config::new("four_threads_collecting_biased", 4, 3);
    config.collector_thread = Some(3);
    stress::<BiasedCounts>(config);
}

#[test]
fn two_threads_collecting_atomic() {
    let _serial = serial();
    stress::<AtomicCounts>(Config::new("two_threads_collecting_atomic", 2, 4));
}

#[test]
fn four_threads_collecting_atomic() {
    let _serial = serial();
    let mut config = Config::new("four_threads_collecting_atomic", 4, 5);
    config.collector_thread = Some(3);
    stress::<AtomicCounts>(config);
}

/// No explicit collection during the rounds: automatic ones on `schedule` at a low threshold (the
/// checks still collect explicitly, and fully). Afterwards, cyclic garbage made on one thread is
/// still collected automatically: the stress did not wedge or switch off the schedule.
fn automatic<C: Counts>(test: &'static str, threads: usize, seed: u64, schedule: SharedSchedule) {
    let _serial = serial();
    let _restore = RestoreSchedule(sync::threshold(), sync::schedule());
    sync::set_threshold(50);
    sync::set_schedule(schedule);
    let mut config = Config::new(test, threads, seed);
    config.mix = NO_COLLECT;
    stress::<C>(config);

    let ledger = Ledger::new();
    // Under Miri still enough for the schedule, whose counts arrive in batches of 64 allocations.
    let cycles = size(2_000, 200);
    thread::scope(|s| {
        let ledger = &ledger;
        let maker = s.spawn(move || {
            for _ in 0..cycles {
                let node = new_node::<C>(ledger);
                node.edges.lock().push(node.clone());
            }
        });
        sync::blocking(|| maker.join()).unwrap();
    });
    assert!(
        ledger.dropped() >= size(cycles / 2, 1),
        "{test}: after the stress, automatic collections freed {} of {cycles} self-cycles",
        ledger.dropped()
    );
    sync::collect();
    ledger.assert_all_dropped_once();
}

#[test]
fn automatic_collections_biased() {
    automatic::<BiasedCounts>(
        "automatic_collections_biased",
        3,
        6,
        SharedSchedule::FreeThreaded,
    );
}

#[test]
fn automatic_collections_atomic() {
    automatic::<AtomicCounts>(
        "automatic_collections_atomic",
        3,
        7,
        SharedSchedule::FreeThreaded,
    );
}

/// The generational schedule's young collections run while the threads mutate; the checks'
/// full collections then find exactly the unreached nodes dropped.
#[test]
fn automatic_generational_collections_biased() {
    automatic::<BiasedCounts>(
        "automatic_generational_collections_biased",
        3,
        12,
        SharedSchedule::Generational,
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the biased variant runs the generational path under Miri; this one adds 30 s"
)]
fn automatic_generational_collections_atomic() {
    automatic::<AtomicCounts>(
        "automatic_generational_collections_atomic",
        3,
        13,
        SharedSchedule::Generational,
    );
}

/// One thread spends its rounds inside `sync::blocking`, cloning, dropping, reading and loading
/// handles, while another collects often.
fn blocking_reader<C: Counts>(test: &'static str, seed: u64) {
    let _serial = serial();
    let mut config = Config::new(test, 3, seed);
    config.blocking_thread = Some(1);
    config.collector_thread = Some(2);
    stress::<C>(config);
}

#[test]
fn a_blocking_reader_while_others_collect_biased() {
    blocking_reader::<BiasedCounts>("a_blocking_reader_while_others_collect_biased", 8);
}

#[test]
fn a_blocking_reader_while_others_collect_atomic() {
    blocking_reader::<AtomicCounts>("a_blocking_reader_while_others_collect_atomic", 9);
}

// --- a thread that panics ------------------------------------------------------------------------------

/// Where the panicking thread panics.
#[derive(Clone, Copy, Debug)]
enum PanicAt {
    /// Holding local handles and the guard of a node reachable from a root.
    HoldingAGuard,
    /// Inside `sync::blocking`, holding local handles, clones and a guard.
    InsideBlocking,
    /// After running a collection itself, holding handles (one to a fresh self-cycle) and,
    /// again, the guard of a root's node.
    AfterCollecting,
}

impl PanicAt {
    const ALL: [PanicAt; 3] = [
        PanicAt::HoldingAGuard,
        PanicAt::InsideBlocking,
        PanicAt::AfterCollecting,
    ];
}

/// `threads` threads run random programs with collections; one of them panics in the middle of
/// its program, holding references and a `GcLock` guard. The others go on collecting after it
/// has gone (a collection waits for nobody that is gone, or exiting); at the end the oracle holds
/// and every node is dropped exactly once.
fn panicking<C: Counts>(test: &'static str, threads: usize, at: PanicAt, default_seed: u64) {
    let mut config = Config::new(test, threads, default_seed);
    config.rounds = 1;
    let heap = Heap::<C>::new(config);
    let panicked = AtomicBool::new(false);
    let steps = size(3_000, 30);
    // In a blocking section, as in `stress`: the scope waits for its threads also when a failed
    // join unwinds this thread.
    sync::blocking(|| {
        thread::scope(|s| {
            let (heap, panicked) = (&heap, &panicked);
            let _stop_watching = StopWatching(&heap.board);
            s.spawn(move || heap.board.watch(config.test, config.seed));
            let panicker = s.spawn(move || {
                /// Tells the others once the panic unwinds.
                struct Flag<'a>(&'a AtomicBool);
                impl Drop for Flag<'_> {
                    fn drop(&mut self) {
                        self.0.store(true, SeqCst);
                    }
                }
                let _flag = Flag(panicked);
                let mut mutator = Mutator::new(heap, 0, MIXED);
                mutator.run(steps / 2);
                heap.board.note(0, 0, format!("about to panic: {at:?}"));
                // A node reachable from a root, locked.
                let target = match heap.roots[0].load() {
                    Some(node) => node,
                    None => {
                        let node = new_node::<C>(&heap.ledger);
                        heap.roots[0].store(Some(node.clone()));
                        node
                    }
                };
                let mut edges = target.edges.lock();
                let child = new_node::<C>(&heap.ledger);
                child.edges.lock().push(target.clone());
                edges.push(child.clone()); // a cycle through the locked value
                let cycle = new_node::<C>(&heap.ledger);
                cycle.slot.store(Some(cycle.clone()));
                match at {
                    PanicAt::HoldingAGuard => panic!("a mutator panics holding a guard"),
                    PanicAt::InsideBlocking => sync::blocking(|| {
                        let _clones = mutator.locals.to_vec();
                        let _more = (child.clone(), cycle.clone());
                        panic!("a mutator panics inside a blocking section");
                    }),
                    PanicAt::AfterCollecting => {
                        drop(edges);
                        sync::collect();
                        let _edges = target.edges.lock();
                        panic!("a mutator panics after collecting");
                    }
                }
            });
            let others: Vec<_> = (1..threads)
                .map(|me| {
                    s.spawn(move || {
                        let _context = Context { heap, me };
                        let mut mutator = Mutator::new(heap, me, MIXED);
                        mutator.run(steps / 2);
                        heap.board.note(me, 0, "waiting for the panic");
                        while !panicked.load(SeqCst) {
                            sync::blocking(|| thread::sleep(Duration::from_millis(1)));
                        }
                        // Collections while the panicking thread unwinds and exits, and after.
                        mutator.run(steps / 2);
                        heap.board.note(me, 0, "collect after the panic");
                        sync::collect();
                    })
                })
                .collect();
            assert!(panicker.join().is_err(), "{test}: the thread did not panic");
            for other in others {
                other.join().unwrap();
            }
        })
    });
    heap.finish();
}

#[test]
fn a_panicking_thread_leaks_nothing_and_does_not_wedge_the_collector_biased() {
    let _serial = serial();
    // Under Miri (where this test took 50 s) two and four threads only.
    let thread_counts: &[usize] = if cfg!(miri) { &[2, 4] } else { &[2, 3, 4] };
    for (i, at) in PanicAt::ALL.into_iter().enumerate() {
        for &threads in thread_counts {
            panicking::<BiasedCounts>(
                "a_panicking_thread_biased",
                threads,
                at,
                100 + 10 * i as u64 + threads as u64,
            );
        }
    }
}

#[test]
fn a_panicking_thread_leaks_nothing_and_does_not_wedge_the_collector_atomic() {
    let _serial = serial();
    for (i, at) in PanicAt::ALL.into_iter().enumerate() {
        panicking::<AtomicCounts>("a_panicking_thread_atomic", 3, at, 200 + i as u64);
    }
}

/// Collector-side hooks for [`a_waiter_taking_a_lock_mid_collection_hides_no_edge`]: a node whose
/// `trace` (run by the collector, with the world stopped) acts while armed.
struct Hook {
    _item: Item,
    role: Role,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Releases the lock guard the collecting thread stashed ([`STASHED`]).
    Release,
    /// Sleeps, giving the waiter time to take the lock.
    Sleep,
}

static HOOKS_ARMED: AtomicBool = AtomicBool::new(false);

type Guard = gc_refcount::sync::GcLockGuard<'static, Vec<Handle<BiasedCounts>>>;

thread_local! {
    /// A guard the collecting thread holds into its collection, for its `Release` hook to drop.
    static STASHED: std::cell::RefCell<Option<Guard>> = const { std::cell::RefCell::new(None) };
}

/// Drops the stashed guard, if it is still there, when the test's scope ends (before the node it
/// borrows from).
struct Unstash;

impl Drop for Unstash {
    fn drop(&mut self) {
        STASHED.with(|stashed| drop(stashed.borrow_mut().take()));
    }
}

// SAFETY: reports no edge (it holds none); tracked (`MAY_CONTAIN_GC`) so that the collector
// traces it.
unsafe impl Trace for Hook {
    const MAY_CONTAIN_GC: bool = true;

    fn trace(&self, _visitor: &mut dyn Visitor) {
        if !HOOKS_ARMED.load(SeqCst) {
            return;
        }
        match self.role {
            Role::Release => STASHED.with(|stashed| drop(stashed.borrow_mut().take())),
            Role::Sleep => thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Regression test (see the module docs). A thread that waits for a `GcLock` waits inside a
/// blocking section, in `std::sync::Mutex::lock` — and when the lock is released while the world
/// is stopped, it *takes* the lock during the collection. A collector that traced the value
/// twice (subtraction, then marking) saw it free the first time and taken the second: the value's
/// edges were subtracted but never marked, and what only they reference was torn down while
/// reachable.
///
/// Here the collecting thread holds the parent's lock and releases it from a hook traced just
/// before the parent; the waiter is woken and takes the lock while a second hook sleeps, before
/// the marking pass. The child, referenced only by the parent's locked edges, is then torn down
/// while the parent (held by this thread) still points to it. The release races the waiter's
/// wake-up, so the test tries several times. The stress tests above hit the same bug without any
/// hook (a torn-down node reached from a root or a local handle).
#[test]
fn a_waiter_taking_a_lock_mid_collection_hides_no_edge() {
    let _serial = serial();
    let ledger = Ledger::new();
    let mut torn_down_while_reachable = None;
    for attempt in 0..size(20, 2) {
        // Allocated in this order on this thread: the collector's subtraction pass meets them
        // newest first (hook, parent, child, sleeper), its marking pass pops the roots oldest
        // first (sleeper, parent, hook).
        let sleeper = Gc::new(Hook {
            _item: ledger.item(),
            role: Role::Sleep,
        });
        let child: Handle<BiasedCounts> = new_node(&ledger);
        let child_id = child.item.id;
        let parent: Handle<BiasedCounts> = new_node(&ledger);
        parent.edges.lock().push(child); // the child's only reference
        let hook = Gc::new(Hook {
            _item: ledger.item(),
            role: Role::Release,
        });
        let waiting = AtomicBool::new(false);
        let waiter_saw = thread::scope(|s| {
            let (parent, waiting) = (&parent, &waiting);
            let unstash = Unstash;
            let guard = parent.edges.lock();
            // SAFETY: only the lifetime changes; `unstash` drops the stashed guard before
            // `parent`, the handle it borrows from, goes (it is declared after it), and the
            // `Release` hook can only drop it earlier.
            let guard: Guard = unsafe { std::mem::transmute(guard) };
            STASHED.with(|stashed| *stashed.borrow_mut() = Some(guard));
            let waiter = s.spawn(move || {
                waiting.store(true, SeqCst);
                // Waits, inside GcLock::lock's blocking section, for this thread to let go.
                let edges = parent.edges.lock();
                catch_unwind(AssertUnwindSafe(|| edges[0].item.id)).ok()
            });
            while !waiting.load(SeqCst) {
                sync::blocking(thread::yield_now);
            }
            sync::blocking(|| thread::sleep(Duration::from_millis(20)));
            HOOKS_ARMED.store(true, SeqCst);
            sync::collect();
            HOOKS_ARMED.store(false, SeqCst);
            drop(unstash); // if the hook did not run
            sync::blocking(|| waiter.join()).unwrap()
        });
        let torn_down = ledger.drops_of(child_id) != 0;
        if torn_down {
            torn_down_while_reachable = Some((attempt, waiter_saw));
            // The parent's edge is a handle to a torn-down object: dropping it frees only
            // its memory.
            drop(parent);
            break;
        }
        drop((parent, sleeper, hook));
        sync::collect();
        sync::safepoint();
    }
    if let Some((attempt, waiter_saw)) = torn_down_while_reachable {
        panic!(
            "LIBRARY BUG (attempt {attempt}): a collection tore down a node reachable from a \
             live, held node: the parent's GcLock was free when the subtraction pass traced it \
             and taken, during the same collection, by a thread waiting in GcLock::lock's \
             blocking section, so the marking pass could not trace it; the waiter then {}",
            match waiter_saw {
                Some(_) => "read the torn-down child without a panic",
                None =>
                    "panicked dereferencing the child (\"dereferenced a shared Gc whose \
                         value a collection has dropped\")",
            }
        );
    }
    sync::collect();
    sync::safepoint();
    ledger.assert_all_dropped_once();
}
