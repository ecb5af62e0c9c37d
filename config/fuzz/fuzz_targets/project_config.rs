//! Any text as a project config file: parsing, assembling and freezing must
//! return objects or located errors, never panic (see portcullis_config::fuzzing).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        portcullis_config::fuzzing::load_and_freeze(text);
    }
});
