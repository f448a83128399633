//! Cycle detectors: implementations of [`gc_core::CycleDetector`].
//!
//! - [`NoCycles`] — plain reference counting: finds nothing; cycles leak by design.
//! - [`TrialDeletion`] — CPython's algorithm (`Modules/gcmodule.c`).
//! - [`BaconRajan`] — Bacon & Rajan's synchronous algorithm over the candidate buffer (needs the
//!   buffered discipline).
//! - [`MarkSweep`] — mark from the externally referenced objects with a finger walk of the
//!   examined list (`gc_core::mark::finger`), split over worker threads where that pays, and
//!   sweep.
//!
//! [`gc_refs`] holds the first half of trial deletion — which examined objects are referenced
//! from outside the examined set — as a reusable pass: those objects are the roots for every
//! tracing detector.

mod bacon_rajan;
pub mod gc_refs;
pub mod mark_sweep;
mod no_cycles;
mod trial_deletion;

pub use bacon_rajan::BaconRajan;
pub use mark_sweep::MarkSweep;
pub use no_cycles::NoCycles;
pub use trial_deletion::TrialDeletion;
