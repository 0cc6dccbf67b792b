//! Passes the linker scripts (embassy-stm32's `memory-x` feature writes memory.x).
fn main() {
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rustc-link-arg=-Tdefmt.x");
    println!("cargo:rerun-if-changed=build.rs");
}
