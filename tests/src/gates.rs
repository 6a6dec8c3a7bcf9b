//! Gates for endpoints the tests run in their own process, playing a friend's device.

use tapin_net::endpoint::Gate;

/// Lets anyone in: for a test endpoint that accepts whatever dials it (a dialler accepts
/// nothing, so its gate is never consulted).
#[derive(Debug)]
pub struct Anyone;

impl Gate for Anyone {
    fn allow_sync(&self, _device: &[u8; 32]) -> bool {
        true
    }
    fn allow_pairing(&self) -> bool {
        true
    }
}

/// Lets nobody in: for a test endpoint that only dials.
#[derive(Debug)]
pub struct Nobody;

impl Gate for Nobody {
    fn allow_sync(&self, _device: &[u8; 32]) -> bool {
        false
    }
    fn allow_pairing(&self) -> bool {
        false
    }
}
