//! [`Peer`]: the crates a Rust user would pick instead of gclab, by name, with the versions this
//! build links (read from `Cargo.lock` by `build.rs`).
//!
//! Without the `peers` cargo feature the list is empty and no peer crate is compiled.

use super::BackendUser;

/// A peer memory manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// `std::rc::Rc` with `RefCell` edges; cycles broken by hand.
    StdRc,
    /// The `bacon_rajan_cc` crate.
    BaconRajanCc,
    /// The `rust-cc` crate.
    RustCc,
    /// The `gcmodule` crate.
    Gcmodule,
    /// The `dumpster` crate, `unsync` flavour.
    Dumpster,
    /// The `gc` crate.
    GcCrate,
}

impl Peer {
    /// Every peer this build has (none without the `peers` feature).
    pub const ALL: &'static [Peer] = if cfg!(feature = "peers") {
        &[
            Peer::StdRc,
            Peer::BaconRajanCc,
            Peer::RustCc,
            Peer::Gcmodule,
            Peer::Dumpster,
            Peer::GcCrate,
        ]
    } else {
        &[]
    };

    /// The name on the command line: the crate's name, `std-rc` for `std::rc::Rc`.
    pub fn name(self) -> &'static str {
        match self {
            Peer::StdRc => "std-rc",
            Peer::BaconRajanCc => "bacon_rajan_cc",
            Peer::RustCc => "rust-cc",
            Peer::Gcmodule => "gcmodule",
            Peer::Dumpster => "dumpster",
            Peer::GcCrate => "gc",
        }
    }

    /// The peer named `name`, if this build has it.
    pub fn from_name(name: &str) -> Option<Peer> {
        Peer::ALL.iter().copied().find(|peer| peer.name() == name)
    }

    /// The crate version linked (`None` for `std`).
    pub fn version(self) -> Option<&'static str> {
        match self {
            Peer::StdRc => None,
            Peer::BaconRajanCc => Some(env!("GCLAB_PEER_VERSION_BACON_RAJAN_CC")),
            Peer::RustCc => Some(env!("GCLAB_PEER_VERSION_RUST_CC")),
            Peer::Gcmodule => Some(env!("GCLAB_PEER_VERSION_GCMODULE")),
            Peer::Dumpster => Some(env!("GCLAB_PEER_VERSION_DUMPSTER")),
            Peer::GcCrate => Some(env!("GCLAB_PEER_VERSION_GC")),
        }
    }

    /// What it is, in a few words, with the version.
    pub fn describe(self) -> String {
        let what = match self {
            Peer::StdRc => "std::rc::Rc + RefCell, cycles broken by hand",
            Peer::BaconRajanCc => "Bacon–Rajan synchronous cycle collector, explicit collections",
            Peer::RustCc => "buffered roots + trial deletion, automatic collections",
            Peer::Gcmodule => "CPython-style cycle collector, explicit collections",
            Peer::Dumpster => "unsync::Gc, dirty-object cycle search, automatic collections",
            Peer::GcCrate => "rust-gc mark-and-sweep with rooting, automatic collections",
        };
        match self.version() {
            Some(version) => format!("{} {version}: {what}", self.name()),
            None => format!("{}: {what}", self.name()),
        }
    }

    /// Whether workloads must break cycles by hand on this peer.
    pub fn breaks_cycles_by_hand(self) -> bool {
        self == Peer::StdRc
    }

    /// The most strong references one object can have, where the crate caps it below what
    /// memory allows: `rust-cc` keeps its count in 14 bits and panics on the 16 383rd clone.
    pub fn max_references(self) -> Option<u64> {
        match self {
            Peer::RustCc => Some(16_382),
            _ => None,
        }
    }

    /// Builds the peer's backend and runs `user` with it.
    pub fn open<U: BackendUser>(self, user: U) -> Result<U::Output, String> {
        #[cfg(feature = "peers")]
        {
            use super::{
                bacon_rajan_cc::BaconRajanCcBackend, dumpster::DumpsterBackend,
                gc_crate::GcCrateBackend, gcmodule::GcmoduleBackend, rust_cc::RustCcBackend,
                std_rc::StdRcBackend,
            };
            Ok(match self {
                Peer::StdRc => user.run(&StdRcBackend),
                Peer::BaconRajanCc => user.run(&BaconRajanCcBackend::default()),
                Peer::RustCc => user.run(&RustCcBackend::default()),
                Peer::Gcmodule => user.run(&GcmoduleBackend::default()),
                Peer::Dumpster => user.run(&DumpsterBackend::default()),
                Peer::GcCrate => user.run(&GcCrateBackend::default()),
            })
        }
        #[cfg(not(feature = "peers"))]
        {
            let _ = user;
            Err(format!(
                "peer {} is not in this build (enable the `peers` feature)",
                self.name()
            ))
        }
    }
}
