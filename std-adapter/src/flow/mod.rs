//! The flow runner behind `ccx replay` (FORMAT.md §2).
