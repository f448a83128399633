//! [`FingerMarker`]: marking that walks the nodes in a given order (for a heap: allocation order,
//! which a pool allocator makes address order) with a "finger", after Printezis and Detlefs
//! (ISMM 2000), the marking order of CMS and G1 — on one thread, or split over several.
//!
//! A depth-first marking visits objects in the order the graph dictates. On a heap bigger than
//! the caches nearly every object it scans is a cache miss, and prefetching overlaps only as many
//! misses as the core has fill buffers. Walking the nodes in address order instead is a stream
//! the hardware prefetcher follows. Measured on the reference machine, 1 000 000 objects whose
//! edges go to nearby objects (`--bench mark`, `fields-local`): the engine's depth-first loop
//! ([`Marker`](super::Marker)) took 22 ms with its prefetch FIFO and 64 without; the walk, 8–10.
//!
//! ## The rule
//!
//! The walk is the finger. Each node's mark word holds two bits the finger owns:
//! [`MARK_BIT`] (reached) and [`PASSED_BIT`] (the walk went by while it was unmarked).
//!
//! - The walk, at a node: a root, or a node already marked, is marked and traced by the walk. An
//!   unmarked node gets [`PASSED_BIT`]; an edge that marks it later traces it.
//! - An edge to a node: if it sets the mark, and the node was passed, the edge's worker traces it
//!   at once; if it was not passed, the walk will trace it when it gets there.
//!
//! So each reachable node is traced exactly once. With several workers, the two bits live in one
//! atomic word and both sides set theirs with one read-modify-write (`fetch_or`), so the word's
//! modification order decides: whichever of "mark" and "pass" comes second sees the other's bit,
//! and that side traces. (A root is marked by the walk's own `fetch_or`; an edge that marked it
//! first saw no [`PASSED_BIT`] and left it to the walk.)
//!
//! ## Several workers
//!
//! The node order is cut into chunks; workers claim chunks in order from a shared cursor and walk
//! each with its own finger. An edge's worker traces a passed node itself, wherever it lies, so
//! no work crosses between workers and no termination protocol is needed: a worker returns when
//! the chunks are used up and its own stack and prefetch FIFO are empty, and everything is
//! traced when every worker has returned. The cost of that simplicity: no stealing, so a worker
//! left with a long chain behind the walks traces it alone (as one worker would).
//!
//! ## Order of tests
//!
//! Found edges are tested in any order, which the rule allows: at once if the target is near the
//! finger ([`FingerGraph::is_near`], likely cached); otherwise after a delay in a FIFO that
//! prefetches the target. A far target ahead is tested within [`TEST_WITHIN_STEPS`] walk steps,
//! so that it is usually marked before the finger passes it.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::engine::{Graph, MarkStats, MARK_BIT};
use super::spawn::Spawn;
use crate::sync::{AtomicWord, Platform};

/// The bit of a mark word that a finger walk sets on a node it passed unmarked. Below
/// [`MARK_BIT`]; the bits below both belong to the graph.
pub const PASSED_BIT: usize = 1 << (usize::BITS - 2);

/// Far edges waiting in the prefetch FIFO at most: when one more arrives, the oldest is tested.
const PREFETCH_DISTANCE: usize = 16;

/// A far edge is tested at the latest this many walk steps after it was found, so that a target
/// ahead of the finger is usually marked before the finger gets there (and is then traced by the
/// walk, in order, instead of out of order). Without that limit, `fields-local` flipped between 11
/// and 28 ms with how many far edges fed the FIFO.
pub const TEST_WITHIN_STEPS: usize = 32;

/// Nodes a worker claims at a time when several walk.
pub const DEFAULT_CHUNK: usize = 4096;

/// A graph that a finger walk can mark: a [`Graph`] whose roots are known by their mark words.
///
/// # Safety
///
/// As [`Graph`]; besides, [`is_root`](FingerGraph::is_root) depends only on the bits of the word
/// below [`PASSED_BIT`], which nobody changes during a marking.
pub unsafe trait FingerGraph: Graph {
    /// Whether a node whose mark word holds `word` (engine bits cleared) is a root.
    fn is_root(&self, word: usize) -> bool;

    /// Whether `target` is near the walk at `finger`, so that testing it at once likely costs no
    /// cache miss. By default `false`: every edge goes through the prefetch FIFO.
    #[inline(always)]
    fn is_near(&self, _finger: Self::Node, _target: Self::Node) -> bool {
        false
    }

    /// Called as the walk reaches `node`, before anything else touches it: a chance to prefetch
    /// what lies ahead of the walk. By default nothing.
    #[inline(always)]
    fn walk_reaches(&self, _node: Self::Node) {}
}

/// What a sequential finger walk tells its caller as it goes: which nodes it has traced, and which
/// it passed unmarked (see [`FingerMarker::mark_retiring`]).
pub trait Retire<N> {
    /// `node` has been traced: it is reachable, and its edges are collected.
    fn traced(&mut self, node: N);

    /// The walk passed `node` unmarked. It is reachable if it is traced later, and unreachable
    /// otherwise.
    fn passed(&mut self, node: N);
}

/// Retires nothing: the plain walk, which leaves every node's bits for its caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepAll;

impl<N> Retire<N> for KeepAll {
    #[inline(always)]
    fn traced(&mut self, _node: N) {}

    #[inline(always)]
    fn passed(&mut self, _node: N) {}
}

type Atomic<G> = <<G as Graph>::Platform as Platform>::AtomicUsize;

/// Sets `bits` in `word` and returns the old value: one atomic read-modify-write when `shared`,
/// a load and a store otherwise (one thread only: no other thread can interleave).
#[inline(always)]
fn set_bits<A: AtomicWord>(word: &A, bits: usize, shared: bool) -> usize {
    if shared {
        word.fetch_or(bits, Relaxed)
    } else {
        let old = word.load(Relaxed);
        word.store(old | bits, Relaxed);
        old
    }
}

/// One finger: its found edges and prefetch FIFO, and what it did.
struct Finger<G: Graph> {
    /// Edges found by tracing, not yet tested.
    found: Vec<G::Node>,
    /// Edges whose targets are being prefetched, oldest first, with the walk's step when each
    /// was found.
    fifo: VecDeque<(G::Node, usize)>,
    /// Walk steps so far.
    step: usize,
    /// Nodes traced.
    scanned: usize,
    /// Found edges tested at once because they led near the finger.
    near: usize,
    /// Found edges sent through the prefetch FIFO.
    far: usize,
    /// Whether other fingers walk the same nodes (atomic read-modify-writes needed).
    shared: bool,
}

impl<G: FingerGraph> Finger<G> {
    fn new(shared: bool) -> Self {
        Finger {
            found: Vec::new(),
            fifo: VecDeque::with_capacity(PREFETCH_DISTANCE),
            step: 0,
            scanned: 0,
            near: 0,
            far: 0,
            shared,
        }
    }

    /// Walks `nodes` in order, applying the rule of the module docs.
    ///
    /// # Safety
    ///
    /// As [`FingerMarker::mark`].
    unsafe fn walk<R: Retire<G::Node>>(
        &mut self,
        graph: &G,
        nodes: impl IntoIterator<Item = G::Node>,
        retire: &mut R,
    ) {
        for node in nodes {
            graph.walk_reaches(node);
            self.step += 1;
            // SAFETY: a node of the walk (the caller's promise). Not retired: nothing is traced
            // before the walk has reached it.
            if unsafe { self.pass(graph, node, retire) } {
                // SAFETY: as above.
                unsafe {
                    self.trace(graph, node, retire);
                    self.test_found(graph, node, retire);
                }
            }
            // Test the far edges found `TEST_WITHIN_STEPS` steps ago: a target found ahead is
            // usually still ahead, and marking it before the finger gets there spares tracing it
            // out of order.
            while let Some(&(edge, found_at)) = self.fifo.front() {
                if found_at + TEST_WITHIN_STEPS > self.step {
                    break;
                }
                self.fifo.pop_front();
                // SAFETY: as above.
                unsafe {
                    self.test(graph, edge, retire);
                    self.test_found(graph, node, retire);
                }
            }
        }
    }

    /// The walk at `node`: marks it if it is a root, or passes it. Returns whether the walk
    /// traces it.
    ///
    /// # Safety
    ///
    /// As [`FingerMarker::mark`]; `node` is a node.
    #[inline(always)]
    unsafe fn pass<R: Retire<G::Node>>(
        &mut self,
        graph: &G,
        node: G::Node,
        retire: &mut R,
    ) -> bool {
        // SAFETY: a node (the caller's promise).
        let word = unsafe { graph.mark_word(node) };
        let value = word.load(Relaxed);
        if value & MARK_BIT != 0 {
            // Marked ahead of the finger: the marker left it to the walk.
            true
        } else if graph.is_root(value & !(MARK_BIT | PASSED_BIT)) {
            // An edge that marks it meanwhile sees no PASSED_BIT and leaves it to the walk.
            set_bits(word, MARK_BIT, self.shared);
            true
        } else if set_bits(word, PASSED_BIT, self.shared) & MARK_BIT != 0 {
            // An edge marked it since the load.
            true
        } else {
            retire.passed(node);
            false
        }
    }

    /// Tests every edge still in the FIFO and traces what they reach: called when the walk is
    /// over, so every node is behind it. Nearness is judged from the edge just tested.
    ///
    /// # Safety
    ///
    /// As [`FingerMarker::mark`].
    unsafe fn finish<R: Retire<G::Node>>(&mut self, graph: &G, retire: &mut R) {
        while let Some((edge, _)) = self.fifo.pop_front() {
            // SAFETY: as above.
            unsafe {
                self.test(graph, edge, retire);
                self.test_found(graph, edge, retire);
            }
        }
    }

    /// Traces `node` onto the found edges, then hands it to `retire`.
    ///
    /// # Safety
    ///
    /// As [`FingerMarker::mark`]; `node` is a node.
    #[inline(always)]
    unsafe fn trace<R: Retire<G::Node>>(&mut self, graph: &G, node: G::Node, retire: &mut R) {
        self.scanned += 1;
        // SAFETY: the caller's promise.
        unsafe { graph.trace_candidates_into(node, &mut self.found) };
        retire.traced(node);
    }

    /// Tests the found edges: at once those whose target is near the finger; the others go to the
    /// prefetch FIFO, whose oldest edge is tested once it holds [`PREFETCH_DISTANCE`].
    ///
    /// # Safety
    ///
    /// As [`FingerMarker::mark`]; every found edge was reported by `trace_candidates`.
    #[inline]
    unsafe fn test_found<R: Retire<G::Node>>(
        &mut self,
        graph: &G,
        finger: G::Node,
        retire: &mut R,
    ) {
        while let Some(edge) = self.found.pop() {
            if graph.is_near(finger, edge) {
                self.near += 1;
                // SAFETY: as above.
                unsafe { self.test(graph, edge, retire) };
                continue;
            }
            self.far += 1;
            graph.prefetch(edge);
            self.fifo.push_back((edge, self.step));
            if self.fifo.len() >= PREFETCH_DISTANCE {
                let Some((oldest, _)) = self.fifo.pop_front() else {
                    continue;
                };
                // SAFETY: as above.
                unsafe { self.test(graph, oldest, retire) };
            }
        }
    }

    /// Marks `edge`'s target if it is an unmarked node, and traces it if a walk has passed it.
    ///
    /// # Safety
    ///
    /// As [`Finger::test_found`].
    #[inline(always)]
    unsafe fn test<R: Retire<G::Node>>(&mut self, graph: &G, edge: G::Node, retire: &mut R) {
        // SAFETY: reported by `trace_candidates` (the caller's promise).
        if !unsafe { graph.is_node(edge) } {
            return;
        }
        // SAFETY: a node.
        let word = unsafe { graph.mark_word(edge) };
        if word.load(Relaxed) & MARK_BIT != 0 {
            return;
        }
        let old = set_bits(word, MARK_BIT, self.shared);
        if old & (MARK_BIT | PASSED_BIT) == PASSED_BIT {
            // SAFETY: a node.
            unsafe { self.trace(graph, edge, retire) };
        }
    }
}

/// Finger marking over a graph `G`: sequential, or split over a spawner's workers.
pub struct FingerMarker<G: FingerGraph> {
    graph: G,
    chunk: usize,
    /// The sequential walk's finger, kept between markings for its buffers.
    finger: Finger<G>,
}

impl<G: FingerGraph + std::fmt::Debug> std::fmt::Debug for FingerMarker<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerMarker")
            .field("graph", &self.graph)
            .field("chunk", &self.chunk)
            .finish()
    }
}

impl<G: FingerGraph> FingerMarker<G> {
    /// A finger marker over `graph`; workers claim [`DEFAULT_CHUNK`] nodes at a time.
    pub fn new(graph: G) -> Self {
        FingerMarker {
            graph,
            chunk: DEFAULT_CHUNK,
            finger: Finger::new(false),
        }
    }

    /// Nodes a worker claims at a time when several walk (at least 1; a set too small to give
    /// every worker a chunk this big is cut into one chunk per worker).
    pub fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    /// Marks every node reachable from a root with one walk of `nodes`, on this thread: plain
    /// loads and stores, no read-modify-write. Leaves [`PASSED_BIT`] on every node the walk
    /// found unmarked (reachable ones too), for the caller to clear.
    ///
    /// # Panics
    ///
    /// If `trace_candidates` panics; marks are then left for the caller to restore.
    ///
    /// # Safety
    ///
    /// `nodes` yields every node of the graph, each once (`is_node` is `true` exactly for them),
    /// and the [`Graph`] rules hold for each for the whole call; none carries [`MARK_BIT`] or
    /// [`PASSED_BIT`] yet; no other code reads or writes their mark words meanwhile.
    pub unsafe fn mark(&mut self, nodes: impl IntoIterator<Item = G::Node>) -> MarkStats {
        // SAFETY: the caller's promise; `KeepAll` retires nothing.
        unsafe { self.mark_retiring(nodes, &mut KeepAll) }
    }

    /// [`FingerMarker::mark`], telling `retire` of every node the walk traces (right after it is
    /// traced, its edges already collected) and of every node the walk passes unmarked. When the
    /// walk is over, the nodes traced are exactly the reachable ones, and every node was either
    /// traced or passed unmarked (a node passed and then reached is traced too). A caller can so
    /// sweep during the walk: finish with each traced node at once, and afterwards look only at
    /// the passed ones. `MarkSweep` does, which spares it a walk over every object.
    ///
    /// # Panics
    ///
    /// As [`FingerMarker::mark`].
    ///
    /// # Safety
    ///
    /// As [`FingerMarker::mark`], except that `retire.traced(node)` may take `node` out of the
    /// graph: make `is_node(node)` `false` from then on (edges to it are then ignored) and
    /// change its mark word. The walk itself never looks at a node again once it has traced it
    /// (in one walk, nothing is traced before the walk has reached it), but the graph's
    /// `is_near` and `prefetch` may still be called with a retired node (an edge to it), so they
    /// must not depend on what `traced` changed.
    pub unsafe fn mark_retiring<R: Retire<G::Node>>(
        &mut self,
        nodes: impl IntoIterator<Item = G::Node>,
        retire: &mut R,
    ) -> MarkStats {
        let finger = &mut self.finger;
        finger.found.clear();
        finger.fifo.clear();
        finger.step = 0;
        finger.scanned = 0;
        finger.near = 0;
        finger.far = 0;
        // SAFETY: the caller's promise.
        unsafe {
            finger.walk(&self.graph, nodes, retire);
            finger.finish(&self.graph, retire);
        }
        MarkStats {
            workers: 1,
            scanned: finger.scanned,
            steals: 0,
        }
    }

    /// The fraction of the edges found by the last sequential walk ([`FingerMarker::mark`],
    /// [`FingerMarker::mark_retiring`]) that were tested at once because they led near the finger
    /// ([`FingerGraph::is_near`]); 1 if it found none. Close to
    /// [`near_edges`](FingerMarker::near_edges), for free, but not the same measure: it counts
    /// the edges of the reachable nodes only, and judges each against the walk's position when
    /// it was found, not against its source, so the edges of a node traced out of order count as
    /// far.
    pub fn last_near_edges(&self) -> f64 {
        let total = self.finger.near + self.finger.far;
        if total == 0 {
            1.0
        } else {
            self.finger.near as f64 / total as f64
        }
    }

    /// The fraction of edges that lead near their source ([`FingerGraph::is_near`], with the
    /// source as the finger), over the edges of `sample` nodes spread evenly over `nodes`; 1 if
    /// they have none. Near edges are the ones a finger walk follows at the cost of a cached
    /// access; where most edges are near, one walk streams through the graph and a split walk
    /// has little to gain (see `MarkSweep` in gc-refcount for the figures).
    ///
    /// # Safety
    ///
    /// As [`FingerMarker::mark`] for the sampled nodes (it traces them, and reads no mark word).
    pub unsafe fn near_edges(&mut self, nodes: &[G::Node], sample: usize) -> f64 {
        let found = &mut self.finger.found;
        let step = (nodes.len() / sample.max(1)).max(1);
        let (mut near, mut total) = (0usize, 0usize);
        for &node in nodes.iter().step_by(step) {
            found.clear();
            // SAFETY: the caller's promise.
            unsafe { self.graph.trace_candidates_into(node, found) };
            total += found.len();
            near += found
                .iter()
                .filter(|&&target| self.graph.is_near(node, target))
                .count();
        }
        found.clear();
        if total == 0 {
            1.0
        } else {
            near as f64 / total as f64
        }
    }

    /// [`FingerMarker::mark`] with `spawner.workers()` workers (the sequential walk if that is 1),
    /// each walking chunks of `nodes` claimed in order, with atomic read-modify-writes. `nodes`
    /// is lent to the workers and handed back as it was.
    ///
    /// # Panics
    ///
    /// If `trace_candidates` panics (in any worker), after every worker has stopped; `nodes` is
    /// then left empty.
    ///
    /// # Safety
    ///
    /// As [`FingerMarker::mark`]; besides, `trace_candidates`, `is_node` and `mark_word` may run
    /// on the spawner's threads while the calling thread waits.
    pub unsafe fn mark_parallel<S: Spawn>(
        &mut self,
        nodes: &mut Vec<G::Node>,
        spawner: &S,
    ) -> MarkStats {
        // Chunks no bigger than a worker's share, so that every worker gets some of a small set.
        let chunk = self
            .chunk
            .min(nodes.len().div_ceil(spawner.workers().max(1)))
            .max(1);
        let workers = spawner.workers().min(nodes.len().div_ceil(chunk));
        if workers <= 1 {
            // SAFETY: the caller's promise.
            return unsafe { self.mark(nodes.iter().copied()) };
        }
        let shared = Arc::new(Walk {
            graph: self.graph.clone(),
            nodes: std::mem::take(nodes),
            next: Atomic::<G>::new(0),
            chunk,
        });
        let items: Vec<Arc<Walk<G>>> = (0..workers).map(|_| Arc::clone(&shared)).collect();
        let scanned = spawner.run(items, run_worker::<G>).into_iter().sum();
        // Every worker has returned and dropped its handle: take the nodes back.
        if let Ok(walk) = Arc::try_unwrap(shared) {
            *nodes = walk.nodes;
        }
        MarkStats {
            workers,
            scanned,
            steals: 0,
        }
    }
}

/// What the workers of a parallel walk share.
struct Walk<G: Graph> {
    graph: G,
    nodes: Vec<G::Node>,
    /// The first node not yet claimed.
    next: Atomic<G>,
    chunk: usize,
}

/// A worker: claims chunks in order and walks each, then empties its FIFO. Returns how many
/// nodes it traced.
fn run_worker<G: FingerGraph>(walk: Arc<Walk<G>>) -> usize {
    let mut finger = Finger::<G>::new(true);
    loop {
        let start = walk.next.fetch_add(walk.chunk, Relaxed);
        if start >= walk.nodes.len() {
            break;
        }
        let end = walk.nodes.len().min(start + walk.chunk);
        // SAFETY: `mark_parallel`'s caller vouched for every node, and for running `trace` here.
        unsafe {
            finger.walk(
                &walk.graph,
                walk.nodes[start..end].iter().copied(),
                &mut KeepAll,
            )
        };
    }
    // SAFETY: as above.
    unsafe { finger.finish(&walk.graph, &mut KeepAll) };
    finger.scanned
}
