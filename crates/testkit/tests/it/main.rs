//! Integration tests for shipgate-testkit: each server starts and answers a real
//! query or command; each fault behaves as documented; dropping a handle stops it.

mod faults;
mod servers;
