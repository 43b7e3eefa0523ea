//! Integration tests for shipgate-report: every renderer, read back the way its consumer reads it.

mod renderers;
