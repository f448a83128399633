//! A property test with a reachability oracle.
//!
//! Random programs run over a small graph of `Gc<Node>` objects: allocate, link, unlink, drop a
//! handle (or all handles to a node), clone a handle, upgrade a weak handle, collect. An abstract model of the same graph
//! (edges with multiplicity, live handles, which values have been dropped) predicts, after every
//! step, exactly which values the heap has dropped:
//!
//! - reference counting drops a value the moment nothing references it — no handle and no edge
//!   from a value that is still alive (a fixpoint over the model);
//! - a full collection by `TrialDeletion` drops every value unreachable from the handles, and
//!   `gc::collect()` returns how many that was (after refcount frees, every such value is on a
//!   cycle or reachable only from one);
//! - under `NoCycles`, `gc::collect()` returns 0 and values on or hanging off a cycle leak;
//! - `BaconRajan` (buffered discipline) must agree with trial deletion exactly, except that a
//!   buffered candidate's memory may outlive its value until a collection;
//! - under the deferred discipline nothing is freed at zero (and a weak handle no longer upgrades),
//!   and a collection frees everything unreachable, acyclic or not;
//! - `MarkSweep` (one worker, and two workers marking in parallel) must agree with trial deletion
//!   exactly, under the immediate and the deferred discipline.
//!
//! Every `Node::drop` logs its id in a thread-local log, so a value dropped twice, or dropped while
//! reachable, or left alive when it should have gone, fails the case. The model also predicts every
//! strong count, the weak handles' answers, the heap's live and tracked object counts.
//!
//! Under a schedule that collects inside small tests (a young threshold of 3), automatic
//! collections run inside allocations at points the model does not predict; there each step checks
//! the safety half of the oracle (nothing reachable dropped, nothing dropped twice, the dropped set
//! closed under refcount frees, counts exact) and every explicit `gc::collect()` gets the full
//! check. Every program starts with enough allocations to trigger one.
//!
//! The suite runs under every configuration of `configurations.rs`
//! (`oracle::matches_the_oracle::<configuration>`); what it expects of one is read from the
//! configuration's [`Traits`], never from its name. Each case runs in a fresh thread, so it gets a
//! fresh heap, configured for it.

use std::cell::RefCell;
use std::collections::VecDeque;

use gc_refcount::{gc, Gc, GcCell, Trace, Weak};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};

use crate::configurations::{panic_message, Configuration, Traits};

per_configuration!(matches_the_oracle);

thread_local! {
    /// Ids of the nodes whose value has been dropped, in drop order.
    static DROPPED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
struct Node {
    id: usize,
    edges: GcCell<Vec<Gc<Node>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        DROPPED.with(|log| log.borrow_mut().push(self.id));
    }
}

/// One step of a program. Numbers select a handle, an edge or a node (see [`pick`]).
#[derive(Debug, Clone)]
enum Op {
    Alloc,
    /// Push a `Gc` of the second handle's node into the first handle's node.
    Link(u8, u8),
    /// Remove an edge of the handle's node.
    Unlink(u8, u8),
    DropHandle(u8),
    /// Drop every handle to the handle's node.
    Forget(u8),
    CloneHandle(u8),
    /// Upgrade the weak handle of a node (only in programs that keep weak handles).
    Upgrade(u8),
    Collect,
}

#[derive(Debug, Clone)]
struct Program {
    /// Keep a `Weak` to every node (then memory outlives values until the end of the case).
    with_weaks: bool,
    ops: Vec<Op>,
}

/// What the oracle expects of a configuration, from its [`Traits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mode {
    /// Automatic collections run during the program: the schedule's young threshold, if it is
    /// small enough to be reached (0 otherwise).
    automatic_threshold: usize,
    /// A value is dropped the moment its count reaches zero (not under the deferred discipline).
    frees_at_zero: bool,
    /// `gc::collect()` frees unreachable values (not under the `none` detector).
    collects: bool,
    /// An object's memory is freed when its value is dropped (unless weak handles remain). The
    /// buffered discipline keeps a candidate's memory until the next collection.
    frees_memory_with_value: bool,
}

impl Mode {
    fn of(heap: &Traits) -> Mode {
        Mode {
            automatic_threshold: if heap.collects_in_small_tests() {
                heap.young_threshold
            } else {
                0
            },
            frees_at_zero: heap.frees_at_zero(),
            collects: heap.collects_cycles,
            frees_memory_with_value: !heap.buffers_candidates(),
        }
    }

    /// Whether automatic collections run during the program.
    fn automatic(self) -> bool {
        self.automatic_threshold > 0
    }

    /// The most nodes a program allocates (the young-collection programs need more material).
    fn max_nodes(self) -> usize {
        match (self.automatic(), cfg!(miri)) {
            (false, _) => 12,
            (true, true) => 16,
            (true, false) => 24,
        }
    }

    /// The most operations in a program.
    fn max_ops(self) -> usize {
        match (self.automatic(), cfg!(miri)) {
            (false, _) | (true, true) => 64,
            (true, false) => 128,
        }
    }

    /// Weights of the operations, in the order of [`decode`]'s table. The young-collection
    /// programs allocate and abandon more, so that young garbage exists when a collection runs
    /// (in about a third of the cases).
    fn weights(self) -> [u8; 8] {
        if self.automatic() {
            // A rare `Collect`: a full collection empties the young generation.
            [8, 10, 2, 6, 6, 2, 2, 1]
        } else {
            [3, 5, 2, 3, 1, 2, 1, 1]
        }
    }
}

/// Decodes one operation from three random bytes: the first picks the kind (by the mode's weights),
/// the others its operands. (Plain bytes: `prop_oneof!` is very slow to generate under Miri.)
fn decode((kind, a, b): (u8, u8, u8), mode: Mode) -> Op {
    let weights = mode.weights();
    let total: u32 = weights.iter().map(|&w| u32::from(w)).sum();
    let mut roll = u32::from(kind) % total;
    let mut index = 0;
    while roll >= u32::from(weights[index]) {
        roll -= u32::from(weights[index]);
        index += 1;
    }
    match index {
        0 => Op::Alloc,
        1 => Op::Link(a, b),
        2 => Op::Unlink(a, b),
        3 => Op::DropHandle(a),
        4 => Op::Forget(a),
        5 => Op::CloneHandle(a),
        6 => Op::Upgrade(a),
        _ => Op::Collect,
    }
}

fn program(mode: Mode) -> impl Strategy<Value = Program> {
    let ops = proptest::collection::vec(any::<(u8, u8, u8)>(), 0..mode.max_ops());
    (any::<bool>(), ops).prop_map(move |(with_weaks, bytes)| {
        let mut ops: Vec<Op> = bytes.into_iter().map(|b| decode(b, mode)).collect();
        if mode.automatic() {
            // Threshold + 1 allocations in a row push count[0] past the threshold: at least one
            // automatic collection happens in every case.
            ops.splice(
                0..0,
                std::iter::repeat_n(Op::Alloc, mode.automatic_threshold + 1),
            );
        }
        Program {
            // The none detector leaks cycles by design; the weak handles let the case break them
            // at the end, so that it leaves no memory behind (Miri checks for leaks).
            with_weaks: with_weaks || !mode.collects,
            ops,
        }
    })
}

/// The abstract heap.
#[derive(Default)]
struct Model {
    /// Outgoing edges of every node, in the order of the node's `edges` vector.
    edges: Vec<Vec<usize>>,
    /// Whether the node's value has been dropped.
    dropped: Vec<bool>,
    /// The node of every handle, parallel to the real handles.
    handles: Vec<usize>,
}

impl Model {
    fn nodes(&self) -> usize {
        self.edges.len()
    }

    /// Every node's strong count: handles plus edges from values that are still alive.
    fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.nodes()];
        for &n in &self.handles {
            counts[n] += 1;
        }
        for source in (0..self.nodes()).filter(|&m| !self.dropped[m]) {
            for &target in &self.edges[source] {
                counts[target] += 1;
            }
        }
        counts
    }

    /// Drops, as reference counting does, every value nothing references, until none is left.
    fn refcount_fixpoint(&mut self) {
        let mut counts = self.counts();
        let mut zero: Vec<usize> = (0..self.nodes())
            .filter(|&n| !self.dropped[n] && counts[n] == 0)
            .collect();
        while let Some(n) = zero.pop() {
            self.dropped[n] = true;
            for &target in &self.edges[n] {
                counts[target] -= 1;
                if counts[target] == 0 && !self.dropped[target] {
                    zero.push(target);
                }
            }
        }
    }

    /// The nodes reachable from the handles.
    fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.nodes()];
        let mut queue: VecDeque<usize> = self.handles.iter().copied().collect();
        while let Some(n) = queue.pop_front() {
            if !std::mem::replace(&mut seen[n], true) {
                queue.extend(self.edges[n].iter().copied());
            }
        }
        seen
    }

    fn alive(&self) -> usize {
        self.dropped.iter().filter(|&&d| !d).count()
    }
}

/// The real heap's side: handles parallel to the model's, a weak handle per node (optionally).
struct Case {
    mode: Mode,
    /// The `gc::collect()` calls the case made (automatic collections are the others).
    explicit_collections: u64,
    model: Model,
    handles: Vec<Gc<Node>>,
    weaks: Option<Vec<Weak<Node>>>,
}

/// Fails the case with a message (the check runs in the case's thread).
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

/// The drop log as a per-node flag; fails on a double drop or an unknown id.
fn dropped_flags(nodes: usize) -> Result<Vec<bool>, String> {
    DROPPED.with(|log| {
        let log = log.borrow();
        let mut flags = vec![false; nodes];
        for &id in log.iter() {
            ensure!(id < nodes, "dropped unknown node {id} (log {log:?})");
            ensure!(!flags[id], "node {id} dropped twice (log {log:?})");
            flags[id] = true;
        }
        Ok(flags)
    })
}

/// Selects one of `len` items: half the selectors pick uniformly, the other half one of the three
/// most recent (so that fresh nodes get linked and abandoned before the next young collection).
fn pick(selector: u8, len: usize) -> Option<usize> {
    (len > 0).then(|| {
        if selector < 128 {
            selector as usize % len
        } else {
            len - 1 - (selector as usize % 3).min(len - 1)
        }
    })
}

impl Case {
    fn new(
        configuration: &'static Configuration,
        mode: Mode,
        with_weaks: bool,
    ) -> Result<Case, String> {
        let heap = configuration.configure();
        ensure!(
            Mode::of(&heap) == mode,
            "the heap is not what the program was generated for: {:?}, expected {mode:?}",
            Mode::of(&heap)
        );
        Ok(Case {
            mode,
            explicit_collections: 0,
            model: Model::default(),
            handles: Vec::new(),
            weaks: with_weaks.then(Vec::new),
        })
    }

    fn run(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Alloc => {
                let id = self.model.nodes();
                if id < self.mode.max_nodes() {
                    let node = Gc::new(Node {
                        id,
                        edges: GcCell::new(Vec::new()),
                    });
                    if let Some(weaks) = &mut self.weaks {
                        weaks.push(Gc::downgrade(&node));
                    }
                    self.handles.push(node);
                    self.model.edges.push(Vec::new());
                    self.model.dropped.push(false);
                    self.model.handles.push(id);
                }
            }
            Op::Link(a, b) => {
                if let (Some(a), Some(b)) =
                    (pick(a, self.handles.len()), pick(b, self.handles.len()))
                {
                    let target = self.handles[b].clone();
                    self.handles[a].edges.borrow_mut().push(target);
                    let (source, target) = (self.model.handles[a], self.model.handles[b]);
                    self.model.edges[source].push(target);
                }
            }
            Op::Unlink(a, i) => {
                if let Some(a) = pick(a, self.handles.len()) {
                    let source = self.model.handles[a];
                    if let Some(i) = pick(i, self.model.edges[source].len()) {
                        // Dropped after the borrow ends: the release may cascade.
                        let removed = self.handles[a].edges.borrow_mut().remove(i);
                        self.model.edges[source].remove(i);
                        drop(removed);
                    }
                }
            }
            Op::DropHandle(h) => {
                if let Some(h) = pick(h, self.handles.len()) {
                    drop(self.handles.remove(h));
                    self.model.handles.remove(h);
                }
            }
            Op::Forget(h) => {
                if let Some(h) = pick(h, self.handles.len()) {
                    let node = self.model.handles[h];
                    let mut kept = Vec::new();
                    for (handle, n) in self.handles.drain(..).zip(&self.model.handles) {
                        if *n == node {
                            drop(handle);
                        } else {
                            kept.push(handle);
                        }
                    }
                    self.handles = kept;
                    self.model.handles.retain(|&n| n != node);
                }
            }
            Op::CloneHandle(h) => {
                if let Some(h) = pick(h, self.handles.len()) {
                    self.handles.push(self.handles[h].clone());
                    self.model.handles.push(self.model.handles[h]);
                }
            }
            Op::Upgrade(n) => {
                if let (Some(weaks), Some(n)) = (&self.weaks, pick(n, self.model.nodes())) {
                    // A value whose count reached zero cannot be upgraded, even when the deferred
                    // discipline has not dropped it yet.
                    let count = self.model.counts()[n];
                    let expected = !self.model.dropped[n] && count > 0;
                    let upgraded = weaks[n].upgrade();
                    ensure!(
                        upgraded.is_some() == expected,
                        "upgrade of node {n}: got {}, but its value is {} with count {count}",
                        if upgraded.is_some() { "Some" } else { "None" },
                        if self.model.dropped[n] {
                            "dropped"
                        } else {
                            "alive"
                        }
                    );
                    if let Some(handle) = upgraded {
                        ensure!(handle.id == n, "weak {n} upgraded to node {}", handle.id);
                        self.handles.push(handle);
                        self.model.handles.push(n);
                    }
                }
            }
            Op::Collect => return self.collect(),
        }
        self.after_step()
    }

    /// A full collection, checked exactly in every mode.
    fn collect(&mut self) -> Result<(), String> {
        let reachable = self.model.reachable();
        let unreachable: Vec<usize> = (0..self.model.nodes())
            .filter(|&n| !self.model.dropped[n] && !reachable[n])
            .collect();
        let found = gc::collect();
        self.explicit_collections += 1;
        if self.mode.collects {
            ensure!(
                found == unreachable.len(),
                "gc::collect() returned {found}, expected {} (unreachable: {unreachable:?})",
                unreachable.len()
            );
            for &n in &unreachable {
                self.model.dropped[n] = true;
            }
        } else {
            ensure!(
                found == 0,
                "NoCycles: gc::collect() returned {found}, expected 0"
            );
        }
        self.check_exact()
    }

    /// After a step other than a collection: refcount frees happened at once.
    fn after_step(&mut self) -> Result<(), String> {
        if self.mode.frees_at_zero {
            self.model.refcount_fixpoint();
        }
        if !self.mode.automatic() {
            return self.check_exact();
        }
        // Automatic young collections may have dropped some unreachable cycles too.
        let actual = dropped_flags(self.model.nodes())?;
        let reachable = self.model.reachable();
        for n in 0..self.model.nodes() {
            ensure!(
                actual[n] || !self.model.dropped[n],
                "node {n}: nothing references it, but its value was not dropped"
            );
            ensure!(
                !(actual[n] && reachable[n]),
                "node {n} is reachable from a handle, but its value was dropped"
            );
        }
        self.model.dropped = actual;
        if !self.mode.frees_at_zero {
            return self.check_exact();
        }
        // What a collection tore down released its edges: the dropped set must be closed under
        // refcount frees again.
        let before = self.model.dropped.clone();
        self.model.refcount_fixpoint();
        ensure!(
            before == self.model.dropped,
            "values left alive with nothing referencing them: dropped {before:?}, expected {:?}",
            self.model.dropped
        );
        self.check_exact()
    }

    /// The heap agrees with the model on every observable.
    fn check_exact(&self) -> Result<(), String> {
        let model = &self.model;
        let counts = model.counts();
        let actual = dropped_flags(model.nodes())?;
        ensure!(
            actual == model.dropped,
            "dropped values {:?}, expected {:?}",
            ids(&actual),
            ids(&model.dropped)
        );
        for (handle, &n) in self.handles.iter().zip(&model.handles) {
            ensure!(handle.id == n, "handle to node {n} reads id {}", handle.id);
            ensure!(Gc::is_alive(handle), "handle to node {n} is not alive");
            let count = Gc::strong_count(handle);
            ensure!(
                count == counts[n],
                "node {n}: strong count {count}, expected {}",
                counts[n]
            );
            let edges: Vec<usize> = handle.edges.borrow().iter().map(|t| t.id).collect();
            ensure!(
                edges == model.edges[n],
                "node {n}: edges {edges:?}, expected {:?}",
                model.edges[n]
            );
        }
        let mut memory_held = model.alive() as u64;
        if let Some(weaks) = &self.weaks {
            for (n, weak) in weaks.iter().enumerate() {
                let expected = if model.dropped[n] { 0 } else { counts[n] };
                ensure!(
                    weak.strong_count() == expected,
                    "weak of node {n}: strong_count {}, expected {expected}",
                    weak.strong_count()
                );
            }
            // A weak handle keeps the memory of a dropped value.
            memory_held = model.nodes() as u64;
        }
        let stats = gc::stats();
        if self.mode.frees_memory_with_value {
            ensure!(
                stats.live_objects() == memory_held,
                "live objects {}, expected {memory_held}",
                stats.live_objects()
            );
        } else {
            // Buffered candidates keep their memory a while.
            ensure!(
                stats.live_objects() >= memory_held && stats.live_objects() <= model.nodes() as u64,
                "live objects {}, expected {memory_held} to {}",
                stats.live_objects(),
                model.nodes()
            );
        }
        ensure!(
            gc::tracked_count() == model.alive(),
            "tracked objects {}, expected {}",
            gc::tracked_count(),
            model.alive()
        );
        Ok(())
    }

    /// The final checks, and a clean heap at the end.
    fn finish(mut self) -> Result<(), String> {
        self.collect()?;
        if self.mode.automatic() {
            let all: u64 = gc::stats()
                .generations
                .iter()
                .map(|g| g.collections as u64)
                .sum();
            ensure!(
                all > self.explicit_collections,
                "no automatic collection happened ({all} collections, all explicit)"
            );
        }
        // Drop every handle: refcount frees what is acyclic...
        while let Some(handle) = self.handles.pop() {
            drop(handle);
            self.model.handles.pop();
            if self.mode.frees_at_zero {
                self.model.refcount_fixpoint();
            }
            self.check_exact()?;
        }
        // ... and a collection the rest (nothing under NoCycles).
        self.collect()?;
        if let Some(weaks) = self.weaks.take() {
            if !self.mode.collects {
                // Break the leaked cycles by hand.
                for weak in &weaks {
                    if let Some(node) = weak.upgrade() {
                        let edges = node.edges.replace(Vec::new());
                        drop(edges);
                    }
                }
            }
            for weak in &weaks {
                ensure!(weak.upgrade().is_none(), "a weak handle still upgrades");
            }
            drop(weaks);
        }
        let dropped = dropped_flags(self.model.nodes())?;
        ensure!(
            dropped.iter().all(|&d| d),
            "values never dropped: {:?}",
            (0..dropped.len())
                .filter(|&n| !dropped[n])
                .collect::<Vec<_>>()
        );
        let stats = gc::stats();
        ensure!(
            stats.live_objects() == 0,
            "{} objects left",
            stats.live_objects()
        );
        ensure!(gc::tracked_count() == 0, "tracked objects left");
        Ok(())
    }
}

fn ids(flags: &[bool]) -> Vec<usize> {
    (0..flags.len()).filter(|&n| flags[n]).collect()
}

fn run_case(
    configuration: &'static Configuration,
    mode: Mode,
    program: &Program,
) -> Result<(), String> {
    let mut case = Case::new(configuration, mode, program.with_weaks)?;
    for (step, op) in program.ops.iter().enumerate() {
        case.run(op)
            .map_err(|e| format!("step {step} ({op:?}): {e}"))?;
    }
    case.finish().map_err(|e| format!("at the end: {e}"))
}

/// Runs one case in a fresh thread: a fresh heap, a fresh drop log.
fn run_isolated(
    configuration: &'static Configuration,
    mode: Mode,
    program: Program,
) -> Result<(), TestCaseError> {
    let outcome = std::thread::spawn(move || run_case(configuration, mode, &program)).join();
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(TestCaseError::fail(message)),
        Err(panic) => Err(TestCaseError::fail(format!(
            "panicked: {}",
            panic_message(&*panic)
        ))),
    }
}

/// 10 000 programs per configuration by default (all seventeen configurations take about 16 s on
/// two cores in the test profile), `PROPTEST_CASES` overrides; Miri gets 4 unless it sees the
/// variable.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = if cfg!(miri) { 4 } else { 10_000 };
    }
    if cfg!(miri) {
        // No failure files under Miri's isolation.
        config.failure_persistence = None;
    }
    // Where failures are saved (`tests/proptest-regressions/`), as `proptest!` would set it.
    config.source_file = Some(file!());
    config
}

/// The property, under one configuration: every generated program agrees with the model.
fn matches_the_oracle(heap: &Traits) {
    let mode = Mode::of(heap);
    let configuration = heap.configuration;
    let mut runner = TestRunner::new(config());
    let result = runner.run(&program(mode), |program| {
        run_isolated(configuration, mode, program)
    });
    if let Err(failure) = result {
        panic!("{failure}\n{runner}");
    }
}
