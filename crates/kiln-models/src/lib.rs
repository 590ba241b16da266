//! Kiln's model definitions: Burn modules (linear, MLP, CNN, residual CNN, text classifier),
//! each with a serde `XxxConfig` whose fields are the hyperparameters worth tuning.
//!
//! Status: planned. The models land with the training issue; this crate exists now so the
//! workspace layout and dependency direction are fixed from the start.
