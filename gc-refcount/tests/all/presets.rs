//! Every preset configuration, by name: it configures a fresh heap, frees what refcounting frees,
//! and finds a garbage ring unless it leaks cycles by design.

use gc_refcount::{gc, Gc, GcCell, HeapConfig, Trace, PRESETS};

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
}

/// A ring of `len` nodes; returns a weak handle to one of them.
fn ring(len: usize) -> gc_refcount::Weak<Node> {
    let first = Gc::new(Node {
        next: GcCell::new(None),
    });
    let mut last = first.clone();
    for _ in 1..len {
        let next = Gc::new(Node {
            next: GcCell::new(None),
        });
        *last.next.borrow_mut() = Some(next.clone());
        last = next;
    }
    let weak = Gc::downgrade(&first);
    *last.next.borrow_mut() = Some(first);
    weak
}

#[test]
fn every_preset_runs() {
    for &(preset, full) in PRESETS {
        std::thread::spawn(move || {
            let config = HeapConfig::from_name(preset).expect("presets parse");
            assert_eq!(
                HeapConfig::from_name(full).unwrap().name(),
                config.name(),
                "{preset} is {full}"
            );
            gc::configure(config).expect("a fresh heap accepts a preset");
            let chain: Vec<Gc<Node>> = (0..100)
                .map(|_| {
                    Gc::new(Node {
                        next: GcCell::new(None),
                    })
                })
                .collect();
            drop(chain);
            // Under the deferred discipline the dropped chain waits for the collection too.
            let chain_garbage = if full.starts_with("deferred/") {
                100
            } else {
                0
            };
            let weak = ring(10);
            let found = gc::collect();
            if preset == "rc" {
                assert_eq!(found, 0, "{preset} leaks cycles by design");
                assert_eq!(gc::stats().live_objects(), 10, "{preset}");
                // Break the cycle by hand so that the thread ends with an empty heap.
                let first = weak.upgrade().expect("the leaked ring is alive");
                first.next.borrow_mut().take();
            } else {
                assert_eq!(found, 10 + chain_garbage, "{preset}");
                assert!(weak.upgrade().is_none(), "{preset}");
            }
            drop(weak);
            assert_eq!(gc::stats().live_objects(), 0, "{preset}");
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
    }
}
