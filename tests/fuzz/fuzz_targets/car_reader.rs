//! Fuzz target: reading and verifying a CAR must never panic or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyhold::core::repo::{load_car, verify_repo};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(repo) = load_car(bytes) {
        let _ = verify_repo(&repo, None);
    }
});
