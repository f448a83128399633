//! The `gclab` command line: argument definitions (clap) and the dispatch to each command.

mod child;
mod error;
mod examples;
mod list;
mod replay;
mod report;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gc_bench::Scale;

pub use error::CliError;

/// gclab: run workloads under garbage-collection policies and compare them.
#[derive(Debug, Parser)]
#[command(name = "gclab", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: every workload on every configuration and peer; writes report.json,
    /// report.md and index.html (with SVG plots) to --out.
    Report(ReportArgs),
    /// One run of one workload on one configuration, in this process.
    Run(RunArgs),
    /// Replays a heap snapshot of a CPython program (tools/export_heap.py) under gclab
    /// configurations; each must find exactly what CPython's gc.collect() found.
    Replay(ReplayArgs),
    /// The workloads with their parameters, the configurations, the peers.
    List,
    /// One run, printed as one JSON record (used by `report` for each child process).
    #[command(hide = true)]
    RunChild(ChildArgs),
}

/// Arguments of `gclab report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Size of every run: tiny, small, medium or large.
    #[arg(long, value_parser = parse_scale, default_value = "small")]
    pub scale: Scale,
    /// Repetitions of each (workload, configuration), interleaved.
    #[arg(long, default_value_t = 5)]
    pub reps: u32,
    /// Output directory (replaced only if it is empty or a previous report).
    #[arg(long, default_value = "target/gclab-report")]
    pub out: PathBuf,
    /// Only these workloads and/or configurations: comma-separated names, `*` as a wildcard; a
    /// comma followed by a digit stays inside a name, so
    /// `rings,trial-deletion/cpython:1000,10,10/system` is two terms. Snapshot workloads go by
    /// `snapshot-STEM` (`snapshot*` selects them all). The thread-shared workloads
    /// (`shared-churn`, `producer-consumer`) and backends (`sync-biased`, `sync-atomic`, `arc`,
    /// `dumpster-sync`) are selected the same way.
    #[arg(long)]
    pub only: Option<String>,
    /// A heap snapshot (tools/export_heap.py) to add as a workload, `snapshot-STEM`, run on every
    /// configuration kept that collects cycles (repeatable; always run, whatever --only selects
    /// among the workloads).
    #[arg(long = "snapshot", value_name = "FILE")]
    pub snapshots: Vec<PathBuf>,
    /// Do not export the example programs of tools/examples (by default, when python3 3.10+ is
    /// found, each is exported into OUT/snapshots/ and replayed as a snapshot workload).
    #[arg(long)]
    pub no_examples: bool,
}

/// Arguments of `gclab run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workload (see `gclab list`).
    #[arg(long)]
    pub workload: String,
    /// The configuration: a gclab preset or DETECTOR/SCHEDULER/ALLOCATOR name, or a peer; for a
    /// thread-shared workload, a thread-shared backend (sync-biased, sync-atomic, arc,
    /// dumpster-sync).
    #[arg(long)]
    pub config: String,
    /// The scale the parameters' defaults come from.
    #[arg(long, value_parser = parse_scale, default_value = "small")]
    pub scale: Scale,
    /// A parameter override, key=value (repeatable).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Print the run's JSON record instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `gclab replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The snapshot: a gclab heap snapshot file (JSON Lines, version 1).
    pub file: PathBuf,
    /// A configuration to replay under (repeatable): a gclab preset or
    /// DETECTOR/SCHEDULER/ALLOCATOR name with a cycle detector. Default: every preset that has one.
    #[arg(long = "config", value_name = "C")]
    pub configs: Vec<String>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Give every replayed object a payload of its size in bytes (sys.getsizeof).
    #[arg(long)]
    pub payload: bool,
}

/// Arguments of the hidden `gclab run-child`.
#[derive(Debug, Args)]
pub struct ChildArgs {
    /// The workload.
    #[arg(long)]
    pub workload: String,
    /// The configuration.
    #[arg(long)]
    pub config: String,
    /// The scale.
    #[arg(long, value_parser = parse_scale, default_value = "small")]
    pub scale: Scale,
    /// The repetition number to record.
    #[arg(long, default_value_t = 0)]
    pub rep: u32,
    /// Parameter overrides.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// Parses `--scale`.
fn parse_scale(text: &str) -> Result<Scale, String> {
    Scale::from_name(text).ok_or_else(|| {
        format!(
            "unknown scale {text:?}: valid scales are {}",
            Scale::ALL.map(Scale::name).join(", ")
        )
    })
}

/// Runs the command.
pub fn execute(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Report(args) => report::execute(args),
        Command::Run(args) => run::execute(args),
        Command::Replay(args) => replay::execute(args),
        Command::List => {
            list::execute();
            Ok(())
        }
        Command::RunChild(args) => child::execute(args),
    }
}

/// Writes `text` to stdout; a closed pipe (`gclab list | head`) is not an error.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Reports a command-line parsing error: help and version go to stdout as usual; a real error is
/// squeezed into one line on stderr, with exit status 2.
pub fn clap_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::from(2)
        }
        _ => {
            let rendered = error.render().to_string();
            let first_paragraph: Vec<&str> = rendered
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            let line = first_paragraph.join(" ");
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            eprintln!("gclab: {line} (see gclab --help)");
            ExitCode::from(2)
        }
    }
}
