//! [`SharedWorkload`]: a thread-shared program shape, written once against [`SharedBackend`], and
//! [`SharedWorkloadId`], which names the workloads at run time — the shared counterparts of
//! [`Workload`](crate::workloads::Workload) and [`WorkloadId`](crate::workloads::WorkloadId).

use std::fmt;

use super::{churn, producer_consumer, SharedBackend};
use crate::params::{ParamSpec, Params};
use crate::probe::Probe;

/// A program shape whose objects several threads share.
pub trait SharedWorkload {
    /// The name on the command line.
    const NAME: &'static str;
    /// What it does, in one line.
    const SUMMARY: &'static str;
    /// Its parameters, with defaults per scale.
    const PARAMS: &'static [ParamSpec];

    /// Runs the workload on `heap` from the calling thread (its coordinator), recording its
    /// figures in `probe` — among them `ns_per_node`, the figure the report compares. Every
    /// thread it starts is joined (inside [`SharedBackend::wait`]) and everything it built is
    /// dropped before it returns.
    ///
    /// # Panics
    ///
    /// If one of its threads panics, or if it finds a structure damaged (a collector bug).
    fn run<B: SharedBackend>(params: &Params, heap: &B, probe: &mut Probe);
}

/// A thread-shared workload, named at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SharedWorkloadId {
    /// [`churn`].
    SharedChurn,
    /// [`producer_consumer`].
    ProducerConsumer,
}

/// Expands `$body` with `$w` bound to the workload type of `$id`.
macro_rules! with_shared_workload {
    ($id:expr, $w:ident => $body:expr) => {
        match $id {
            SharedWorkloadId::SharedChurn => {
                type $w = churn::SharedChurn;
                $body
            }
            SharedWorkloadId::ProducerConsumer => {
                type $w = producer_consumer::ProducerConsumer;
                $body
            }
        }
    };
}

impl SharedWorkloadId {
    /// Every shared workload, in report order.
    pub const ALL: [SharedWorkloadId; 2] = [
        SharedWorkloadId::SharedChurn,
        SharedWorkloadId::ProducerConsumer,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        with_shared_workload!(self, W => W::NAME)
    }

    /// What it does, in one line.
    pub fn summary(self) -> &'static str {
        with_shared_workload!(self, W => W::SUMMARY)
    }

    /// Its parameters.
    pub fn params(self) -> &'static [ParamSpec] {
        with_shared_workload!(self, W => W::PARAMS)
    }

    /// The workload named `name`.
    pub fn from_name(name: &str) -> Option<SharedWorkloadId> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The names, comma separated.
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }

    /// Runs it (see [`SharedWorkload::run`]).
    pub fn run<B: SharedBackend>(self, params: &Params, heap: &B, probe: &mut Probe) {
        with_shared_workload!(self, W => W::run(params, heap, probe))
    }
}

impl fmt::Display for SharedWorkloadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
