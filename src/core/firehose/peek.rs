//! Reading a frame's routing fields without decoding it: the header's `op` and `t`, and the body's
//! `seq` and account (`repo` for `#commit`, `did` for `#sync`, `#identity` and `#account`).
//!
//! Spec: <https://atproto.com/specs/event-stream#framing> and <https://atproto.com/specs/sync#firehose>.
//! A relay that carries a few thousand accounts of a busy upstream drops nearly every frame; it
//! decides on these fields alone, before [`super::decode_frame`] builds the message, reads the CAR
//! or checks a signature.
//!
//! Checks: the frame is one header map and one body map, each item's lengths within the input, no
//! indefinite lengths, nesting at most [`MAX_DEPTH`], no trailing bytes; the fields read have the
//! right type (`op` and `seq` integers, `t` and the account text) and appear at most once. A frame
//! that breaks these is an error, never a panic.
//!
//! Does not check: what [`super::decode_frame`] checks (canonical DRISL, key order, every field's
//! type, CIDs). Other values are skipped by their lengths, byte strings (the CAR slice) included,
//! so a frame this accepts may still fail the full decode; a kept frame always goes through it.

use super::FrameError;
use crate::core::data::drisl::MAX_DEPTH;

/// What a frame's routing fields say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FramePeek<'a> {
    /// The header's `op`: 1 for a message, -1 for an error.
    pub op: i64,
    /// The header's `t` (`#commit`, `#identity`, ...), for a message.
    pub kind: Option<&'a str>,
    /// The body's `seq` (`#info` and error frames have none).
    pub seq: Option<i64>,
    /// The account the event is about (`repo` of a `#commit`, `did` of the others); `None` for
    /// `#info`, error frames and types this implementation does not know.
    pub did: Option<&'a str>,
}

/// Reads the routing fields of a frame; see the module docs for what is and is not checked.
pub fn peek_frame(bytes: &[u8]) -> Result<FramePeek<'_>, FrameError> {
    if bytes.len() > super::MAX_FRAME_LEN {
        return Err(FrameError::TooLarge(bytes.len()));
    }
    let mut reader = Reader { bytes, pos: 0 };
    let mut op = None;
    let mut kind = None;
    reader.map(|reader, key| match key {
        b"op" => set_once(&mut op, reader.integer()?, "op"),
        b"t" => set_once(&mut kind, reader.text()?, "t"),
        _ => reader.skip(1),
    })?;
    let op = op.ok_or_else(|| invalid("frame header has no op"))?;
    let account_key: Option<&[u8]> = match (op, kind) {
        (1, Some("#commit")) => Some(b"repo"),
        (1, Some("#sync" | "#identity" | "#account")) => Some(b"did"),
        (1, Some(_)) | (-1, _) => None,
        (1, None) => return Err(invalid("message header has no type")),
        (other, _) => return Err(FrameError::Invalid(format!("unknown op {other}"))),
    };
    let mut seq = None;
    let mut did = None;
    reader.map(|reader, key| {
        if key == b"seq" {
            set_once(&mut seq, reader.integer()?, "seq")
        } else if Some(key) == account_key {
            set_once(&mut did, reader.text()?, "account")
        } else {
            reader.skip(1)
        }
    })?;
    if reader.pos != bytes.len() {
        return Err(invalid("trailing bytes after the frame body"));
    }
    Ok(FramePeek { op, kind, seq, did })
}

fn invalid(reason: &str) -> FrameError {
    FrameError::Invalid(reason.to_owned())
}

fn set_once<T>(slot: &mut Option<T>, value: T, field: &str) -> Result<(), FrameError> {
    if slot.replace(value).is_some() {
        return Err(FrameError::Invalid(format!("{field} appears twice")));
    }
    Ok(())
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, FrameError> {
        let byte = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| invalid("unexpected end of frame"))?;
        self.pos += 1;
        Ok(byte)
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], FrameError> {
        let remaining = self.bytes.len() - self.pos;
        let len = usize::try_from(len)
            .ok()
            .filter(|len| *len <= remaining)
            .ok_or_else(|| invalid("a length runs past the end of the frame"))?;
        let start = self.pos;
        self.pos += len;
        Ok(&self.bytes[start..self.pos])
    }

    /// The head of the next item: (major type, argument). Indefinite lengths and reserved values
    /// are refused (DRISL has neither).
    fn head(&mut self) -> Result<(u8, u64), FrameError> {
        let head = self.byte()?;
        let info = head & 0x1f;
        let argument = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.fixed()?)),
            26 => u64::from(u32::from_be_bytes(self.fixed()?)),
            27 => u64::from_be_bytes(self.fixed()?),
            _ => return Err(invalid("indefinite length or reserved value")),
        };
        Ok((head >> 5, argument))
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64)?);
        Ok(out)
    }

    /// Walks a map whose keys are text, handing each key to `entry`, which must consume its value.
    fn map(
        &mut self,
        mut entry: impl FnMut(&mut Self, &'a [u8]) -> Result<(), FrameError>,
    ) -> Result<(), FrameError> {
        let (major, count) = self.head()?;
        if major != 5 {
            return Err(invalid("frame header and body must be maps"));
        }
        for _ in 0..count {
            let (major, len) = self.head()?;
            if major != 3 {
                return Err(invalid("map keys must be text"));
            }
            let key = self.take(len)?;
            entry(self, key)?;
        }
        Ok(())
    }

    fn integer(&mut self) -> Result<i64, FrameError> {
        let (major, value) = self.head()?;
        let value = i64::try_from(value).map_err(|_| invalid("integer out of range"))?;
        match major {
            0 => Ok(value),
            1 => Ok(-1 - value),
            _ => Err(invalid("expected an integer")),
        }
    }

    fn text(&mut self) -> Result<&'a str, FrameError> {
        let (major, len) = self.head()?;
        if major != 3 {
            return Err(invalid("expected text"));
        }
        std::str::from_utf8(self.take(len)?).map_err(|_| invalid("text is not UTF-8"))
    }

    /// Skips one item by its lengths, without looking inside strings.
    fn skip(&mut self, depth: usize) -> Result<(), FrameError> {
        if depth > MAX_DEPTH {
            return Err(invalid("nesting too deep"));
        }
        let (major, argument) = self.head()?;
        match major {
            0 | 1 | 7 => {}
            2 | 3 => {
                self.take(argument)?;
            }
            // Every item takes at least a byte: a count beyond the rest of the input fails here,
            // not after looping over it.
            4 | 5 => {
                let items = if major == 5 {
                    argument.saturating_mul(2)
                } else {
                    argument
                };
                if items > (self.bytes.len() - self.pos) as u64 {
                    return Err(invalid("a container count exceeds the frame"));
                }
                for _ in 0..items {
                    self.skip(depth + 1)?;
                }
            }
            // A tag wraps one item (DRISL's only tag is 42, a CID).
            _ => self.skip(depth + 1)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
