//! TEMPORARY seam until the seccomp module is merged.
use crate::error::{Error, Result};
use oci_spec::runtime::Spec;

pub struct Compiled;

pub fn compile(spec: &Spec) -> Result<Option<Compiled>> {
    if spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .is_some()
    {
        return Err(Error::Config("linux.seccomp: not supported yet".into()));
    }
    Ok(None)
}

pub fn load(_c: &Compiled, _spec: &Spec) -> Result<()> {
    Ok(())
}

pub fn features() -> serde_json::Value {
    serde_json::json!({"enabled": false})
}
