//! Spec-conformance cases: run the checker inside a container and compare with config.json.
