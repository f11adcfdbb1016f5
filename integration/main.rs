//! End-to-end tests of the husk binary.
