//! [`NoCycles`]: plain reference counting.

use gc_core::{CycleDetector, Detection, ObjectList};

/// Finds no garbage: objects are freed only when their count reaches zero, and cycles leak. The
/// baseline every other detector is compared with. `gc::collect()` returns 0 under it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCycles;

// SAFETY: moves nothing into `garbage`.
unsafe impl CycleDetector for NoCycles {
    fn name(&self) -> &'static str {
        "none"
    }

    unsafe fn find_garbage(&mut self, examined: &ObjectList, _garbage: &ObjectList) -> Detection {
        Detection {
            examined: examined.len(),
            garbage: 0,
        }
    }
}
