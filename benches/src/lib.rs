//! Shared helpers for Kiln's criterion benches (synthetic data generators, a peak-memory
//! counting allocator). The benches themselves live in `benches/benches/`.
