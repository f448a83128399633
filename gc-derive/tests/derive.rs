//! Behaviour tests of `#[derive(Trace)]`: every shape of type the derive accepts, the bounds it
//! writes, `#[trace(skip)]`, `MAY_CONTAIN_GC`, and the edges it reports — checked through
//! `gc::get_referents` (trace order, with multiplicity) and `gc::collect`.
//!
//! Each test thread has its own heap, so the counts returned by `gc::collect` are exact.

use std::cell::Cell;
use std::marker::PhantomData;
use std::rc::Rc;

use gc_refcount::{gc, Edge, Gc, GcAny, GcCell, Trace, Visitor, Weak};

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/// Counts the edges a value reports, for values that are not (or not yet) in a `Gc`.
#[derive(Default)]
struct CountEdges(usize);

impl Visitor for CountEdges {
    fn visit(&mut self, _edge: Edge) {
        self.0 += 1;
    }
}

/// The number of edges `value` reports when traced directly.
fn edge_count<T: Trace + ?Sized>(value: &T) -> usize {
    let mut count = CountEdges::default();
    value.trace(&mut count);
    count.0
}

/// `T::MAY_CONTAIN_GC`, read at run time so that the tests report it like any other value.
fn may_contain_gc<T: Trace + ?Sized>() -> bool {
    T::MAY_CONTAIN_GC
}

/// Compiles only if `T: Trace`.
fn assert_trace<T: Trace + ?Sized>() {}

/// Asserts that `referents` are exactly `expected`, in that order (same objects, by pointer).
#[track_caller]
fn assert_referents<T: Trace + 'static>(referents: &[GcAny], expected: &[&Gc<T>]) {
    assert_eq!(
        referents.len(),
        expected.len(),
        "wrong number of referents: {referents:?}"
    );
    for (index, (got, want)) in referents.iter().zip(expected).enumerate() {
        assert!(
            got.ptr_eq(want),
            "referent {index} is not the expected object"
        );
    }
}

/// A type that does not implement `Trace` at all.
struct NotTrace;

/// A leaf payload to point at.
#[derive(Trace, Debug)]
struct Leaf {
    id: u32,
}

fn leaf(id: u32) -> Gc<Leaf> {
    Gc::new(Leaf { id })
}

// ------------------------------------------------------------------------------------------------
// Structs: named, tuple, unit
// ------------------------------------------------------------------------------------------------

#[derive(Trace)]
struct Point {
    x: f64,
    y: f64,
    label: String,
    tags: Vec<(u8, char)>,
}

#[derive(Trace)]
struct Pair(u32, String);

#[derive(Trace)]
struct Unit;

#[derive(Trace)]
struct Empty {}

#[derive(Trace)]
struct EmptyTuple();

#[derive(Trace)]
struct Named {
    first: Gc<Leaf>,
    count: u32,
    second: Gc<Leaf>,
    third: Gc<Leaf>,
}

#[derive(Trace)]
struct Tuple(Gc<Leaf>, u32, Gc<Leaf>);

#[test]
fn structs_of_leaves_are_leaves() {
    assert!(!may_contain_gc::<Point>());
    assert!(!may_contain_gc::<Pair>());
    assert!(!may_contain_gc::<Unit>());
    assert!(!may_contain_gc::<Empty>());
    assert!(!may_contain_gc::<EmptyTuple>());
    assert!(!may_contain_gc::<Leaf>());

    let point = Gc::new(Point {
        x: 1.0,
        y: 2.0,
        label: "p".into(),
        tags: vec![(1, 'a')],
    });
    assert!(!gc::is_tracked(&point));
    assert!(gc::get_referents(&point).is_empty());
    assert_eq!(point.x + point.y, 3.0);
    assert_eq!((point.label.as_str(), point.tags.len()), ("p", 1));

    let pair = Gc::new(Pair(7, "seven".into()));
    assert!(!gc::is_tracked(&pair));
    assert!(gc::get_referents(&pair).is_empty());
    assert_eq!((pair.0, pair.1.as_str()), (7, "seven"));

    let unit = Gc::new(Unit);
    assert!(!gc::is_tracked(&unit));
    assert!(gc::get_referents(&unit).is_empty());
    assert_eq!(edge_count(&Unit), 0);
    assert_eq!(edge_count(&Empty {}), 0);
    assert_eq!(edge_count(&EmptyTuple()), 0);
}

#[test]
fn structs_with_a_gc_are_containers() {
    assert!(may_contain_gc::<Named>());
    assert!(may_contain_gc::<Tuple>());

    let (a, b) = (leaf(1), leaf(2));
    let named = Gc::new(Named {
        first: a.clone(),
        count: 0,
        second: b.clone(),
        third: a.clone(),
    });
    assert!(gc::is_tracked(&named));
    assert_eq!(named.count + named.first.id + named.second.id, 3);
    // Declaration order, with multiplicity: `a` is held twice, so it is reported twice.
    assert_referents(&gc::get_referents(&named), &[&a, &b, &a]);
    assert_eq!(edge_count(&*named), 3);

    let tuple = Gc::new(Tuple(b.clone(), 5, a.clone()));
    assert!(gc::is_tracked(&tuple));
    assert_eq!(tuple.1, 5);
    assert_referents(&gc::get_referents(&tuple), &[&b, &a]);

    // The referents are leaves: not tracked, and they report nothing themselves.
    for referent in gc::get_referents(&named) {
        assert!(!referent.is_tracked());
        assert!(referent.type_name().ends_with("Leaf"));
    }
}

#[test]
fn a_gc_nested_in_containers_is_found() {
    #[derive(Trace)]
    struct Deep {
        boxed: Box<Gc<Leaf>>,
        list: Vec<Option<Gc<Leaf>>>,
        cell: GcCell<(u32, Gc<Leaf>)>,
        nothing: Option<Gc<Leaf>>,
    }
    let (a, b, c) = (leaf(1), leaf(2), leaf(3));
    let deep = Gc::new(Deep {
        boxed: Box::new(a.clone()),
        list: vec![Some(b.clone()), None, Some(a.clone())],
        cell: GcCell::new((9, c.clone())),
        nothing: None,
    });
    assert!(may_contain_gc::<Deep>());
    assert!(deep.nothing.is_none());
    assert_referents(&gc::get_referents(&deep), &[&a, &b, &a, &c]);
}

// ------------------------------------------------------------------------------------------------
// Enums
// ------------------------------------------------------------------------------------------------

#[derive(Trace)]
enum Never {}

#[derive(Trace)]
enum Color {
    Red,
    Green,
    Custom(u8, u8, u8),
    Named { name: String },
}

#[derive(Trace)]
enum Shape {
    Nothing,
    One(Gc<Leaf>),
    Two(Gc<Leaf>, #[trace(skip)] Cell<u32>, Gc<Leaf>),
    Named {
        left: Gc<Leaf>,
        #[trace(skip)]
        hidden: Gc<Leaf>,
        right: Option<Gc<Leaf>>,
    },
}

#[test]
fn an_empty_enum_compiles_and_is_a_leaf() {
    assert!(!may_contain_gc::<Never>());
    assert!(!may_contain_gc::<Option<Never>>());
    assert_eq!(edge_count(&None::<Never>), 0);
    let nothing: Gc<Option<Never>> = Gc::new(None);
    assert!(!gc::is_tracked(&nothing));
}

#[test]
fn an_enum_of_leaves_is_a_leaf() {
    assert!(!may_contain_gc::<Color>());
    let colors = [
        Color::Red,
        Color::Green,
        Color::Custom(1, 2, 3),
        Color::Named {
            name: "teal".into(),
        },
    ];
    for color in colors {
        assert_eq!(edge_count(&color), 0);
        let color = Gc::new(color);
        assert!(!gc::is_tracked(&color));
        assert!(gc::get_referents(&color).is_empty());
    }
}

#[test]
fn every_variant_kind_reports_its_own_fields() {
    assert!(may_contain_gc::<Shape>());
    let (a, b, c) = (leaf(1), leaf(2), leaf(3));

    // A unit variant of a container enum: tracked (the type may hold a Gc) but no edges.
    let nothing = Gc::new(Shape::Nothing);
    assert!(gc::is_tracked(&nothing));
    assert!(gc::get_referents(&nothing).is_empty());

    let one = Gc::new(Shape::One(c.clone()));
    assert_referents(&gc::get_referents(&one), &[&c]);

    let two = Gc::new(Shape::Two(b.clone(), Cell::new(4), a.clone()));
    assert_referents(&gc::get_referents(&two), &[&b, &a]);

    let named = Gc::new(Shape::Named {
        left: a.clone(),
        hidden: b.clone(),
        right: Some(a.clone()),
    });
    // `hidden` is skipped: `b` is not reported although `named` holds a strong count on it.
    assert_referents(&gc::get_referents(&named), &[&a, &a]);

    let half = Gc::new(Shape::Named {
        left: c.clone(),
        hidden: c.clone(),
        right: None,
    });
    assert_referents(&gc::get_referents(&half), &[&c]);

    // The skipped fields are still there (skip changes tracing only).
    if let Shape::Two(_, cell, _) = &*two {
        assert_eq!(cell.get(), 4);
    }
    if let Shape::Named { hidden, .. } = &*named {
        assert!(Gc::ptr_eq(hidden, &b));
    }
}

// ------------------------------------------------------------------------------------------------
// #[trace(skip)]
// ------------------------------------------------------------------------------------------------

#[derive(Trace)]
struct WithSkips {
    kept: Gc<Leaf>,
    #[trace(skip)]
    skipped: Gc<Leaf>,
    #[trace(skip)]
    cache: Cell<u64>,
    #[trace(skip)]
    shared: Rc<u32>,
    also_kept: Gc<Leaf>,
}

#[derive(Trace)]
struct TupleWithSkips(#[trace(skip)] Gc<Leaf>, Gc<Leaf>, #[trace(skip)] Gc<Leaf>);

#[derive(Trace)]
struct AllSkipped {
    #[trace(skip)]
    a: Gc<Leaf>,
    #[trace(skip)]
    b: Rc<Cell<u8>>,
}

#[test]
fn skipped_fields_are_not_reported() {
    let (a, b, c) = (leaf(1), leaf(2), leaf(3));
    let value = Gc::new(WithSkips {
        kept: a.clone(),
        skipped: b.clone(),
        cache: Cell::new(1),
        shared: Rc::new(2),
        also_kept: c.clone(),
    });
    assert_eq!(value.cache.get() + u64::from(*value.shared), 3);
    assert!(Gc::ptr_eq(&value.skipped, &b));
    // `b` is held (its count shows it) but not reported.
    assert_eq!(Gc::strong_count(&b), 2);
    assert_referents(&gc::get_referents(&value), &[&a, &c]);

    let tuple = Gc::new(TupleWithSkips(a.clone(), b.clone(), c.clone()));
    assert_referents(&gc::get_referents(&tuple), &[&b]);
    assert!(Gc::ptr_eq(&tuple.0, &a) && Gc::ptr_eq(&tuple.2, &c));
}

#[test]
fn skipped_fields_do_not_count_towards_may_contain_gc() {
    // Only skipped Gc fields: the user promised there is nothing to trace, so it is a leaf.
    assert!(!may_contain_gc::<AllSkipped>());
    let a = leaf(1);
    let value = Gc::new(AllSkipped {
        a: a.clone(),
        b: Rc::new(Cell::new(0)),
    });
    assert!(!gc::is_tracked(&value));
    assert!(gc::get_referents(&value).is_empty());
    assert_eq!(value.b.get(), 0);
    assert!(Gc::ptr_eq(&value.a, &a));
}

#[test]
fn a_cycle_through_a_skipped_field_is_not_collected() {
    // The documented cost of a wrong `#[trace(skip)]`: a missed edge, so the cycle leaks.
    #[derive(Trace)]
    struct Hidden {
        #[trace(skip)]
        next: GcCell<Option<Gc<Hidden>>>,
        // A traced Gc field, so that the object is tracked.
        visible: Option<Gc<Leaf>>,
    }
    let node = Gc::new(Hidden {
        next: GcCell::new(None),
        visible: None,
    });
    assert!(gc::is_tracked(&node));
    *node.next.borrow_mut() = Some(node.clone());
    let weak: Weak<Hidden> = Gc::downgrade(&node);
    drop(node);
    assert_eq!(
        gc::collect(),
        0,
        "the collector cannot see the skipped edge"
    );
    let node = weak.upgrade().expect("still alive: the cycle leaked");
    assert!(node.visible.is_none());
    // Break the cycle by hand so the test frees what it allocated.
    node.next.borrow_mut().take();
    drop(node);
    assert!(weak.upgrade().is_none());
}

// ------------------------------------------------------------------------------------------------
// Generics and bounds
// ------------------------------------------------------------------------------------------------

/// `T` in a traced field: the derive adds `T: Trace + 'static`.
#[derive(Trace)]
struct Node<T> {
    value: T,
    next: Option<Gc<Node<T>>>,
}

/// `T` only in a traced field: MAY_CONTAIN_GC follows `T`.
#[derive(Trace)]
struct Wrap<T>(T);

/// `T` only in `PhantomData<T>`: the field mentions `T`, so the bound is added (harmless for the
/// `MAY_CONTAIN_GC` answer, which is `false`). `tests/ui/phantom_param_needs_trace.rs` shows the
/// bound is there.
#[derive(Trace)]
struct Tagged<T> {
    id: u32,
    _marker: PhantomData<T>,
}

/// `T` only in a skipped field: no bound, so any `T` works.
#[derive(Trace)]
struct OnlySkipped<T> {
    traced: Option<Gc<Leaf>>,
    #[trace(skip)]
    payload: T,
}

/// `T` only in a skipped field of one variant.
#[derive(Trace)]
enum SkippedVariant<T, U> {
    Foreign(#[trace(skip)] T),
    Traced { value: U },
}

/// Inline bounds and defaults on parameters are kept.
#[derive(Trace)]
struct Bounded<T: Clone + Default, U = u8> {
    value: T,
    other: U,
}

#[test]
fn a_type_parameter_in_a_traced_field_is_traced() {
    assert!(may_contain_gc::<Node<u32>>(), "Node holds a Gc");
    assert!(!may_contain_gc::<Wrap<u32>>());
    assert!(!may_contain_gc::<Wrap<String>>());
    assert!(may_contain_gc::<Wrap<Gc<Leaf>>>());
    assert!(may_contain_gc::<Wrap<Vec<Gc<Leaf>>>>());
    assert!(!may_contain_gc::<Wrap<Wrap<u8>>>());

    let (a, b) = (leaf(1), leaf(2));
    let first = Gc::new(Node {
        value: a.clone(),
        next: None,
    });
    let second = Gc::new(Node {
        value: b.clone(),
        next: Some(first.clone()),
    });
    // Field order: `value` (here a Gc) then `next`.
    assert_eq!(gc::get_referents(&second).len(), 2);
    assert!(gc::get_referents(&second)[0].ptr_eq(&b));
    assert!(gc::get_referents(&second)[1].ptr_eq(&first));
    assert_referents(&gc::get_referents(&first), &[&a]);

    let numbers = Gc::new(Node {
        value: 5u32,
        next: None,
    });
    assert!(gc::is_tracked(&numbers), "Node<u32> may still hold a Gc");
    assert!(gc::get_referents(&numbers).is_empty());
    assert_eq!(numbers.value, 5);

    let wrapped_leaf = Gc::new(Wrap(3u32));
    assert!(!gc::is_tracked(&wrapped_leaf));
    let wrapped_gc = Gc::new(Wrap(a.clone()));
    assert!(gc::is_tracked(&wrapped_gc));
    assert_referents(&gc::get_referents(&wrapped_gc), &[&a]);
    assert_eq!(wrapped_leaf.0, 3);
}

#[test]
fn a_phantom_data_parameter_is_a_leaf() {
    assert!(!may_contain_gc::<Tagged<u32>>());
    // PhantomData<Gc<_>> holds no Gc either.
    assert!(!may_contain_gc::<Tagged<Gc<Leaf>>>());
    let tagged = Gc::new(Tagged::<Gc<Leaf>> {
        id: 4,
        _marker: PhantomData,
    });
    assert!(!gc::is_tracked(&tagged));
    assert!(gc::get_referents(&tagged).is_empty());
    assert_eq!(tagged.id, 4);
}

#[test]
fn a_parameter_only_in_skipped_fields_gets_no_bound() {
    // `NotTrace`, `Rc` and `Cell` do not implement Trace: these compile only without a bound.
    assert_trace::<OnlySkipped<NotTrace>>();
    assert_trace::<OnlySkipped<Rc<Cell<u32>>>>();
    assert_trace::<SkippedVariant<NotTrace, u32>>();
    assert!(may_contain_gc::<OnlySkipped<NotTrace>>());
    assert!(!may_contain_gc::<SkippedVariant<NotTrace, u32>>());
    assert!(may_contain_gc::<SkippedVariant<NotTrace, Gc<Leaf>>>());

    let a = leaf(1);
    let value = Gc::new(OnlySkipped {
        traced: Some(a.clone()),
        payload: NotTrace,
    });
    assert_referents(&gc::get_referents(&value), &[&a]);
    assert!(matches!(value.payload, NotTrace));

    let foreign: Gc<SkippedVariant<Rc<u32>, Gc<Leaf>>> =
        Gc::new(SkippedVariant::Foreign(Rc::new(1)));
    assert!(gc::get_referents(&foreign).is_empty());
    let traced: Gc<SkippedVariant<Rc<u32>, Gc<Leaf>>> =
        Gc::new(SkippedVariant::Traced { value: a.clone() });
    assert_referents(&gc::get_referents(&traced), &[&a]);
}

#[test]
fn inline_bounds_and_defaults_are_kept() {
    assert!(!may_contain_gc::<Bounded<String>>());
    assert!(may_contain_gc::<Bounded<String, Gc<Leaf>>>());
    let a = leaf(1);
    let value = Gc::new(Bounded {
        value: String::from("x"),
        other: a.clone(),
    });
    assert_referents(&gc::get_referents(&value), &[&a]);
    assert_eq!(value.value, "x");
}

// ------------------------------------------------------------------------------------------------
// Where clauses, lifetimes, const generics
// ------------------------------------------------------------------------------------------------

/// A trait only for the where clause below.
trait HasName {
    fn name(&self) -> &'static str;
}

impl HasName for Leaf {
    fn name(&self) -> &'static str {
        "leaf"
    }
}

/// A where clause (kept, and extended with the derive's own bounds), a lifetime parameter, a
/// `'static` reference field, a const generic and an array of handles.
#[derive(Trace)]
struct Registry<'a, T, const N: usize>
where
    T: HasName + 'static,
{
    title: &'static str,
    names: &'static [&'static str],
    borrowed: PhantomData<&'a str>,
    slots: [Gc<T>; N],
    #[trace(skip)]
    scratch: Cell<usize>,
}

/// A lifetime that the where clause pins to `'static`, so that `&'a str` is `Trace`.
#[derive(Trace)]
struct Pinned<'a>
where
    'a: 'static,
{
    text: &'a str,
    target: Option<Gc<Leaf>>,
}

/// Generic over a lifetime and a type, both used in traced fields.
#[derive(Trace)]
enum Either<'a, L, R>
where
    L: Clone,
{
    Left(L, PhantomData<&'a ()>),
    Right { value: R },
}

#[test]
fn where_clauses_lifetimes_and_const_generics() {
    assert!(may_contain_gc::<Registry<'static, Leaf, 2>>());
    // An empty array of handles still has a handle type: the answer is per type, not per value.
    assert!(may_contain_gc::<Registry<'static, Leaf, 0>>());
    let (a, b) = (leaf(1), leaf(2));
    let registry = Gc::new(Registry {
        title: "registry",
        names: &["x", "y"],
        borrowed: PhantomData,
        slots: [b.clone(), a.clone()],
        scratch: Cell::new(0),
    });
    assert!(gc::is_tracked(&registry));
    assert_referents(&gc::get_referents(&registry), &[&b, &a]);
    assert_eq!(registry.slots[0].name(), "leaf");
    assert_eq!((registry.title, registry.names.len()), ("registry", 2));
    registry.scratch.set(1);
    assert_eq!(registry.scratch.get(), 1);

    // The impl holds for any `'a` (the derive adds no `'a: 'static` of its own): trace a value
    // whose lifetime is a local borrow's.
    fn edges_for_any_lifetime<'a>(_borrow: &'a str, slot: Gc<Leaf>) -> usize {
        let registry: Registry<'a, Leaf, 1> = Registry {
            title: "t",
            names: &[],
            borrowed: PhantomData,
            slots: [slot],
            scratch: Cell::new(0),
        };
        edge_count(&registry)
    }
    let local = String::from("local");
    assert_eq!(edges_for_any_lifetime(&local, a.clone()), 1);

    let pinned = Gc::new(Pinned {
        text: "static text",
        target: Some(a.clone()),
    });
    assert_eq!(pinned.text, "static text");
    assert_referents(&gc::get_referents(&pinned), &[&a]);

    assert!(!may_contain_gc::<Either<'static, u8, String>>());
    assert!(may_contain_gc::<Either<'static, Gc<Leaf>, String>>());
    assert!(may_contain_gc::<Either<'static, u8, Gc<Leaf>>>());
    let left: Gc<Either<'static, Gc<Leaf>, u8>> = Gc::new(Either::Left(b.clone(), PhantomData));
    assert_referents(&gc::get_referents(&left), &[&b]);
    let right: Gc<Either<'static, u8, Gc<Leaf>>> = Gc::new(Either::Right { value: a.clone() });
    assert_referents(&gc::get_referents(&right), &[&a]);
}

// ------------------------------------------------------------------------------------------------
// Odd field names and recursive types
// ------------------------------------------------------------------------------------------------

/// Derives whose generated code must not trip a lint in the user's crate: the module denies all
/// warnings, and lint levels reach the generated impls inside it.
#[deny(warnings)]
mod lint_clean {
    use super::*;

    /// Field names the generated bindings are built from: a raw identifier, names equal to the
    /// impl's own `visitor` parameter and to generated binding names, a leading underscore, and a
    /// name that is not snake case.
    #[derive(Trace)]
    #[allow(non_snake_case)]
    pub(super) struct Odd {
        pub(super) r#type: Gc<Leaf>,
        pub(super) visitor: Gc<Leaf>,
        pub(super) __field_visitor: Gc<Leaf>,
        pub(super) __field_0: u8,
        pub(super) _marker: PhantomData<u8>,
        pub(super) camelCase: Gc<Leaf>,
    }

    /// Every variant kind, with skipped fields, none of them read by the trace.
    #[derive(Trace)]
    #[allow(dead_code)]
    pub(super) enum Quiet<T> {
        Unit,
        Tuple(#[trace(skip)] T, u8),
        Named {
            #[trace(skip)]
            _skipped: T,
            _kept: PhantomData<T>,
        },
    }

    /// Only skipped fields: `visitor` is unused.
    #[derive(Trace)]
    pub(super) struct Unused {
        #[trace(skip)]
        pub(super) _cell: Cell<u8>,
    }
}

#[test]
fn raw_identifiers_and_generated_names_do_not_clash() {
    let (a, b, c, d) = (leaf(1), leaf(2), leaf(3), leaf(4));
    let odd = Gc::new(lint_clean::Odd {
        r#type: a.clone(),
        visitor: b.clone(),
        __field_visitor: c.clone(),
        __field_0: 0,
        _marker: PhantomData,
        camelCase: d.clone(),
    });
    assert_eq!(odd.__field_0, 0);
    assert_referents(&gc::get_referents(&odd), &[&a, &b, &c, &d]);
    assert!(!may_contain_gc::<lint_clean::Quiet<u32>>());
    assert_eq!(edge_count(&lint_clean::Quiet::<u32>::Unit), 0);
    assert_eq!(
        edge_count(&lint_clean::Unused {
            _cell: Cell::new(0)
        }),
        0
    );
}

#[test]
fn self_in_field_types_refers_to_the_type() {
    #[derive(Trace)]
    struct List {
        next: GcCell<Option<Gc<Self>>>,
    }
    let node = Gc::new(List {
        next: GcCell::new(None),
    });
    *node.next.borrow_mut() = Some(node.clone());
    assert_referents(&gc::get_referents(&node), &[&node]);
    drop(node);
    assert_eq!(gc::collect(), 1);
}

// ------------------------------------------------------------------------------------------------
// Cycles through derived enum variants
// ------------------------------------------------------------------------------------------------

type Slot = GcCell<Option<Gc<Link>>>;

#[derive(Trace)]
enum Link {
    End(u32),
    Next(Slot),
    Pair { left: Slot, right: Slot },
    Tagged(&'static str, Slot, #[trace(skip)] Cell<u8>),
}

fn slot(target: Option<&Gc<Link>>) -> Slot {
    GcCell::new(target.cloned())
}

fn set(link: &Gc<Link>, field: &str, target: &Gc<Link>) {
    let cell = match (&**link, field) {
        (Link::Next(next), "next") => next,
        (Link::Pair { left, .. }, "left") => left,
        (Link::Pair { right, .. }, "right") => right,
        (Link::Tagged(_, next, _), "next") => next,
        _ => panic!("no field {field}"),
    };
    *cell.borrow_mut() = Some(target.clone());
}

#[test]
fn a_cycle_through_enum_variants_is_collected() {
    // A garbage cycle a -> b -> c -> e -> a through every kind of variant, with a tail d hanging
    // off it and an edge to a live object `keep` that the test still holds.
    let keep = Gc::new(Link::End(0));
    let a = Gc::new(Link::Pair {
        left: slot(None),
        right: slot(Some(&keep)),
    });
    let b = Gc::new(Link::Next(slot(None)));
    let c = Gc::new(Link::Tagged("c", slot(None), Cell::new(7)));
    let d = Gc::new(Link::End(4));
    let e = Gc::new(Link::Pair {
        left: slot(Some(&d)),
        right: slot(Some(&a)),
    });
    set(&a, "left", &b);
    set(&b, "next", &c);
    set(&c, "next", &e);
    // d holds no Gc, but its type may: it is tracked, and counted when found unreachable.
    assert!(gc::is_tracked(&d));
    if let Link::Tagged(name, _, tag) = &*c {
        assert_eq!((*name, tag.get()), ("c", 7));
    }

    assert_referents(&gc::get_referents(&a), &[&b, &keep]);
    assert_referents(&gc::get_referents(&b), &[&c]);
    assert_referents(&gc::get_referents(&c), &[&e]);
    assert_referents(&gc::get_referents(&e), &[&d, &a]);
    assert!(gc::get_referents(&d).is_empty());

    let weak: Vec<Weak<Link>> = [&a, &b, &c, &d, &e]
        .into_iter()
        .map(Gc::downgrade)
        .collect();
    drop((a, b, c, d, e));
    assert!(
        weak.iter().all(|w| w.upgrade().is_some()),
        "the cycle keeps everything alive"
    );

    assert_eq!(Gc::strong_count(&keep), 2);
    // a, b, c, e and d are unreachable; keep is not.
    assert_eq!(gc::collect(), 5);
    assert!(weak.iter().all(|w| w.upgrade().is_none()));
    assert_eq!(Gc::strong_count(&keep), 1);
    assert!(matches!(*keep, Link::End(0)));
    assert_eq!(gc::collect(), 0);
}

#[test]
fn a_live_cycle_is_not_collected() {
    let a = Gc::new(Link::Next(slot(None)));
    let b = Gc::new(Link::Pair {
        left: slot(Some(&a)),
        right: slot(Some(&a)),
    });
    set(&a, "next", &b);
    assert_referents(&gc::get_referents(&b), &[&a, &a]);
    let weak_b = Gc::downgrade(&b);
    drop(b);
    assert_eq!(gc::collect(), 0, "a is held by the test, and a holds b");
    assert!(weak_b.upgrade().is_some());
    drop(a);
    assert_eq!(gc::collect(), 2);
    assert!(weak_b.upgrade().is_none());
}
