//! Heap configurations: a detector, a scheduler and an allocator, chosen by type or by name.
//!
//! Names have the form `[DISCIPLINE/]DETECTOR/SCHEDULER/ALLOCATOR`, or a preset:
//!
//! | preset | means | what it is |
//! |---|---|---|
//! | `default` | `trial-deletion/cpython312/system` | what a thread gets if it configures nothing |
//! | `cpython312` | `trial-deletion/cpython312/system` | CPython 3.12: trial deletion, `(700, 10, 10)` |
//! | `cpython313` | `trial-deletion/cpython313/system` | CPython 3.13: trial deletion, `(2000, 10, 10)` |
//! | `free-threaded` | `trial-deletion/single-gen:2000/system` | free-threaded CPython's schedule |
//! | `trial-deletion` | `trial-deletion/threshold:700/system` | CPython's detector, one young threshold |
//! | `rc` | `none/manual/system` | plain reference counting: cycles leak |
//! | `bacon-rajan` | `buffered/bacon-rajan/threshold:700/system` | Bacon–Rajan: collect from the candidates only |
//! | `deferred` | `deferred/trial-deletion/threshold:700/system` | no freeing at zero: every object freed by a collection |
//! | `mark-sweep` | `mark-sweep:1/cpython312/system` | tracing from the externally referenced objects, one marker |
//! | `mark-sweep-par` | `mark-sweep:2/cpython312/system` | the same with two parallel markers |
//! | `cpython312-pool` | `trial-deletion/cpython312/pool` | CPython 3.12 with the pool allocator |
//!
//! Parts: disciplines `immediate` (the default when the part is left out), `buffered`,
//! `deferred`; detectors `none`, `trial-deletion`, `bacon-rajan` (which implies `buffered`),
//! `mark-sweep` (one worker per processor), `mark-sweep:N`; schedulers `manual`, `threshold:N` (`threshold`
//! alone is `threshold:700`), `cpython312`, `cpython313`, `cpython:T0,T1,T2`, `single-gen:N`
//! (`single-gen` alone is `single-gen:2000`); allocators `system`, `pool`.

use std::fmt;

use gc_core::{Allocator, CycleDetector, Discipline, PoolAllocator, Scheduler, SystemAllocator};
use gc_generational::{CpythonGenerations, Manual, SingleGeneration, Threshold};

use crate::detect::{BaconRajan, MarkSweep, NoCycles, TrialDeletion};

/// The allocator a heap uses. Built-in allocators are matched statically on the allocation path;
/// any other goes through a trait object.
// One per heap, in a thread-local: the pool variant's size costs nothing, a box would cost a
// pointer load on every allocation.
#[allow(clippy::large_enum_variant)]
pub enum AllocatorChoice {
    /// Rust's global allocator.
    System(SystemAllocator),
    /// CPython's obmalloc design: size classes, pools, arenas (see [`PoolAllocator`]).
    Pool(PoolAllocator),
    /// Any other implementation (one dynamic call per allocation and per free).
    Custom(Box<dyn Allocator>),
}

impl Default for AllocatorChoice {
    /// The pool allocator: on every workload of the runner it was as fast as the system allocator
    /// or faster (GCBench trees about twice as fast), and it gives memory back to the OS.
    fn default() -> Self {
        AllocatorChoice::Pool(PoolAllocator::new())
    }
}

impl From<SystemAllocator> for AllocatorChoice {
    fn from(allocator: SystemAllocator) -> Self {
        AllocatorChoice::System(allocator)
    }
}

impl From<PoolAllocator> for AllocatorChoice {
    fn from(allocator: PoolAllocator) -> Self {
        AllocatorChoice::Pool(allocator)
    }
}

impl fmt::Debug for AllocatorChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl AllocatorChoice {
    /// Wraps any allocator.
    pub fn custom(allocator: impl Allocator + 'static) -> Self {
        AllocatorChoice::Custom(Box::new(allocator))
    }

    #[inline(always)]
    pub(crate) fn allocate(&self, layout: std::alloc::Layout) -> Option<std::ptr::NonNull<u8>> {
        match self {
            AllocatorChoice::System(system) => system.allocate(layout),
            AllocatorChoice::Pool(pool) => pool.allocate(layout),
            AllocatorChoice::Custom(custom) => custom.allocate(layout),
        }
    }

    /// # Safety
    /// As [`Allocator::deallocate`].
    #[inline(always)]
    pub(crate) unsafe fn deallocate(
        &self,
        block: std::ptr::NonNull<u8>,
        layout: std::alloc::Layout,
    ) {
        match self {
            // SAFETY: forwarded contract.
            AllocatorChoice::System(system) => unsafe { system.deallocate(block, layout) },
            // SAFETY: forwarded contract.
            AllocatorChoice::Pool(pool) => unsafe { pool.deallocate(block, layout) },
            // SAFETY: forwarded contract.
            AllocatorChoice::Custom(custom) => unsafe { custom.deallocate(block, layout) },
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            AllocatorChoice::System(system) => system.name(),
            AllocatorChoice::Pool(pool) => pool.name(),
            AllocatorChoice::Custom(custom) => custom.name(),
        }
    }

    pub(crate) fn stats(&self) -> gc_core::AllocatorStats {
        match self {
            AllocatorChoice::System(system) => system.stats(),
            AllocatorChoice::Pool(pool) => pool.stats(),
            AllocatorChoice::Custom(custom) => custom.stats(),
        }
    }

    /// Gives memory the allocator holds but does not use back to the operating system; returns
    /// the bytes released.
    pub(crate) fn trim(&self) -> usize {
        match self {
            AllocatorChoice::System(system) => system.trim(),
            AllocatorChoice::Pool(pool) => pool.trim(),
            AllocatorChoice::Custom(custom) => custom.trim(),
        }
    }

    /// A report of the allocator's memory, like `sys._debugmallocstats()`.
    pub(crate) fn release_empty(&self) -> usize {
        match self {
            AllocatorChoice::System(system) => system.release_empty(),
            AllocatorChoice::Pool(pool) => pool.release_empty(),
            AllocatorChoice::Custom(custom) => custom.release_empty(),
        }
    }

    pub(crate) fn report(&self) -> String {
        match self {
            AllocatorChoice::Pool(pool) => pool.report(),
            other => {
                let stats = other.stats();
                format!(
                    "{} allocator: {} blocks, {} bytes in use (no pools to report)\n",
                    other.name(),
                    stats.blocks_in_use,
                    stats.bytes_in_use
                )
            }
        }
    }
}

/// A complete heap configuration: one choice on each policy axis.
///
/// ```
/// use gc_refcount::{gc, HeapConfig, NoCycles, Manual};
/// let by_type = HeapConfig::default().detector(NoCycles).scheduler(Manual);
/// assert_eq!(by_type.name(), "none/manual/pool");
/// let by_name = HeapConfig::from_name("none/manual/pool").unwrap();
/// assert_eq!(by_name.name(), by_type.name());
/// // Presets are names too: "rc" is "none/manual/system".
/// assert_eq!(HeapConfig::from_name("rc").unwrap().name(), "none/manual/system");
/// gc::configure(by_name).unwrap(); // before this thread's first allocation
/// ```
pub struct HeapConfig {
    pub(crate) discipline: Discipline,
    pub(crate) detector: Box<dyn CycleDetector>,
    pub(crate) scheduler: Box<dyn Scheduler>,
    pub(crate) allocator: AllocatorChoice,
}

impl Default for HeapConfig {
    /// `TrialDeletion`, `CpythonGenerations::cpython312()`, the pool allocator.
    fn default() -> Self {
        HeapConfig {
            discipline: Discipline::Immediate,
            detector: Box::new(TrialDeletion),
            scheduler: Box::new(CpythonGenerations::cpython312()),
            allocator: AllocatorChoice::default(),
        }
    }
}

impl fmt::Debug for HeapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeapConfig({})", self.name())
    }
}

/// Preset names and what they stand for.
pub const PRESETS: &[(&str, &str)] = &[
    ("default", "trial-deletion/cpython312/pool"),
    ("cpython312", "trial-deletion/cpython312/system"),
    ("cpython313", "trial-deletion/cpython313/system"),
    ("free-threaded", "trial-deletion/single-gen:2000/system"),
    ("trial-deletion", "trial-deletion/threshold:700/system"),
    ("rc", "none/manual/system"),
    ("bacon-rajan", "buffered/bacon-rajan/threshold:700/system"),
    ("deferred", "deferred/trial-deletion/threshold:700/system"),
    ("mark-sweep", "mark-sweep:1/cpython312/system"),
    ("mark-sweep-par", "mark-sweep:2/cpython312/system"),
    ("cpython312-pool", "trial-deletion/cpython312/pool"),
];

/// The full name of a configuration: `DETECTOR/SCHEDULER/ALLOCATOR`, with the discipline in front
/// unless it is the detector's natural one (immediate, or buffered for Bacon–Rajan).
pub(crate) fn full_name(
    discipline: Discipline,
    detector: &dyn CycleDetector,
    scheduler: &dyn Scheduler,
    allocator: &AllocatorChoice,
) -> String {
    let parts = format!(
        "{}/{}/{}",
        detector.name(),
        scheduler.name(),
        allocator.name()
    );
    if discipline == natural_discipline(detector) {
        parts
    } else {
        format!("{}/{parts}", discipline.name())
    }
}

/// The discipline a detector gets when a name or a builder does not say.
fn natural_discipline(detector: &dyn CycleDetector) -> Discipline {
    detector
        .disciplines()
        .first()
        .copied()
        .unwrap_or(Discipline::Immediate)
}

impl HeapConfig {
    /// Replaces the refcount discipline.
    pub fn discipline(mut self, discipline: Discipline) -> Self {
        self.discipline = discipline;
        self
    }

    /// Replaces the cycle detector, and the discipline with the detector's natural one (the
    /// buffered discipline for Bacon–Rajan, the immediate one otherwise); call
    /// [`HeapConfig::discipline`] after it to choose another.
    pub fn detector(mut self, detector: impl CycleDetector + 'static) -> Self {
        self.discipline = natural_discipline(&detector);
        self.detector = Box::new(detector);
        self
    }

    /// Replaces the scheduler.
    pub fn scheduler(mut self, scheduler: impl Scheduler + 'static) -> Self {
        self.scheduler = Box::new(scheduler);
        self
    }

    /// Replaces the allocator.
    pub fn allocator(mut self, allocator: impl Into<AllocatorChoice>) -> Self {
        self.allocator = allocator.into();
        self
    }

    /// The configuration's full name, `[DISCIPLINE/]DETECTOR/SCHEDULER/ALLOCATOR` (the discipline
    /// is written only when it is not the detector's natural one).
    pub fn name(&self) -> String {
        full_name(
            self.discipline,
            &*self.detector,
            &*self.scheduler,
            &self.allocator,
        )
    }

    /// Checks that the parts fit together: the detector works with the discipline, and the
    /// scheduler's generations fit in a heap.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.detector.disciplines().contains(&self.discipline) {
            return Err(ConfigError::Incompatible {
                detector: self.detector.name(),
                discipline: self.discipline.name(),
            });
        }
        let generations = self.scheduler.generations();
        if generations == 0 || generations > gc_core::MAX_GENERATIONS {
            return Err(ConfigError::TooManyGenerations(generations));
        }
        Ok(())
    }

    /// Parses a preset or a `DETECTOR/SCHEDULER/ALLOCATOR` name (see the [module docs](self)).
    pub fn from_name(name: &str) -> Result<Self, ConfigError> {
        let full = PRESETS
            .iter()
            .find(|(preset, _)| *preset == name)
            .map_or(name, |(_, full)| full);
        let parts: Vec<&str> = full.split('/').collect();
        let (discipline, detector, scheduler, allocator) = match parts[..] {
            [detector, scheduler, allocator] => (None, detector, scheduler, allocator),
            [discipline, detector, scheduler, allocator] => {
                let parsed = Discipline::from_name(discipline)
                    .ok_or_else(|| ConfigError::UnknownPart("discipline", discipline.to_owned()))?;
                (Some(parsed), detector, scheduler, allocator)
            }
            _ => return Err(ConfigError::BadName(name.to_owned())),
        };
        let detector: Box<dyn CycleDetector> = match detector {
            "none" => Box::new(NoCycles),
            "trial-deletion" => Box::new(TrialDeletion),
            "bacon-rajan" => Box::new(BaconRajan::default()),
            other => match MarkSweep::from_name(other) {
                Some(mark_sweep) => Box::new(mark_sweep),
                None => return Err(ConfigError::UnknownPart("detector", other.to_owned())),
            },
        };
        let scheduler = parse_scheduler(scheduler)?;
        let allocator = match allocator {
            "system" => AllocatorChoice::System(SystemAllocator::new()),
            "pool" => AllocatorChoice::Pool(PoolAllocator::new()),
            other => return Err(ConfigError::UnknownPart("allocator", other.to_owned())),
        };
        let config = HeapConfig {
            discipline: discipline.unwrap_or_else(|| natural_discipline(&*detector)),
            detector,
            scheduler,
            allocator,
        };
        config.validate()?;
        Ok(config)
    }
}

/// Parses the scheduler part of a configuration name.
fn parse_scheduler(text: &str) -> Result<Box<dyn Scheduler>, ConfigError> {
    let bad = || ConfigError::UnknownPart("scheduler", text.to_owned());
    let number = |n: &str| n.parse::<usize>().map_err(|_| bad());
    Ok(match text.split_once(':') {
        None => match text {
            "manual" => Box::new(Manual),
            "threshold" => Box::new(Threshold::default()),
            "cpython312" => Box::new(CpythonGenerations::cpython312()),
            "cpython313" => Box::new(CpythonGenerations::cpython313()),
            "single-gen" => Box::new(SingleGeneration::default()),
            _ => return Err(bad()),
        },
        Some(("threshold", n)) => Box::new(Threshold::new(number(n)?)),
        Some(("single-gen", n)) => Box::new(SingleGeneration::new(number(n)?)),
        Some(("cpython", list)) => {
            let parts = list.split(',').map(number).collect::<Result<Vec<_>, _>>()?;
            let [t0, t1, t2] = parts[..] else {
                return Err(bad());
            };
            Box::new(CpythonGenerations::new([t0, t1, t2]))
        }
        Some(_) => return Err(bad()),
    })
}

/// Why a configuration could not be parsed or applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// Not a preset and not of the form `DETECTOR/SCHEDULER/ALLOCATOR`.
    BadName(String),
    /// One part of a name is unknown: (which axis, the text given).
    UnknownPart(&'static str, String),
    /// The heap still holds objects: its allocator and lists cannot change under them.
    HeapInUse {
        /// Objects allocated and not yet freed on this thread.
        live_objects: u64,
    },
    /// A collection or a refcount free is running (configure was called from a `Drop`).
    Busy,
    /// The scheduler asks for more generations than a heap has.
    TooManyGenerations(usize),
    /// The detector does not work with the discipline.
    Incompatible {
        /// The detector's name.
        detector: &'static str,
        /// The discipline's name.
        discipline: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadName(name) => {
                let presets: Vec<&str> = PRESETS.iter().map(|(p, _)| *p).collect();
                write!(
                    f,
                    "unknown configuration {name:?}: use a preset ({}) or \
                     [DISCIPLINE/]DETECTOR/SCHEDULER/ALLOCATOR",
                    presets.join(", ")
                )
            }
            ConfigError::UnknownPart(axis, text) => write!(
                f,
                "unknown {axis} {text:?}: disciplines are immediate, buffered, deferred; \
                 detectors none, trial-deletion, bacon-rajan, mark-sweep, mark-sweep:N; \
                 schedulers manual, threshold:N, cpython312, cpython313, cpython:T0,T1,T2, \
                 single-gen:N; allocators system, pool"
            ),
            ConfigError::HeapInUse { live_objects } => write!(
                f,
                "this thread's heap still holds {live_objects} objects: configure it before the \
                 first allocation, or once every object is freed"
            ),
            ConfigError::Busy => {
                f.write_str("cannot configure the heap while it is collecting or freeing objects")
            }
            ConfigError::Incompatible {
                detector,
                discipline,
            } => write!(
                f,
                "the {detector} detector does not work with the {discipline} discipline \
                 (bacon-rajan needs buffered; none cannot be deferred, nothing would ever be freed)"
            ),
            ConfigError::TooManyGenerations(n) => write!(
                f,
                "the scheduler wants {n} generations; a heap has at most {}",
                gc_core::MAX_GENERATIONS
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
