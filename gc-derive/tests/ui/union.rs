// A union cannot be traced field by field: the derive does not know which field is live.
use gc_refcount::Trace;

#[derive(Trace)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
