//! `gclab replay FILE [--config C]… [--json] [--payload]`: a heap snapshot of a CPython program
//! (see [`gc_bench::snapshot`]) replayed under gclab configurations, one after the other in this
//! process (each on a fresh thread, whose heap is configured by name first).
//!
//! - Without `--config`: every gclab preset with a cycle detector, aliases folded; presets whose
//!   detector finds no cycles (`rc`) are skipped, and the output says so.
//! - Bad input — an unknown configuration, one without a cycle detector, a peer crate (replay runs
//!   on gclab's heap only), a file that is not a valid snapshot — is refused before anything is
//!   built or collected: one line on stderr (for the file: its name and the line number), exit
//!   status 2.
//! - Every configuration must find exactly the header's `cpython_unreachable`. All configurations
//!   run even if one does not: the table (or JSON document) shows every outcome, then one line on
//!   stderr names each configuration that found another number or failed, and the exit status is
//!   1.

use std::fmt::Write;

use gc_bench::backends::Peer;
use gc_bench::snapshot::replay::{default_configs, has_detector, replay, NamedConfig};
use gc_bench::snapshot::{ReplayOptions, ReplayResult, Snapshot};
use gc_refcount::ConfigError;
use serde::Serialize;

use super::{CliError, ReplayArgs};

/// The `--json` document.
#[derive(Debug, Serialize)]
struct Document<'a> {
    file: String,
    python: &'a str,
    objects: usize,
    edges: u64,
    cpython_unreachable: u64,
    cpython_collect_ns: u64,
    payload: bool,
    results: &'a [ReplayResult],
    failures: Vec<FailureRow<'a>>,
    skipped: Vec<SkippedRow<'a>>,
}

/// A configuration whose replay produced no result.
#[derive(Debug, Serialize)]
struct FailureRow<'a> {
    config: &'a str,
    message: &'a str,
}

/// A preset left out of the default list.
#[derive(Debug, Serialize)]
struct SkippedRow<'a> {
    config: &'a str,
    config_full: &'a str,
    reason: &'static str,
}

/// Why `rc`-like presets are skipped.
const NO_DETECTOR: &str = "no cycle detector: it cannot find unreachable cycles, by design";

/// Runs `gclab replay`.
pub fn execute(args: ReplayArgs) -> Result<(), CliError> {
    let (configs, skipped) = choose(&args.configs)?;
    let snapshot = Snapshot::read(&args.file)
        .map_err(|error| CliError::Usage(format!("{}: {error}", args.file.display())))?;
    let options = ReplayOptions {
        payload: args.payload,
    };

    let mut results = Vec::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    for name in &configs {
        match replay(&snapshot, name, options) {
            Ok(result) => results.push(result),
            Err(error) => failures.push((name.clone(), error.to_string())),
        }
    }

    if args.json {
        let document = Document {
            file: args.file.display().to_string(),
            python: &snapshot.header.python,
            objects: snapshot.objects.len(),
            edges: snapshot.header.edges,
            cpython_unreachable: snapshot.header.cpython_unreachable,
            cpython_collect_ns: snapshot.header.cpython_collect_ns,
            payload: args.payload,
            results: &results,
            failures: failures
                .iter()
                .map(|(config, message)| FailureRow { config, message })
                .collect(),
            skipped: skipped
                .iter()
                .map(|(config, config_full)| SkippedRow {
                    config,
                    config_full,
                    reason: NO_DETECTOR,
                })
                .collect(),
        };
        let json = serde_json::to_string_pretty(&document)
            .map_err(|error| CliError::Failed(format!("cannot encode the results: {error}")))?;
        super::emit(&format!("{json}\n"));
    } else {
        super::emit(&table(&args, &snapshot, &results, &failures, &skipped));
    }

    let expected = snapshot.header.cpython_unreachable;
    let mut problems: Vec<String> = results
        .iter()
        .filter(|result| !result.matches)
        .map(|result| format!("{} found {}", result.config, result.unreachable))
        .collect();
    problems.extend(
        failures
            .iter()
            .map(|(config, message)| format!("{config} failed: {message}")),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "replay of {}: {} of {} configuration(s) did not find CPython's {expected} \
             unreachable objects: {}",
            args.file.display(),
            problems.len(),
            configs.len(),
            problems.join("; ")
        )))
    }
}

/// The configurations to run and the presets skipped, each as (name, full name). A name that is
/// not a gclab configuration with a cycle detector is a usage error naming the valid choices.
fn choose(names: &[String]) -> Result<(Vec<String>, Vec<NamedConfig>), CliError> {
    let (defaults, skipped) = default_configs();
    if names.is_empty() {
        return Ok((
            defaults.into_iter().map(|(name, _)| name).collect(),
            skipped,
        ));
    }
    let valid = || {
        format!(
            "valid: gclab presets with a cycle detector ({}) or any \
             [DISCIPLINE/]DETECTOR/SCHEDULER/ALLOCATOR combination whose detector is not none",
            defaults
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    for name in names {
        if Peer::from_name(name).is_some() {
            return Err(CliError::Usage(format!(
                "{name:?} is a peer crate: replay runs on gclab's heap only; {}",
                valid()
            )));
        }
        match has_detector(name) {
            Ok((true, _)) => {}
            Ok((false, full)) => {
                return Err(CliError::Usage(format!(
                    "{name:?} ({full}) has no cycle detector, so it cannot find CPython's \
                     unreachable objects; {}",
                    valid()
                )))
            }
            Err(ConfigError::BadName(_)) => {
                return Err(CliError::Usage(format!(
                    "unknown configuration {name:?}; {}",
                    valid()
                )))
            }
            Err(reason) => {
                return Err(CliError::Usage(format!(
                    "unknown configuration {name:?} ({reason}); {}",
                    valid()
                )))
            }
        }
    }
    Ok((names.to_vec(), Vec::new()))
}

/// The human output: what the snapshot is, then one row per configuration.
fn table(
    args: &super::ReplayArgs,
    snapshot: &Snapshot,
    results: &[ReplayResult],
    failures: &[(String, String)],
    skipped: &[NamedConfig],
) -> String {
    let header = &snapshot.header;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "snapshot {}: {} objects, {} edges, exported from Python {}",
        args.file.display(),
        snapshot.objects.len(),
        header.edges,
        header.python
    );
    let _ = writeln!(
        out,
        "CPython's gc.collect(): {} unreachable in {}{}",
        header.cpython_unreachable,
        duration(header.cpython_collect_ns),
        if args.payload {
            "; replayed with payloads of each object's size"
        } else {
            ""
        }
    );
    let name_width = results
        .iter()
        .map(|r| r.config.len())
        .chain(failures.iter().map(|(name, _)| name.len()))
        .chain([13])
        .max()
        .unwrap_or(13);
    let full_width = results
        .iter()
        .map(|r| r.config_full.len())
        .chain([9])
        .max()
        .unwrap_or(9);
    let _ = writeln!(
        out,
        "\n{:<name_width$}  {:<full_width$}  {:>9}  {:>10}  {:>9}",
        "configuration", "full name", "found", "collect", "/ CPython"
    );
    for result in results {
        let ratio = result
            .ratio
            .map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}×"));
        let _ = writeln!(
            out,
            "{:<name_width$}  {:<full_width$}  {:>9}  {:>10}  {:>9}  {}",
            result.config,
            result.config_full,
            result.unreachable,
            duration(result.collect_ns),
            ratio,
            if result.matches {
                "ok".to_owned()
            } else {
                format!("MISMATCH: expected {}", result.cpython_unreachable)
            }
        );
    }
    for (name, message) in failures {
        let _ = writeln!(out, "{name:<name_width$}  FAILED: {message}");
    }
    for (name, full) in skipped {
        let _ = writeln!(out, "skipped {name} ({full}): {NO_DETECTOR}");
    }
    out
}

/// A duration in nanoseconds, in the unit that suits it.
fn duration(ns: u64) -> String {
    let ns = ns as f64;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}
