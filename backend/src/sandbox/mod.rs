//! Sandboxes for the demo and the tests: the platform (forwarding contract,
//! sample archives, fault injection) and, in `intake demo` only, an identity
//! provider. Neither is reachable from `intake serve`.

pub mod idp;
pub mod people;
pub mod platform;
