//! The seam between the container lifecycle and the cgroup manager.
//! TEMPORARY: cgroups are not applied yet; a config that asks for resource limits fails clearly.

use crate::container::Container;
use crate::error::{Error, Result};
use oci_spec::runtime::Spec;

pub struct Plan;
pub struct Cgroup;

impl Cgroup {
    pub fn destroy(self) {}
    pub fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

pub fn plan(spec: &Spec, _id: &str) -> Result<Option<Plan>> {
    let r = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    if let Some(r) = r {
        let only_default_devices = r.memory().is_none()
            && r.cpu().is_none()
            && r.pids().is_none()
            && r.block_io().is_none()
            && r.hugepage_limits().as_ref().is_none_or(|v| v.is_empty())
            && r.network().is_none()
            && r.rdma().is_none()
            && r.unified().as_ref().is_none_or(|v| v.is_empty());
        if !only_default_devices {
            return Err(Error::Config(
                "linux.resources: cgroup limits are not supported yet".into(),
            ));
        }
    }
    Ok(None)
}

pub fn enter(_p: &Plan, _pid: i32) -> Result<Cgroup> {
    Ok(Cgroup)
}

pub fn is_paused(_c: &Container) -> bool {
    false
}

pub fn kill_all(_c: &Container, _sig: i32) -> Result<()> {
    Ok(())
}

pub fn thaw(_c: &Container) {}

pub fn destroy(_c: &Container) {}

pub fn features() -> serde_json::Value {
    serde_json::json!({"v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false})
}
