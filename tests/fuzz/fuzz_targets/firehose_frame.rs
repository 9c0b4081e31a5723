//! Fuzz target: decoding an event-stream frame, and verifying a `#commit` it holds, must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyhold::core::firehose::{Frame, Message, decode_frame};
use skyhold::core::repo::{Inversion, verify_commit_message};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(Frame::Message(Message::Commit(commit))) = decode_frame(bytes) {
        let _ = verify_commit_message(&commit, None, Inversion::Lenient);
    }
});
