//! The heap configurations that every generic suite runs — the reachability oracle
//! (`oracle.rs`), the `Drop`-safety tests (`drop_safety.rs`) and the long chains (`deep.rs`) —
//! and the machinery that runs a test body once under each of them.
//!
//! **Adding a configuration is one line** in [`with_configurations!`]: a name (which becomes the
//! last segment of every generated test's path, so `cargo test mark_sweep_2_deferred` runs every
//! suite under that configuration) and the [`HeapConfig`] to build. Every suite then runs under it.
//!
//! A suite writes its test bodies as plain functions `fn body(heap: &Traits)` and lists them in
//! [`per_configuration!`], which makes a module per body with one `#[test]` per configuration:
//! `drop_safety::a_resurrected_handle_is_dead_but_safe::bacon_rajan`. Each test runs the body on
//! a fresh thread (a fresh heap, fresh thread-locals) after configuring that thread's heap.
//!
//! A body must not guess what a configuration does from its name: it asks the [`Traits`], which
//! are read back from the configured heap (its full name and its thresholds), so a new line in the
//! list cannot be misdescribed.
//!
//! ## Under Miri
//!
//! Miri runs the lines marked `miri`, eight of the eighteen: one for every pair of detector and
//! discipline that the list has, both "collects inside small tests" and not, and each allocator.
//! The ten others run the same pointer code as a marked line under Miri: they differ from one
//! only in a threshold that the small tests never reach (`cpython313`, `manual`; Miri's chains are
//! 200 nodes long), in the allocator, or in whether, or on which schedule, collections run inside
//! the small tests. Measured with `PROPTEST_CASES=4` (CI now runs 2), the seventeen lines of
//! then took 289 s under Miri; twelve took 221 s alone but 469 s inside the whole test binary in
//! a CI run, which is too much for CI's budget, hence eight. The other lines' tests are `#[ignore]`d under Miri,
//! so its output lists them; [`every_configuration_is_valid_and_the_miri_subset_covers_every_axis`]
//! checks that the marked lines keep covering every axis as lines are added.

use gc_refcount::{
    gc, BaconRajan, CpythonGenerations, Discipline, HeapConfig, Manual, MarkSweep, NoCycles,
    PoolAllocator, SingleGeneration, SystemAllocator, Threshold,
};

/// Hands the list of configurations to `$callback!`, after `{ $args }`. Each line is
/// `name [miri|native] => builder,`: `miri` if Miri runs it too (see the module docs).
///
/// A young threshold of 3 makes collections run inside the allocations of even the smallest
/// tests, at points the tests do not choose; the default schedule (`cpython312`, 700) never
/// reaches its threshold in a small test.
macro_rules! with_configurations {
    ($callback:ident! { $($args:tt)* }) => {
        $callback! {
            { $($args)* }
            // CPython's detector on each schedule and allocator.
            trial_deletion [miri] => system(),
            trial_deletion_cpython313 [native] =>
                system().scheduler(CpythonGenerations::cpython313()),
            trial_deletion_manual [native] => system().scheduler(Manual),
            trial_deletion_pool [native] => pool(),
            threshold_3 [native] => system().scheduler(Threshold::new(3)),
            cpython_3_2_2 [native] => system().scheduler(CpythonGenerations::new([3, 2, 2])),
            single_gen_3 [native] => system().scheduler(SingleGeneration::new(3)),
            threshold_3_pool [miri] => pool().scheduler(Threshold::new(3)),
            // Plain reference counting: cycles leak.
            no_cycles [miri] => system().detector(NoCycles),
            // Bacon–Rajan with its buffered discipline.
            bacon_rajan [native] => system().detector(BaconRajan::default()),
            bacon_rajan_threshold_3 [miri] =>
                system().scheduler(Threshold::new(3)).detector(BaconRajan::default()),
            // The deferred discipline: nothing is freed at zero.
            deferred [native] => system().discipline(Discipline::Deferred),
            deferred_threshold_3 [miri] =>
                system().scheduler(Threshold::new(3)).discipline(Discipline::Deferred),
            // Mark–sweep, sequential and with two markers (parallel however small the set).
            mark_sweep_1 [miri] => system().detector(MarkSweep::new(1)),
            mark_sweep_2 [native] => system().detector(parallel_mark_sweep()),
            mark_sweep_2_threshold_3 [miri] =>
                system().scheduler(Threshold::new(3)).detector(parallel_mark_sweep()),
            mark_sweep_2_deferred [miri] =>
                system().detector(parallel_mark_sweep()).discipline(Discipline::Deferred),
            // Two markers choosing how to mark (one walk or split, from sampled edges or from
            // the last collection of the generation), with collections inside the tests.
            mark_sweep_2_choosing_threshold_3 [native] => pool()
                .scheduler(Threshold::new(3))
                .detector(MarkSweep::new(2).parallel_threshold(0)),
        }
    };
}

/// Trial deletion on CPython 3.12's schedule (the default heap's detector and schedule), on the
/// system allocator. Every line names its allocator: the default heap's may change.
fn system() -> HeapConfig {
    HeapConfig::default().allocator(SystemAllocator::new())
}

/// The same on the pool allocator.
fn pool() -> HeapConfig {
    HeapConfig::default().allocator(PoolAllocator::new())
}

/// Mark–sweep with two marking threads, splitting the marking of every examined set (the default
/// parallel threshold and choice would mark the small graphs of the tests with one walk).
fn parallel_mark_sweep() -> MarkSweep {
    MarkSweep::new(2).parallel_threshold(0).always_split()
}

/// One line of the list.
pub struct Configuration {
    /// The line's name, also the name of its generated tests.
    pub name: &'static str,
    /// Whether Miri runs it (see the module docs).
    pub under_miri: bool,
    build: fn() -> HeapConfig,
}

/// Defines [`CONFIGURATIONS`] from the list.
macro_rules! define_configurations {
    ({} $($name:ident [$miri:ident] => $build:expr,)*) => {
        /// Every configuration, in the order of [`with_configurations!`].
        pub const CONFIGURATIONS: &[Configuration] = &[$(Configuration {
            name: stringify!($name),
            under_miri: runs_under_miri!($miri),
            build: || $build,
        }),*];
    };
}

/// `miri` or `native`, as a `bool` (any other tag fails to compile).
macro_rules! runs_under_miri {
    (miri) => {
        true
    };
    (native) => {
        false
    };
}

with_configurations!(define_configurations! {});

impl std::fmt::Debug for Configuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// What a test may rely on about the configuration it runs under, read back from the heap.
#[derive(Debug, Clone)]
pub struct Traits {
    /// The line of the list.
    pub configuration: &'static Configuration,
    /// The heap's full name, `[DISCIPLINE/]DETECTOR/SCHEDULER/ALLOCATOR`.
    pub full_name: String,
    /// The refcount discipline.
    pub discipline: Discipline,
    /// Whether `gc::collect()` finds garbage cycles (every detector but `none`).
    pub collects_cycles: bool,
    /// The schedule's young threshold (`gc::get_threshold()[0]`); 0 if it never collects by itself.
    pub young_threshold: usize,
}

/// The young thresholds at or below which a schedule counts as collecting inside small tests
/// (the oracle's programs start with threshold + 1 allocations to make sure one runs, and allocate
/// at most 16 nodes under Miri).
const SMALL_THRESHOLD: usize = 8;

impl Configuration {
    /// The configuration named `name`.
    pub fn named(name: &str) -> &'static Configuration {
        CONFIGURATIONS
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no configuration named {name}"))
    }

    /// Builds the heap configuration.
    pub fn build(&self) -> HeapConfig {
        (self.build)()
    }

    /// Configures this thread's heap (which must be fresh) and reads back its traits.
    pub fn configure(&'static self) -> Traits {
        let config = self.build();
        let expected = config.name();
        gc::configure(config)
            .unwrap_or_else(|e| panic!("{}: configure on a fresh heap failed: {e}", self.name));
        let full_name = gc::config_name();
        assert_eq!(
            full_name, expected,
            "{}: the heap runs what was built",
            self.name
        );
        let young_threshold = gc::get_threshold().first().copied().unwrap_or(0);
        let detector = detector_part(&full_name);
        Traits {
            configuration: self,
            discipline: discipline_of(&full_name),
            collects_cycles: detector != "none",
            young_threshold,
            full_name,
        }
    }

    /// The traits, read on a scratch thread (for code that must know them before configuring).
    pub fn traits(&'static self) -> Traits {
        std::thread::spawn(move || self.configure())
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// The parts of a full name: the discipline part is written only when it is not the detector's
/// natural one.
fn parts(full_name: &str) -> Vec<&str> {
    let parts: Vec<&str> = full_name.split('/').collect();
    assert!(
        parts.len() == 3 || parts.len() == 4,
        "not a [DISCIPLINE/]DETECTOR/SCHEDULER/ALLOCATOR name: {full_name}"
    );
    parts
}

fn detector_part(full_name: &str) -> &str {
    let parts = parts(full_name);
    parts[parts.len() - 3]
}

/// The discipline of a heap, from its full name. When the name leaves it out, it is the
/// detector's natural one: the discipline that, written out, names the same configuration as the
/// name without it.
fn discipline_of(full_name: &str) -> Discipline {
    let parts = parts(full_name);
    if parts.len() == 4 {
        return Discipline::from_name(parts[0])
            .unwrap_or_else(|| panic!("unknown discipline in {full_name}"));
    }
    [
        Discipline::Immediate,
        Discipline::Buffered,
        Discipline::Deferred,
    ]
    .into_iter()
    .find(|d| {
        HeapConfig::from_name(&format!("{}/{full_name}", d.name()))
            .is_ok_and(|config| config.name() == full_name)
    })
    .unwrap_or_else(|| {
        panic!(
            "cannot tell the discipline of {full_name}: give its detector a name in \
             HeapConfig::from_name"
        )
    })
}

impl Traits {
    /// Whether a value is dropped (and its memory freed) the moment its count reaches zero. Under
    /// the deferred discipline only a collection frees anything.
    pub fn frees_at_zero(&self) -> bool {
        self.discipline != Discipline::Deferred
    }

    /// Whether objects freed by counting while buffered as cycle candidates keep their memory
    /// until the next collection (the buffered discipline).
    pub fn buffers_candidates(&self) -> bool {
        self.discipline == Discipline::Buffered
    }

    /// Whether the schedule collects by itself within the few allocations of a small test.
    pub fn collects_in_small_tests(&self) -> bool {
        self.young_threshold > 0 && self.young_threshold <= SMALL_THRESHOLD
    }

    /// Gives back what the buffered discipline still holds: under it, objects freed by counting
    /// while they were cycle candidates keep their memory until a collection. That collection
    /// must find nothing (those objects are not garbage: they are gone). Under the other
    /// disciplines it does nothing (a collection here would hide a missing free).
    pub fn release_buffered(&self) {
        if self.buffers_candidates() {
            assert_eq!(
                gc::collect(),
                0,
                "{}: nothing is left to collect",
                self.full_name
            );
        }
    }
}

/// Runs `body` under the configuration `name`, on a fresh thread whose heap it configures first.
/// A failure names the configuration.
pub fn run(name: &str, body: fn(&Traits)) {
    let configuration = Configuration::named(name);
    let outcome = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let traits = configuration.configure();
            body(&traits);
        })
        .expect("spawn a test thread")
        .join();
    if let Err(panic) = outcome {
        let message = panic_message(&*panic);
        panic!("under configuration {name}: {message}");
    }
}

/// The message of a panic payload (`panic!` with arguments gives a `String`, without a `&str`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic)")
}

/// For each test body `fn body(heap: &Traits)` listed, a module `body` with one `#[test]` per
/// configuration, named after it. Use it in the module that defines the bodies:
///
/// ```ignore
/// per_configuration!(first_body, second_body);
/// ```
macro_rules! per_configuration {
    ($($body:ident),* $(,)?) => {
        $(with_configurations!(configuration_tests! { $body });)*
    };
}

/// One module of tests for one body (see [`per_configuration!`]).
macro_rules! configuration_tests {
    ({ $body:ident } $($name:ident [$miri:ident] => $build:expr,)*) => {
        mod $body {
            $(configuration_test!($body, $name, $miri);)*
        }
    };
}

/// One test: `$body` under the configuration `$name`.
macro_rules! configuration_test {
    ($body:ident, $name:ident, miri) => {
        #[test]
        fn $name() {
            $crate::configurations::run(stringify!($name), super::$body);
        }
    };
    ($body:ident, $name:ident, native) => {
        #[test]
        #[cfg_attr(
            miri,
            ignore = "Miri runs a representative subset of the configurations"
        )]
        fn $name() {
            $crate::configurations::run(stringify!($name), super::$body);
        }
    };
}

/// The list itself: every line builds a configuration that a fresh heap accepts and that
/// `HeapConfig::from_name` can name (two lines with one name would not compile: their tests would
/// clash); the traits read back are right for a few known lines; and the lines Miri runs cover
/// every combination of detector, discipline and "collects inside small tests" of the list, and
/// every allocator.
#[test]
fn every_configuration_is_valid_and_the_miri_subset_covers_every_axis() {
    let mut all = Vec::new();
    let mut under_miri = Vec::new();
    for configuration in CONFIGURATIONS {
        let traits = configuration.traits();
        let round_trip = HeapConfig::from_name(&traits.full_name)
            .unwrap_or_else(|e| panic!("{}: {e}", traits.full_name));
        assert_eq!(round_trip.name(), traits.full_name);
        let parts = parts(&traits.full_name);
        let axes = [
            format!(
                "detector {}, discipline {}",
                detector_part(&traits.full_name),
                traits.discipline.name(),
            ),
            format!(
                "collects in small tests: {}",
                traits.collects_in_small_tests()
            ),
            format!("allocator {}", parts[parts.len() - 1]),
        ];
        if configuration.under_miri {
            under_miri.extend(axes.iter().cloned());
        }
        all.extend(axes);
    }
    for axis in &all {
        assert!(
            under_miri.contains(axis),
            "no line that Miri runs has {axis}"
        );
    }
    let traits = Configuration::named("bacon_rajan").traits();
    assert_eq!(traits.discipline, Discipline::Buffered);
    let traits = Configuration::named("mark_sweep_2_deferred").traits();
    assert_eq!(traits.discipline, Discipline::Deferred);
    let traits = Configuration::named("trial_deletion_manual").traits();
    assert_eq!(
        (traits.discipline, traits.young_threshold),
        (Discipline::Immediate, 0)
    );
    assert!(!Configuration::named("no_cycles").traits().collects_cycles);
    assert!(Configuration::named("single_gen_3")
        .traits()
        .collects_in_small_tests());
}
