// The only field attribute is #[trace(skip)].
use gc_refcount::{Gc, Trace};

#[derive(Trace)]
struct Node {
    #[trace(bogus)]
    next: Option<Gc<Node>>,
}

fn main() {}
