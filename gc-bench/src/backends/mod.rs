//! Backends by name: gclab's heap under a configuration, or (with the `peers` feature) a peer
//! crate — and the one place where a name chosen at run time becomes a concrete backend type.
//!
//! A name is first looked up among the peers (`std-rc`, `bacon_rajan_cc`, `rust-cc`, `gcmodule`,
//! `dumpster`, `gc`); anything else must be a gclab configuration that
//! [`HeapConfig::from_name`](gc_refcount::HeapConfig::from_name) accepts — a preset from
//! [`gc_refcount::PRESETS`] or any `[DISCIPLINE/]DETECTOR/SCHEDULER/ALLOCATOR` combination. The
//! list of presets is read from gclab at run time, so a policy that lands later appears here by
//! itself, and one that has not landed is simply absent.
//!
//! Static dispatch stops here: [`BackendChoice::open`] builds the concrete backend and hands it
//! to a [`BackendUser`], whose generic method is monomorphised per backend.

pub mod gclab;

#[cfg(feature = "peers")]
pub mod bacon_rajan_cc;
#[cfg(feature = "peers")]
pub mod dumpster;
#[cfg(feature = "peers")]
mod explicit_pauses;
#[cfg(feature = "peers")]
pub mod gc_crate;
#[cfg(feature = "peers")]
pub mod gcmodule;
#[cfg(feature = "peers")]
pub mod rust_cc;
#[cfg(feature = "peers")]
pub mod std_rc;

mod peer;
#[cfg(feature = "peers")]
mod peer_node;

pub use peer::Peer;

use std::fmt;

use gc_refcount::{HeapConfig, PRESETS};

use crate::backend::Backend;
use gclab::GclabBackend;

/// A backend chosen by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendChoice {
    /// gclab's heap under a configuration: (the name as given, its full name).
    Gclab {
        /// The name as given (`cpython312`).
        name: String,
        /// The full name (`trial-deletion/cpython312/system`).
        full_name: String,
    },
    /// A peer crate.
    Peer(Peer),
}

/// An unknown backend name, with the valid choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownBackend {
    /// The name given.
    pub name: String,
    /// Why gclab refused it.
    pub reason: String,
}

impl fmt::Display for UnknownBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown configuration {:?} ({}); valid: gclab presets {}, any \
             [DISCIPLINE/]DETECTOR/SCHEDULER/ALLOCATOR combination, or peers {}",
            self.name,
            self.reason,
            preset_names().join(", "),
            if Peer::ALL.is_empty() {
                "(none: built without the `peers` feature)".to_owned()
            } else {
                Peer::ALL
                    .iter()
                    .map(|peer| peer.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )
    }
}

impl std::error::Error for UnknownBackend {}

impl BackendChoice {
    /// Parses a backend name (see the [module docs](self)).
    pub fn parse(name: &str) -> Result<BackendChoice, UnknownBackend> {
        if let Some(peer) = Peer::from_name(name) {
            return Ok(BackendChoice::Peer(peer));
        }
        match HeapConfig::from_name(name) {
            Ok(config) => Ok(BackendChoice::Gclab {
                name: name.to_owned(),
                full_name: config.name(),
            }),
            Err(error) => Err(UnknownBackend {
                name: name.to_owned(),
                reason: error.to_string(),
            }),
        }
    }

    /// The name as given.
    pub fn name(&self) -> &str {
        match self {
            BackendChoice::Gclab { name, .. } => name,
            BackendChoice::Peer(peer) => peer.name(),
        }
    }

    /// What it is, for reports: the full configuration, or the crate and its version.
    pub fn describe(&self) -> String {
        match self {
            BackendChoice::Gclab { full_name, .. } => format!("gclab {full_name}"),
            BackendChoice::Peer(peer) => peer.describe(),
        }
    }

    /// `"gclab"` or `"peer"`.
    pub fn kind(&self) -> &'static str {
        match self {
            BackendChoice::Gclab { .. } => "gclab",
            BackendChoice::Peer(_) => "peer",
        }
    }

    /// The crate version, for peers (`None` for gclab and `std`).
    pub fn crate_version(&self) -> Option<&'static str> {
        match self {
            BackendChoice::Gclab { .. } => None,
            BackendChoice::Peer(peer) => peer.version(),
        }
    }

    /// Whether this backend needs cycles broken by hand (and so cannot run workloads that need a
    /// tracing collector).
    pub fn breaks_cycles_by_hand(&self) -> bool {
        matches!(self, BackendChoice::Peer(peer) if peer.breaks_cycles_by_hand())
    }

    /// Whether this backend finds unreachable cycles: a gclab configuration whose detector is
    /// not `none`, or a peer with a cycle collector.
    pub fn collects_cycles(&self) -> bool {
        match self {
            BackendChoice::Gclab { full_name, .. } => !full_name.split('/').any(|p| p == "none"),
            BackendChoice::Peer(peer) => !peer.breaks_cycles_by_hand(),
        }
    }

    /// Builds the backend on the current thread and runs `user` with it.
    ///
    /// For gclab this configures the current thread's heap, which must be empty: call it on a
    /// fresh thread.
    pub fn open<U: BackendUser>(&self, user: U) -> Result<U::Output, String> {
        match self {
            BackendChoice::Gclab { name, .. } => {
                let backend = GclabBackend::configure(name)
                    .map_err(|error| format!("cannot configure gclab as {name:?}: {error}"))?;
                Ok(user.run(&backend))
            }
            BackendChoice::Peer(peer) => peer.open(user),
        }
    }
}

/// Something to do with a backend of any type (a generic closure).
pub trait BackendUser {
    /// What it returns.
    type Output;
    /// Runs with `backend`.
    fn run<B: Backend>(self, backend: &B) -> Self::Output;
}

/// The preset names gclab defines, in its order.
pub fn preset_names() -> Vec<&'static str> {
    PRESETS.iter().map(|(name, _)| *name).collect()
}

/// The default matrix's gclab configurations: every preset of [`gc_refcount::PRESETS`], read at
/// run time, less the aliases — a preset whose full configuration an earlier-listed one already
/// names, except that `default` yields to the preset it stands for (`cpython312` rather than
/// `default`). Returns (name, full name, aliases).
pub fn default_configurations() -> Vec<(String, String, Vec<String>)> {
    let mut chosen: Vec<(String, String, Vec<String>)> = Vec::new();
    for (preset, _) in PRESETS {
        let Ok(config) = HeapConfig::from_name(preset) else {
            continue;
        };
        let full = config.name();
        match chosen.iter_mut().find(|(_, f, _)| *f == full) {
            Some(entry) if entry.0 == "default" => {
                entry.2.push("default".to_owned());
                entry.0 = (*preset).to_owned();
            }
            Some(entry) => entry.2.push((*preset).to_owned()),
            None => chosen.push(((*preset).to_owned(), full, Vec::new())),
        }
    }
    chosen
}
