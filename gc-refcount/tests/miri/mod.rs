//! Loop counts for the `sync` test binaries, which Miri runs too (see `.ci/run`).

/// Scales a loop count down under Miri: `native` natively, `miri` under Miri.
pub const fn size(native: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}
