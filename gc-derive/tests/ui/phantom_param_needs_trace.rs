// A type parameter mentioned by a traced field, even only through PhantomData<T>, gets a
// `T: Trace + 'static` bound: Tagged<Rc<u32>> is not Trace (Rc<u32> is not), so it cannot go in
// a Gc. (A parameter used only in #[trace(skip)] fields gets no bound.)
use std::marker::PhantomData;
use std::rc::Rc;

use gc_refcount::{Gc, Trace};

#[derive(Trace)]
struct Tagged<T> {
    id: u32,
    _marker: PhantomData<T>,
}

fn main() {
    let _tagged = Gc::new(Tagged::<Rc<u32>> {
        id: 1,
        _marker: PhantomData,
    });
}
