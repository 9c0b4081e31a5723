//! Labels (`com.atproto.label.defs#label`) and the `#labels` frames of
//! `com.atproto.label.subscribeLabels`: decoding, signing and signature checks.
//!
//! Spec: <https://atproto.com/specs/label>. A label is signed by its labeler's `#atproto_label`
//! key over the DRISL encoding of the label without `sig`; the signature is 64-byte compact low-S.
//! Labels are version 1. Does not check that `src` is the labeler being followed, or expiry: that
//! is the consumer's policy.

use serde::{Deserialize, Serialize};

use super::crypto::{Keypair, PublicKey};
use super::data::{self, drisl};
use super::firehose::{FrameError, MAX_FRAME_LEN};

/// A label, as it travels in `#labels` frames and `queryLabels` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<i64>,
    pub src: String,
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    pub val: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neg: Option<bool>,
    pub cts: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "serde_bytes_opt"
    )]
    pub sig: Option<Vec<u8>>,
}

mod serde_bytes_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => serde_bytes::serialize(bytes, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<serde_bytes::ByteBuf>::deserialize(d).map(|b| b.map(|b| b.into_vec()))
    }
}

/// Why a label was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LabelError {
    #[error("the label has no signature")]
    Unsigned,
    #[error("bad label signature")]
    BadSignature,
    #[error("label encoding: {0}")]
    Encoding(String),
}

impl Label {
    /// The bytes the signature covers: the label without `sig`.
    fn signing_bytes(&self) -> Result<Vec<u8>, LabelError> {
        let unsigned = Label {
            sig: None,
            ..self.clone()
        };
        data::encode(&unsigned).map_err(|e| LabelError::Encoding(e.to_string()))
    }

    /// Signs the label with the labeler's key.
    pub fn sign(mut self, key: &Keypair) -> Result<Label, LabelError> {
        let bytes = self.signing_bytes()?;
        self.sig = Some(key.sign(&bytes).to_vec());
        Ok(self)
    }

    /// Checks the signature with the labeler's `#atproto_label` key.
    pub fn verify(&self, key: &PublicKey) -> Result<(), LabelError> {
        let sig = self.sig.as_ref().ok_or(LabelError::Unsigned)?;
        let bytes = self.signing_bytes()?;
        key.verify(&bytes, sig)
            .map_err(|_| LabelError::BadSignature)
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    op: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct LabelsBody {
    seq: i64,
    labels: Vec<Label>,
}

/// A frame of `subscribeLabels`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelFrame {
    Labels {
        seq: i64,
        labels: Vec<Label>,
    },
    /// `#info`, or a message type this implementation does not know.
    Other,
    /// An error frame: the stream ends.
    Error(String),
}

/// Decodes a `subscribeLabels` frame strictly (both parts canonical DRISL, size bounded).
pub fn decode_label_frame(bytes: &[u8]) -> Result<LabelFrame, FrameError> {
    if bytes.len() > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge(bytes.len()));
    }
    let header_len = drisl::first_item_len(bytes)?;
    let header: Header = data::decode(&bytes[..header_len])?;
    let body = &bytes[header_len..];
    match (header.op, header.t.as_deref()) {
        (-1, _) => {
            let error: super::firehose::ErrorMessage = data::decode(body)?;
            Ok(LabelFrame::Error(error.error))
        }
        (1, Some("#labels")) => {
            let body: LabelsBody = data::decode(body)?;
            Ok(LabelFrame::Labels {
                seq: body.seq,
                labels: body.labels,
            })
        }
        (1, _) => Ok(LabelFrame::Other),
        (other, _) => Err(FrameError::Invalid(format!("unknown op {other}"))),
    }
}

/// Encodes a `#labels` frame (labelers and tests).
pub fn encode_label_frame(seq: i64, labels: &[Label]) -> Result<Vec<u8>, FrameError> {
    let mut out = data::encode(&Header {
        op: 1,
        t: Some("#labels".into()),
    })?;
    out.extend(data::encode(&LabelsBody {
        seq,
        labels: labels.to_vec(),
    })?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::crypto::Algorithm;

    fn label(val: &str) -> Label {
        Label {
            ver: Some(1),
            src: "did:plc:labeler".into(),
            uri: "at://did:plc:a/app.bsky.feed.post/3k2a".into(),
            cid: None,
            val: val.into(),
            neg: None,
            cts: "2024-01-01T00:00:00.000Z".into(),
            exp: None,
            sig: None,
        }
    }

    #[test]
    fn signed_labels_verify_and_tampering_is_caught() {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let signed = label("spam").sign(&key).unwrap();
        signed.verify(&key.public_key()).unwrap();
        let mut tampered = signed.clone();
        tampered.val = "ok".into();
        assert_eq!(
            tampered.verify(&key.public_key()),
            Err(LabelError::BadSignature)
        );
        assert_eq!(
            label("x").verify(&key.public_key()),
            Err(LabelError::Unsigned)
        );
    }

    #[test]
    fn frames_round_trip() {
        let key = Keypair::generate(Algorithm::K256, &mut rand_core::OsRng);
        let labels = vec![label("spam").sign(&key).unwrap()];
        let frame = encode_label_frame(7, &labels).unwrap();
        assert_eq!(
            decode_label_frame(&frame).unwrap(),
            LabelFrame::Labels { seq: 7, labels }
        );
        assert!(decode_label_frame(b"\x01").is_err());
    }
}
