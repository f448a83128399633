//! `seed-scenario`: issue 4's seed scenario — after `del` and `collect()`, does resident memory
//! go back to the operating system? — measured for gclab's system allocator, gclab's
//! `PoolAllocator`, and CPython, side by side.
//!
//! ```sh
//! cargo run --release -p gc-bench --bin seed-scenario
//! cargo run --release -p gc-bench --bin seed-scenario -- --objects 1000000 --case b --allocator pool --json
//! ```
//!
//! # What is measured
//!
//! Resident memory (`VmRSS` of `/proc/self/status`, through [`gc_bench::rss`]) at five points:
//! **start**, **built**, **dropped** (the program's last handle to the structure gone),
//! **collected** (after `gc::collect()`, CPython's `gc.collect()`) and **trimmed** (after
//! `gc::trim()`, which hands the allocator's free pages back — a no-op for the system allocator;
//! CPython has no such call, and its figures stop at `gc.collect()`). Three cases:
//!
//! - **a, dense** — `--objects` small objects, all dropped;
//! - **b, every 100th kept** — the same, but every 100th object is kept alive (fragmentation);
//!   `--keep-every N` keeps every Nth instead;
//! - **c, int list** — a `Gc` vector of `--objects` `Gc`-boxed integers (leaf objects, never
//!   tracked), then dropped: Python's `a = list(range(10**7)); del a`.
//!
//! Each (case, allocator) runs in a fresh child process — this executable re-run with the hidden
//! `--child` flag — so that the resident memory belongs to that run alone, on a heap configured
//! as `trial-deletion/cpython312/system` or `trial-deletion/cpython312/pool`. The CPython side is
//! `python3 -c` with the same sizes in a process of its own, reading its own `VmRSS` and its
//! arena counts from `sys._debugmallocstats()`; without `python3` it is skipped, the output says
//! so, and the fragmentation target falls back to the issue's CPython 3.11 figure.
//!
//! # The objects of cases a and b
//!
//! Tracked containers that form *cyclic garbage*, as Python objects usually do: objects come in
//! **pairs that reference each other**, so dropping the program's handles frees nothing and
//! `collect()` has to find all of them — the path whose memory matters (the heap's teardown
//! handing millions of blocks back to the allocator). Each object's value is 48 bytes, the
//! issue's payload: the partner link (a `GcCell<Option<Gc<_>>>`, 16 bytes) and 32 bytes of data,
//! stored *inline* so that the whole object is one block of the heap's allocator. (The runner's
//! `big-drop` workload, which otherwise has the same shape, keeps its payload in a separate boxed
//! slice; with the pool allocator that slice would come from the system allocator, so it cannot
//! say what the pool gives back.) With gclab's 48-byte header an object is a 96-byte block.
//!
//! The CPython objects are instances of a class with `__slots__ = ('partner', 'payload')`: 48
//! bytes with the GC header (the issue's "15.0 → 551 → 16.1 MiB" scale: 10 000 000 48-byte
//! blocks and the list). So a CPython object is 48 bytes in all (32 of headers, 16 of fields) and
//! a gclab object 96 (48 of header, 48 of value): the figures compare what each system costs for
//! the object it has, and the table shows the bytes per object of each.
//!
//! Case b keeps objects 0, 100, 200, … (`objs[::100]`; `--keep-every N` changes the 100); each
//! keeps its partner alive through the cycle, so 2 % of the objects survive, one pair every 100
//! objects.
//!
//! # Targets (issue 4)
//!
//! - Dense case: resident memory back to within 5 % of the start.
//! - Fragmented case: retained memory (`collected − start`) at most 0.6 × what CPython retains.
//!
//! Both verdicts are given after `collect()` and after `trim()`. For the surviving objects of
//! case b, the *page floor* — the 4 KiB pages the survivors' blocks touch, where they are — is
//! what any allocator that does not move objects must keep resident; it is reported for gclab and
//! for CPython, so that a missed target can be told apart from an unreachable one.
//!
//! # Flags
//!
//! `--objects N` (default 10 000 000), `--case a|b|c|all`, `--allocator system|pool|both`,
//! `--keep-every N` (default 100), `--json`, `--no-python`, `--python PATH` (default `python3`),
//! `--malloc-stats` (the pool allocator's `gc::debug_malloc_stats()` after collect and after trim,
//! and CPython's `sys._debugmallocstats()`, on stderr).
//!
//! # Output and exit status
//!
//! A table (or, with `--json`, one JSON document) and the verdicts. Exit status 0 when every run
//! produced its figures (a missed target is a result, not a failure), 1 when a run failed, 2 for
//! bad flags (one line on stderr).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, ExitCode, Output};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use gc_bench::rss;
use gc_refcount::gc_core::ObjectBox;
use gc_refcount::{gc, Gc, GcCell, Trace};
use serde::{Deserialize, Serialize};

/// The issue's case b keeps one object in this many (the default of `--keep-every`).
const ISSUE_KEEP_EVERY: usize = 100;

/// The page size the page floor is counted in (x86-64 and most aarch64 Linux systems).
const PAGE_SIZE: usize = 4096;

/// The issue's CPython 3.11 measurement of case b at 10 000 000 objects: start 15.0 MiB (the
/// dense case's), 475.6 MiB resident after `del` and `gc.collect()`. Used, scaled to
/// `--objects`, only when `python3` is not available.
const ISSUE_CPYTHON_RETAINED_MIB: f64 = 475.6 - 15.0;

/// The objects count the issue's CPython figures are for.
const ISSUE_OBJECTS: f64 = 10_000_000.0;

/// The dense target: final RSS at most this times the start.
const DENSE_LIMIT: f64 = 1.05;

/// The fragmentation target: retained at most this times CPython's retained.
const FRAGMENTED_LIMIT: f64 = 0.6;

/// The seed scenario of issue 4: RSS at start, built, dropped, collected and trimmed, for the
/// system allocator, the pool allocator and CPython.
#[derive(Debug, Parser)]
#[command(name = "seed-scenario", version, about, long_about = None)]
struct Cli {
    /// Objects built in each case.
    #[arg(long, default_value_t = 10_000_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    objects: u64,
    /// Which case: a (dense), b (every Nth kept), c (int list) or all.
    #[arg(long, value_enum, default_value_t = CaseArg::All)]
    case: CaseArg,
    /// Case b keeps objects 0, N, 2N, … (and their partners). The issue's case is 100; with
    /// another N and no CPython run, case b has no reference to compare with.
    #[arg(long, default_value_t = ISSUE_KEEP_EVERY, value_parser = parse_keep_every)]
    keep_every: usize,
    /// Which gclab allocator: system, pool or both.
    #[arg(long, value_enum, default_value_t = AllocatorArg::Both)]
    allocator: AllocatorArg,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    json: bool,
    /// Do not run CPython side by side (the fragmentation target then uses the issue's figure).
    #[arg(long)]
    no_python: bool,
    /// The Python interpreter to run.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Print the pool allocator's report (`gc::debug_malloc_stats`) after collect and after trim,
    /// and CPython's `sys._debugmallocstats()`, on stderr.
    #[arg(long)]
    malloc_stats: bool,
    /// Run one (case, allocator) here and print its record as one JSON line (used for each child).
    #[arg(long, hide = true)]
    child: bool,
}

/// `--case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CaseArg {
    /// Dense: every object dropped.
    A,
    /// Fragmented: every Nth object kept (`--keep-every`).
    B,
    /// A `Gc` vector of `Gc`-boxed integers.
    C,
    /// All three.
    All,
}

/// `--allocator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AllocatorArg {
    /// Rust's global allocator.
    System,
    /// gclab's `PoolAllocator`.
    Pool,
    /// Both.
    Both,
}

/// One of the three cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Dense,
    Fragmented,
    IntList,
}

impl Case {
    const ALL: [Case; 3] = [Case::Dense, Case::Fragmented, Case::IntList];

    /// The letter of the issue.
    fn letter(self) -> &'static str {
        match self {
            Case::Dense => "a",
            Case::Fragmented => "b",
            Case::IntList => "c",
        }
    }

    fn from_letter(letter: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|case| case.letter() == letter)
    }

    /// A short description for the table.
    fn title(self, keep_every: usize) -> String {
        match self {
            Case::Dense => "dense".to_owned(),
            Case::Fragmented => format!("1 in {keep_every} kept"),
            Case::IntList => "int list".to_owned(),
        }
    }

    fn selected(arg: CaseArg) -> Vec<Case> {
        match arg {
            CaseArg::A => vec![Case::Dense],
            CaseArg::B => vec![Case::Fragmented],
            CaseArg::C => vec![Case::IntList],
            CaseArg::All => Case::ALL.to_vec(),
        }
    }
}

/// The allocators of gclab's side, by the name of the configuration part.
fn selected_allocators(arg: AllocatorArg) -> Vec<&'static str> {
    match arg {
        AllocatorArg::System => vec!["system"],
        AllocatorArg::Pool => vec!["pool"],
        AllocatorArg::Both => vec!["system", "pool"],
    }
}

/// Resident memory at each step, in KiB.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RssKib {
    start: u64,
    built: u64,
    dropped: u64,
    collected: u64,
    /// After `gc::trim()` (gclab only).
    trimmed: Option<u64>,
}

/// Milliseconds per step.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StepMs {
    build: f64,
    drop: f64,
    collect: f64,
    trim: Option<f64>,
}

/// Arenas mapped (1 MiB each, in both pymalloc and `PoolAllocator`) at the steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Arenas {
    /// Mapped after building.
    built: u64,
    /// Mapped after the collection.
    collected: u64,
    /// Mapped after the trim (gclab only).
    trimmed: Option<u64>,
    /// Mapped since the process started (CPython's "arenas allocated total").
    allocated_total: u64,
}

/// One run: one case on one allocator (or CPython).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Measurement {
    /// `a`, `b` or `c`.
    case: String,
    /// `system`, `pool` or `cpython`.
    allocator: String,
    /// gclab's configuration name, or `CPython 3.x.y`.
    config: String,
    /// Objects built.
    objects: u64,
    /// Objects alive after the drop: the kept ones and what they reach.
    survivors: u64,
    /// Bytes per object the allocator was asked for (gclab: header and value; CPython:
    /// `sys.getsizeof`, its GC header included).
    object_bytes: u64,
    rss_kib: RssKib,
    ms: StepMs,
    /// Unreachable objects `collect()` found.
    found: u64,
    /// Objects the heap still holds after the collection (gclab only): must equal `survivors`.
    live_after_collect: Option<u64>,
    /// Bytes `gc::trim()` reported given back (gclab only).
    trimmed_bytes: Option<u64>,
    /// Arenas (pool allocator and CPython).
    arenas: Option<Arenas>,
    /// Distinct 4 KiB pages the survivors' blocks touch (case b): what a non-moving allocator
    /// must keep resident for them, in KiB.
    survivor_page_floor_kib: Option<u64>,
}

impl Measurement {
    fn mib(kib: u64) -> f64 {
        kib as f64 / 1024.0
    }

    /// RSS after the collection minus RSS at the start, MiB.
    fn retained_after_collect(&self) -> f64 {
        Self::mib(self.rss_kib.collected) - Self::mib(self.rss_kib.start)
    }

    /// RSS after the trim (or the collection) minus RSS at the start, MiB.
    fn retained_after_trim(&self) -> f64 {
        Self::mib(self.rss_kib.trimmed.unwrap_or(self.rss_kib.collected))
            - Self::mib(self.rss_kib.start)
    }
}

/// A run that produced no figures.
#[derive(Debug, Clone, Serialize)]
struct Failure {
    case: String,
    allocator: String,
    message: String,
}

/// One target checked on one run.
#[derive(Debug, Clone, Serialize)]
struct Verdict {
    case: String,
    allocator: String,
    /// `collect()` or `trim()`.
    after: &'static str,
    target: String,
    /// The measured figure, in the target's unit.
    measured: f64,
    /// The most the target allows.
    limit: f64,
    pass: bool,
}

/// What the CPython side was.
#[derive(Debug, Clone, Serialize)]
struct PythonSide {
    /// Whether CPython ran side by side in this run.
    measured: bool,
    /// The interpreter's version, or why it was not run.
    note: String,
}

/// CPython's retained memory in case b, the fragmentation target's yardstick.
#[derive(Debug, Clone, Serialize)]
struct Reference {
    /// Where the figure comes from.
    source: String,
    /// CPython's `collected − start`, MiB.
    retained_mib: f64,
}

/// The whole result, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Report {
    objects: u64,
    keep_every: usize,
    python: PythonSide,
    /// What case b is compared with (none: no CPython run and not the issue's `--keep-every`).
    reference: Option<Reference>,
    runs: Vec<Measurement>,
    failures: Vec<Failure>,
    verdicts: Vec<Verdict>,
}

/// Parses `--keep-every`: a whole number of at least 1.
fn parse_keep_every(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{text:?} is not a whole number of at least 1")),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_error(error),
    };
    if cli.child {
        return child_main(&cli);
    }
    parent_main(&cli)
}

/// Help and version to stdout; an error squeezed into one line on stderr, exit status 2.
fn clap_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        _ => {
            let rendered = error.render().to_string();
            let line: Vec<&str> = rendered
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            let line = line.join(" ");
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            eprintln!("seed-scenario: {line} (see seed-scenario --help)");
            ExitCode::from(2)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The child: one case on one allocator.
// ---------------------------------------------------------------------------------------------

/// Runs one (case, allocator) in this process and prints its [`Measurement`] as a JSON line.
fn child_main(cli: &Cli) -> ExitCode {
    let case = match Case::selected(cli.case).as_slice() {
        [case] => *case,
        _ => {
            eprintln!("seed-scenario: --child needs one --case (a, b or c)");
            return ExitCode::from(2);
        }
    };
    let allocator = match selected_allocators(cli.allocator).as_slice() {
        [allocator] => *allocator,
        _ => {
            eprintln!("seed-scenario: --child needs one --allocator (system or pool)");
            return ExitCode::from(2);
        }
    };
    match run_gclab(
        case,
        allocator,
        cli.objects,
        cli.keep_every,
        cli.malloc_stats,
    ) {
        Ok(measurement) => match serde_json::to_string(&measurement) {
            Ok(json) => {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{json}");
                let _ = stdout.flush();
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("seed-scenario: cannot encode the record: {error}");
                ExitCode::from(1)
            }
        },
        Err(message) => {
            eprintln!("seed-scenario: {message}");
            ExitCode::from(1)
        }
    }
}

/// A small tracked object of cases a and b: a 48-byte value, the partner link and 32 bytes of
/// data, inline (see the module docs).
#[derive(Trace)]
struct Small {
    partner: GcCell<Option<Gc<Small>>>,
    data: [u8; 32],
}

const _: () = assert!(std::mem::size_of::<Small>() == 48);

impl Small {
    /// An object whose data records its index.
    fn new(index: u64) -> Small {
        let mut data = [0u8; 32];
        data[..8].copy_from_slice(&index.to_le_bytes());
        Small {
            partner: GcCell::new(None),
            data,
        }
    }

    /// The index recorded in the data.
    fn index(&self) -> u64 {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&self.data[..8]);
        u64::from_le_bytes(bytes)
    }
}

/// The bytes an object of value `T` takes in the heap's allocator: header and value.
fn object_bytes<T: Trace + 'static>() -> u64 {
    std::mem::size_of::<ObjectBox<T>>() as u64
}

/// Resident memory and arenas at one step.
struct Sample {
    rss_kib: u64,
    arenas: u64,
}

fn sample() -> Sample {
    Sample {
        rss_kib: rss::current_kib(),
        arenas: gc::stats().allocator.arenas_live as u64,
    }
}

fn millis(clock: Instant) -> f64 {
    clock.elapsed().as_secs_f64() * 1e3
}

/// Runs `case` on a `trial-deletion/cpython312/ALLOCATOR` heap of this thread.
fn run_gclab(
    case: Case,
    allocator: &str,
    objects: u64,
    keep_every: usize,
    malloc_stats: bool,
) -> Result<Measurement, String> {
    let config = format!("trial-deletion/cpython312/{allocator}");
    gc::configure_by_name(&config)
        .map_err(|error| format!("cannot configure {config}: {error}"))?;
    let installed = gc::config_name();
    if !installed.ends_with(&format!("/{allocator}")) {
        return Err(format!(
            "asked for {config}, the heap reports {installed}: not the allocator to measure"
        ));
    }
    let n = usize::try_from(objects).map_err(|_| format!("--objects {objects} is too large"))?;
    let start = sample();

    let outcome = match case {
        Case::Dense | Case::Fragmented => {
            small_objects(n, (case == Case::Fragmented).then_some(keep_every))
        }
        Case::IntList => int_list(n),
    };

    let collected = outcome.collected;
    let stats = gc::stats();
    let live = stats.live_objects();
    if malloc_stats {
        eprintln!(
            "== {config}, case {}: after collect()\n{}",
            case.letter(),
            gc::debug_malloc_stats()
        );
    }
    let clock = Instant::now();
    let trimmed_bytes = gc::trim() as u64;
    let trim_ms = millis(clock);
    let trimmed = sample();
    if malloc_stats {
        eprintln!(
            "== {config}, case {}: after trim()\n{}",
            case.letter(),
            gc::debug_malloc_stats()
        );
    }
    if live != outcome.survivors {
        return Err(format!(
            "case {}: {live} objects left in the heap after collect(), expected {}",
            case.letter(),
            outcome.survivors
        ));
    }
    let is_pool = allocator == "pool";
    // The survivors are dropped only now, after every figure was taken.
    drop(outcome.kept);
    Ok(Measurement {
        case: case.letter().to_owned(),
        allocator: allocator.to_owned(),
        config: gc::config_name(),
        objects,
        survivors: outcome.survivors,
        object_bytes: outcome.object_bytes,
        rss_kib: RssKib {
            start: start.rss_kib,
            built: outcome.built.rss_kib,
            dropped: outcome.dropped.rss_kib,
            collected: collected.rss_kib,
            trimmed: Some(trimmed.rss_kib),
        },
        ms: StepMs {
            build: outcome.build_ms,
            drop: outcome.drop_ms,
            collect: outcome.collect_ms,
            trim: Some(trim_ms),
        },
        found: outcome.found,
        live_after_collect: Some(live),
        trimmed_bytes: Some(trimmed_bytes),
        arenas: is_pool.then_some(Arenas {
            built: outcome.built.arenas,
            collected: collected.arenas,
            trimmed: Some(trimmed.arenas),
            allocated_total: stats.allocator.arenas_allocated as u64,
        }),
        survivor_page_floor_kib: outcome.page_floor_kib,
    })
}

/// What one case leaves for the report: samples, timings, and the survivors (dropped by the
/// caller once every figure is taken).
struct Outcome {
    built: Sample,
    dropped: Sample,
    collected: Sample,
    build_ms: f64,
    drop_ms: f64,
    collect_ms: f64,
    found: u64,
    survivors: u64,
    object_bytes: u64,
    page_floor_kib: Option<u64>,
    kept: Vec<Gc<Small>>,
}

/// Cases a and b: `n` objects in pairs that reference each other, held in a `Vec`; then the
/// `Vec` dropped — keeping objects `0, keep_every, 2 * keep_every, …` if `keep_every` is given —
/// and a full collection.
fn small_objects(n: usize, keep_every: Option<usize>) -> Outcome {
    let clock = Instant::now();
    let mut objs: Vec<Gc<Small>> = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        let a = Gc::new(Small::new(i as u64));
        if i + 1 < n {
            let b = Gc::new(Small::new(i as u64 + 1));
            *b.partner.borrow_mut() = Some(a.clone());
            *a.partner.borrow_mut() = Some(b.clone());
            objs.push(a);
            objs.push(b);
        } else {
            // An odd count: the last object is its own partner, still cyclic garbage.
            *a.partner.borrow_mut() = Some(a.clone());
            objs.push(a);
        }
        i += 2;
    }
    let build_ms = millis(clock);
    let built = sample();

    let clock = Instant::now();
    let kept: Vec<Gc<Small>> = match keep_every {
        Some(every) => objs.iter().step_by(every).cloned().collect(),
        None => Vec::new(),
    };
    drop(objs);
    let drop_ms = millis(clock);
    let dropped = sample();

    let clock = Instant::now();
    let found = gc::collect() as u64;
    let collect_ms = millis(clock);
    let collected = sample();

    // Every kept object still has its partner, and the partner points back.
    let mut survivors = 0u64;
    let mut pages = HashSet::new();
    for object in &kept {
        let partner = object.partner.borrow().clone();
        let partner = partner.unwrap_or_else(|| {
            panic!(
                "kept object {} lost its partner: collector bug",
                object.index()
            )
        });
        let back = partner.partner.borrow().clone();
        assert!(
            back.is_some_and(|back| Gc::ptr_eq(&back, object)),
            "kept object {}: its partner does not point back: collector bug",
            object.index()
        );
        survivors += if Gc::ptr_eq(&partner, object) { 1 } else { 2 };
        for target in [object, &partner] {
            add_pages::<Small>(&mut pages, target);
        }
    }
    Outcome {
        built,
        dropped,
        collected,
        build_ms,
        drop_ms,
        collect_ms,
        found,
        survivors,
        object_bytes: object_bytes::<Small>(),
        page_floor_kib: keep_every.map(|_| (pages.len() * PAGE_SIZE / 1024) as u64),
        kept,
    }
}

/// Adds the pages the block of `object` (header and value) touches.
fn add_pages<T: Trace + 'static>(pages: &mut HashSet<usize>, object: &Gc<T>) {
    let size = std::mem::size_of::<ObjectBox<T>>();
    // The value is the last field of the `repr(C)` box, so the block starts this far before it.
    let offset = size - std::mem::size_of::<T>();
    let start = (Gc::as_ptr(object) as usize) - offset;
    let end = start + size - 1;
    for page in start / PAGE_SIZE..=end / PAGE_SIZE {
        pages.insert(page);
    }
}

/// Case c: `Gc<Vec<Gc<u64>>>` of `n` boxed integers, dropped, then a collection.
fn int_list(n: usize) -> Outcome {
    let clock = Instant::now();
    let list: Gc<Vec<Gc<u64>>> = Gc::new((0..n as u64).map(Gc::new).collect());
    let build_ms = millis(clock);
    assert!(
        list.first().is_none_or(|leaf| !gc::is_tracked(leaf)),
        "a Gc<u64> should be an untracked leaf"
    );
    let built = sample();

    let clock = Instant::now();
    drop(list);
    let drop_ms = millis(clock);
    let dropped = sample();

    let clock = Instant::now();
    let found = gc::collect() as u64;
    let collect_ms = millis(clock);
    let collected = sample();
    Outcome {
        built,
        dropped,
        collected,
        build_ms,
        drop_ms,
        collect_ms,
        found,
        survivors: 0,
        object_bytes: object_bytes::<u64>(),
        page_floor_kib: None,
        kept: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// The parent: children, CPython, table and verdicts.
// ---------------------------------------------------------------------------------------------

/// Runs every selected (case, allocator) in a child and CPython beside it; prints the result.
fn parent_main(cli: &Cli) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => {
            eprintln!("seed-scenario: cannot find this executable to run the children: {error}");
            return ExitCode::from(1);
        }
    };
    let mut python = if cli.no_python {
        PythonSide {
            measured: false,
            note: "not run (--no-python)".to_owned(),
        }
    } else {
        python_version(&cli.python)
    };
    let mut runs = Vec::new();
    let mut failures = Vec::new();
    for case in Case::selected(cli.case) {
        for allocator in selected_allocators(cli.allocator) {
            progress(cli, &format!("case {} on {allocator}", case.letter()));
            match run_child(&exe, case, allocator, cli) {
                Ok(measurement) => runs.push(measurement),
                Err(message) => failures.push(Failure {
                    case: case.letter().to_owned(),
                    allocator: allocator.to_owned(),
                    message,
                }),
            }
        }
        if python.measured {
            progress(cli, &format!("case {} on CPython", case.letter()));
            match run_python(&cli.python, case, cli, cli.malloc_stats) {
                Ok(measurement) => runs.push(measurement),
                Err(message) => failures.push(Failure {
                    case: case.letter().to_owned(),
                    allocator: "cpython".to_owned(),
                    message,
                }),
            }
        }
    }
    if python.measured && !runs.iter().any(|run| run.allocator == "cpython") {
        python.measured = false;
        python.note = format!("{} failed; see the failures", python.note);
    }
    let reference = cpython_reference(&runs, cli.objects, cli.keep_every);
    let verdicts = verdicts(&runs, reference.as_ref());
    let report = Report {
        objects: cli.objects,
        keep_every: cli.keep_every,
        python,
        reference,
        runs,
        failures,
        verdicts,
    };
    let text = if cli.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => json + "\n",
            Err(error) => {
                eprintln!("seed-scenario: cannot encode the report: {error}");
                return ExitCode::from(1);
            }
        }
    } else {
        render(&report)
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        for failure in &report.failures {
            eprintln!(
                "seed-scenario: case {} on {} failed: {}",
                failure.case, failure.allocator, failure.message
            );
        }
        ExitCode::from(1)
    }
}

/// One progress line on stderr (not with `--json`, whose reader wants stdout alone anyway).
fn progress(cli: &Cli, what: &str) {
    if !cli.json {
        eprintln!("seed-scenario: running {what} ({} objects)…", cli.objects);
    }
}

/// The last lines of a child's stderr, for a failure message.
fn stderr_tail(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        format!("exited with {} and no message", output.status)
    } else {
        tail.join(" / ")
    }
}

/// Runs one (case, allocator) in a fresh process of this executable.
fn run_child(
    exe: &std::path::Path,
    case: Case,
    allocator: &str,
    cli: &Cli,
) -> Result<Measurement, String> {
    let mut command = Command::new(exe);
    command.args([
        "--child",
        "--case",
        case.letter(),
        "--allocator",
        allocator,
        "--objects",
        &cli.objects.to_string(),
        "--keep-every",
        &cli.keep_every.to_string(),
    ]);
    if cli.malloc_stats {
        command.arg("--malloc-stats");
    }
    let output = command
        .output()
        .map_err(|error| format!("cannot start the child process: {error}"))?;
    if cli.malloc_stats {
        let _ = std::io::stderr().write_all(&output.stderr);
    }
    if !output.status.success() {
        return Err(stderr_tail(&output));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty());
    let line = line.ok_or_else(|| "the child printed no record".to_owned())?;
    serde_json::from_str(line).map_err(|error| format!("unreadable child record: {error}"))
}

/// The CPython side: one case, printed as a JSON line with the fields of [`Measurement`].
/// Arguments: case letter, objects, keep_every. `sys._debugmallocstats()` goes to stderr after a
/// marker line, after building and after the collection.
const PYTHON_SCRIPT: &str = r#"
import gc, json, sys, time

def rss():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0

def mallocstats(tag):
    sys.stderr.write('@@' + tag + '\n')
    sys.stderr.flush()
    sys._debugmallocstats()

class Small:
    __slots__ = ('partner', 'payload')

def build(n):
    objs = []
    append = objs.append
    for i in range(0, n, 2):
        a = Small()
        a.payload = None
        if i + 1 < n:
            b = Small()
            b.payload = None
            a.partner = b
            b.partner = a
            append(a)
            append(b)
        else:
            a.partner = a
            append(a)
    return objs

def pages(objects):
    found = set()
    for o in objects:
        for x in (o, o.partner):
            start = id(x) - 16  # the GC header precedes the object
            for page in range(start >> 12, ((start + sys.getsizeof(x) - 1) >> 12) + 1):
                found.add(page)
    return len(found) * 4

case, n, keep_every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = rss()
t = time.perf_counter()
if case == 'c':
    a = list(range(n))
    object_bytes = sys.getsizeof(a[-1])
    build_ms = (time.perf_counter() - t) * 1e3
    built = rss()
    mallocstats('built')
    t = time.perf_counter()
    del a
    kept = []
    survivors = 0
else:
    objs = build(n)
    object_bytes = sys.getsizeof(objs[0])
    build_ms = (time.perf_counter() - t) * 1e3
    built = rss()
    mallocstats('built')
    t = time.perf_counter()
    kept = objs[::keep_every] if case == 'b' else []
    survivors = sum(1 if o.partner is o else 2 for o in kept)
    del objs
drop_ms = (time.perf_counter() - t) * 1e3
dropped = rss()
t = time.perf_counter()
found = gc.collect()
collect_ms = (time.perf_counter() - t) * 1e3
collected = rss()
mallocstats('collected')
floor = pages(kept) if case == 'b' else None
print(json.dumps({
    'case': case, 'allocator': 'cpython', 'config': 'CPython ' + sys.version.split()[0],
    'objects': n, 'survivors': survivors, 'object_bytes': object_bytes,
    'rss_kib': {'start': start, 'built': built, 'dropped': dropped, 'collected': collected,
                'trimmed': None},
    'ms': {'build': build_ms, 'drop': drop_ms, 'collect': collect_ms, 'trim': None},
    'found': found, 'live_after_collect': None, 'trimmed_bytes': None, 'arenas': None,
    'survivor_page_floor_kib': floor,
}))
"#;

/// Asks the interpreter for its version; a missing interpreter means CPython is skipped.
fn python_version(python: &str) -> PythonSide {
    match Command::new(python).arg("--version").output() {
        Ok(output) if output.status.success() => {
            let text = String::from_utf8_lossy(&output.stdout).to_string()
                + &String::from_utf8_lossy(&output.stderr);
            PythonSide {
                measured: true,
                note: format!("{python} ({})", text.trim()),
            }
        }
        Ok(output) => PythonSide {
            measured: false,
            note: format!(
                "skipped: `{python} --version` exited with {}",
                output.status
            ),
        },
        Err(error) => PythonSide {
            measured: false,
            note: format!("skipped: {python} not available ({error})"),
        },
    }
}

/// Runs one case in CPython.
fn run_python(
    python: &str,
    case: Case,
    cli: &Cli,
    malloc_stats: bool,
) -> Result<Measurement, String> {
    let output = Command::new(python)
        .args([
            "-c",
            PYTHON_SCRIPT,
            case.letter(),
            &cli.objects.to_string(),
            &cli.keep_every.to_string(),
        ])
        .output()
        .map_err(|error| format!("cannot start {python}: {error}"))?;
    if !output.status.success() {
        return Err(stderr_tail(&output));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty());
    let line = line.ok_or_else(|| format!("{python} printed no record"))?;
    let mut measurement: Measurement = serde_json::from_str(line)
        .map_err(|error| format!("unreadable record from {python}: {error}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if malloc_stats {
        eprintln!("== CPython, case {}\n{stderr}", case.letter());
    }
    measurement.arenas = python_arenas(&stderr);
    Ok(measurement)
}

/// Reads the arena counts from the two `sys._debugmallocstats()` reports (after `@@built` and
/// `@@collected` markers).
fn python_arenas(stderr: &str) -> Option<Arenas> {
    let section = |tag: &str| -> Option<&str> {
        let marker = format!("@@{tag}\n");
        let from = stderr.find(&marker)? + marker.len();
        let rest = &stderr[from..];
        Some(rest.find("@@").map_or(rest, |end| &rest[..end]))
    };
    let field = |text: &str, name: &str| -> Option<u64> {
        let line = text.lines().find(|line| line.starts_with(name))?;
        let value = line.rsplit('=').next()?.trim().replace(',', "");
        value.parse().ok()
    };
    let built = section("built")?;
    let collected = section("collected")?;
    Some(Arenas {
        built: field(built, "# arenas allocated current")?,
        collected: field(collected, "# arenas allocated current")?,
        trimmed: None,
        allocated_total: field(collected, "# arenas allocated total")?,
    })
}

/// What case b's gclab runs are compared with: CPython measured in this run, or else (for the
/// issue's `--keep-every 100` only) the issue's CPython 3.11 figure scaled to `--objects`.
fn cpython_reference(runs: &[Measurement], objects: u64, keep_every: usize) -> Option<Reference> {
    if let Some(run) = runs
        .iter()
        .find(|run| run.case == "b" && run.allocator == "cpython")
    {
        return Some(Reference {
            source: format!("{}, measured in this run", run.config),
            retained_mib: run.retained_after_collect(),
        });
    }
    (keep_every == ISSUE_KEEP_EVERY).then(|| Reference {
        source: format!(
            "the issue's CPython 3.11 figure ({ISSUE_CPYTHON_RETAINED_MIB:.1} MiB at 10 000 000 \
             objects), scaled to {objects} objects"
        ),
        retained_mib: ISSUE_CPYTHON_RETAINED_MIB * objects as f64 / ISSUE_OBJECTS,
    })
}

/// The targets of issue 4, checked on every run that they concern.
fn verdicts(runs: &[Measurement], reference: Option<&Reference>) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for run in runs {
        let steps: &[(&'static str, u64, f64)] = &[
            (
                "collect()",
                run.rss_kib.collected,
                run.retained_after_collect(),
            ),
            (
                "trim()",
                run.rss_kib.trimmed.unwrap_or(run.rss_kib.collected),
                run.retained_after_trim(),
            ),
        ];
        let steps = if run.rss_kib.trimmed.is_some() {
            steps
        } else {
            &steps[..1]
        };
        for &(after, final_kib, retained) in steps {
            match run.case.as_str() {
                "a" => {
                    let ratio = final_kib as f64 / run.rss_kib.start.max(1) as f64;
                    verdicts.push(Verdict {
                        case: run.case.clone(),
                        allocator: run.allocator.clone(),
                        after,
                        target: "final RSS / start RSS ≤ 1.05".to_owned(),
                        measured: ratio,
                        limit: DENSE_LIMIT,
                        pass: ratio <= DENSE_LIMIT,
                    });
                }
                "b" if run.allocator != "cpython" => {
                    let Some(reference) = reference else { continue };
                    let cpython_retained = reference.retained_mib;
                    let limit = FRAGMENTED_LIMIT * cpython_retained;
                    verdicts.push(Verdict {
                        case: run.case.clone(),
                        allocator: run.allocator.clone(),
                        after,
                        target: format!("retained MiB ≤ 0.6 × CPython's {cpython_retained:.1} MiB"),
                        measured: retained,
                        limit,
                        pass: retained <= limit,
                    });
                }
                _ => {}
            }
        }
    }
    verdicts
}

/// The table and the verdicts, as text.
fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Seed scenario (issue 4): {} objects per case; case b keeps one object in {} (and its \
         partner). RSS = VmRSS, MiB.",
        report.objects, report.keep_every
    );
    if report.python.measured {
        let _ = writeln!(
            out,
            "CPython: measured side by side in this run — {}.",
            report.python.note
        );
    } else {
        let _ = writeln!(out, "CPython: {}.", report.python.note);
    }
    match &report.reference {
        Some(reference) => {
            let _ = writeln!(
                out,
                "Case b is compared with {}: {:.1} MiB retained.",
                reference.source, reference.retained_mib
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Case b has no CPython figure to compare with (no CPython run, --keep-every not \
                 the issue's {ISSUE_KEEP_EVERY}): no fragmentation verdict."
            );
        }
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "{:<22} {:<8} {:>5} {:>7} {:>8} {:>8} {:>9} {:>8} {:>9} {:>9} {:>8} {:>13}",
        "case",
        "alloc",
        "B/obj",
        "start",
        "built",
        "dropped",
        "collected",
        "trimmed",
        "retained",
        "ret.trim",
        "floor",
        "arenas b→c→t"
    );
    for run in &report.runs {
        let mib = Measurement::mib;
        let case = Case::from_letter(&run.case)
            .map_or_else(|| "?".to_owned(), |case| case.title(report.keep_every));
        let trimmed = run
            .rss_kib
            .trimmed
            .map_or("-".to_owned(), |kib| format!("{:.1}", mib(kib)));
        let retained_trim = if run.rss_kib.trimmed.is_some() {
            format!("{:.1}", run.retained_after_trim())
        } else {
            "-".to_owned()
        };
        let floor = run
            .survivor_page_floor_kib
            .map_or("-".to_owned(), |kib| format!("{:.1}", mib(kib)));
        let arenas = run
            .arenas
            .as_ref()
            .map_or("-".to_owned(), |a| match a.trimmed {
                Some(t) => format!("{}→{}→{}", a.built, a.collected, t),
                None => format!("{}→{}", a.built, a.collected),
            });
        let _ = writeln!(
            out,
            "{:<22} {:<8} {:>5} {:>7.1} {:>8.1} {:>8.1} {:>9.1} {:>8} {:>9.1} {:>9} {:>8} {:>13}",
            format!("{} {}", run.case, case),
            run.allocator,
            run.object_bytes,
            mib(run.rss_kib.start),
            mib(run.rss_kib.built),
            mib(run.rss_kib.dropped),
            mib(run.rss_kib.collected),
            trimmed,
            run.retained_after_collect(),
            retained_trim,
            floor,
            arenas,
        );
    }
    out.push_str(
        "\nretained = collected − start; ret.trim = trimmed − start; floor = the 4 KiB pages the \
         survivors' blocks touch (what a non-moving allocator must keep); arenas = 1 MiB arenas \
         mapped after build → collect → trim.\n",
    );
    if !report.verdicts.is_empty() {
        out.push_str("\nTargets:\n");
    }
    for verdict in &report.verdicts {
        let _ = writeln!(
            out,
            "  {} case {} {:<7} after {:<9} {:<44} measured {:>7.3}, limit {:>7.3}",
            if verdict.pass { "PASS" } else { "MISS" },
            verdict.case,
            verdict.allocator,
            verdict.after,
            verdict.target,
            verdict.measured,
            verdict.limit,
        );
    }
    for note in floor_notes(report) {
        let _ = writeln!(out, "  note: {note}");
    }
    for failure in &report.failures {
        let _ = writeln!(
            out,
            "FAILED: case {} on {}: {}",
            failure.case, failure.allocator, failure.message
        );
    }
    out
}

/// For each missed fragmentation verdict: how the limit compares with the survivors' page floor.
fn floor_notes(report: &Report) -> Vec<String> {
    let mut notes = Vec::new();
    for run in &report.runs {
        let Some(floor_kib) = run.survivor_page_floor_kib else {
            continue;
        };
        let floor = Measurement::mib(floor_kib);
        let missed = report.verdicts.iter().find(|v| {
            v.case == run.case && v.allocator == run.allocator && v.after == "trim()" && !v.pass
        });
        let Some(missed) = missed else { continue };
        let reached = run.retained_after_trim() / floor.max(f64::MIN_POSITIVE);
        let verdict = if floor > missed.limit {
            "out of reach for any allocator that leaves objects where they are"
        } else {
            "within reach: the allocator keeps more than the pages the survivors need"
        };
        notes.push(format!(
            "case b on {}: the survivors touch {floor:.1} MiB of 4 KiB pages (the floor), limit \
             {:.1} MiB — {verdict}; after trim() it keeps {reached:.2} × the floor",
            run.allocator, missed.limit
        ));
    }
    notes
}
