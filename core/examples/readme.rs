//! The README's example: encode the agent's Skip answer, decode it, print it as trace text.
// Examples show the API plainly; the core's no-panic lints are for the library.
#![allow(clippy::indexing_slicing, clippy::unwrap_used)]
use ccx_cti::wire::{
    decode, fields::set_call_data_req as f, tag, Encoder, MessageType, WireVersion,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut buf = [0u8; 128];
    let mut enc = Encoder::new(&mut buf, MessageType::SetCallDataReq, WireVersion::new(17));
    enc.set(f::CONNECTION_CALL_ID, 16_800_098)
        .string(tag::CONNECTION_DEVICE_ID, "4020")
        .named_var("BAResponse", "Skip");
    let n = enc.finish()?; // counts such as NumNamedVariables are filled in
    let msg = decode(&buf[..n], WireVersion::new(17))?;
    assert_eq!(msg.get(f::CONNECTION_CALL_ID), Some(16_800_098));
    assert_eq!(msg.named_var("BAResponse"), Some("Skip"));
    print!("{}", ccx_cti::trace::display(&msg)); // the guide's text form
    Ok(())
}
