//! Compile-fail tests of `#[derive(Trace)]` and of `Gc`'s thread confinement: each file in
//! `tests/ui` must fail to compile with the error recorded next to it in its `.stderr` file.
//!
//! To regenerate the expected output after an intended change of a message:
//! `TRYBUILD=overwrite cargo test -p gc-derive --test compile_fail`, then read the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
