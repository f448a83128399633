//! Integration tests of gc-bench, in one binary (one link).
//!
//! - `drop_check`: every workload on every gclab preset and every peer, at the `tiny` scale,
//!   passes the drop check;
//! - `cpu_time`: a cell's CPU time (median, cores kept busy, system share) and its table;
//! - `schema`: run records and reports survive a JSON round trip unchanged;
//! - `well_formed`: `index.html` and every SVG parse as XML;
//! - `snapshot`: heap snapshots — a hand-written one and generated ones replayed under every preset
//!   with a cycle detector give the expected count; every bad input is refused with its line
//!   number; `gclab replay` on a bad file exits 2;
//! - `seed_scenario`: the `seed-scenario` binary (issue 4) on a small count, CPython run or
//!   reported skipped, bad flags exit 2;
//! - `shared`: the thread-shared workloads on every shared backend at the tiny scale, gclab's
//!   collection log, the "Thread-shared heaps" table, and `gclab run`/`list`/`report` on them;
//! - `cli`: the `gclab` binary — a tiny report end to end, and every bad-input path exits 2 with
//!   one line naming the valid choices.

mod cli;
mod cpu_time;
mod drop_check;
mod schema;
mod seed_scenario;
mod shared;
mod snapshot;
mod support;
mod well_formed;
