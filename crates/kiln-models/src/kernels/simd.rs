//! Run-time SIMD dispatch for the element-wise loops: the workspace builds for the baseline
//! x86-64 target (no `target-cpu=native`), so a loop gets AVX2 or AVX-512 code only when it
//! runs inside one of pulp's feature-enabled entry points, chosen once per call from what the
//! CPU reports (the same dispatch gemm uses).

/// Runs `f` compiled for the widest instruction set this CPU has. `f` and what it calls should
/// be `#[inline(always)]` so that their loops are compiled inside the dispatched function.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    struct Op<F>(F);
    impl<R, F: FnOnce() -> R> pulp::WithSimd for Op<F> {
        type Output = R;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _simd: S) -> R {
            (self.0)()
        }
    }
    pulp::Arch::new().dispatch(Op(f))
}
