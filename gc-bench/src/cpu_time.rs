//! CPU time of the process as the operating system accounts it: the user and system time of
//! every thread, those that have exited included (`getrusage(RUSAGE_SELF)`).
//!
//! A run's CPU time tells what its wall time does not: how much of the machine the run kept busy.
//! Parallel markers and the shared heap's two mutators make it larger than the wall time; a
//! thread that spins while it waits (the shared heap's parked mutators call `sched_yield`) shows
//! as system time. Each run has a process of its own (`gclab report` starts a child per run), so
//! the process's time is the run's, plus whatever the harness does on the side, which is little.
//!
//! Only Unix has `getrusage`; elsewhere [`CpuTime::now`] is `None` and the report says so.

use std::time::Duration;

use crate::record::CpuMs;

/// The user and system CPU time this process has used so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTime {
    /// Time spent running the process's own code.
    pub user: Duration,
    /// Time the kernel spent on the process's behalf (system calls, page faults).
    pub system: Duration,
}

impl CpuTime {
    /// The process's CPU time now (`None` where the operating system does not tell).
    #[cfg(unix)]
    pub fn now() -> Option<CpuTime> {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
        // SAFETY: `getrusage` writes a whole `rusage` through the pointer, which points to
        // writable memory of that type's size and alignment; it reads nothing through it.
        let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
        if status != 0 {
            return None;
        }
        // SAFETY: `getrusage` returned 0, so it initialised `usage`.
        let usage = unsafe { usage.assume_init() };
        Some(CpuTime {
            user: duration(usage.ru_utime),
            system: duration(usage.ru_stime),
        })
    }

    /// The process's CPU time now (`None`: only Unix tells).
    #[cfg(not(unix))]
    pub fn now() -> Option<CpuTime> {
        None
    }

    /// The CPU time used since `start` (`None` if either reading is missing), in milliseconds.
    pub fn since(start: Option<CpuTime>) -> Option<CpuMs> {
        let (start, end) = (start?, CpuTime::now()?);
        let ms = |from: Duration, to: Duration| to.saturating_sub(from).as_secs_f64() * 1e3;
        Some(CpuMs {
            user: ms(start.user, end.user),
            system: ms(start.system, end.system),
        })
    }
}

/// A `timeval` as a duration (a negative one, which the kernel never reports, as zero).
#[cfg(unix)]
fn duration(time: libc::timeval) -> Duration {
    let secs = u64::try_from(time.tv_sec).unwrap_or(0);
    let micros = u32::try_from(time.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(u64::from(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn counts_the_work_of_a_thread_that_has_exited() {
        let start = CpuTime::now();
        assert!(start.is_some());
        let spin = std::thread::spawn(|| {
            let clock = std::time::Instant::now();
            let mut x = 0u64;
            while clock.elapsed() < Duration::from_millis(60) {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            x
        });
        spin.join().unwrap();
        let used = CpuTime::since(start).unwrap();
        // The thread ran for 60 ms of wall time; on a loaded machine it may have had less than
        // all of it, but not less than a millisecond. The main thread only waited meanwhile.
        assert!(used.user + used.system > 1.0, "{used:?}");
        assert!(used.user >= 0.0 && used.system >= 0.0);
    }

    #[test]
    fn a_missing_start_gives_no_figure() {
        assert_eq!(CpuTime::since(None), None);
    }
}
