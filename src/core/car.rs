//! CAR v1: the archive format for repo exports and commit diffs.
//!
//! Spec: <https://atproto.com/specs/repository#car-file-serialization> and
//! <https://ipld.io/specs/transport/car/carv1/>. A file is `varint(len) ‖ DRISL header
//! {roots, version: 1}` followed by blocks `varint(len) ‖ CID ‖ bytes`. The reader streams and checks
//! every length against a limit before it allocates, so a hostile length prefix cannot exhaust memory.
//!
//! Does not: check that a block's bytes hash to its CID (see [`verify_block`]), or interpret blocks.

use std::io::{Read, Write};

use cid::Cid;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest header accepted; real headers hold one or two roots.
pub const MAX_HEADER_LEN: u64 = 64 * 1024;
/// Default largest block: a record may be up to 1 MB (sync spec), MST nodes far less.
pub const DEFAULT_MAX_BLOCK_LEN: u64 = 2 * 1024 * 1024;

/// Why a CAR file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CarError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid CAR header: {0}")]
    Header(String),
    #[error("CAR block of {len} bytes exceeds the limit of {max}")]
    BlockTooLarge { len: u64, max: u64 },
    #[error("invalid CAR block: {0}")]
    Block(String),
    #[error("CAR file ends inside a block")]
    Truncated,
}

#[derive(Serialize, Deserialize)]
struct Header {
    roots: Vec<Cid>,
    version: u64,
}

/// Writes a CAR v1 stream.
pub struct CarWriter<W: Write> {
    out: W,
}

impl<W: Write> CarWriter<W> {
    /// Writes the header; `roots[0]` is the commit for repo exports and diffs.
    pub fn new(mut out: W, roots: &[Cid]) -> Result<Self, CarError> {
        let header = Header {
            roots: roots.to_vec(),
            version: 1,
        };
        let bytes =
            crate::core::data::encode(&header).map_err(|e| CarError::Header(e.to_string()))?;
        write_varint(&mut out, bytes.len() as u64)?;
        out.write_all(&bytes)?;
        Ok(CarWriter { out })
    }

    pub fn write_block(&mut self, cid: &Cid, bytes: &[u8]) -> Result<(), CarError> {
        let cid_bytes = cid.to_bytes();
        write_varint(&mut self.out, (cid_bytes.len() + bytes.len()) as u64)?;
        self.out.write_all(&cid_bytes)?;
        self.out.write_all(bytes)?;
        Ok(())
    }

    pub fn finish(self) -> W {
        self.out
    }
}

/// Writes a whole CAR into memory.
pub fn write_car<'a>(
    roots: &[Cid],
    blocks: impl IntoIterator<Item = (&'a Cid, &'a [u8])>,
) -> Result<Vec<u8>, CarError> {
    let mut writer = CarWriter::new(Vec::new(), roots)?;
    for (cid, bytes) in blocks {
        writer.write_block(cid, bytes)?;
    }
    Ok(writer.finish())
}

fn write_varint(out: &mut impl Write, mut value: u64) -> std::io::Result<()> {
    let mut buf = [0u8; 10];
    let mut i = 0;
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            buf[i] = byte;
            i += 1;
            break;
        }
        buf[i] = byte | 0x80;
        i += 1;
    }
    out.write_all(&buf[..i])
}

/// Reads an unsigned varint; `Ok(None)` at a clean end of input (before the first byte).
fn read_varint(input: &mut impl Read) -> Result<Option<u64>, CarError> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let mut byte = [0u8; 1];
        match input.read(&mut byte)? {
            0 if i == 0 => return Ok(None),
            0 => return Err(CarError::Truncated),
            _ => {}
        }
        let bits = u64::from(byte[0] & 0x7f);
        if i == 9 && bits > 1 {
            return Err(CarError::Block("varint overflows 64 bits".into()));
        }
        value |= bits << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(CarError::Block("varint too long".into()))
}

/// Streams the blocks of a CAR v1 file.
pub struct CarReader<R: Read> {
    input: R,
    roots: Vec<Cid>,
    max_block_len: u64,
}

impl<R: Read> CarReader<R> {
    /// Reads the header, with the default block size limit.
    pub fn new(input: R) -> Result<Self, CarError> {
        Self::with_limit(input, DEFAULT_MAX_BLOCK_LEN)
    }

    /// Reads the header; no block may exceed `max_block_len` bytes (CID included).
    pub fn with_limit(mut input: R, max_block_len: u64) -> Result<Self, CarError> {
        let len = read_varint(&mut input)?.ok_or(CarError::Truncated)?;
        if len == 0 || len > MAX_HEADER_LEN {
            return Err(CarError::Header(format!(
                "header length {len} out of range"
            )));
        }
        let mut bytes = vec![0u8; len as usize];
        input
            .read_exact(&mut bytes)
            .map_err(|_| CarError::Truncated)?;
        let header: Header =
            serde_ipld_dagcbor::from_slice(&bytes).map_err(|e| CarError::Header(e.to_string()))?;
        if header.version != 1 {
            return Err(CarError::Header(format!(
                "version {} is not 1",
                header.version
            )));
        }
        Ok(CarReader {
            input,
            roots: header.roots,
            max_block_len,
        })
    }

    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The next block, or `None` at the end of the file.
    pub fn next_block(&mut self) -> Result<Option<(Cid, Vec<u8>)>, CarError> {
        let Some(len) = read_varint(&mut self.input)? else {
            return Ok(None);
        };
        if len > self.max_block_len {
            return Err(CarError::BlockTooLarge {
                len,
                max: self.max_block_len,
            });
        }
        let mut bytes = vec![0u8; len as usize];
        self.input
            .read_exact(&mut bytes)
            .map_err(|_| CarError::Truncated)?;
        let mut cursor = std::io::Cursor::new(bytes.as_slice());
        let cid =
            Cid::read_bytes(&mut cursor).map_err(|e| CarError::Block(format!("bad CID: {e}")))?;
        let start = cursor.position() as usize;
        Ok(Some((cid, bytes[start..].to_vec())))
    }
}

impl<R: Read> Iterator for CarReader<R> {
    type Item = Result<(Cid, Vec<u8>), CarError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_block().transpose()
    }
}

/// Whether `bytes` hash to `cid` (sha2-256 CIDs only; any other hash is refused).
pub fn verify_block(cid: &Cid, bytes: &[u8]) -> bool {
    cid.hash().code() == 0x12 && *cid.hash().digest() == Sha256::digest(bytes)[..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::data::cid_for_cbor;

    #[test]
    fn write_then_read() {
        let a = b"\xa1\x61\x61\x01".to_vec();
        let cid = cid_for_cbor(&a);
        let car = write_car(&[cid], [(&cid, a.as_slice())]).unwrap();
        let mut reader = CarReader::new(car.as_slice()).unwrap();
        assert_eq!(reader.roots(), &[cid]);
        let (got_cid, got) = reader.next_block().unwrap().unwrap();
        assert_eq!((got_cid, got.as_slice()), (cid, a.as_slice()));
        assert!(verify_block(&got_cid, &got));
        assert!(reader.next_block().unwrap().is_none());
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocating() {
        let cid = cid_for_cbor(b"\xa0");
        let mut car = write_car(&[cid], []).unwrap();
        // A block claiming 2^40 bytes.
        write_varint(&mut car, 1 << 40).unwrap();
        let mut reader = CarReader::new(car.as_slice()).unwrap();
        assert!(matches!(
            reader.next_block(),
            Err(CarError::BlockTooLarge { .. })
        ));
        // A header claiming a huge length.
        let mut bad = Vec::new();
        write_varint(&mut bad, u64::MAX).unwrap();
        assert!(CarReader::new(bad.as_slice()).is_err());
        // Truncated block.
        let mut short = write_car(&[cid], []).unwrap();
        write_varint(&mut short, 100).unwrap();
        short.extend_from_slice(&[1, 2, 3]);
        let mut reader = CarReader::new(short.as_slice()).unwrap();
        assert!(matches!(reader.next_block(), Err(CarError::Truncated)));
    }
}
