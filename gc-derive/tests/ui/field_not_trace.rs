// A traced field must implement Trace: `Cell` and `Rc` do not (mark such a field
// #[trace(skip)] if it never holds a Gc).
use std::cell::Cell;
use std::rc::Rc;

use gc_refcount::{Gc, Trace};

#[derive(Trace)]
struct Counter {
    hits: Cell<u32>,
    next: Option<Gc<Counter>>,
}

#[derive(Trace)]
enum Shared {
    Rc(Rc<u32>),
}

fn main() {}
