//! The engine: a graph to mark, the workers' loop, and the sequential path.
//!
//! A worker repeats: pop a work item (an edge not yet followed) from its private stack (or, when
//! that is empty, its own deque) into the prefetch FIFO, and take the FIFO's oldest: if it is a
//! node whose mark the worker wins, scan it (every edge out of it is pushed on the private stack,
//! untested; the older half of the stack moves to the deque whenever the deque is empty, so that
//! others can steal it); when both are empty, claim the next chunk of roots; when the
//! roots are used up, steal from another worker; when that fails too, run the termination
//! protocol ([`Termination::wait_for_work`]), which either hands it a stolen object or ends the
//! phase. With one worker none of that machinery runs: [`Marker::mark_from`] is a plain loop
//! over a `Vec` stack with a load and a store per mark, no atomic read-modify-write.

use std::collections::VecDeque;
use std::mem;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::queue::{Steal, Stealer, WorkQueue};
use super::spawn::Spawn;
use super::termination::{Termination, Wait};
use crate::sync::{AtomicWord, Platform};

/// The bit of a mark word that the engine owns: set once the node is marked. The other bits
/// belong to the graph (the heap keeps `gc_refs` there) and are left as they are.
pub const MARK_BIT: usize = 1 << (usize::BITS - 1);

/// How many work items ahead of the scan the engine prefetches: an item popped from the stack or
/// deque waits in a FIFO, its memory loading ([`Graph::prefetch`]), while the items before it
/// are taken. Marking a large heap is bound by cache misses on objects visited in graph order;
/// this overlaps several of them (Boehm's prefetch-on-grey, and Cher, Hosking and Vijaykumar,
/// "Software Prefetching for Mark-Sweep Garbage Collection", ASPLOS 2004). An item's mark is
/// tested only when it leaves the FIFO, so some items are duplicates or non-members that take no
/// time: the FIFO must be longer than the number of misses to overlap. Measured on the `mark`
/// benchmark (4 000 000 objects, same run): 8 → 307 and 197 ms with 1 and 2 workers, 16 → 309
/// and 191, 32 → 304 and 186; on `full_collection` with one worker (1 000 000 objects,
/// `fields-local`) 8 → 49.5 ms, 16 → 36.8, 32 → 31.3.
pub const PREFETCH_DISTANCE: usize = 32;

/// Roots a worker claims at a time by default (see [`Marker::with_root_chunk`]).
pub const DEFAULT_ROOT_CHUNK: usize = 128;

/// A graph the engine can mark: nodes, a mark word per node, and the edges out of a node.
///
/// # Safety
///
/// Implementations promise, for every node that [`Marker::mark`]'s caller lets the engine reach
/// (the roots and everything `trace` reports from a reached node):
///
/// 1. `mark_word` returns the same word every time for the same node and different words for
///    different nodes, and the word lives as long as the marking;
/// 2. `trace` and `mark_word` may be called from any of the spawner's threads, concurrently for
///    different nodes: `trace` reports the node's edges (every call the same ones) and writes
///    no memory that another node's `trace` or anyone else reads during the marking.
/// 3. `trace_candidates` reports every target `trace` reports, and possibly others that are not
///    nodes of the graph; `is_node` may be called with any of them, reads only, and returns
///    `true` exactly for the nodes (every target of `trace`, every root).
pub unsafe trait Graph: Clone + Send + Sync + 'static {
    /// The sync facade instance the engine uses with this graph.
    type Platform: Platform;
    /// A node: small, copied freely, sent between workers.
    type Node: Copy + Send + Sync + 'static;

    /// The node's mark word. The engine reads it and sets [`MARK_BIT`] in it, nothing else.
    ///
    /// # Safety
    ///
    /// `node` is one the caller of [`Marker::mark`] vouched for (see the trait's rules).
    unsafe fn mark_word(&self, node: Self::Node) -> &<Self::Platform as Platform>::AtomicUsize;

    /// Calls `visit` once for every edge out of `node`, with the edge's target.
    ///
    /// # Safety
    ///
    /// As [`Graph::mark_word`].
    unsafe fn trace(&self, node: Self::Node, visit: &mut impl FnMut(Self::Node));

    /// Calls `visit` for every edge out of `node`, like [`trace`](Graph::trace), but may also
    /// report targets that are not nodes of the graph, which [`is_node`](Graph::is_node) then
    /// rejects. For a graph whose `trace` reads each target to filter it (a cache miss per edge,
    /// taken in graph order), this lets the sequential path defer that read until the target's
    /// memory has been prefetched. By default [`trace`](Graph::trace).
    ///
    /// # Safety
    ///
    /// As [`Graph::mark_word`].
    #[inline(always)]
    unsafe fn trace_candidates(&self, node: Self::Node, visit: &mut impl FnMut(Self::Node)) {
        // SAFETY: the caller's promise.
        unsafe { self.trace(node, visit) }
    }

    /// Pushes onto `found` what [`trace_candidates`](Graph::trace_candidates) reports for `node`.
    /// By default through it; a graph that can collect a node's edges faster overrides it.
    ///
    /// # Safety
    ///
    /// As [`Graph::mark_word`].
    #[inline(always)]
    unsafe fn trace_candidates_into(&self, node: Self::Node, found: &mut Vec<Self::Node>) {
        // SAFETY: the caller's promise.
        unsafe { self.trace_candidates(node, &mut |target| found.push(target)) }
    }

    /// Whether a target reported by [`trace_candidates`](Graph::trace_candidates) is a node of
    /// the graph. By default `true` (for graphs whose `trace_candidates` is `trace`).
    ///
    /// # Safety
    ///
    /// `target` is a root or was reported by `trace_candidates` for a node the caller of
    /// [`Marker::mark`] vouched for.
    #[inline(always)]
    unsafe fn is_node(&self, _target: Self::Node) -> bool {
        true
    }

    /// A hint that `node` will be scanned soon: start loading its memory. By default nothing.
    /// The engine calls it [`PREFETCH_DISTANCE`] nodes ahead of the scan.
    #[inline(always)]
    fn prefetch(&self, _node: Self::Node) {}

    /// Called by every parallel worker as its last action, when it stops (`stats.saw_end` says
    /// whether it saw the phase end). By default nothing; the loom models check here that a
    /// worker that saw the end sees no grey node left.
    fn worker_finished(&self, _stats: &WorkerStats) {}
}

/// What one worker of a parallel phase did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// The worker's index, `0..workers`.
    pub worker: usize,
    /// Nodes it scanned.
    pub scanned: usize,
    /// Successful steals.
    pub steals: usize,
    /// Whether the worker stopped because it saw the phase end (rather than because the
    /// platform's [`SPIN_LIMIT`](crate::sync::Platform::SPIN_LIMIT) made it give up).
    pub saw_end: bool,
}

/// What a marking did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MarkStats {
    /// Workers that ran: 1 for the sequential path, 0 when there were no roots.
    pub workers: usize,
    /// Nodes scanned: every node reached, once.
    pub scanned: usize,
    /// Successful steals, summed over the workers.
    pub steals: usize,
}

type Atomic<G> = <<G as Graph>::Platform as Platform>::AtomicUsize;
type Deque<G> = <<G as Graph>::Platform as Platform>::Deque<<G as Graph>::Node>;
type StealerOf<G> = <Deque<G> as WorkQueue<<G as Graph>::Node>>::Stealer;

/// Marks nodes shared by several workers: atomic test-and-set, so exactly one worker wins each
/// node and scans it. Relaxed: the mark only decides *who* scans a node; it publishes nothing
/// (the node's data was written before the phase began, and a node reaches another worker only
/// through a deque, whose push/steal orders the hand-off). The plain load first skips the
/// read-modify-write for nodes already marked — most edges, in a heap with shared structure.
#[inline(always)]
fn try_mark<A: AtomicWord>(word: &A) -> bool {
    word.load(Relaxed) & MARK_BIT == 0 && word.fetch_or(MARK_BIT, Relaxed) & MARK_BIT == 0
}

/// Marks nodes seen by one thread only: check, then set. Relaxed loads and stores of an atomic
/// are plain moves on every mainstream processor: no read-modify-write, no fence.
#[inline(always)]
fn try_mark_unshared<A: AtomicWord>(word: &A) -> bool {
    let value = word.load(Relaxed);
    if value & MARK_BIT != 0 {
        return false;
    }
    word.store(value | MARK_BIT, Relaxed);
    true
}

/// The marking engine over a graph `G`, running its workers with a spawner `S`.
pub struct Marker<G: Graph, S: Spawn> {
    graph: G,
    spawner: Option<S>,
    root_chunk: usize,
    /// The sequential path's stack and prefetch FIFO, kept between markings.
    stack: Vec<G::Node>,
    fifo: VecDeque<G::Node>,
}

impl<G: Graph + std::fmt::Debug, S: Spawn + std::fmt::Debug> std::fmt::Debug for Marker<G, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Marker")
            .field("graph", &self.graph)
            .field("spawner", &self.spawner)
            .field("root_chunk", &self.root_chunk)
            .finish()
    }
}

impl<G: Graph, S: Spawn> Marker<G, S> {
    /// A marker that always takes the sequential path.
    pub fn sequential(graph: G) -> Self {
        Marker {
            graph,
            spawner: None,
            root_chunk: DEFAULT_ROOT_CHUNK,
            stack: Vec::new(),
            fifo: VecDeque::with_capacity(PREFETCH_DISTANCE),
        }
    }

    /// A marker that runs `spawner.workers()` workers (the sequential path if that is 1).
    pub fn parallel(graph: G, spawner: S) -> Self {
        Marker {
            spawner: Some(spawner),
            ..Marker::sequential(graph)
        }
    }

    /// Roots a worker claims at a time ([`DEFAULT_ROOT_CHUNK`] by default; at least 1).
    pub fn with_root_chunk(mut self, chunk: usize) -> Self {
        self.root_chunk = chunk.max(1);
        self
    }

    /// The workers a marking runs.
    pub fn workers(&self) -> usize {
        self.spawner.as_ref().map_or(1, Spawn::workers)
    }

    /// The graph.
    pub fn graph(&self) -> &G {
        &self.graph
    }

    /// The graph, to replace between markings (a collector whose graph carries per-collection
    /// data keeps one marker, and its pool, across collections).
    pub fn graph_mut(&mut self) -> &mut G {
        &mut self.graph
    }

    /// The spawner of a parallel marker, for other phases of a collection to run on the same
    /// threads (`None` for a sequential marker).
    pub fn spawner(&self) -> Option<&S> {
        self.spawner.as_ref()
    }

    /// Marks every node reachable from `roots` (a root given twice counts once) and scans each
    /// once, in parallel unless the marker has one worker. Empties `roots`, keeping its
    /// allocation. Nodes marked before the call are treated as already scanned.
    ///
    /// # Panics
    ///
    /// If `trace` panics (in any worker), after every worker has stopped.
    ///
    /// # Safety
    ///
    /// Every root and every node reached is one the [`Graph`] impl's rules hold for, for the
    /// whole call; no code other than this marking reads or writes their mark words during it;
    /// and their `trace` may run on the spawner's threads while the calling thread waits.
    pub unsafe fn mark(&mut self, roots: &mut Vec<G::Node>) -> MarkStats {
        let workers = self.workers();
        if roots.is_empty() {
            // Nothing is grey: no thread needs waking (a collection of pure garbage).
            return MarkStats::default();
        }
        if workers <= 1 {
            let mut scanned = 0;
            for root in roots.drain(..) {
                // SAFETY: the caller's promise.
                scanned += unsafe { self.mark_from(root) };
            }
            return MarkStats {
                workers: 1,
                scanned,
                steals: 0,
            };
        }
        let Some(spawner) = self.spawner.as_ref() else {
            unreachable!("more than one worker without a spawner")
        };
        let locals: Vec<Deque<G>> = (0..workers).map(|_| WorkQueue::new_lifo()).collect();
        let shared = Arc::new(Shared {
            graph: self.graph.clone(),
            roots: mem::take(roots),
            next_root: Atomic::<G>::new(0),
            root_chunk: self.root_chunk,
            termination: Termination::new(workers),
            stealers: locals.iter().map(WorkQueue::stealer).collect(),
        });
        let items: Vec<WorkerItem<G>> = locals
            .into_iter()
            .enumerate()
            .map(|(index, local)| WorkerItem {
                shared: Arc::clone(&shared),
                index,
                local,
            })
            .collect();
        let results = spawner.run(items, run_worker::<G>);
        // Every worker has returned and dropped its handle: take the roots' allocation back.
        if let Ok(shared) = Arc::try_unwrap(shared) {
            *roots = shared.roots;
            roots.clear();
        }
        results.iter().fold(
            MarkStats {
                workers,
                ..MarkStats::default()
            },
            |total, worker| MarkStats {
                scanned: total.scanned + worker.scanned,
                steals: total.steals + worker.steals,
                ..total
            },
        )
    }

    /// The sequential path: marks `root` and everything reachable from it that is not marked
    /// yet, on the calling thread. Returns how many nodes it scanned (0 if `root` was marked).
    ///
    /// # Safety
    ///
    /// As [`Marker::mark`] (nothing runs on other threads).
    pub unsafe fn mark_from(&mut self, root: G::Node) -> usize {
        let graph = &self.graph;
        let stack = &mut self.stack;
        let fifo = &mut self.fifo;
        // Children are pushed unread (`trace_candidates`), and only tested — are they nodes, are
        // they marked — once they leave the prefetch FIFO, their headers loaded: marking on the
        // way in read each child's header as soon as it was found, one cache miss after another.
        stack.push(root);
        let mut scanned = 0;
        loop {
            // Refill the prefetch FIFO from the stack, then test and scan its oldest node.
            while fifo.len() < PREFETCH_DISTANCE {
                let Some(node) = stack.pop() else { break };
                graph.prefetch(node);
                fifo.push_back(node);
            }
            let Some(node) = fifo.pop_front() else { break };
            // SAFETY: as above: `node` is `root` or was reported by `trace_candidates` for a node
            // reached from it; `mark_word` only for nodes.
            unsafe {
                if !graph.is_node(node) || !try_mark_unshared(graph.mark_word(node)) {
                    continue;
                }
                graph.trace_candidates(node, &mut |child| stack.push(child));
            }
            scanned += 1;
        }
        scanned
    }
}

/// What the workers of one phase share.
struct Shared<G: Graph> {
    graph: G,
    roots: Vec<G::Node>,
    /// Index of the first root not claimed yet: the shared injector of root chunks.
    next_root: Atomic<G>,
    root_chunk: usize,
    termination: Termination<G::Platform>,
    /// A thief's handle to every worker's deque, by worker index.
    stealers: Vec<StealerOf<G>>,
}

impl<G: Graph> Shared<G> {
    /// One round of steals from every other worker, starting after `thief`; retries while a
    /// victim reports a race.
    fn steal(&self, thief: usize, local: &Deque<G>) -> Option<G::Node> {
        let workers = self.stealers.len();
        loop {
            let mut retry = false;
            for victim in (1..workers).map(|offset| (thief + offset) % workers) {
                match self.stealers[victim].steal_batch_and_pop(local) {
                    Steal::Success(node) => return Some(node),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// Whether another worker's deque looks non-empty (a hint).
    fn work_visible(&self, thief: usize) -> bool {
        self.stealers
            .iter()
            .enumerate()
            .any(|(victim, stealer)| victim != thief && !stealer.is_empty())
    }
}

/// One worker's share of a phase, moved to its thread. Only [`Marker::mark`] builds them, under
/// its caller's promise about the nodes.
struct WorkerItem<G: Graph> {
    shared: Arc<Shared<G>>,
    index: usize,
    local: Deque<G>,
}

/// Poisons the phase if the worker unwinds, so that the others stop waiting for it.
struct PoisonOnUnwind<'a, P: Platform>(&'a Termination<P>);

impl<P: Platform> Drop for PoisonOnUnwind<'_, P> {
    fn drop(&mut self) {
        self.0.poison();
    }
}

/// A worker's whole life: the loop described in the [module docs](self).
fn run_worker<G: Graph>(item: WorkerItem<G>) -> WorkerStats {
    let WorkerItem {
        shared,
        index,
        local,
    } = item;
    let poison = PoisonOnUnwind(&shared.termination);
    let mut stats = WorkerStats {
        worker: index,
        ..WorkerStats::default()
    };
    let mut roots_left = true;
    // Items popped from the private stack or the deque, their memory loading; and the private
    // stack of work items, which no other worker sees. Both are in this worker's hands: it
    // scans all of them before it claims roots, steals or goes idle.
    let mut fifo: VecDeque<G::Node> = VecDeque::with_capacity(PREFETCH_DISTANCE);
    let mut stack: Vec<G::Node> = Vec::new();
    loop {
        loop {
            while fifo.len() < PREFETCH_DISTANCE {
                let Some(node) = stack.pop().or_else(|| local.pop()) else {
                    break;
                };
                shared.graph.prefetch(node);
                fifo.push_back(node);
            }
            let Some(node) = fifo.pop_front() else { break };
            stats.scanned += usize::from(scan(&shared.graph, &mut stack, node));
            // Share work only when there is none to steal from this worker: the deque's pop
            // costs a fence, the private stack's nothing.
            if stack.len() > 1 && local.is_empty() {
                let half = stack.len() / 2;
                for node in stack.drain(..half) {
                    local.push(node);
                }
            }
        }
        if roots_left {
            roots_left = claim_roots(&shared, &local);
            if roots_left {
                continue;
            }
        }
        let stolen = match shared.steal(index, &local) {
            Some(node) => Wait::Work(node),
            // Ran dry: the termination protocol. It hands back a stolen node with this worker
            // counted active again, or says the phase is over.
            None => shared.termination.wait_for_work(
                || shared.work_visible(index),
                || shared.steal(index, &local),
            ),
        };
        match stolen {
            Wait::Work(node) => {
                stats.steals += 1;
                stats.scanned += usize::from(scan(&shared.graph, &mut stack, node));
            }
            Wait::Over => {
                stats.saw_end = true;
                break;
            }
            Wait::GaveUp => break,
        }
    }
    mem::forget(poison);
    shared.graph.worker_finished(&stats);
    stats
}

/// Takes a work item: if it is a node of the graph and this worker wins its mark, scans it —
/// every edge out of it goes on the private stack, untested ([`Graph::trace_candidates`]) — and
/// returns `true`. Testing on the way out rather than on the way in lets the prefetch FIFO load
/// each item's header before its mark is read.
#[inline]
fn scan<G: Graph>(graph: &G, stack: &mut Vec<G::Node>, node: G::Node) -> bool {
    // SAFETY: `node` is a root or was reported from a node reached from the roots of a
    // `Marker::mark` call, whose caller vouched for every such node (`WorkerItem`s exist only
    // inside that call); `mark_word` only once `is_node` says it is a node.
    unsafe {
        if !graph.is_node(node) || !try_mark(graph.mark_word(node)) {
            return false;
        }
        graph.trace_candidates(node, &mut |child| stack.push(child));
    }
    true
}

/// Claims the next chunk of roots and pushes them on this worker's deque, unmarked. Returns
/// `false` (and claims nothing) once the roots are used up; the cursor only grows, so they stay
/// used up.
fn claim_roots<G: Graph>(shared: &Shared<G>, local: &Deque<G>) -> bool {
    let len = shared.roots.len();
    if shared.next_root.load(Relaxed) >= len {
        return false;
    }
    let start = shared.next_root.fetch_add(shared.root_chunk, Relaxed);
    if start >= len {
        return false;
    }
    let end = len.min(start + shared.root_chunk);
    for &root in &shared.roots[start..end] {
        // Unmarked, as every work item: whoever takes it tests it.
        local.push(root);
    }
    true
}
