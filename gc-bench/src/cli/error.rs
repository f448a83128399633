//! [`CliError`]: why a command did not succeed, and its exit status.

use std::fmt;

/// A command's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// Bad input: an unknown name, a bad parameter, an unusable output directory. Exit status 2.
    Usage(String),
    /// The command ran but did not succeed: runs failed, a drop check failed, a file could not
    /// be written. Exit status 1.
    Failed(String),
}

impl CliError {
    /// The process exit status for this error.
    pub fn exit_status(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(message) | CliError::Failed(message) => f.write_str(message),
        }
    }
}
