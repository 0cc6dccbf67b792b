//! Framing: every split point of every vector frame, coalesced frames, truncated tails,
//! impossible lengths, and the stream-framing vectors of a public peer implementation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use ccx_cti::wire::{FeedResult, FrameAccumulator, FrameError};
use common::{hex, vector_frames};

const PEER_FRAMING: &str = include_str!("data/uccertweb-framing.jsonl");

/// Feed `chunks` and collect every frame (owned) until the input runs out.
fn run<const N: usize>(
    acc: &mut FrameAccumulator<N>,
    chunks: &[&[u8]],
) -> Result<Vec<Vec<u8>>, FrameError> {
    let mut frames = Vec::new();
    for chunk in chunks {
        let mut input: &[u8] = chunk;
        loop {
            match acc.feed(input) {
                FeedResult::Consumed => break,
                FeedResult::Frame { frame, remaining } => {
                    frames.push(frame.to_vec());
                    input = remaining;
                }
                FeedResult::Error { error, .. } => return Err(error),
            }
        }
    }
    Ok(frames)
}

#[test]
fn every_split_point_of_every_vector_gives_the_same_frame() {
    let frames = vector_frames();
    assert!(frames.len() > 200);
    let mut acc: FrameAccumulator = FrameAccumulator::new();
    for frame in &frames {
        for split in 0..=frame.len() {
            let (a, b) = frame.split_at(split);
            let got = run(&mut acc, &[a, b]).unwrap();
            assert_eq!(got, vec![frame.clone()], "split at {split}");
            assert_eq!(acc.buffered(), 0);
        }
    }
}

#[test]
fn byte_by_byte_delivery_of_a_whole_stream() {
    let frames = vector_frames();
    let stream: Vec<u8> = frames.concat();
    let chunks: Vec<&[u8]> = stream.chunks(1).collect();
    let mut acc: FrameAccumulator = FrameAccumulator::new();
    assert_eq!(run(&mut acc, &chunks).unwrap(), frames);
}

#[test]
fn several_frames_in_one_chunk_and_odd_chunk_sizes() {
    let frames = vector_frames();
    let stream: Vec<u8> = frames.concat();
    for size in [3usize, 7, 64, 1000, stream.len()] {
        let chunks: Vec<&[u8]> = stream.chunks(size).collect();
        let mut acc: FrameAccumulator = FrameAccumulator::new();
        assert_eq!(run(&mut acc, &chunks).unwrap(), frames, "chunks of {size}");
    }
}

#[test]
fn a_truncated_tail_stays_partial() {
    let frame = &vector_frames()[0];
    let mut acc: FrameAccumulator = FrameAccumulator::new();
    for cut in 0..frame.len() {
        acc.reset();
        assert_eq!(
            run(&mut acc, &[&frame[..cut]]).unwrap(),
            Vec::<Vec<u8>>::new()
        );
        assert_eq!(acc.buffered(), cut);
    }
}

#[test]
fn a_length_beyond_the_buffer_is_an_error_whatever_the_chunking() {
    // 12_500-byte buffer: bodies up to 12_492 bytes.
    let mut ok = vec![0u8; 8 + 12_492];
    ok[..4].copy_from_slice(&12_492u32.to_be_bytes());
    let mut acc: FrameAccumulator = FrameAccumulator::new();
    assert_eq!(run(&mut acc, &[&ok]).unwrap().len(), 1);
    for header in [12_493u32.to_be_bytes(), u32::MAX.to_be_bytes()] {
        for split in 0..=4 {
            let mut acc: FrameAccumulator = FrameAccumulator::new();
            let bytes = [&header[..], &[0, 0, 0, 5]].concat();
            let err = run(&mut acc, &[&bytes[..split], &bytes[split..]]).unwrap_err();
            assert!(
                matches!(
                    err,
                    FrameError::TooLong {
                        max: 12_492,
                        offset: 0,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_eq!(acc.buffered(), 0, "nothing is kept after a framing error");
        }
    }
}

#[test]
fn a_smaller_accumulator_has_a_smaller_limit() {
    let mut acc: FrameAccumulator<16> = FrameAccumulator::new();
    assert_eq!(acc.max_body_len(), 8);
    let frame = [0, 0, 0, 9, 0, 0, 0, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    assert!(matches!(
        run(&mut acc, &[&frame]),
        Err(FrameError::TooLong {
            length: 9,
            max: 8,
            ..
        })
    ));
}

#[test]
fn the_error_reports_the_stream_offset_of_the_bad_header() {
    let good = [0u8, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 7];
    let bad = [0xFFu8, 0xFF, 0xFF, 0xFF, 0, 0, 0, 5];
    let stream = [&good[..], &good[..], &bad[..]].concat();
    let mut acc: FrameAccumulator = FrameAccumulator::new();
    let err = run(&mut acc, &[&stream[..5], &stream[5..]]).unwrap_err();
    assert!(
        matches!(err, FrameError::TooLong { offset: 24, .. }),
        "{err:?}"
    );
}

/// nshimaza/uccertweb's framing stage cases (MIT): frames there exclude the length prefix,
/// and the peer's limit is 4329 bytes in all.
#[test]
fn peer_framing_vectors() {
    let mut cases = 0;
    for line in PEER_FRAMING.lines() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let chunks: Vec<Vec<u8>> = case["input_chunks_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| hex(c.as_str().unwrap()))
            .collect();
        let chunk_refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let mut acc: FrameAccumulator<4329> = FrameAccumulator::new();
        let mut got = run(&mut acc, &chunk_refs);
        if case["framing_applied_twice"].as_bool().unwrap() {
            // The peer runs two framing stages in a row: the first one's output (type and
            // body) is the second one's input.
            let once: Vec<Vec<u8>> = got.unwrap().into_iter().map(|f| f[4..].to_vec()).collect();
            let refs: Vec<&[u8]> = once.iter().map(Vec::as_slice).collect();
            let mut second: FrameAccumulator<4329> = FrameAccumulator::new();
            got = run(&mut second, &refs);
        }
        match case["expected"].get("frames") {
            Some(frames) => {
                let expected: Vec<Vec<u8>> = frames
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| hex(f.as_str().unwrap()))
                    .collect();
                let got: Vec<Vec<u8>> = got.unwrap().into_iter().map(|f| f[4..].to_vec()).collect();
                assert_eq!(got, expected, "{}", case["id"]);
            }
            None => assert!(got.is_err(), "{}: out of sync must be an error", case["id"]),
        }
        cases += 1;
    }
    assert_eq!(cases, 10);
}
