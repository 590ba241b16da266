//! Keeping freed memory in the process during CPU training.
//!
//! A training step allocates and frees the same large buffers (activations, gradients: a few
//! MiB each at batch 128) over and over. glibc's `malloc` serves blocks over its mmap threshold
//! with fresh `mmap`s and gives trimmed heap tops back to the kernel, so every step pays page
//! faults and page zeroing for memory it had a moment ago: a fifth of the CNN's step time on the
//! 2-core VM (`perf`; docs/performance.md). PyTorch keeps freed blocks for the same reason.
//! [`keep_freed_memory`] raises both thresholds once (mmap to 32 MiB, glibc's ceiling; trim to
//! 1 GiB), so freed blocks are reused; the cost is that the process keeps its peak heap.
//! `KILN_KEEP_FREED_MEMORY=0` leaves glibc's defaults alone. Other platforms and C libraries are
//! untouched.

/// Tells glibc's allocator to keep freed memory for reuse (once per process; see the module
/// docs). Called by Kiln's trainer when it trains on a device that runs Kiln's CPU kernels.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var("KILN_KEEP_FREED_MEMORY").is_ok_and(|v| v == "0") {
                return;
            }
            glibc::keep_freed_memory();
        });
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod glibc {
    use std::ffi::c_int;

    // From glibc's <malloc.h>.
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;

    unsafe extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }

    pub(super) fn keep_freed_memory() {
        // SAFETY: `mallopt` only sets allocator parameters; glibc documents it as safe to call
        // at any time, from any thread. A refused value (return 0) leaves the default in place.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}
