//! [`ReportDir`]: writes a report so that it is either complete or absent.
//!
//! Files go into a temporary sibling directory (`.NAME.partial-PID` next to the target);
//! [`ReportDir::commit`] replaces the target with it by one rename. Until then an older report
//! stays untouched, and if the run fails or is interrupted the partial directory is removed (on
//! drop) — a half-written report never sits where a finished one is expected.
//!
//! The target is replaced only if it is empty or a previous gclab report (it holds the marker
//! file [`MARKER`]): pointing `--out` at a directory of other files is refused rather than
//! wiping it. Whether the target's parent is writable is checked when the directory is prepared,
//! before any run starts.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The file that marks a directory as a gclab report.
pub const MARKER: &str = ".gclab-report";

/// A report being written.
#[derive(Debug)]
pub struct ReportDir {
    target: PathBuf,
    partial: PathBuf,
    committed: bool,
}

impl ReportDir {
    /// Checks `target` and creates the temporary directory beside it.
    ///
    /// Errors name the problem in one line: the target is a file, holds other files, or its
    /// parent cannot be created or written.
    pub fn prepare(target: &Path) -> Result<ReportDir, String> {
        let shown = target.display();
        if target.exists() {
            if !target.is_dir() {
                return Err(format!("--out {shown}: exists and is not a directory"));
            }
            let is_report = target.join(MARKER).exists();
            let is_empty = fs::read_dir(target)
                .map(|mut entries| entries.next().is_none())
                .unwrap_or(false);
            if !is_report && !is_empty {
                return Err(format!(
                    "--out {shown}: the directory holds other files and is not a gclab report; \
                     choose an empty or new directory"
                ));
            }
        }
        let name = target
            .file_name()
            .ok_or_else(|| format!("--out {shown}: not a directory name"))?
            .to_string_lossy()
            .into_owned();
        let parent = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|error| {
            format!("--out {shown}: cannot create {}: {error}", parent.display())
        })?;
        remove_stale_partials(&parent, &name);
        let partial = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if partial.exists() {
            let _ = fs::remove_dir_all(&partial);
        }
        fs::create_dir(&partial).map_err(|error| {
            format!(
                "--out {shown}: cannot write in {}: {error}",
                parent.display()
            )
        })?;
        let dir = ReportDir {
            target: target.to_path_buf(),
            partial,
            committed: false,
        };
        dir.write(MARKER, "gclab report directory\n")
            .map_err(|error| format!("--out {shown}: cannot write: {error}"))?;
        Ok(dir)
    }

    /// The final location.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Where `relative` is inside the report until [`ReportDir::commit`] (in the temporary
    /// directory): for files another program writes, such as exported snapshots. After the
    /// commit the file is at `target().join(relative)`.
    pub fn staged(&self, relative: &str) -> PathBuf {
        self.partial.join(relative)
    }

    /// Writes `contents` to `relative` inside the report (creating subdirectories).
    pub fn write(&self, relative: &str, contents: &str) -> io::Result<()> {
        let path = self.partial.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, contents)
    }

    /// Replaces the target with the finished report.
    pub fn commit(mut self) -> io::Result<()> {
        if self.target.exists() {
            // `prepare` checked that it is empty or a previous report.
            fs::remove_dir_all(&self.target)?;
        }
        fs::rename(&self.partial, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

/// Removes the partial directories of interrupted reports (killed before their `Drop` could run):
/// those whose process no longer exists. Where process ids cannot be checked (no `/proc`),
/// nothing is removed.
fn remove_stale_partials(parent: &Path, name: &str) {
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for ReportDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gclab-out-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn nothing_appears_until_commit_and_partial_is_cleaned() {
        let base = scratch("commit");
        let target = base.join("report");
        let dir = ReportDir::prepare(&target).unwrap();
        dir.write("a/b.txt", "x").unwrap();
        assert!(!target.exists());
        dir.commit().unwrap();
        assert_eq!(fs::read_to_string(target.join("a/b.txt")).unwrap(), "x");
        // A second report replaces the first.
        let again = ReportDir::prepare(&target).unwrap();
        again.write("c.txt", "y").unwrap();
        again.commit().unwrap();
        assert!(!target.join("a").exists() && target.join("c.txt").exists());
        // A partial directory left by a killed run is removed by the next one.
        let stale = base.join(".report.partial-4294967295");
        fs::create_dir_all(&stale).unwrap();
        drop(ReportDir::prepare(&target).unwrap());
        assert!(!stale.exists());
        // An abandoned one leaves no trace.
        let abandoned = ReportDir::prepare(&target).unwrap();
        drop(abandoned);
        let leftovers = fs::read_dir(&base).unwrap().count();
        assert_eq!(leftovers, 1);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn refuses_a_directory_of_other_files_and_a_file() {
        let base = scratch("refuse");
        fs::create_dir_all(base.join("mine")).unwrap();
        fs::write(base.join("mine/notes.txt"), "keep me").unwrap();
        assert!(ReportDir::prepare(&base.join("mine")).is_err());
        fs::write(base.join("file"), "").unwrap();
        assert!(ReportDir::prepare(&base.join("file")).is_err());
        assert!(base.join("mine/notes.txt").exists());
        fs::remove_dir_all(&base).unwrap();
    }
}
