// #[trace(skip)] belongs on a field, not on an enum variant.
use gc_refcount::{Gc, Trace};

#[derive(Trace)]
enum Link {
    End,
    #[trace(skip)]
    Next(Gc<Link>),
}

fn main() {}
