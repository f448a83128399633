//! `gc.callbacks`: functions called before and after every collection.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// When a callback is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the collection examines anything.
    Start,
    /// After the garbage has been torn down.
    Stop,
}

/// What a callback is told, as the `info` dict of Python's `gc.callbacks`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallbackInfo {
    /// The generation being collected.
    pub generation: usize,
    /// Unreachable objects found (0 at [`Phase::Start`]).
    pub collected: usize,
    /// Objects kept uncollected in `gc::garbage()` (0 at [`Phase::Start`]).
    pub uncollectable: usize,
}

/// Identifies a registered callback, to remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

type Callback = Box<dyn FnMut(Phase, &CallbackInfo)>;

/// The registered callbacks of one heap.
#[derive(Default)]
pub(crate) struct Callbacks {
    next_id: Cell<u64>,
    registered: RefCell<Vec<(CallbackId, Callback)>>,
    /// Ids of the callbacks taken out for a run in progress, and those removed during it.
    running: RefCell<Vec<CallbackId>>,
    removed_while_running: RefCell<Vec<CallbackId>>,
}

impl Callbacks {
    pub(crate) fn add(&self, callback: Callback) -> CallbackId {
        let id = CallbackId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        self.registered.borrow_mut().push((id, callback));
        id
    }

    pub(crate) fn remove(&self, id: CallbackId) -> bool {
        if self.running.borrow().contains(&id) {
            let mut removed = self.removed_while_running.borrow_mut();
            let first_time = !removed.contains(&id);
            removed.push(id);
            return first_time;
        }
        let mut registered = self.registered.borrow_mut();
        let before = registered.len();
        registered.retain(|(other, _)| *other != id);
        registered.len() != before
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.registered.borrow().is_empty()
    }

    /// Calls every callback in registration order. A panicking callback does not stop the others;
    /// the first panic is returned for the caller to resume once the heap is consistent. A
    /// callback may add or remove callbacks; the change applies from the next call.
    pub(crate) fn run(&self, phase: Phase, info: &CallbackInfo) -> Option<Box<dyn Any + Send>> {
        let mut running = std::mem::take(&mut *self.registered.borrow_mut());
        *self.running.borrow_mut() = running.iter().map(|(id, _)| *id).collect();
        let mut first_panic = None;
        for (_, callback) in &mut running {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(phase, info))) {
                first_panic.get_or_insert(payload);
            }
        }
        self.running.borrow_mut().clear();
        let removed = std::mem::take(&mut *self.removed_while_running.borrow_mut());
        running.retain(|(id, _)| !removed.contains(id));
        let mut registered = self.registered.borrow_mut();
        let added = std::mem::take(&mut *registered);
        *registered = running;
        registered.extend(added);
        first_panic
    }
}
