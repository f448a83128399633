//! Records the versions of the peer crates that this build links, read from the workspace's
//! `Cargo.lock`, as compile-time environment variables `GCLAB_PEER_VERSION_<CRATE>` (the crate
//! name upper-cased, `-` as `_`). A crate not found in the lock file is recorded as `unknown`.

use std::path::Path;

/// The peer crates whose versions the report records.
const PEER_CRATES: [&str; 5] = ["bacon_rajan_cc", "rust-cc", "gcmodule", "dumpster", "gc"];

fn main() {
    let lock_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    for krate in PEER_CRATES {
        let versions = locked_versions(&lock, krate);
        let version = if versions.is_empty() {
            "unknown".to_owned()
        } else {
            versions.join(", ")
        };
        let key = krate.to_uppercase().replace('-', "_");
        println!("cargo:rustc-env=GCLAB_PEER_VERSION_{key}={version}");
    }
}

/// The versions of package `name` in the text of a `Cargo.lock`: the `version = "…"` line of
/// every `[[package]]` block whose `name = "…"` line is `name`.
fn locked_versions(lock: &str, name: &str) -> Vec<String> {
    let wanted = format!("name = \"{name}\"");
    let mut versions = Vec::new();
    for block in lock.split("[[package]]") {
        let mut lines = block.lines().map(str::trim);
        if !lines.any(|line| line == wanted) {
            continue;
        }
        let version = block
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix("version = \""))
            .and_then(|rest| rest.strip_suffix('"'));
        if let Some(version) = version {
            versions.push(version.to_owned());
        }
    }
    versions
}
