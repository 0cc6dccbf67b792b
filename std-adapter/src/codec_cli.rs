//! `ccx decode` and `ccx encode`: binary or hex frames <-> the guide's trace text.
