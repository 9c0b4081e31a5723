//! Tests of the frame peek: against the recorded relay frames and the full decode, every message
//! type, truncations, damaged and hostile frames.

use super::{FramePeek, peek_frame};
use crate::core::data::{self, Value};
use crate::core::firehose::{
    AccountMessage, Frame, IdentityMessage, InfoMessage, Message, SyncMessage, decode_frame,
    encode_error_frame, encode_frame,
};

/// Relay scenarios recorded from the real network (indigo's test data, vendored in tests/fixtures).
const SCENARIOS: [&str; 7] = [
    include_str!(
        "../../../../tests/fixtures/indigo-testdata/cmd/relay/testing/testdata/account_lifecycle.json"
    ),
    include_str!(
        "../../../../tests/fixtures/indigo-testdata/cmd/relay/testing/testdata/deactivation.json"
    ),
    include_str!(
        "../../../../tests/fixtures/indigo-testdata/cmd/relay/testing/testdata/legacy.json"
    ),
    include_str!(
        "../../../../tests/fixtures/indigo-testdata/cmd/relay/testing/testdata/post_lifecycle.json"
    ),
    include_str!(
        "../../../../tests/fixtures/indigo-testdata/cmd/relay/testing/testdata/post_lifecycle_legacy.json"
    ),
    include_str!(
        "../../../../tests/fixtures/indigo-testdata/cmd/relay/testing/testdata/rev_ordering.json"
    ),
    include_str!(
        "../../../../tests/fixtures/indigo-testdata/cmd/relay/testing/testdata/seq_ordering.json"
    ),
];

/// The recorded frames as bytes on the wire (header and body re-encoded from their JSON form).
fn real_frames() -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for scenario in SCENARIOS {
        let scenario: serde_json::Value = serde_json::from_str(scenario).unwrap();
        for message in scenario["messages"].as_array().unwrap() {
            let header = &message["frame"]["header"];
            let mut bytes = data::encode_value(&data::from_json(header).unwrap()).unwrap();
            bytes.extend(
                data::encode_value(&data::from_json(&message["frame"]["body"]).unwrap()).unwrap(),
            );
            frames.push(bytes);
        }
    }
    frames
}

/// The peek agrees with the full decode on a frame the full decode accepts.
#[track_caller]
fn agrees(bytes: &[u8]) -> FramePeek<'_> {
    let peek = peek_frame(bytes).unwrap();
    match decode_frame(bytes).unwrap() {
        Frame::Message(message) => {
            assert_eq!(peek.op, 1);
            assert_eq!(peek.kind, Some(message.type_name()));
            assert_eq!(peek.did, message.did());
            assert_eq!(peek.seq, message.seq());
        }
        Frame::Error(_) => assert_eq!((peek.op, peek.did, peek.seq), (-1, None, None)),
        Frame::Unknown(t) => assert_eq!((peek.kind, peek.did), (Some(t.as_str()), None)),
    }
    peek
}

#[test]
fn real_frames_give_the_account_and_seq_the_full_decode_gives() {
    let frames = real_frames();
    let mut kinds = std::collections::BTreeMap::new();
    for frame in &frames {
        let peek = agrees(frame);
        *kinds.entry(peek.kind.unwrap().to_owned()).or_insert(0) += 1;
        assert!(peek.did.unwrap().starts_with("did:"));
    }
    // Every event type that names an account is among them.
    assert_eq!(
        kinds.keys().map(String::as_str).collect::<Vec<_>>(),
        ["#account", "#commit", "#identity", "#sync"]
    );
    assert_eq!(frames.len(), 35, "recorded frames checked: {kinds:?}");
}

#[test]
fn every_message_type_and_error_frames() {
    let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    let time = "2026-12-04T10:00:00.000Z".to_owned();
    let messages = [
        Message::Sync(SyncMessage {
            seq: 9,
            did: did.into(),
            blocks: vec![1, 2, 3],
            rev: "3jzfcijpj2z2a".into(),
            time: time.clone(),
        }),
        Message::Identity(IdentityMessage {
            seq: 10,
            did: did.into(),
            time: time.clone(),
            handle: Some("alice.test".into()),
        }),
        Message::Account(AccountMessage {
            seq: 11,
            did: did.into(),
            time,
            active: false,
            status: Some("takendown".into()),
        }),
    ];
    for message in &messages {
        let bytes = encode_frame(message).unwrap();
        assert_eq!(agrees(&bytes).did, Some(did));
    }
    let info = encode_frame(&Message::Info(InfoMessage {
        name: "OutdatedCursor".into(),
        message: None,
    }))
    .unwrap();
    assert_eq!(agrees(&info).did, None);
    let error = encode_error_frame("FutureCursor", Some("cursor in the future")).unwrap();
    assert_eq!(agrees(&error).op, -1);
    // A type this implementation does not know: no account, to be passed on to the full decode.
    let mut unknown = data::encode_value(&Value::Map(
        [
            ("op".to_owned(), Value::Integer(1)),
            ("t".to_owned(), Value::from("#labels")),
        ]
        .into_iter()
        .collect(),
    ))
    .unwrap();
    unknown.extend(
        data::encode_value(&Value::Map(
            [("did".to_owned(), Value::from(did))].into_iter().collect(),
        ))
        .unwrap(),
    );
    assert_eq!(agrees(&unknown).did, None);
}

#[track_caller]
fn refused(bytes: &[u8]) {
    assert!(peek_frame(bytes).is_err(), "accepted {bytes:02x?}");
}

#[test]
fn every_truncation_of_a_real_frame_is_an_error() {
    for frame in real_frames().iter().take(8) {
        for len in 0..frame.len() {
            refused(&frame[..len]);
        }
        let mut longer = frame.clone();
        longer.push(0);
        refused(&longer);
    }
}

#[test]
fn damaged_frames_never_panic() {
    // Every single-byte change of a real #commit frame: an answer or an error, never a panic.
    let frames = real_frames();
    let frame = frames
        .iter()
        .find(|f| agrees(f).kind == Some("#commit"))
        .unwrap();
    for i in 0..frame.len().min(600) {
        for flip in [0x01, 0x20, 0x80, 0xff] {
            let mut bad = frame.clone();
            bad[i] ^= flip;
            let _ = peek_frame(&bad);
        }
    }
}

#[test]
fn hostile_shapes_are_errors() {
    let header = |t: &str| {
        data::encode_value(&Value::Map(
            [
                ("op".to_owned(), Value::Integer(1)),
                ("t".to_owned(), Value::from(t)),
            ]
            .into_iter()
            .collect(),
        ))
        .unwrap()
    };
    let with_body = |body: &[u8]| {
        let mut out = header("#commit");
        out.extend_from_slice(body);
        out
    };
    // An array claiming 2^63 items, a byte string claiming 2^64 - 1 bytes.
    refused(&with_body(&[
        0xa1, 0x61, b'x', 0x9b, 0x80, 0, 0, 0, 0, 0, 0, 0,
    ]));
    refused(&with_body(&[
        0xa1, 0x61, b'x', 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]));
    // Nesting far deeper than any DRISL value may.
    let mut deep = vec![0xa1, 0x61, b'x'];
    deep.extend(std::iter::repeat_n(0x81, 10_000));
    deep.push(0x00);
    refused(&with_body(&deep));
    // Indefinite lengths, a non-text key, a body that is not a map.
    refused(&with_body(&[0xa1, 0x61, b'x', 0x9f, 0xff]));
    refused(&with_body(&[0xa1, 0x01, 0x02]));
    refused(&with_body(&[0x80]));
    // The account twice (a decoder might keep either), or not text.
    refused(&with_body(&[
        0xa2, 0x64, b'r', b'e', b'p', b'o', 0x61, b'a', 0x64, b'r', b'e', b'p', b'o', 0x61, b'b',
    ]));
    refused(&with_body(&[0xa1, 0x64, b'r', b'e', b'p', b'o', 0x01]));
    refused(&with_body(&[
        0xa1, 0x64, b'r', b'e', b'p', b'o', 0x61, 0xff,
    ]));
    // A header without op, with an unknown op, or a message without a type.
    refused(&[0xa0, 0xa0]);
    refused(&[0xa1, 0x62, b'o', b'p', 0x02, 0xa0]);
    refused(&[0xa1, 0x62, b'o', b'p', 0x01, 0xa0]);
    refused(&[]);
    // Well-formed, the account read, the rest skipped unread.
    let ok = with_body(&[
        0xa2, 0x63, b's', b'e', b'q', 0x05, 0x64, b'r', b'e', b'p', b'o', 0x61, b'a',
    ]);
    assert_eq!(
        peek_frame(&ok).unwrap(),
        FramePeek {
            op: 1,
            kind: Some("#commit"),
            seq: Some(5),
            did: Some("a")
        }
    );
}
