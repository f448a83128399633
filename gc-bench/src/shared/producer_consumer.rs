//! `producer-consumer` — objects made on one thread and dropped on another: a producer thread
//! allocates `objects` nodes and sends them, `batch` at a time, through a bounded channel
//! (`queue` batches deep) to a consumer thread, which reads each node's key and drops the batch.
//!
//! This is the case biased reference counting must *merge*: the producer owns every node (it
//! counts its reference without atomics), so the consumer's drop cannot free it — it queues the
//! node to the producer, which folds the counts together and frees the node at its next
//! safepoint (its next allocation). With atomic counts (`sync-atomic`, `arc`) the consumer's drop
//! frees the node on the consumer's thread. The figure `ns_per_node` is the whole exchange per
//! node — allocate, send, drop, and the merges — from the start barrier until both threads are
//! done (the producer waits for the consumer to finish, then merges what is left); the ledger's
//! `dropped_by_creator` (a figure the measurement adds) says on which thread the nodes died.
//!
//! With `cycle_fraction` > 0, that fraction of the objects are pairs of nodes pointing at each
//! other — cyclic garbage once the consumer drops them: on `arc` the consumer opens each pair
//! first; the collectors find them.
//!
//! Both threads wait for each other (the channel, the end) inside [`SharedBackend::wait`].
//! Edges: slot 1 is a pair's edge to its partner.

use std::panic::resume_unwind;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Barrier;
use std::time::Instant;

use super::workload::SharedWorkload;
use super::SharedBackend;
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;
use crate::rng::Rng;

/// Objects made on one thread, dropped on another.
pub struct ProducerConsumer;

const PAIR: usize = 1;
const SEED: u64 = 0x9c_0115;

impl SharedWorkload for ProducerConsumer {
    const NAME: &'static str = "producer-consumer";
    const SUMMARY: &'static str =
        "one thread allocates and sends batches through a channel, another drops them";
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::count(
            "objects",
            "objects produced",
            1,
            [2_000, 1_000_000, 5_000_000, 25_000_000],
        ),
        ParamSpec::count("batch", "objects per channel message", 1, [64, 64, 64, 64]),
        ParamSpec::count(
            "queue",
            "channel capacity, in batches (the producer waits when it is full)",
            1,
            [16, 16, 16, 16],
        ),
        ParamSpec::fraction(
            "cycle_fraction",
            "objects made as a pair of nodes pointing at each other (cyclic garbage once dropped)",
            0.0,
        ),
    ];

    fn run<B: SharedBackend>(params: &Params, heap: &B, probe: &mut Probe) {
        let objects = params.count("objects");
        let batch = params.size("batch");
        let cycle_fraction = params.fraction("cycle_fraction");
        let (to_consumer, from_producer) = sync_channel::<Vec<B::Handle>>(params.size("queue"));
        let (consumer_done, wait_consumer) = sync_channel::<u64>(1);
        let start_line = Barrier::new(3);

        let (begins, (nodes, end), checksum) = std::thread::scope(|s| {
            let start_line = &start_line;
            let producer = s.spawn(move || {
                heap.wait(|| start_line.wait());
                let begin = Instant::now();
                let nodes = produce(heap, objects, batch, cycle_fraction, to_consumer);
                // Wait for the consumer to drop everything, then merge what it queued here.
                let checksum = heap.wait(|| wait_consumer.recv()).unwrap_or(0);
                heap.safepoint();
                (begin, nodes, Instant::now(), checksum)
            });
            let consumer = s.spawn(move || {
                heap.wait(|| start_line.wait());
                let begin = Instant::now();
                let checksum = consume(heap, cycle_fraction > 0.0, from_producer);
                heap.safepoint();
                let _ = consumer_done.send(checksum);
                begin
            });
            heap.wait(|| start_line.wait());
            let (producer_begin, nodes, end, checksum) = heap
                .wait(|| producer.join())
                .unwrap_or_else(|p| resume_unwind(p));
            let consumer_begin = heap
                .wait(|| consumer.join())
                .unwrap_or_else(|p| resume_unwind(p));
            ((producer_begin, consumer_begin), (nodes, end), checksum)
        });
        let start = begins.0.min(begins.1);
        assert_eq!(
            checksum,
            objects * (objects - 1) / 2,
            "producer-consumer: the consumer did not see every key once"
        );
        let ns = end.saturating_duration_since(start).as_secs_f64() * 1e9;
        probe.figure("nodes", nodes as f64);
        probe.figure("exchange_ms", ns / 1e6);
        probe.figure("ns_per_node", ns / nodes.max(1) as f64);
        probe.figure("ns_per_object", ns / objects as f64);
    }
}

/// The producer: allocates `objects` objects (nodes, or pairs), sends them in batches. Returns
/// the nodes allocated.
fn produce<B: SharedBackend>(
    heap: &B,
    objects: u64,
    batch: usize,
    cycle_fraction: f64,
    to_consumer: SyncSender<Vec<B::Handle>>,
) -> u64 {
    let mut rng = Rng::new(SEED);
    let mut nodes = 0;
    let mut pending = Vec::with_capacity(batch);
    for key in 0..objects {
        let node = heap.alloc(key);
        nodes += 1;
        if cycle_fraction > 0.0 && rng.chance(cycle_fraction) {
            let partner = heap.alloc(key);
            nodes += 1;
            drop(heap.replace_edge(&node, PAIR, Some(partner.clone())));
            drop(heap.replace_edge(&partner, PAIR, Some(node.clone())));
        }
        pending.push(node);
        if pending.len() == batch {
            let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
            heap.wait(|| to_consumer.send(full))
                .expect("producer-consumer: the consumer hung up");
        }
    }
    if !pending.is_empty() {
        heap.wait(|| to_consumer.send(pending))
            .expect("producer-consumer: the consumer hung up");
    }
    nodes
}

/// The consumer: reads every object's key and drops it (opening pairs first on a backend that
/// breaks cycles by hand). Returns the sum of the keys.
fn consume<B: SharedBackend>(
    heap: &B,
    pairs: bool,
    from_producer: Receiver<Vec<B::Handle>>,
) -> u64 {
    let open_pairs = pairs && heap.breaks_cycles_by_hand();
    let mut checksum = 0u64;
    while let Ok(batch) = heap.wait(|| from_producer.recv()) {
        for node in &batch {
            checksum = checksum.wrapping_add(heap.key(node));
            if open_pairs {
                drop(heap.replace_edge(node, PAIR, None));
            }
        }
        drop(batch);
    }
    checksum
}
