//! Repo export as a CAR in the streamable order: commit, then MST nodes in pre-order with each
//! node's records right after it, in entry order.
//!
//! Spec: <https://atproto.com/specs/repository#streamable-car-block-ordering>.

use std::io::Write;

use cid::Cid;

use crate::core::car::{CarError, CarWriter};
use crate::core::mst::{BlockSource, Mst, MstError};

/// Writes a full repo export. `commit` is the commit block; records are read from `source`.
pub fn export_car<W: Write>(
    out: W,
    commit: (&Cid, &[u8]),
    mst: &mut Mst,
    source: &dyn BlockSource,
) -> Result<W, CarError> {
    let mut writer = CarWriter::new(out, &[*commit.0])?;
    writer.write_block(commit.0, commit.1)?;
    let mut failure: Option<CarError> = None;
    let result = mst.walk_export(source, &mut |item| {
        let (cid, bytes) = match item {
            crate::core::mst::ExportItem::Node(cid, bytes) => (*cid, bytes.to_vec()),
            crate::core::mst::ExportItem::Record(_, cid) => {
                let bytes = source.get_block(cid)?.ok_or(MstError::MissingBlock(*cid))?;
                (*cid, bytes)
            }
        };
        writer.write_block(&cid, &bytes).map_err(|e| {
            let message = e.to_string();
            failure = Some(e);
            MstError::Source(message)
        })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    result.map_err(|e| CarError::Block(e.to_string()))?;
    Ok(writer.finish())
}
