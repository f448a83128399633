//! What the tests share: one measured run, a small report built in-process, the `gclab` binary
//! run as a child with the report it writes, and scratch directories that clean up after
//! themselves.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gc_bench::backends::BackendChoice;
use gc_bench::matrix::Matrix;
use gc_bench::measure::{self, RunSpec};
use gc_bench::params::Params;
use gc_bench::record::RunRecord;
use gc_bench::report::Report;
use gc_bench::workloads::WorkloadId;
use gc_bench::Scale;

/// Measures `workload` on `config` at the tiny scale, in this process.
pub fn tiny_run(workload: WorkloadId, config: &str, rep: u32) -> RunRecord {
    let backend = BackendChoice::parse(config).unwrap_or_else(|e| panic!("{e}"));
    let params = Params::resolve(workload.name(), workload.params(), Scale::Tiny, &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let spec = RunSpec {
        workload,
        backend,
        scale: Scale::Tiny,
        params,
        rep,
    };
    measure::run(&spec).unwrap_or_else(|e| panic!("{workload} on {config}: {e}"))
}

/// A report over the whole default matrix at the tiny scale, one repetition, measured in this
/// process (the CLI test covers the child-process path).
pub fn tiny_report() -> Report {
    let matrix = Matrix::default_matrix();
    let mut runs = Vec::new();
    for (workload, backend) in matrix.runnable() {
        runs.push(tiny_run(workload, backend.name(), 0));
    }
    Report::new(&matrix, Scale::Tiny, 1, runs, Vec::new(), 0.5)
}

/// Runs the `gclab` binary with `args`.
pub fn gclab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gclab"))
        .args(args)
        .output()
        .expect("gclab runs")
}

/// The report in `out`, which must have succeeded.
pub fn read_report(output: &Output, out: &Path) -> Report {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    serde_json::from_str(&json).unwrap()
}

/// The section of a Markdown report under `## {heading}`, up to the next heading.
pub fn report_section<'a>(markdown: &'a str, heading: &str) -> &'a str {
    let after = markdown
        .split(&format!("## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no section {heading:?} in:\n{markdown}"));
    after.split("\n## ").next().unwrap()
}

/// A fresh directory under the system's temporary directory for one test: emptied when made,
/// and removed with everything in it when dropped (also when the test fails and unwinds).
///
/// Bind it to a named variable (not `_`) so that it lives until the end of the test.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// `gclab-NAME-PID` in the temporary directory, emptied if an earlier run left it behind.
    /// `name` must be unique among the tests of this binary, which run concurrently in one
    /// process.
    pub fn new(name: &str) -> ScratchDir {
        let dir = std::env::temp_dir().join(format!("gclab-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        ScratchDir(dir)
    }
}

impl Deref for ScratchDir {
    type Target = Path;

    /// The directory's path.
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    /// Removes the directory and everything in it; a failure is ignored (nothing to clean up, or
    /// nothing more to do about it).
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
