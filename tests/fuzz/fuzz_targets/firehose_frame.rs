//! Fuzz target: decoding an event-stream frame, and verifying a `#commit` it holds, must never panic;
//! the relay's early filter (`peek_frame`) must never panic either, and must read the same account
//! and seq as the full decode from every frame the full decode accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyhold::core::firehose::{Frame, Message, decode_frame, peek_frame};
use skyhold::core::repo::{Inversion, verify_commit_message};

fuzz_target!(|bytes: &[u8]| {
    let peek = peek_frame(bytes);
    if let Ok(Frame::Message(message)) = decode_frame(bytes) {
        let peek = peek.expect("a frame the full decode accepts is peeked");
        assert_eq!(peek.did, message.did());
        assert_eq!(peek.seq, message.seq());
        if let Message::Commit(commit) = message {
            let _ = verify_commit_message(&commit, None, Inversion::Lenient);
        }
    }
});
