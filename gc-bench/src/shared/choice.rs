//! [`SharedBackendChoice`]: the thread-shared backends by name, and the one place where a name
//! chosen at run time becomes a concrete [`SharedBackend`] type (static dispatch after that, as
//! for the single-threaded [`BackendChoice`](crate::backends::BackendChoice)).

use std::fmt;

use gc_refcount::sync::SharedSchedule;

use super::arc::ArcBackend;
use super::gclab_sync::{AtomicBackend, BiasedBackend};
use super::SharedBackend;

/// A thread-shared backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SharedBackendChoice {
    /// gclab's `sync::Gc` with biased reference counts (the default discipline).
    SyncBiased,
    /// gclab's `sync::Gc<_, AtomicCounts>`.
    SyncAtomic,
    /// `SyncBiased` on the generational schedule (`SharedSchedule::Generational`).
    SyncBiasedGenerational,
    /// `SyncAtomic` on the generational schedule.
    SyncAtomicGenerational,
    /// `std::sync::Arc` with `Mutex` edges, cycles broken by hand: the baseline.
    Arc,
    /// `dumpster::sync` (only with the `peers` feature).
    DumpsterSync,
}

/// The baseline of the thread-shared table: times are shown relative to it.
pub const SHARED_BASELINE: &str = "arc";

impl SharedBackendChoice {
    /// Every shared backend this build has, in report order (`dumpster-sync` only with the
    /// `peers` feature).
    pub const ALL: &'static [SharedBackendChoice] = if cfg!(feature = "peers") {
        &[
            SharedBackendChoice::SyncBiased,
            SharedBackendChoice::SyncAtomic,
            SharedBackendChoice::SyncBiasedGenerational,
            SharedBackendChoice::SyncAtomicGenerational,
            SharedBackendChoice::Arc,
            SharedBackendChoice::DumpsterSync,
        ]
    } else {
        &[
            SharedBackendChoice::SyncBiased,
            SharedBackendChoice::SyncAtomic,
            SharedBackendChoice::SyncBiasedGenerational,
            SharedBackendChoice::SyncAtomicGenerational,
            SharedBackendChoice::Arc,
        ]
    };

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SharedBackendChoice::SyncBiased => "sync-biased",
            SharedBackendChoice::SyncAtomic => "sync-atomic",
            SharedBackendChoice::SyncBiasedGenerational => "sync-biased-gen",
            SharedBackendChoice::SyncAtomicGenerational => "sync-atomic-gen",
            SharedBackendChoice::Arc => "arc",
            SharedBackendChoice::DumpsterSync => "dumpster-sync",
        }
    }

    /// The backend named `name`, or an error naming the valid choices.
    pub fn parse(name: &str) -> Result<SharedBackendChoice, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|choice| choice.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown thread-shared backend {name:?}: the thread-shared workloads run on {}",
                    Self::names()
                )
            })
    }

    /// The names of [`SharedBackendChoice::ALL`], comma separated.
    pub fn names() -> String {
        Self::ALL
            .iter()
            .map(|choice| choice.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What it is, for reports.
    pub fn describe(self) -> String {
        match self {
            SharedBackendChoice::SyncBiased => {
                "gclab sync::Gc, biased reference counts (owner thread non-atomic, PEP 703), \
                 GcLock edges, stop-the-world shared collector"
                    .to_owned()
            }
            SharedBackendChoice::SyncAtomic => {
                "gclab sync::Gc<_, AtomicCounts> (one atomic count, as Arc), GcLock edges, \
                 stop-the-world shared collector"
                    .to_owned()
            }
            SharedBackendChoice::SyncBiasedGenerational => {
                "gclab sync::Gc, biased reference counts, GcLock edges, stop-the-world shared \
                 collector on the generational schedule (young collections, full ones once a \
                 quarter of the heap was promoted)"
                    .to_owned()
            }
            SharedBackendChoice::SyncAtomicGenerational => {
                "gclab sync::Gc<_, AtomicCounts>, GcLock edges, stop-the-world shared collector \
                 on the generational schedule (young collections, full ones once a quarter of the \
                 heap was promoted)"
                    .to_owned()
            }
            SharedBackendChoice::Arc => {
                "std::sync::Arc + Mutex edges, cycles broken by hand".to_owned()
            }
            SharedBackendChoice::DumpsterSync => format!(
                "dumpster {}: sync::Gc + Mutex edges, dirty-object cycle search, automatic \
                 collections",
                self.crate_version().unwrap_or("?")
            ),
        }
    }

    /// `"gclab"` or `"peer"`.
    pub fn kind(self) -> &'static str {
        match self {
            SharedBackendChoice::SyncBiased
            | SharedBackendChoice::SyncAtomic
            | SharedBackendChoice::SyncBiasedGenerational
            | SharedBackendChoice::SyncAtomicGenerational => "gclab",
            SharedBackendChoice::Arc | SharedBackendChoice::DumpsterSync => "peer",
        }
    }

    /// The peer crate's version (`None` for gclab and `std`).
    pub fn crate_version(self) -> Option<&'static str> {
        match self {
            #[cfg(feature = "peers")]
            SharedBackendChoice::DumpsterSync => Some(env!("GCLAB_PEER_VERSION_DUMPSTER")),
            _ => None,
        }
    }

    /// Builds the backend and runs `user` with it.
    pub fn open<U: SharedUser>(self, user: U) -> Result<U::Output, String> {
        match self {
            SharedBackendChoice::SyncBiased => Ok(user.run(&BiasedBackend::new())),
            SharedBackendChoice::SyncAtomic => Ok(user.run(&AtomicBackend::new())),
            SharedBackendChoice::SyncBiasedGenerational => {
                Ok(user.run(&BiasedBackend::with_schedule(SharedSchedule::Generational)))
            }
            SharedBackendChoice::SyncAtomicGenerational => {
                Ok(user.run(&AtomicBackend::with_schedule(SharedSchedule::Generational)))
            }
            SharedBackendChoice::Arc => Ok(user.run(&ArcBackend)),
            #[cfg(feature = "peers")]
            SharedBackendChoice::DumpsterSync => {
                Ok(user.run(&super::dumpster_sync::DumpsterSyncBackend::new()))
            }
            #[cfg(not(feature = "peers"))]
            SharedBackendChoice::DumpsterSync => {
                let _ = user;
                Err("dumpster-sync is not in this build (enable the `peers` feature)".into())
            }
        }
    }
}

impl fmt::Display for SharedBackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something to do with a shared backend of any type (a generic closure).
pub trait SharedUser {
    /// What it returns.
    type Output;
    /// Runs with `backend`.
    fn run<B: SharedBackend>(self, backend: &B) -> Self::Output;
}
