//! Integration tests for shipgate-config: real files on disk, errors with positions,
//! and secrets that no report renderer prints.

mod errors;
mod loading;
mod secrets;
