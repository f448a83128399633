//! [`RustCcBackend`]: the `rust-cc` crate — a cycle collector that buffers possible roots like
//! Bacon–Rajan and collects them with a trial-deletion pass; with its default `auto-collect`
//! feature it also collects by itself when its allocated bytes pass an adaptive threshold.

use std::cell::RefCell;
use std::time::Duration;

use rust_cc::{collect_cycles, Cc, Context, Finalize, Trace};

use super::explicit_pauses::ExplicitPauses;
use super::peer_node::node_operations;
use crate::backend::{Backend, BackendMetrics, MAX_EDGES};
use crate::ledger::DropToken;

/// A workload node behind `rust_cc::Cc`.
pub struct RustCcNode {
    _token: DropToken,
    key: u64,
    _payload: Box<[u8]>,
    edges: RefCell<[Option<Cc<RustCcNode>>; MAX_EDGES]>,
}

impl Finalize for RustCcNode {}

// SAFETY: `trace` visits exactly the `Cc`s the node owns (its edges), each once, the same ones on
// every call of a tracing phase (the cells are not written during a collection); the node has no
// `Drop` of its own and its token's `Drop` touches no `Cc`.
unsafe impl Trace for RustCcNode {
    fn trace(&self, ctx: &mut Context<'_>) {
        self.edges.trace(ctx);
    }
}

/// The `rust-cc` crate.
#[derive(Debug, Default)]
pub struct RustCcBackend {
    pauses: ExplicitPauses,
}

impl Backend for RustCcBackend {
    type Handle = Cc<RustCcNode>;

    node_operations!(Cc<RustCcNode>, RefCell);

    fn collect(&self) {
        self.pauses.time(collect_cycles);
    }

    fn collects_automatically(&self) -> bool {
        true
    }

    fn pause_automatic(&self) {
        let _ = rust_cc::config::config(|config| config.set_auto_collect(false));
    }

    fn resume_automatic(&self) {
        let _ = rust_cc::config::config(|config| config.set_auto_collect(true));
    }

    fn metrics(&self) -> BackendMetrics {
        let executions = rust_cc::state::executions_count().map(|n| n as u64);
        // Every collection, automatic ones included, as the crate counts them.
        self.pauses
            .metrics(executions.unwrap_or(self.pauses.calls()))
    }

    fn take_pauses(&self) -> Vec<Duration> {
        self.pauses.take()
    }
}
