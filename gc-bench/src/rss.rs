//! Resident memory as the operating system reports it: `VmRSS` (now) and `VmHWM` (the high-water
//! mark since the process started) from `/proc/self/status`, in KiB.
//!
//! Only Linux has `/proc`; elsewhere both read as 0 and the report says "n/a".

/// The process's resident set now, in KiB (0 where `/proc/self/status` cannot be read).
pub fn current_kib() -> u64 {
    read_status_field("VmRSS:")
}

/// The process's peak resident set since it started, in KiB (0 where unknown).
pub fn peak_kib() -> u64 {
    read_status_field("VmHWM:")
}

/// Reads one `Name:   1234 kB` line of `/proc/self/status`.
fn read_status_field(field: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    parse_status_field(&status, field).unwrap_or(0)
}

/// Finds `field` in the text of a `/proc/PID/status` file and returns its value in KiB.
fn parse_status_field(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kib_value() {
        let status = "Name:\tgclab\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(parse_status_field(status, "VmRSS:"), Some(10240));
        assert_eq!(parse_status_field(status, "VmHWM:"), Some(20480));
        assert_eq!(parse_status_field(status, "VmSwap:"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        assert!(current_kib() > 0);
        assert!(peak_kib() >= current_kib());
    }
}
