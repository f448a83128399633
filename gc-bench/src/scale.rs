//! [`Scale`]: how big a run is. Every workload parameter has one default per scale.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The size of a run. Each workload chooses its parameters' defaults from it.
///
/// - `tiny` — a few thousand objects: tests and smoke runs, milliseconds per run;
/// - `small` — the default: the whole default report (5 repetitions) finishes well within three
///   minutes on 2 cores (about 40 s on a quiet machine);
/// - `medium` — about five times `small` (the rings reach the 1 000 000 objects of the peer
///   measurements quoted in the issue);
/// - `large` — about five times `medium`: minutes per run, for a quiet machine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// For tests and smoke runs.
    Tiny,
    /// The default: the whole default report well within three minutes on 2 cores.
    #[default]
    Small,
    /// About five times `small`.
    Medium,
    /// About five times `medium`.
    Large,
}

impl Scale {
    /// Every scale, smallest first.
    pub const ALL: [Scale; 4] = [Scale::Tiny, Scale::Small, Scale::Medium, Scale::Large];

    /// The scale's name, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Tiny => "tiny",
            Scale::Small => "small",
            Scale::Medium => "medium",
            Scale::Large => "large",
        }
    }

    /// Parses a scale name.
    pub fn from_name(name: &str) -> Option<Scale> {
        Scale::ALL.into_iter().find(|scale| scale.name() == name)
    }

    /// The position of this scale in [`Scale::ALL`], to index per-scale defaults.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
