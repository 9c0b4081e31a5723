//! The strict DRISL check: one pass over untrusted CBOR bytes that accepts exactly the encodings the
//! atproto data model allows, without allocating.
//!
//! Spec: <https://atproto.com/specs/data-model> (DRISL, formerly DAG-CBOR). Decoders further along
//! (`serde_ipld_dagcbor`) are lenient about canonical form; running this check first means a record,
//! commit or MST node we accept has exactly one byte encoding, so its CID is stable.
//!
//! Checks: definite lengths only; shortest-form integers and lengths; integers within i64; text is
//! UTF-8; map keys are text, sorted length-first then bytewise, without duplicates; the only tag is
//! 42 over a byte string `0x00 ‖ CIDv1`; the only simple values are false, true and null (no floats,
//! no `undefined`); nesting depth at most [`MAX_DEPTH`]; exactly one item and no trailing bytes.
//!
//! Does not check: that the value fits any schema, or that a CID uses the blessed codecs.

use super::DataError;

/// Deepest nesting of lists and maps accepted. Real records nest a handful of levels; the bound
/// keeps recursion (here and in every decoder after us) safe on hostile input.
pub const MAX_DEPTH: usize = 128;

const TAG_CID: u64 = 42;

/// Checks that `bytes` hold exactly one DRISL-encoded item.
pub fn check(bytes: &[u8]) -> Result<(), DataError> {
    let len = first_item_len(bytes)?;
    if len != bytes.len() {
        return Err(DataError::Drisl {
            offset: len,
            reason: "trailing bytes after the item",
        });
    }
    Ok(())
}

/// Checks the first DRISL item in `bytes` and returns its length, for streams of concatenated items
/// (a firehose frame is a header item followed by a body item).
pub fn first_item_len(bytes: &[u8]) -> Result<usize, DataError> {
    let mut scanner = Scanner { bytes, pos: 0 };
    scanner.item(0)?;
    Ok(scanner.pos)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn error(&self, reason: &'static str) -> DataError {
        DataError::Drisl {
            offset: self.pos,
            reason,
        }
    }

    fn byte(&mut self) -> Result<u8, DataError> {
        let byte = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.error("unexpected end of input"))?;
        self.pos += 1;
        Ok(byte)
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], DataError> {
        let remaining = (self.bytes.len() - self.pos) as u64;
        if len > remaining {
            return Err(self.error("length runs past the end of input"));
        }
        let start = self.pos;
        // `len <= remaining` so the cast and the slice are in bounds.
        self.pos += len as usize;
        Ok(&self.bytes[start..self.pos])
    }

    /// Reads the argument of a head byte, enforcing the shortest encoding.
    fn argument(&mut self, info: u8) -> Result<u64, DataError> {
        let value = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.fixed::<2>()?)),
            26 => u64::from(u32::from_be_bytes(self.fixed::<4>()?)),
            27 => u64::from_be_bytes(self.fixed::<8>()?),
            31 => return Err(self.error("indefinite length is not allowed")),
            _ => return Err(self.error("reserved additional information value")),
        };
        let minimum = match info {
            24 => 24,
            25 => 0x100,
            26 => 0x1_0000,
            _ => 0x1_0000_0000,
        };
        if value < minimum {
            return Err(self.error("integer or length not in shortest form"));
        }
        Ok(value)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DataError> {
        let slice = self.take(N as u64)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn item(&mut self, depth: usize) -> Result<(), DataError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        let head = self.byte()?;
        let major = head >> 5;
        let info = head & 0x1f;
        match major {
            0 | 1 => {
                let value = self.argument(info)?;
                if value > i64::MAX as u64 {
                    return Err(self.error("integer outside the signed 64-bit range"));
                }
            }
            2 => {
                let len = self.argument(info)?;
                self.take(len)?;
            }
            3 => {
                let len = self.argument(info)?;
                let text = self.take(len)?;
                if std::str::from_utf8(text).is_err() {
                    return Err(self.error("text string is not valid UTF-8"));
                }
            }
            4 => {
                let count = self.argument(info)?;
                self.bounded_count(count)?;
                for _ in 0..count {
                    self.item(depth + 1)?;
                }
            }
            5 => {
                let count = self.argument(info)?;
                self.bounded_count(count.saturating_mul(2))?;
                let mut previous: Option<&[u8]> = None;
                for _ in 0..count {
                    let key = self.map_key()?;
                    if let Some(prev) = previous
                        && !key_precedes(prev, key)
                    {
                        return Err(self.error("map keys not in length-first order or duplicated"));
                    }
                    previous = Some(key);
                    self.item(depth + 1)?;
                }
            }
            6 => {
                let tag = self.argument(info)?;
                if tag != TAG_CID {
                    return Err(self.error("only tag 42 (CID link) is allowed"));
                }
                self.cid_link()?;
            }
            _ => match info {
                20..=22 => {}
                25..=27 => return Err(self.error("floats are not allowed")),
                _ => return Err(self.error("simple value other than false, true or null")),
            },
        }
        Ok(())
    }

    /// Refuses a container count larger than the bytes left could hold (every item takes at least one
    /// byte), so hostile counts fail fast.
    fn bounded_count(&self, items: u64) -> Result<(), DataError> {
        if items > (self.bytes.len() - self.pos) as u64 {
            return Err(self.error("container count exceeds the input"));
        }
        Ok(())
    }

    fn map_key(&mut self) -> Result<&'a [u8], DataError> {
        let head = self.byte()?;
        if head >> 5 != 3 {
            return Err(self.error("map keys must be text strings"));
        }
        let len = self.argument(head & 0x1f)?;
        let key = self.take(len)?;
        if std::str::from_utf8(key).is_err() {
            return Err(self.error("map key is not valid UTF-8"));
        }
        Ok(key)
    }

    fn cid_link(&mut self) -> Result<(), DataError> {
        let head = self.byte()?;
        if head >> 5 != 2 {
            return Err(self.error("tag 42 must wrap a byte string"));
        }
        let len = self.argument(head & 0x1f)?;
        let bytes = self.take(len)?;
        match bytes.split_first() {
            Some((0, cid_bytes)) => {
                // The CID must fill the byte string exactly: trailing bytes would be dropped on
                // decode and the value would have two encodings.
                let mut cursor = std::io::Cursor::new(cid_bytes);
                match cid::Cid::read_bytes(&mut cursor) {
                    Ok(cid)
                        if cid.version() == cid::Version::V1
                            && cursor.position() == cid_bytes.len() as u64 =>
                    {
                        Ok(())
                    }
                    _ => Err(self.error("tag 42 does not hold exactly one valid CIDv1")),
                }
            }
            _ => Err(self.error("tag 42 bytes must start with 0x00")),
        }
    }
}

/// DRISL key order: shorter keys first, then bytewise.
fn key_precedes(a: &[u8], b: &[u8]) -> bool {
    (a.len(), a) < (b.len(), b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(hex: &str) {
        let bytes = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
        assert_eq!(check(&bytes), Ok(()), "{hex} should be valid");
    }

    fn bad(hex: &str, reason: &str) {
        let bytes = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
        match check(&bytes) {
            Err(DataError::Drisl { reason: r, .. }) => {
                assert!(r.contains(reason), "{hex}: got {r:?}, wanted {reason:?}")
            }
            other => panic!("{hex}: expected error {reason:?}, got {other:?}"),
        }
    }

    #[test]
    fn accepts_canonical_items() {
        ok("00");
        ok("17");
        ok("1818");
        ok("190100");
        ok("20"); // -1
        ok("3b7fffffffffffffff"); // i64::MIN
        ok("1b7fffffffffffffff"); // i64::MAX
        ok("f4");
        ok("f5");
        ok("f6");
        ok("a0");
        ok("80");
        ok("a2616101626262f6"); // {"a":1,"bb":null}
        ok("6161");
        ok("40");
    }

    #[test]
    fn rejects_what_drisl_forbids() {
        bad("1817", "shortest");
        bad("190017", "shortest");
        bad("1b8000000000000000", "signed 64-bit");
        bad("f93c00", "floats");
        bad("fb3ff0000000000000", "floats");
        bad("f7", "simple value");
        bad("9f00ff", "indefinite");
        bad("a2626262f6616101", "order");
        bad("a2616101616102", "order"); // duplicate key
        bad("a10101", "text strings");
        bad("c100", "tag 42");
        bad("d82a4100", "CIDv1");
        // A CID followed by stray bytes inside the tag (found by fuzzing).
        bad(
            "8200d82a5700018686860100000e0000000000000018273b3b3b3b73",
            "CIDv1",
        );
        bad("d82a420100", "0x00");
        bad("62ffff", "UTF-8");
        bad("0000", "trailing");
        bad("5a00ffffff", "past the end");
        bad("9bffffffffffffffff", "exceeds");
        bad("", "end of input");
    }

    #[test]
    fn rejects_deep_nesting() {
        let mut bytes = vec![0x81; MAX_DEPTH + 2];
        bytes.push(0x00);
        bad(&data_encoding::HEXLOWER.encode(&bytes), "too deep");
        let mut fine = vec![0x81; MAX_DEPTH];
        fine.push(0x00);
        ok(&data_encoding::HEXLOWER.encode(&fine));
    }
}
