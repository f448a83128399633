//! What a snapshot's graph says by itself, without building anything: each object's in-degree,
//! and which objects are unreachable.
//!
//! CPython's collector (`gcmodule.c`: `update_refs`, `subtract_refs`, `move_unreachable`) keeps
//! every tracked object whose refcount exceeds the references from other tracked objects — in the
//! snapshot's terms, every object with `ext > 0` — and everything reachable from those; the rest
//! is unreachable. So the number of objects *not* reachable from the objects with `ext > 0` is what
//! `gc.collect()` returns on that heap, and what every gclab detector must find on the replay.

use super::format::Snapshot;

/// The number of references to each object from other objects of the snapshot (with
/// multiplicity), by id.
pub fn in_degrees(snapshot: &Snapshot) -> Vec<u64> {
    let mut degrees = vec![0u64; snapshot.objects.len()];
    for object in &snapshot.objects {
        for &target in &object.out {
            degrees[target] += 1;
        }
    }
    degrees
}

/// Whether each object is reachable from the objects with `ext > 0` (the roots), by id. An
/// iterative traversal: a 10-million-object chain needs no deep stack.
pub fn reachable(snapshot: &Snapshot) -> Vec<bool> {
    let mut seen = vec![false; snapshot.objects.len()];
    let mut stack: Vec<usize> = Vec::new();
    for (id, object) in snapshot.objects.iter().enumerate() {
        if object.ext > 0 && !seen[id] {
            seen[id] = true;
            stack.push(id);
        }
    }
    while let Some(id) = stack.pop() {
        for &target in &snapshot.objects[id].out {
            if !seen[target] {
                seen[target] = true;
                stack.push(target);
            }
        }
    }
    seen
}

/// The number of objects unreachable from the roots: what CPython's `gc.collect()` should have
/// returned on the exported heap (see the [module docs](self)).
pub fn unreachable(snapshot: &Snapshot) -> usize {
    reachable(snapshot).iter().filter(|&&seen| !seen).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::format::{Header, ObjectRecord};

    fn object(ext: u64, out: &[usize]) -> ObjectRecord {
        ObjectRecord {
            type_name: "list".into(),
            size: 56,
            ext,
            out: out.to_vec(),
        }
    }

    #[test]
    fn cycles_off_the_roots_are_unreachable() {
        let objects = vec![
            object(0, &[1]),
            object(0, &[0]),
            object(0, &[2]),
            object(1, &[4]),
            object(0, &[5, 5]),
            object(0, &[]),
        ];
        let snapshot = Snapshot {
            header: Header {
                python: "3.12.0".into(),
                objects: objects.len(),
                edges: 6,
                cpython_unreachable: 3,
                cpython_collect_ns: 1,
            },
            objects,
        };
        assert_eq!(in_degrees(&snapshot), vec![1, 1, 1, 0, 1, 2]);
        assert_eq!(unreachable(&snapshot), 3);
    }
}
