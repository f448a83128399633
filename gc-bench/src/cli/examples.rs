//! The example programs of `tools/examples/`, exported by CPython itself so that `gclab report`
//! can replay their heaps.
//!
//! By default the report adds one snapshot workload per example program (trees with parent
//! links, exceptions holding tracebacks, dynamically created classes, …): it finds the tools
//! directory ([`find`]), checks that `python3` is 3.10 or newer ([`python3`]), and runs
//! `python3 tools/export_heap.py PROGRAM.py OUT.jsonl` for each program the report keeps
//! ([`export`]), OUT being in the report's `snapshots/` directory. None of this is fatal: no
//! tools directory, no usable `python3`, or a program that fails to export is said in one line on
//! stderr, and the report goes on without that snapshot.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gc_bench::workloads::snapshot;

/// The tools directory of this source tree, as seen when gclab was built.
const BUILT_TOOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tools");

/// The oldest Python the exporter supports.
const OLDEST_PYTHON: (u32, u32) = (3, 10);

/// How long one export may take before it is killed: the largest example takes about a second.
pub const EXPORT_LIMIT: Duration = Duration::from_secs(120);

/// The example programs found, and the exporter that exports them.
#[derive(Debug, Clone)]
pub struct Examples {
    /// `tools/export_heap.py`.
    pub exporter: PathBuf,
    /// The programs, sorted by file name.
    pub programs: Vec<Program>,
}

/// One example program.
#[derive(Debug, Clone)]
pub struct Program {
    /// `tools/examples/NAME.py`.
    pub path: PathBuf,
    /// Its snapshot workload's name in the report, `snapshot-NAME`.
    pub label: String,
    /// The snapshot's file name in the report's `snapshots/` directory, `NAME.jsonl`.
    pub file_name: String,
}

/// A `python3` that runs, with its version.
#[derive(Debug, Clone)]
pub struct Python {
    /// The command (`python3`, looked up on `PATH`).
    pub command: &'static str,
    /// Its version, `3.11.7`.
    pub version: String,
}

/// Finds the example programs: in the `tools` directory beside gc-bench's source when gclab was
/// built, else in `./tools` under the current directory. The error says why there are none.
pub fn find() -> Result<Examples, String> {
    let candidates = [PathBuf::from(BUILT_TOOLS), PathBuf::from("tools")];
    let Some(tools) = candidates
        .iter()
        .find(|dir| dir.join("export_heap.py").is_file())
    else {
        return Err(format!(
            "no tools/export_heap.py (looked in {} and ./tools)",
            candidates[0].display()
        ));
    };
    let tools = std::fs::canonicalize(tools).unwrap_or_else(|_| tools.clone());
    let examples = tools.join("examples");
    let entries = std::fs::read_dir(&examples)
        .map_err(|error| format!("cannot list {}: {error}", examples.display()))?;
    let mut programs: Vec<Program> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "py") && path.is_file())
        .map(|path| {
            let label = snapshot::label(&path.to_string_lossy());
            let file_name = format!("{}.jsonl", label.trim_start_matches("snapshot-"));
            Program {
                path,
                label,
                file_name,
            }
        })
        .collect();
    if programs.is_empty() {
        return Err(format!("no example programs in {}", examples.display()));
    }
    programs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Examples {
        exporter: tools.join("export_heap.py"),
        programs,
    })
}

/// The `python3` on `PATH`, if it runs and is 3.10 or newer. The error is the note to print
/// (`python3 not found`).
pub fn python3() -> Result<Python, String> {
    let command = "python3";
    let mut probe = Command::new(command);
    probe.args([
        "-c",
        "import sys; print('.'.join(map(str, sys.version_info[:3])))",
    ]);
    let output = match run_limited(probe, Duration::from_secs(30)) {
        Ok(output) => output,
        Err(RunError::NotFound) => return Err(format!("{command} not found")),
        Err(RunError::Other(message)) => return Err(format!("{command}: {message}")),
    };
    if !output.status.success() {
        return Err(format!(
            "{command} does not run ({}){}",
            output.status,
            tail(&output.stderr)
        ));
    }
    let version = output.stdout.trim().to_owned();
    let mut parts = version.split('.').map(|part| part.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) if (major, minor) >= OLDEST_PYTHON => {
            Ok(Python { command, version })
        }
        (Some(_), Some(_)) => Err(format!(
            "{command} {version} is older than {}.{}, which tools/export_heap.py needs",
            OLDEST_PYTHON.0, OLDEST_PYTHON.1
        )),
        _ => Err(format!("{command} gave no version ({version:?})")),
    }
}

/// Exports `program` with the exporter into `out` (whose directory must exist). The error says
/// what went wrong in one line, with the end of the exporter's messages.
pub fn export(python: &Python, exporter: &Path, program: &Path, out: &Path) -> Result<(), String> {
    let mut command = Command::new(python.command);
    command.arg(exporter).arg(program).arg(out);
    let output = run_limited(command, EXPORT_LIMIT).map_err(|error| match error {
        RunError::NotFound => format!("{} not found", python.command),
        RunError::Other(message) => message,
    })?;
    if !output.status.success() {
        return Err(format!(
            "the exporter exited with {}{}",
            output.status,
            tail(&output.stderr)
        ));
    }
    if !out.is_file() {
        return Err(format!(
            "the exporter wrote no {}{}",
            out.display(),
            tail(&output.stderr)
        ));
    }
    Ok(())
}

/// What a finished child printed.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Why a child did not finish.
enum RunError {
    /// The program is not on `PATH`.
    NotFound,
    /// It could not start, or ran past its time limit (then it was killed).
    Other(String),
}

/// Runs `command` with no input, collecting its output, killed after `limit`.
fn run_limited(mut command: Command, limit: Duration) -> Result<Finished, RunError> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => RunError::NotFound,
            _ => RunError::Other(format!("cannot start it: {error}")),
        })?;
    // Both pipes are drained on threads, so that a chatty program never blocks on a full pipe
    // while the time limit is watched.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("killed after {} s", limit.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(error) => break Err(format!("cannot wait for it: {error}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status {
        Ok(status) => Ok(Finished {
            status,
            stdout,
            stderr,
        }),
        Err(message) => Err(RunError::Other(format!("{message}{}", tail(&stderr)))),
    }
}

/// Reads `pipe` to its end on a thread of its own.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// The last non-empty line of a child's stderr, as `: LINE` (empty if there is none).
fn tail(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map_or_else(String::new, |line| format!(": {}", line.trim()))
}
