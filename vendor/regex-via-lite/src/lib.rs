//! oci-spec compiles one regular expression (the execCPUAffinity list syntax) and so pulls in
//! the full `regex` crate with Unicode tables and several matching engines: the largest part
//! of husk's binary. `regex-lite`, by the same authors, has the same `Regex::new`/`is_match` API
//! without them. This crate stands in for `regex` through `[patch.crates-io]`.
pub use regex_lite::*;
