//! Custody events (docs/FORMATS.md §3): bytes that `Event::from_canonical_bytes` accepts are
//! canonical, so the event writes back to exactly those bytes; JSON that `jcs::parse_json`
//! accepts re-parses from its canonical form to the same value. Seeds: `fuzz/seeds/event`
//! (the events of the honest fixture bundle).
#![no_main]

use custos_core::event::Event;
use custos_core::jcs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = Event::from_canonical_bytes(data) {
        assert_eq!(
            event.to_canonical_bytes(),
            data,
            "an accepted event is canonical"
        );
    }
    if let Ok(value) = jcs::parse_json(data) {
        let canonical = jcs::to_canonical(&value);
        let again = jcs::parse_json(&canonical).expect("canonical JSON parses");
        assert_eq!(again, value, "canonical JSON parses to the same value");
    }
});
