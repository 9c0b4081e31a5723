//! Event-stream frames: header + body, both DRISL.
//!
//! Spec: <https://atproto.com/specs/event-stream#framing>. Header `{op: 1, t: "#commit"}` for a
//! message, `{op: -1}` for an error (body `{error, message?}`). Unknown `t` values are passed up as
//! [`Frame::Unknown`] so consumers can ignore them, as the spec asks.

use serde::{Deserialize, Serialize};

use super::messages::{ErrorMessage, Message};
use crate::core::data::{self, DataError, drisl};

/// Largest frame accepted or produced (sync spec: 5 MB).
pub const MAX_FRAME_LEN: usize = 5 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame of {0} bytes exceeds the 5 MB limit")]
    TooLarge(usize),
    #[error("invalid frame: {0}")]
    Invalid(String),
    #[error("frame data: {0}")]
    Data(#[from] DataError),
}

#[derive(Serialize, Deserialize)]
struct Header {
    op: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<String>,
}

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Message(Message),
    Error(ErrorMessage),
    /// A message type this implementation does not know (to be ignored).
    Unknown(String),
}

/// Encodes a message frame.
pub fn encode_frame(message: &Message) -> Result<Vec<u8>, FrameError> {
    let header = Header {
        op: 1,
        t: Some(message.type_name().to_owned()),
    };
    let mut out = data::encode(&header)?;
    out.extend(message.encode_body()?);
    Ok(out)
}

/// Encodes an error frame (the stream is closed after sending it).
pub fn encode_error_frame(error: &str, message: Option<&str>) -> Result<Vec<u8>, FrameError> {
    let header = Header { op: -1, t: None };
    let mut out = data::encode(&header)?;
    out.extend(data::encode(&ErrorMessage {
        error: error.to_owned(),
        message: message.map(str::to_owned),
    })?);
    Ok(out)
}

/// Decodes a frame strictly (both parts canonical DRISL, size bounded).
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, FrameError> {
    if bytes.len() > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge(bytes.len()));
    }
    let header_len = drisl::first_item_len(bytes)?;
    let header: Header = data::decode(&bytes[..header_len])?;
    let body = &bytes[header_len..];
    match header.op {
        -1 => Ok(Frame::Error(data::decode(body)?)),
        1 => {
            let t = header
                .t
                .ok_or_else(|| FrameError::Invalid("message header has no type".into()))?;
            match Message::decode_body(&t, body)? {
                Some(message) => Ok(Frame::Message(message)),
                None => {
                    drisl::check(body)?;
                    Ok(Frame::Unknown(t))
                }
            }
        }
        other => Err(FrameError::Invalid(format!("unknown op {other}"))),
    }
}
