//! [`node_operations!`]: the node operations of [`Backend`](crate::backend::Backend) that every
//! peer adapter would otherwise write out again.
//!
//! A peer's node is the same struct under each crate's handle: a drop token `_token`, a `u64`
//! `key`, a boxed `_payload` and `edges`, a cell (`RefCell`, or the crate's own `GcCell`) holding
//! [`MAX_EDGES`](crate::backend::MAX_EDGES) optional handles. What differs between adapters is the
//! handle type, the cell type, each crate's `Trace` impl and how it collects — so each adapter
//! still defines its node struct and traces it in its own file, and only the operations on a
//! node, identical up to those names, come from here. The expansion is the code an adapter would
//! write by hand: concrete types, `#[inline]`, no dispatch.

/// Writes `alloc`, `key`, `edge`, `set_edge`, `take_edge` and `same` inside an
/// `impl Backend for …` block whose handle is `$handle<$node>` and whose node keeps its edges in
/// a `$cell` (see the [module docs](self) for the fields the node must have).
///
/// `same` compares with `$handle::ptr_eq` unless a function `fn(&H, &H) -> bool` is given as the
/// third argument (for a crate whose handle has no `ptr_eq`).
macro_rules! node_operations {
    ($handle:ident<$node:ident>, $cell:ident) => {
        $crate::backends::peer_node::node_operations!($handle<$node>, $cell, $handle::ptr_eq);
    };
    ($handle:ident<$node:ident>, $cell:ident, $same:path) => {
        #[inline]
        fn alloc(&self, key: u64, payload_len: usize) -> $handle<$node> {
            $handle::new($node {
                _token: $crate::ledger::DropToken::new(),
                key,
                _payload: vec![0u8; payload_len].into_boxed_slice(),
                edges: $cell::new(Default::default()),
            })
        }

        #[inline]
        fn key(&self, node: &$handle<$node>) -> u64 {
            node.key
        }

        #[inline]
        fn edge(&self, node: &$handle<$node>, slot: usize) -> Option<$handle<$node>> {
            node.edges.borrow()[slot].clone()
        }

        #[inline]
        fn set_edge(&self, node: &$handle<$node>, slot: usize, target: Option<$handle<$node>>) {
            let old = std::mem::replace(&mut node.edges.borrow_mut()[slot], target);
            drop(old);
        }

        #[inline]
        fn take_edge(&self, node: &$handle<$node>, slot: usize) -> Option<$handle<$node>> {
            node.edges.borrow_mut()[slot].take()
        }

        #[inline]
        fn same(&self, a: &$handle<$node>, b: &$handle<$node>) -> bool {
            $same(a, b)
        }
    };
}

pub(crate) use node_operations;
