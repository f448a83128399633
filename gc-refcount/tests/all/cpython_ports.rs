//! Ports of CPython's `Lib/test/test_gc.py` behaviours.

use std::collections::HashMap;

use gc_refcount::{gc, Gc, GcCell, Trace};

#[derive(Trace)]
struct List {
    items: GcCell<Vec<Gc<List>>>,
}

#[test]
fn list_containing_itself() {
    // l = []; l.append(l); del l; gc.collect() == 1
    let l = Gc::new(List {
        items: GcCell::new(Vec::new()),
    });
    l.items.borrow_mut().push(l.clone());
    drop(l);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn dict_whose_value_is_itself() {
    #[derive(Trace)]
    struct Dict {
        map: GcCell<HashMap<String, Gc<Dict>>>,
    }
    let d = Gc::new(Dict {
        map: GcCell::new(HashMap::new()),
    });
    d.map.borrow_mut().insert("1".into(), d.clone());
    drop(d);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn tuple_list_cycle() {
    // l = []; t = (l,); l.append(t); del t, l; gc.collect() == 2
    #[derive(Trace)]
    struct Tuple(Gc<ListOfTuples>);
    #[derive(Trace)]
    struct ListOfTuples {
        items: GcCell<Vec<Gc<Tuple>>>,
    }
    let l = Gc::new(ListOfTuples {
        items: GcCell::new(Vec::new()),
    });
    let t = Gc::new(Tuple(l.clone()));
    l.items.borrow_mut().push(t.clone());
    drop(t);
    drop(l);
    assert_eq!(gc::collect(), 2);
}

#[test]
fn instance_pointing_to_itself() {
    #[derive(Trace)]
    struct A {
        a: GcCell<Option<Gc<A>>>,
    }
    let a = Gc::new(A {
        a: GcCell::new(None),
    });
    *a.a.borrow_mut() = Some(a.clone());
    drop(a);
    assert_eq!(gc::collect(), 1);
}

#[test]
fn instance_holding_closure_that_points_back() {
    // class A: pass; a = A(); a.f = lambda: a  -> the function object references `a` through
    // its closure cell: a -> function -> a
    #[derive(Trace)]
    struct Closure {
        captured: GcCell<Option<Gc<Instance>>>,
    }
    #[derive(Trace)]
    struct Instance {
        method: GcCell<Option<Gc<Closure>>>,
    }
    let a = Gc::new(Instance {
        method: GcCell::new(None),
    });
    let f = Gc::new(Closure {
        captured: GcCell::new(Some(a.clone())),
    });
    *a.method.borrow_mut() = Some(f);
    drop(a);
    assert_eq!(gc::collect(), 2);
}

#[test]
fn get_referents_of_containers_and_leaves() {
    let leaf = Gc::new(42u64);
    assert!(gc::get_referents(&leaf).is_empty());
    let s = Gc::new(String::from("leaf"));
    assert!(gc::get_referents(&s).is_empty());

    #[derive(Trace)]
    struct Pair(Gc<u64>, Gc<String>, Gc<u64>);
    let pair = Gc::new(Pair(leaf.clone(), s.clone(), leaf.clone()));
    let referents = gc::get_referents(&pair);
    assert_eq!(referents.len(), 3, "with multiplicity");
    assert!(referents[0].ptr_eq(&leaf));
    assert!(referents[1].ptr_eq(&s));
    assert!(referents[2].ptr_eq(&leaf));
    let back = referents[1].clone().downcast::<String>().expect("a String");
    assert_eq!(&*back, "leaf");
}

#[test]
fn is_tracked_for_leaves_and_containers() {
    assert!(!gc::is_tracked(&Gc::new(1u32)));
    assert!(!gc::is_tracked(&Gc::new(String::from("s"))));
    assert!(!gc::is_tracked(&Gc::new(vec![1u8, 2, 3])));
    assert!(gc::is_tracked(&Gc::new(List {
        items: GcCell::new(Vec::new())
    })));
    assert!(gc::is_tracked(&Gc::new(vec![Gc::new(1u32)])));
}
