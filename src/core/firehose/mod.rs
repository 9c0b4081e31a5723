//! The `com.atproto.sync.subscribeRepos` event stream: frames and message types.
//!
//! Spec: <https://atproto.com/specs/event-stream> (framing) and <https://atproto.com/specs/sync>
//! (message types). A frame is one WebSocket binary message: a DRISL header `{op, t}` followed by a
//! DRISL body. Bodies carry no `$type`.

mod frame;
mod jetstream;
mod messages;
mod peek;
mod replay;

pub use frame::{Frame, FrameError, MAX_FRAME_LEN, decode_frame, encode_error_frame, encode_frame};
pub use jetstream::to_jetstream;
pub use messages::{
    AccountMessage, CommitMessage, CommitOp, ErrorMessage, IdentityMessage, InfoMessage, Message,
    SyncMessage,
};
pub use peek::{FramePeek, peek_frame};
pub use replay::{StreamStart, replay_start};
