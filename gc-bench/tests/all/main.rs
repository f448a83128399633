//! Integration tests of gc-bench, in one binary (one link).
//!
//! - `drop_check`: every workload on every gclab preset and every peer, at the `tiny` scale,
//!   passes the drop check;
//! - `schema`: run records and reports survive a JSON round trip unchanged;
//! - `well_formed`: `index.html` and every SVG parse as XML;
//! - `cli`: the `gclab` binary — a tiny report end to end, and every bad-input path exits 2 with
//!   one line naming the valid choices.

mod cli;
mod drop_check;
mod schema;
mod support;
mod well_formed;
