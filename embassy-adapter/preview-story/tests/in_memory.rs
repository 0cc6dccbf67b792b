//! The whole preview story between the real phone core and the scripted server, in memory.
#![allow(clippy::unwrap_used)]

use ccx_cti::phone::Phone;
use ccx_cti_preview_story::{play_in_memory, story_config, PORT};

#[test]
fn the_phone_skips_then_accepts() {
    let mut phone: Phone = Phone::new(story_config("10.0.0.1", PORT));
    let (received, sent) = play_in_memory(&mut phone).unwrap();
    // OPEN, login, ready, skip, accept at least; the server's replies and events.
    assert!(received >= 5, "server received {received}");
    assert!(sent >= 25, "server sent {sent}");
}
