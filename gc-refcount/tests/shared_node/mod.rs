//! The shared node of the `sync` collector tests: an item for drop accounting and edges behind a
//! `GcLock`, with helpers to make nodes, edges and two-node cycles.

use gc_refcount::sync::{Gc, GcLock};
use gc_refcount::Trace;

use super::ledger::{Item, Ledger};

/// A shared node: an item for drop accounting, and edges behind a lock.
#[derive(Trace)]
pub struct Node {
    /// Its drop, booked in a ledger.
    pub item: Item,
    /// Its edges.
    pub edges: GcLock<Vec<Gc<Node>>>,
}

/// A new node with no edges.
pub fn node(ledger: &std::sync::Arc<Ledger>) -> Gc<Node> {
    Gc::new(Node {
        item: ledger.item(),
        edges: GcLock::new(Vec::new()),
    })
}

/// Adds an edge from `from` to `to`.
pub fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.edges.lock().push(to.clone());
}

/// Two new nodes, each with an edge to the other.
pub fn cycle(ledger: &std::sync::Arc<Ledger>) -> (Gc<Node>, Gc<Node>) {
    let a = node(ledger);
    let b = node(ledger);
    link(&a, &b);
    link(&b, &a);
    (a, b)
}
