//! Run-time choice between builds of one loop body for the vector units the CPU has: the
//! body is `#[inline(always)]`, and thin `#[target_feature]` wrappers compile it again for AVX2
//! and AVX-512. Rust does not contract a * b + c into an FMA on its own, so every build
//! computes the same values in the same order; only the vector width differs.

/// Runs `$generic(args)` compiled with AVX2 when the CPU has it (checked once, cached by std),
/// else the baseline build. `$avx2` is a `#[target_feature(enable = "avx2")]` wrapper around
/// the same `#[inline(always)]` body, so both builds compute the same thing in the same order.
macro_rules! dispatch_avx2 {
    ($avx2:ident, $generic:ident, $($arg:expr),* $(,)?) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { $avx2($($arg),*) };
            }
        }
        $generic($($arg),*)
    }};
}
pub(crate) use dispatch_avx2;

/// [`dispatch_avx2!`] with a third build, `$avx512` (`#[target_feature(enable = "avx512f")]`),
/// tried first: the f64 loops of the MSCN and the resizes run 8 lanes wide there, ~30 % faster.
macro_rules! dispatch_avx512 {
    ($avx512:ident, $avx2:ident, $generic:ident, $($arg:expr),* $(,)?) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F, checked just above.
                return unsafe { $avx512($($arg),*) };
            }
        }
        $crate::simd::dispatch_avx2!($avx2, $generic, $($arg),*)
    }};
}
pub(crate) use dispatch_avx512;
