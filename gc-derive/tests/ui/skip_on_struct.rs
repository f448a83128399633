// #[trace(skip)] belongs on a field, not on the type.
use gc_refcount::{Gc, Trace};

#[derive(Trace)]
#[trace(skip)]
struct Node {
    next: Option<Gc<Node>>,
}

fn main() {}
