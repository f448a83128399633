//! `gclab run-child` (hidden): the child side of the runner — one run, printed as one JSON line
//! on stdout. The parent treats a non-zero exit or a missing line as a failed run.

use super::run::measure_named;
use super::{ChildArgs, CliError};

/// Runs `gclab run-child`.
pub fn execute(args: ChildArgs) -> Result<(), CliError> {
    let record = measure_named(
        &args.workload,
        &args.config,
        args.scale,
        &args.params,
        args.rep,
    )?
    .map_err(CliError::Failed)?;
    let json = serde_json::to_string(&record)
        .map_err(|error| CliError::Failed(format!("cannot encode the record: {error}")))?;
    super::emit(&format!("{json}\n"));
    Ok(())
}
