//! The runner: every run of a report in a child process of its own, repetitions interleaved.
//!
//! - **Fresh process per run.** The runner re-invokes its own executable
//!   (`std::env::current_exe()`) with the hidden `run-child` subcommand; the child measures one
//!   run ([`measure`](crate::measure)) and prints its [`RunRecord`] as one JSON line. Resident
//!   memory, allocator state and peers' thread-local collectors therefore belong to that run
//!   alone.
//! - **Interleaving.** The order is repetition-major: all pairs of repetition 0, then all of
//!   repetition 1, … — so consecutive runs of one configuration are a whole matrix apart (A B A B
//!   …) and slow drift of a noisy machine (thermal, other tenants) hits every configuration alike.
//! - **Failures are data.** A child that crashes, prints no record or exceeds its time limit gives
//!   a [`Failure`] with the tail of its stderr; the report shows it and the remaining runs go on.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backends::BackendChoice;
use crate::record::RunRecord;
use crate::scale::Scale;
use crate::shared::selection::SharedPlannedRun;
use crate::workloads::WorkloadId;

/// A run that produced no record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The workload.
    pub workload: String,
    /// The backend's name.
    pub config: String,
    /// The repetition.
    pub rep: u32,
    /// What went wrong (the child's last stderr lines).
    pub message: String,
}

/// One run to launch.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// The workload.
    pub workload: WorkloadId,
    /// The name the run goes by in the report (the workload's, or `snapshot-FILE_STEM`).
    pub label: String,
    /// Parameter overrides passed to the child (`key=value`), such as a snapshot's `file`.
    pub params: Vec<String>,
    /// The backend.
    pub backend: BackendChoice,
    /// The repetition.
    pub rep: u32,
}

impl PlannedRun {
    /// A run of `workload` with its default parameters.
    pub fn new(workload: WorkloadId, backend: BackendChoice, rep: u32) -> PlannedRun {
        PlannedRun {
            workload,
            label: workload.name().to_owned(),
            params: Vec::new(),
            backend,
            rep,
        }
    }
}

/// The launch order: repetition-major, so configurations interleave (see the module docs).
pub fn interleaved(pairs: &[(WorkloadId, BackendChoice)], reps: u32) -> Vec<PlannedRun> {
    interleaved_with(pairs, &[], reps)
}

/// [`interleaved`], with `extra` runs (their `rep` ignored) after the pairs in every repetition —
/// runs that carry parameters, such as the snapshot replays of `gclab report --snapshot`.
pub fn interleaved_with(
    pairs: &[(WorkloadId, BackendChoice)],
    extra: &[PlannedRun],
    reps: u32,
) -> Vec<PlannedRun> {
    let mut order = Vec::with_capacity((pairs.len() + extra.len()) * reps as usize);
    for rep in 0..reps {
        for (workload, backend) in pairs {
            order.push(PlannedRun::new(*workload, backend.clone(), rep));
        }
        for run in extra {
            order.push(PlannedRun { rep, ..run.clone() });
        }
    }
    order
}

/// How long one child may run before it is killed: generous for the scale.
pub fn time_limit(scale: Scale) -> Duration {
    Duration::from_secs(match scale {
        Scale::Tiny => 60,
        Scale::Small => 120,
        Scale::Medium => 900,
        Scale::Large => 3600,
    })
}

/// Launches children of one executable.
#[derive(Debug, Clone)]
pub struct ChildRunner {
    /// The executable to re-invoke (normally `std::env::current_exe()`).
    pub executable: PathBuf,
    /// The scale passed to every child.
    pub scale: Scale,
    /// The time limit per child.
    pub limit: Duration,
}

impl ChildRunner {
    /// Runs `run` in a child process and parses its record.
    pub fn run(&self, run: &PlannedRun) -> Result<RunRecord, Failure> {
        self.run_named(
            &run.label,
            run.workload.name(),
            run.backend.name(),
            run.rep,
            &run.params,
        )
    }

    /// Runs a thread-shared run in a child process and parses its record.
    pub fn run_shared(&self, run: &SharedPlannedRun) -> Result<RunRecord, Failure> {
        let workload = run.workload.name();
        self.run_named(workload, workload, run.backend.name(), run.rep, &[])
    }

    /// Runs `workload` on `config` (names as `gclab run-child` takes them) in a child process;
    /// a failure goes by `label`.
    fn run_named(
        &self,
        label: &str,
        workload: &str,
        config: &str,
        rep: u32,
        params: &[String],
    ) -> Result<RunRecord, Failure> {
        let fail = |message: String| Failure {
            workload: label.to_owned(),
            config: config.to_owned(),
            rep,
            message,
        };
        let mut child = Command::new(&self.executable)
            .arg("run-child")
            .args(["--workload", workload])
            .args(["--config", config])
            .args(["--scale", self.scale.name()])
            .args(["--rep", &rep.to_string()])
            .args(params.iter().flat_map(|param| ["--param", param]))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| fail(format!("cannot start {:?}: {error}", self.executable)))?;

        // Drain both pipes on threads so that a chatty child never blocks on a full pipe while
        // the time limit is being watched.
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let out_reader = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(pipe) = stdout.as_mut() {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        });
        let err_reader = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(pipe) = stderr.as_mut() {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        });

        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if started.elapsed() > self.limit => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(format!(
                        "killed after the time limit of {} s",
                        self.limit.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(error) => break Err(format!("cannot wait for the child: {error}")),
            }
        };
        let out = out_reader.join().unwrap_or_default();
        let err = err_reader.join().unwrap_or_default();
        let status = status.map_err(|message| fail(with_stderr(message, &err)))?;
        if !status.success() {
            return Err(fail(with_stderr(
                format!("child exited with {status}"),
                &err,
            )));
        }
        let line = out.lines().rev().find(|line| line.starts_with('{'));
        let Some(line) = line else {
            return Err(fail(with_stderr("child printed no record".into(), &err)));
        };
        serde_json::from_str(line)
            .map_err(|error| fail(format!("child printed a bad record: {error}")))
    }
}

/// `message` followed by the last few lines of the child's stderr.
fn with_stderr(message: String, stderr: &str) -> String {
    let tail: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let start = tail.len().saturating_sub(4);
    if tail.is_empty() {
        message
    } else {
        format!("{message}: {}", tail[start..].join(" | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitions_interleave_configurations() {
        let a = BackendChoice::parse("rc").unwrap();
        let b = BackendChoice::parse("cpython312").unwrap();
        let pairs = vec![(WorkloadId::Trees, a), (WorkloadId::Trees, b)];
        let order: Vec<(String, u32)> = interleaved(&pairs, 3)
            .iter()
            .map(|run| (run.backend.name().to_owned(), run.rep))
            .collect();
        let names: Vec<&str> = order.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            ["rc", "cpython312", "rc", "cpython312", "rc", "cpython312"]
        );
        assert_eq!(order[2].1, 1);
    }
}
