//! `gclab`: the command line of gc-bench.
//!
//! - `gclab report [--scale S] [--reps N] [--out DIR] [--only PATTERN] [--snapshot FILE]…
//!   [--no-examples]` — the main job: every workload on every configuration and peer, and the
//!   thread-shared workloads (`shared-churn`, `producer-consumer`) on the thread-shared backends
//!   (`sync-biased`, `sync-atomic`, `arc`, `dumpster-sync`), each run
//!   in a fresh process, written to `DIR` (default `target/gclab-report`) as `report.json`,
//!   `report.md` and `index.html`; with the heaps of the example Python programs of
//!   `tools/examples/` (exported into `DIR/snapshots/` when `python3` is there) and of any
//!   `--snapshot` file, replayed;
//! - `gclab run --workload W --config C [--param key=value]… [--json]` — one run, here (for a
//!   thread-shared workload, `C` is a thread-shared backend);
//! - `gclab replay FILE [--config C]… [--json] [--payload]` — a heap snapshot of a CPython
//!   program replayed under gclab configurations, each checked against CPython's count;
//! - `gclab list` — the workloads and their parameters, the configurations, the peers.
//!
//! Exit status: 0 on success; 2 for bad input (an unknown name, a bad parameter, an unusable
//! output directory, a snapshot file that is not valid), with one line naming the valid choices
//! (or the file and line at fault); 1 if runs failed, a drop check did not pass or a replay did
//! not find CPython's count (the report or table is still written and says which).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(error) => return cli::clap_error(error),
    };
    match cli::execute(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gclab: {error}");
            ExitCode::from(error.exit_status())
        }
    }
}
