//! `gc.set_debug`: the debugging flags and the reports they print on stderr.
//!
//! The values are CPython's, so code ported from Python can keep its numbers.

use std::time::Duration;

use gc_core::{Header, ObjectList};

/// Print statistics for every collection on stderr.
pub const DEBUG_STATS: u32 = 1 << 0;
/// Print each collectable (unreachable) object found.
pub const DEBUG_COLLECTABLE: u32 = 1 << 1;
/// Print each uncollectable object found. gclab can always drop what it finds (a Rust `Drop` has
/// no legacy-finalizer problem), so the only objects it leaves uncollected are those
/// [`DEBUG_SAVEALL`] keeps; this flag prints those.
pub const DEBUG_UNCOLLECTABLE: u32 = 1 << 2;
/// Keep unreachable objects alive in `gc::garbage()` instead of freeing them.
pub const DEBUG_SAVEALL: u32 = 1 << 5;
/// What a leak hunt needs: `DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE | DEBUG_SAVEALL`.
pub const DEBUG_LEAK: u32 = DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE | DEBUG_SAVEALL;

/// Every flag `set_debug` knows.
pub(crate) const ALL: u32 = DEBUG_STATS | DEBUG_LEAK;

/// `gc: collecting generation 1...` and the generation sizes, as CPython prints them.
pub(crate) fn report_start(generation: usize, generations: &[ObjectList], permanent: &ObjectList) {
    let sizes: Vec<String> = generations.iter().map(|g| g.len().to_string()).collect();
    eprintln!("gc: collecting generation {generation}...");
    eprintln!("gc: objects in each generation: {}", sizes.join(" "));
    eprintln!("gc: objects in permanent generation: {}", permanent.len());
}

/// `gc: done, 3 unreachable, 0 uncollectable, 0.0001s elapsed`.
pub(crate) fn report_done(unreachable: usize, uncollectable: usize, elapsed: Duration) {
    eprintln!(
        "gc: done, {unreachable} unreachable, {uncollectable} uncollectable, {:.4}s elapsed",
        elapsed.as_secs_f64()
    );
}

/// `gc: collectable <Type 0x...>` for every member of `objects`.
///
/// # Safety
///
/// Every member of `objects` is live.
pub(crate) unsafe fn report_objects(what: &str, objects: &ObjectList) {
    // SAFETY: members are live (the caller's promise).
    unsafe {
        objects.for_each(|object| {
            let name = Header::from_ptr(object).type_info().name();
            eprintln!("gc: {what} <{name} {object:p}>");
        })
    };
}
