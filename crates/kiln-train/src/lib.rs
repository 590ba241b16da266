//! Kiln's training loop: batchers from `kiln-data` datasets to tensors, a `Trainer` with
//! metrics, early stopping, checkpoint/resume, LR schedules and epoch events.
//!
//! Status: planned (training issue). It will depend on `kiln-data` and `kiln-models`.
