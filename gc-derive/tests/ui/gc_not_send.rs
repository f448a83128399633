// A Gc belongs to its thread's heap: it is !Send, so it cannot move into another thread.
use gc_refcount::{Gc, GcCell, Trace};

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
}

fn main() {
    let gc = Gc::new(Node {
        next: GcCell::new(None),
    });
    std::thread::spawn(move || drop(gc));
}
