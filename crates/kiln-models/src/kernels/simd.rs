//! Run-time SIMD dispatch for the element-wise loops: the workspace builds for the baseline
//! x86-64 target (no `target-cpu=native`), so a loop gets AVX2 or AVX-512 code only when it
//! runs inside one of pulp's feature-enabled entry points, chosen once per call from what the
//! CPU reports (the same dispatch gemm uses).
//!
//! A kernel is a struct of its arguments whose `pulp::WithSimd::with_simd` holds the loop
//! (written with [`simd_kernel!`]), run with `pulp::Arch::new().dispatch(kernel)`. Passing a
//! closure (or a function through `FnOnce`) to a generic dispatcher does not work: the
//! closure's body, or the `FnOnce::call_once` shim, is compiled as a function of its own for
//! the baseline target and merely called from the dispatched one. Kiln's pooling and
//! bias-gradient loops ran on SSE2 that way until 2026-12-03, and `f32::mul_add` was a library
//! call per element.

/// Declares a SIMD kernel: a struct with the given fields whose `with_simd` binds them by name
/// and runs `body` compiled for the dispatched instruction set.
macro_rules! simd_kernel {
    (
        $(#[$doc:meta])*
        $vis:vis struct $name:ident<$lt:lifetime> {
            $($field:ident: $ty:ty),* $(,)?
        } -> $out:ty $body:block
    ) => {
        $(#[$doc])*
        $vis struct $name<$lt> {
            $($vis $field: $ty),*
        }

        impl<$lt> pulp::WithSimd for $name<$lt> {
            type Output = $out;
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _simd: S) -> $out {
                let Self { $($field),* } = self;
                $body
            }
        }
    };
}

pub(crate) use simd_kernel;

simd_kernel! {
    /// The sum of `values` over 16 interleaved lanes (a fixed order, so a fixed rounding),
    /// which the compiler can keep in SIMD registers.
    pub(crate) struct LaneSum<'a> {
        values: &'a [f32],
    } -> f32 {
        let mut lanes = [0.0f32; 16];
        let mut chunks = values.chunks_exact(16);
        for chunk in &mut chunks {
            for (l, v) in lanes.iter_mut().zip(chunk) {
                *l += v;
            }
        }
        let rest: f32 = chunks.remainder().iter().sum();
        lanes.iter().sum::<f32>() + rest
    }
}
