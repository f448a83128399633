//! Criterion benchmarks of `gc_refcount::sync` (thread-shared objects) against `std::sync::Arc`,
//! measured in the same run so that the ratios between them mean something.
//!
//! - `sync_clone_drop`: cloning and dropping a handle, no allocation — the hot path that biased
//!   reference counting makes non-atomic on the thread that owns the object:
//!   - `arc`: `std::sync::Arc` (two atomic read-modify-writes);
//!   - `gclab-biased`: `sync::Gc` with [`BiasedCounts`](gc_refcount::sync::BiasedCounts) (the
//!     default), on the owner thread: plain loads and stores of the owner's count;
//!   - `gclab-atomic`: `sync::Gc<_, AtomicCounts>`: one atomic count, as `Arc`;
//!   - `gclab-biased-other-thread`: a biased object made by another thread (the slow path every
//!     thread but the owner takes: an atomic add, then a compare-and-swap loop to subtract).
//!
//!   Issue 9's target: `gclab-biased` at most 0.6× the time of `arc`.
//! - `sync_cross_thread_drop`: objects made on one thread (the bench thread, their owner) and
//!   dropped on another (a consumer thread), sent in batches of [`BATCH`] through a channel —
//!   the case biased counting must *merge*: the consumer's drop queues the object to its owner
//!   (a compare-and-swap and a push into the owner's mailbox), and the owner folds the counts
//!   together and frees the object at its next safepoint (here, its next allocation). Per object:
//!   - `arc`, `gclab-biased`, `gclab-atomic`: the whole round — allocate, send, drop on the
//!     consumer, and for biased counting the owner's merge — timed on the bench thread until the
//!     consumer has dropped everything and the owner has merged it;
//!   - `arc/consumer-drop`, `gclab-biased/consumer-drop`, `gclab-atomic/consumer-drop`: only the
//!     consumer's drop loop (for `arc` and `gclab-atomic` that is the free; for biased counting
//!     it is the queueing);
//!   - `gclab-biased/owner-merge`: only the owner's safepoint that merges (and frees) what the
//!     consumer queued — the merge cost.
//!
//! - `sync_collect`: one collection of a heap shaped like `shared-churn`'s at `--scale medium`
//!   (see [`Shape`]: [`ANCHORS`] rooted nodes whose edge slots hold nodes that link to older
//!   ones, a quarter of them heads of 3-node rings; about 35 000 nodes, no garbage), with the
//!   nodes scattered over memory the way a long run leaves them. Per examined object:
//!   - `shared`: [`sync::collect`] over `sync::Gc<_, AtomicCounts>` nodes with `GcLock` edges —
//!     stopping a world of one thread, then counting, tracing, marking and sweeping;
//!   - `thread-local`: `gc_refcount::gc::collect()` over the same shape built of thread-local `Gc`
//!     nodes with `GcCell` edges (the default heap: trial deletion) — the same-run reference;
//!   - `shared-cold`, `thread-local-cold`: the same, each collection timed after [`EVICT`] bytes
//!     were written elsewhere (untimed), so that the heap is out of the caches, as it is when the
//!     mutators of `shared-churn` have run between two collections;
//!   - `shared-helped`, `shared-helped-cold`: `shared` and `shared-cold` with a second registered
//!     thread that waits at its safepoints, which the collection stops and which helps with its
//!     trace and resolving walks (as a parked mutator of `shared-churn` does) — against
//!     `shared`, what sharing the walks wins, stop and restart of the second thread included.
//!     Two runs on the 2-core reference machine (criterion medians): `shared` 1.41 and 1.64 ms,
//!     `shared-helped` 1.11 and 1.11 ms (0.79× and 0.67×); `shared-cold` 1.61 and 1.79 ms,
//!     `shared-helped-cold` 1.44 and 1.44 ms (0.90× and 0.80×). The marking and the sweep stay
//!     on the collecting thread.
//!
//! The values of the first two groups are leaves (`u64`, not tracked by the shared collector),
//! so that those figures are the counting and freeing alone; no shared collection runs during
//! them.
//!
//! Every group is short (10 samples, half a second of warm-up, two seconds of measurement), so
//! the whole file takes well under a minute; `--measurement-time` and `--sample-size` override it.
//! Run with `cargo bench -p gc-refcount --bench sync`.
//!
//! Threads: criterion runs every benchmark on the main thread, which becomes a registered thread
//! of the shared heap at its first allocation. Every wait of a registered thread for another
//! thread (a channel receive, a `join`) runs inside [`sync::blocking`], as the `sync` module's
//! contract asks, so a collection never waits for it.

use std::hint::black_box;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use gc_refcount::sync::{self, AtomicCounts, Gc, GcLock};
use gc_refcount::{GcCell, Trace};

/// Objects per channel message in `sync_cross_thread_drop`: enough that the channel's own cost
/// (a few hundred nanoseconds per message) is small beside the per-object figures.
const BATCH: usize = 64;

/// A group of the short kind every group here is (see the file's docs), per object.
fn short_group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    group
}

// --- sync_clone_drop -----------------------------------------------------------------------------

fn clone_drop(c: &mut Criterion) {
    let mut group = short_group(c, "sync_clone_drop");

    group.bench_function("arc", |b| {
        let value = Arc::new(7u64);
        b.iter(|| Arc::clone(black_box(&value)));
    });
    group.bench_function("gclab-biased", |b| {
        let value = Gc::new(7u64);
        b.iter(|| Gc::clone(black_box(&value)));
    });
    group.bench_function("gclab-atomic", |b| {
        let value = Gc::<_, AtomicCounts>::new_counted(7u64);
        b.iter(|| Gc::clone(black_box(&value)));
    });
    group.bench_function("gclab-biased-other-thread", |b| {
        // Made (and owned) by a thread that has exited: every update here takes the shared path.
        let value = sync::blocking(|| thread::spawn(|| Gc::new(7u64)).join())
            .expect("the allocating thread panicked");
        b.iter(|| Gc::clone(black_box(&value)));
    });
    group.finish();
    sync::safepoint();
}

// --- sync_cross_thread_drop ----------------------------------------------------------------------

/// What the bench thread sends to the consumer.
enum Message<T> {
    /// Objects to drop.
    Batch(Vec<T>),
    /// Reply with the time spent dropping since the last `Sync`, once everything before is
    /// dropped.
    Sync(Sender<Duration>),
}

/// A consumer thread that drops whatever it is sent, and says when it is done.
struct Consumer<T: Send + 'static> {
    to: Option<Sender<Message<T>>>,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Consumer<T> {
    fn start() -> Self {
        let (to, from): (Sender<Message<T>>, Receiver<Message<T>>) = channel();
        let thread = thread::spawn(move || {
            let mut dropping = Duration::ZERO;
            // The consumer waits inside blocking sections: once a free has registered it with
            // the shared heap (`AtomicCounts`), a collection must not wait for it.
            while let Ok(message) = sync::blocking(|| from.recv()) {
                match message {
                    Message::Batch(batch) => {
                        let start = Instant::now();
                        drop(batch);
                        dropping += start.elapsed();
                    }
                    Message::Sync(reply) => {
                        let _ = reply.send(std::mem::take(&mut dropping));
                    }
                }
            }
            sync::safepoint();
        });
        Consumer {
            to: Some(to),
            thread: Some(thread),
        }
    }

    fn send(&self, batch: Vec<T>) {
        self.to
            .as_ref()
            .expect("consumer running")
            .send(Message::Batch(batch))
            .expect("consumer alive");
    }

    /// Waits until the consumer has dropped everything sent so far; returns the time it spent
    /// dropping since the last call.
    fn wait(&self) -> Duration {
        let (reply, answer) = channel();
        self.to
            .as_ref()
            .expect("consumer running")
            .send(Message::Sync(reply))
            .expect("consumer alive");
        sync::blocking(|| answer.recv()).expect("consumer alive")
    }
}

impl<T: Send + 'static> Drop for Consumer<T> {
    fn drop(&mut self) {
        drop(self.to.take());
        if let Some(thread) = self.thread.take() {
            sync::blocking(|| thread.join()).expect("consumer panicked");
        }
    }
}

/// Allocates `count` objects with `make` on this thread, sends them to `consumer` in batches of
/// [`BATCH`], waits until it has dropped them all, and returns the elapsed time.
fn round<T: Send + 'static>(
    consumer: &Consumer<T>,
    count: u64,
    make: impl Fn(u64) -> T,
) -> Duration {
    let start = Instant::now();
    send_new(consumer, count, make);
    consumer.wait();
    start.elapsed()
}

/// Allocates `count` objects with `make` on this thread and sends them to `consumer` in batches
/// of [`BATCH`].
fn send_new<T: Send + 'static>(consumer: &Consumer<T>, count: u64, make: impl Fn(u64) -> T) {
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..count {
        batch.push(make(i));
        if batch.len() == BATCH {
            consumer.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
        }
    }
    if !batch.is_empty() {
        consumer.send(batch);
    }
}

fn cross_thread_drop(c: &mut Criterion) {
    let mut group = short_group(c, "sync_cross_thread_drop");

    // The whole round, per object.
    group.bench_function("arc", |b| {
        let consumer = Consumer::start();
        b.iter_custom(|n| round(&consumer, n, Arc::new));
    });
    group.bench_function("gclab-biased", |b| {
        let consumer = Consumer::start();
        b.iter_custom(|n| {
            let elapsed = round(&consumer, n, Gc::new);
            // The last objects were queued after the owner's last allocation: merge them, and
            // count it (the merge is part of the cost).
            let start = Instant::now();
            sync::safepoint();
            elapsed + start.elapsed()
        });
    });
    group.bench_function("gclab-atomic", |b| {
        let consumer = Consumer::start();
        b.iter_custom(|n| round(&consumer, n, Gc::<_, AtomicCounts>::new_counted));
    });

    // The consumer's drops alone.
    group.bench_function("arc/consumer-drop", |b| {
        let consumer = Consumer::start();
        b.iter_custom(|n| last_drop_time(&consumer, n, Arc::new));
    });
    group.bench_function("gclab-biased/consumer-drop", |b| {
        let consumer = Consumer::start();
        b.iter_custom(|n| {
            let dropping = last_drop_time(&consumer, n, Gc::new);
            sync::safepoint();
            dropping
        });
    });
    group.bench_function("gclab-atomic/consumer-drop", |b| {
        let consumer = Consumer::start();
        b.iter_custom(|n| last_drop_time(&consumer, n, Gc::<_, AtomicCounts>::new_counted));
    });

    // The owner's merge alone: everything queued first, then one safepoint merges and frees it.
    group.bench_function("gclab-biased/owner-merge", |b| {
        let consumer = Consumer::start();
        b.iter_custom(|n| {
            // Allocate everything first (no merge can run between these allocations: nothing
            // is queued yet), then let the consumer queue it all, then merge.
            let objects: Vec<Gc<u64>> = (0..n).map(Gc::new).collect();
            for chunk in objects.chunks(BATCH) {
                consumer.send(chunk.to_vec());
            }
            drop(objects); // the owner's own handles: the owner's count falls to 1 per object
            consumer.wait();
            let start = Instant::now();
            sync::safepoint();
            start.elapsed()
        });
    });
    group.finish();
    sync::safepoint();
}

/// Sends `count` new objects to `consumer` and returns the time the consumer spent dropping
/// them.
fn last_drop_time<T: Send + 'static>(
    consumer: &Consumer<T>,
    count: u64,
    make: impl Fn(u64) -> T,
) -> Duration {
    send_new(consumer, count, make);
    consumer.wait()
}

/// What `criterion_group!` and `criterion_main!` would generate, written out so that no
/// undocumented public function is left for the `missing_docs` lint.
fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    clone_drop(&mut criterion);
    cross_thread_drop(&mut criterion);
    collect(&mut criterion);
    criterion.final_summary();
}

// --- sync_collect --------------------------------------------------------------------------------

/// Rooted nodes of [`Shape`], as `shared-churn`'s anchors at `--scale medium`.
const ANCHORS: usize = 5_000;
/// Edge slots per node, as `shared-churn`'s.
const SLOTS: usize = 4;
/// Slot 0 links to an older node, slot 1 to the next member of a ring.
const LINK: usize = 0;
const RING: usize = 1;

/// A heap's shape, by node index: `edges[i]` are node `i`'s edges (as node indices), and the
/// first [`ANCHORS`] nodes are the roots. Every anchor slot holds a node; each such node links to
/// an older non-anchor node (if one less than 3 links deep is found on the first try, as
/// `shared-churn`'s step 1), and a quarter of them head a ring of 3.
struct Shape {
    edges: Vec<[Option<usize>; SLOTS]>,
}

impl Shape {
    fn new() -> Shape {
        let mut random = Xorshift(0x5eed_c011);
        let mut below = |n: usize| random.below(n);
        let mut edges = vec![[None; SLOTS]; ANCHORS];
        let mut depth = vec![0usize; ANCHORS];
        for anchor in 0..ANCHORS {
            for slot in 0..SLOTS {
                let head = edges.len();
                edges.push([None; SLOTS]);
                depth.push(0);
                if head > ANCHORS {
                    let target = ANCHORS + below(head - ANCHORS);
                    if depth[target] < 3 {
                        edges[head][LINK] = Some(target);
                        depth[head] = depth[target] + 1;
                    }
                }
                if below(4) == 0 {
                    let first = edges.len();
                    edges.push([None; SLOTS]);
                    edges.push([None; SLOTS]);
                    depth.extend([0, 0]);
                    edges[head][RING] = Some(first);
                    edges[first][RING] = Some(first + 1);
                    edges[first + 1][RING] = Some(head);
                }
                edges[anchor][slot] = Some(head);
            }
        }
        Shape { edges }
    }

    fn len(&self) -> usize {
        self.edges.len()
    }

    /// Builds the shape with `make` (a new node without edges) and `link` (sets an edge), after
    /// scattering the allocator's free memory: twice as many nodes are made first and dropped in
    /// a shuffled order, so the real nodes land in the holes in no order, as in a long run.
    /// Returns the roots.
    fn build<N>(&self, make: impl Fn() -> N, link: impl Fn(&N, usize, &N)) -> Vec<N> {
        let mut random = Xorshift(0x5ca7_7e12);
        let mut scratch: Vec<N> = (0..2 * self.len()).map(|_| make()).collect();
        for at in (1..scratch.len()).rev() {
            scratch.swap(at, random.below(at + 1));
        }
        drop(scratch);
        let nodes: Vec<N> = (0..self.len()).map(|_| make()).collect();
        for (from, edges) in self.edges.iter().enumerate() {
            for (slot, to) in edges.iter().enumerate() {
                if let Some(to) = *to {
                    link(&nodes[from], slot, &nodes[to]);
                }
            }
        }
        nodes.into_iter().take(ANCHORS).collect()
    }
}

/// The shape's random numbers: xorshift64, seeded, so every run builds the same heap.
struct Xorshift(u64);

impl Xorshift {
    /// A number below `n` (not 0).
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A node of the shared heap.
#[derive(Trace)]
struct SharedNode {
    edges: GcLock<[Option<Gc<SharedNode, AtomicCounts>>; SLOTS]>,
}

/// A node of the thread-local heap.
#[derive(Trace)]
struct LocalNode {
    edges: GcCell<[Option<gc_refcount::Gc<LocalNode>>; SLOTS]>,
}

fn collect(c: &mut Criterion) {
    let shape = Shape::new();
    let mut group = c.benchmark_group("sync_collect");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(shape.len() as u64));

    // No automatic collection while the heap is built: every figure is one whole collection.
    let threshold = sync::threshold();
    sync::set_threshold(0);
    let roots = shape.build(
        || {
            Gc::new_counted(SharedNode {
                edges: GcLock::new(Default::default()),
            })
        },
        |from, slot, to| from.edges.lock()[slot] = Some(to.clone()),
    );
    group.bench_function("shared", |b| {
        b.iter(|| assert_eq!(sync::collect(), 0, "the heap holds no garbage"));
    });
    group.bench_function("shared-cold", |b| {
        b.iter_custom(|iters| cold(iters, sync::collect));
    });
    with_parked_thread(|| {
        group.bench_function("shared-helped", |b| {
            b.iter(|| assert_eq!(sync::collect(), 0, "the heap holds no garbage"));
        });
        group.bench_function("shared-helped-cold", |b| {
            b.iter_custom(|iters| cold(iters, sync::collect));
        });
    });
    drop(roots);
    sync::collect();
    sync::set_threshold(threshold);

    let roots = shape.build(
        || {
            gc_refcount::Gc::new(LocalNode {
                edges: GcCell::new(Default::default()),
            })
        },
        |from, slot, to| from.edges.borrow_mut()[slot] = Some(to.clone()),
    );
    group.bench_function("thread-local", |b| {
        b.iter(|| assert_eq!(gc_refcount::gc::collect(), 0, "the heap holds no garbage"));
    });
    group.bench_function("thread-local-cold", |b| {
        b.iter_custom(|iters| cold(iters, gc_refcount::gc::collect));
    });
    drop(roots);
    gc_refcount::gc::collect();
    group.finish();
}

/// Runs `f` while a second thread, registered with the shared heap, waits at its safepoints
/// (parking for every collection, and helping with its walks).
fn with_parked_thread(f: impl FnOnce()) {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let parked = s.spawn(|| {
            // Registers this thread with the shared heap.
            drop(Gc::<_, AtomicCounts>::new_counted(SharedNode {
                edges: GcLock::new(Default::default()),
            }));
            while !done.load(Relaxed) {
                sync::safepoint();
                std::hint::spin_loop();
            }
        });
        f();
        done.store(true, Relaxed);
        sync::blocking(|| parked.join()).expect("the parked thread ends");
    });
}

/// Bytes written between two cold collections: more than this machine's last-level cache.
const EVICT: usize = 48 << 20;

/// Runs `collect` `iters` times, each after writing [`EVICT`] bytes (untimed); returns the time
/// the collections took.
fn cold(iters: u64, collect: impl Fn() -> usize) -> Duration {
    let mut evict = vec![0u8; EVICT];
    let mut total = Duration::ZERO;
    for round in 0..iters {
        for line in evict.chunks_mut(64) {
            line[0] = round as u8;
        }
        black_box(&evict);
        let start = Instant::now();
        assert_eq!(collect(), 0, "the heap holds no garbage");
        total += start.elapsed();
    }
    total
}
