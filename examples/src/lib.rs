//! Helpers shared by Kiln's example binaries.
