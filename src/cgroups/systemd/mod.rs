//! The systemd cgroup driver (`--systemd-cgroup`), as runc's: the container's cgroup is a
//! transient scope `PREFIX-NAME.scope` in a slice, made by systemd (StartTransientUnit over the
//! system bus) with the container's init in it and `Delegate=yes`; its limits are given to
//! systemd as unit properties (so that systemd keeps them when it re-applies its own), then
//! written to the scope's files as the cgroupfs driver writes them (the ones systemd has no
//! property for among them). Everything else (pause, ps, stats, exec, kill) works on the
//! scope's cgroup2 directory as with cgroupfs. Pure cgroup v2 hosts only.

pub mod dbus;
pub mod props;
#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use dbus::{Bus, Value};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FIELD: &str = "linux.cgroupsPath";
const DEST: &str = "org.freedesktop.systemd1";
const OBJ: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// How long a start or stop job of systemd may take (runc waits as long).
const JOB_TIMEOUT: Duration = Duration::from_secs(30);
const CALL_TIMEOUT: Duration = Duration::from_secs(25);

/// The unit that holds a container (recorded in state.json, for update and delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub name: String,
    pub slice: String,
}

impl Unit {
    fn is_slice(&self) -> bool {
        self.name.ends_with(".slice")
    }
}

/// `-.slice` is the root; `a-b-c.slice` lives in `a.slice/a-b.slice/a-b-c.slice` (systemd's
/// naming). Returns the path below the cgroup2 root, None for a name that is no slice name.
pub fn expand_slice(slice: &str) -> Option<String> {
    let base = slice
        .strip_suffix(".slice")
        .filter(|_| !slice.contains('/'))?;
    if base == "-" {
        return Some(String::new());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in base.split('-') {
        if part.is_empty() {
            return None;
        }
        path.push_str(&format!("/{prefix}{part}.slice"));
        prefix.push_str(&format!("{part}-"));
    }
    Some(path)
}

fn valid_unit_chars(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_alphanumeric() || b":-_.\\@".contains(&c))
}

/// The unit and its cgroup path (below the cgroup2 root) for a systemd-form cgroupsPath
/// `slice:prefix:name`: slice defaults to system.slice, a name ending in .slice makes a
/// slice, anything else the scope `prefix-name.scope`. No cgroupsPath means `:husk:<id>`.
pub fn parse_path(p: Option<&str>, id: &str) -> Result<(Unit, String)> {
    let owned;
    let p = match p.filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => {
            owned = format!(":husk:{id}");
            &owned
        }
    };
    let parts: Vec<&str> = p.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(Error::Config(format!(
            "{FIELD} {p:?}: the systemd cgroup driver expects the form slice:prefix:name"
        )));
    };
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    let slice_dir = expand_slice(slice).ok_or_else(|| {
        Error::Config(format!(
            "{FIELD} {p:?}: {slice:?} is not a systemd slice name (NAME.slice, parents joined by '-', no '/')"
        ))
    })?;
    // Empty parts are runc's too: "system.slice:p:" is the scope "p-.scope".
    if !valid_unit_chars(name) || !valid_unit_chars(prefix) {
        return Err(Error::Config(format!(
            "{FIELD} {p:?}: prefix and name must be systemd unit name parts \
             (letters, digits and :-_.\\@)"
        )));
    }
    let unit = Unit {
        name: if name.ends_with(".slice") {
            name.to_string()
        } else {
            format!("{prefix}-{name}.scope")
        },
        slice: slice.to_string(),
    };
    let dir = if unit.is_slice() {
        expand_slice(&unit.name).ok_or_else(|| {
            Error::Config(format!(
                "{FIELD} {p:?}: {name:?} is not a systemd slice name"
            ))
        })?
    } else {
        format!("{slice_dir}/{}", unit.name)
    };
    if unit.name.len() > 255 {
        return Err(Error::Config(format!(
            "{FIELD} {p:?}: the unit name is longer than 255 bytes"
        )));
    }
    Ok((unit, dir))
}

/// A connection to systemd on the system bus, or one line saying there is none.
pub fn connect() -> Result<Bus> {
    let path = dbus::system_bus_socket();
    Bus::connect(&path, CALL_TIMEOUT).map_err(|e| {
        Error::Other(format!(
            "--systemd-cgroup: no systemd system bus ({e}); the systemd cgroup driver needs \
             systemd as init and its bus (omit --systemd-cgroup for the cgroupfs driver)"
        ))
    })
}

fn call(bus: &mut Bus, member: &str, body: &[Value]) -> Result<Vec<Value>> {
    bus.call(DEST, OBJ, MANAGER, member, body, CALL_TIMEOUT)
}

/// Whether systemd answers on the system bus (for `features`).
pub fn available() -> bool {
    let Ok(mut bus) = Bus::connect(&dbus::system_bus_socket(), Duration::from_secs(2)) else {
        return false;
    };
    let body = [Value::Str(MANAGER.into()), Value::Str("Version".into())];
    bus.call(
        DEST,
        OBJ,
        "org.freedesktop.DBus.Properties",
        "Get",
        &body,
        Duration::from_secs(2),
    )
    .is_ok()
}

fn subscribe_jobs(bus: &mut Bus) -> Result<()> {
    let rule = format!(
        "type='signal',sender='{DEST}',path='{OBJ}',interface='{MANAGER}',member='JobRemoved'"
    );
    bus.call(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "AddMatch",
        &[Value::Str(rule)],
        CALL_TIMEOUT,
    )
    .map(|_| ())
}

/// Wait (bounded) for systemd's JobRemoved of `job`; its result must be "done".
fn wait_job(bus: &mut Bus, job: &str, unit: &str, what: &str) -> Result<()> {
    let deadline = Instant::now() + JOB_TIMEOUT;
    loop {
        let hit = bus.signals.iter().find_map(|m| {
            let is_it = m.member.as_deref() == Some("JobRemoved")
                && m.body.get(1).and_then(Value::as_str) == Some(job);
            is_it.then(|| {
                m.body
                    .get(3)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
        });
        bus.signals.clear();
        match hit.as_deref() {
            Some("done") => return Ok(()),
            Some(r) => {
                return Err(Error::Other(format!(
                    "systemd could not {what} unit {unit}: its job ended with result {r:?}"
                )))
            }
            None => {}
        }
        match bus.recv(deadline) {
            Ok(m) if m.kind == dbus::SIGNAL => bus.signals.push(m),
            Ok(_) => {}
            Err(_) if Instant::now() >= deadline => {
                return Err(Error::Other(format!(
                    "systemd did not {what} unit {unit} within {}s",
                    JOB_TIMEOUT.as_secs()
                )))
            }
            Err(e) => return Err(e),
        }
    }
}

fn job_path(reply: &[Value]) -> Result<String> {
    reply
        .first()
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::Other("systemd: a job call returned no job".into()))
}

/// A systemd error "NAME: text" says `kind` (e.g. "NoSuchUnit").
fn is_error(e: &Error, kind: &str) -> bool {
    matches!(e, Error::Other(t) if t.starts_with(&format!("org.freedesktop.systemd1.{kind}:")))
}

/// The properties systemd needs to make the unit, before the resources and annotations
/// (which come last, so an annotation overrides).
fn base_props(unit: &Unit, id: &str, pid: i32) -> Vec<(String, Value)> {
    let mut p = vec![(
        "Description".to_string(),
        Value::Str(format!("libcontainer container {id}")),
    )];
    if unit.is_slice() {
        p.push((
            "Wants".into(),
            Value::Array("s".into(), vec![Value::Str(unit.slice.clone())]),
        ));
    } else {
        p.push(("Slice".into(), Value::Str(unit.slice.clone())));
        p.push((
            "PIDs".into(),
            Value::Array("u".into(), vec![Value::U32(pid as u32)]),
        ));
        p.push(("Delegate".into(), Value::Bool(true)));
    }
    for a in [
        "MemoryAccounting",
        "CPUAccounting",
        "IOAccounting",
        "TasksAccounting",
    ] {
        p.push((a.into(), Value::Bool(true)));
    }
    p.push(("DefaultDependencies".into(), Value::Bool(false)));
    p
}

/// A systemd refusal of a property, naming the annotation it came from where it did.
fn refused(unit: &str, e: Error, annotated: &[(String, Value)]) -> Error {
    let text = e.to_string();
    let from = annotated
        .iter()
        .find(|(n, _)| text.contains(&format!(" {n}")))
        .map(|(n, _)| format!(" (annotation org.systemd.property.{n})"))
        .unwrap_or_default();
    Error::Other(format!(
        "systemd refused to create unit {unit}: {text}{from}"
    ))
}

/// The unit of a container about to be made: the bus connection (opened while create
/// checks its input, so that a host without systemd fails before anything exists) and the
/// properties it will get.
pub struct Pending {
    bus: Mutex<Bus>,
    pub unit: Unit,
    id: String,
    resources: Vec<(String, Value)>,
    annotated: Vec<(String, Value)>,
}

impl Pending {
    pub fn new(
        unit: Unit,
        id: &str,
        resources: &oci_spec::runtime::LinuxResources,
        annotations: impl Iterator<Item = (String, String)>,
    ) -> Result<Pending> {
        let ann: Vec<(String, String)> = annotations.collect();
        let annotated = props::from_annotations(ann.iter().map(|(k, v)| (k, v)))?;
        let resources = props::from_resources(&crate::cgroups::strip_unset(resources))?;
        let mut bus = connect()?;
        subscribe_jobs(&mut bus)?;
        Ok(Pending {
            bus: Mutex::new(bus),
            unit,
            id: id.to_string(),
            resources,
            annotated,
        })
    }

    /// Make the unit with `pid` in it and wait until systemd has; `dir` is its cgroup
    /// directory (a slice gets the pid written there, as systemd puts no process in one).
    pub fn start(&self, pid: i32, dir: &Path) -> Result<()> {
        let mut bus = self.bus.lock().unwrap_or_else(|e| e.into_inner());
        let name = &self.unit.name;
        let mut p = base_props(&self.unit, &self.id, pid);
        p.extend(self.resources.iter().cloned());
        p.extend(self.annotated.iter().cloned());
        let body = [
            Value::Str(name.clone()),
            Value::Str("replace".into()),
            Value::props(p),
            Value::Array("(sa(sv))".into(), vec![]),
        ];
        let reply = match call(&mut bus, "StartTransientUnit", &body) {
            // A failed unit of that name lingers until reset (runc resets it too).
            Err(e) if is_error(&e, "UnitExists") => {
                let _ = call(&mut bus, "ResetFailedUnit", &[Value::Str(name.clone())]);
                call(&mut bus, "StartTransientUnit", &body)
            }
            r => r,
        }
        .map_err(|e| refused(name, e, &self.annotated))?;
        wait_job(&mut bus, &job_path(&reply)?, name, "start")?;
        if self.unit.is_slice() {
            crate::cgroups::util::write(dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }
}

/// `update`: the resources as unit properties, kept by systemd (runtime only, as runc).
pub fn set_resources(unit: &Unit, r: &oci_spec::runtime::LinuxResources) -> Result<()> {
    let p = props::from_resources(r)?;
    if p.is_empty() {
        return Ok(());
    }
    let mut bus = connect()?;
    let body = [
        Value::Str(unit.name.clone()),
        Value::Bool(true),
        Value::props(p),
    ];
    call(&mut bus, "SetUnitProperties", &body)
        .map(|_| ())
        .map_err(|e| Error::Other(format!("systemd refused to update unit {}: {e}", unit.name)))
}

/// Stop the unit and wait until systemd has (it removes the cgroup); a unit already gone
/// is fine. A failed unit is reset so that nothing stays listed.
pub fn stop(unit: &Unit) -> Result<()> {
    let mut bus = connect()?;
    subscribe_jobs(&mut bus)?;
    let name = Value::Str(unit.name.clone());
    match call(
        &mut bus,
        "StopUnit",
        &[name.clone(), Value::Str("replace".into())],
    ) {
        Ok(reply) => wait_job(&mut bus, &job_path(&reply)?, &unit.name, "stop")?,
        Err(e) if is_error(&e, "NoSuchUnit") => {}
        Err(e) => return Err(Error::Other(format!("stopping unit {}: {e}", unit.name))),
    }
    let _ = call(&mut bus, "ResetFailedUnit", &[name]);
    Ok(())
}

/// The container's cgroup directory for `dir` (from [`parse_path`]) below the cgroup2
/// mount `mount`.
pub fn cgroup_dir(mount: &Path, dir: &str) -> PathBuf {
    mount.join(dir.trim_start_matches('/'))
}

/// The cgroup a container gets from systemd, checked before anything exists: the
/// cgroupsPath, the annotations and resources as properties, the bus, a pure v2 host.
/// Returns the state to record, the runtime's mountinfo and the unit to make.
pub fn plan(
    cgroups_path: Option<&str>,
    id: &str,
    r: &oci_spec::runtime::LinuxResources,
    annotations: impl Iterator<Item = (String, String)>,
) -> Result<(super::CgroupState, String, Pending)> {
    let (unit, dir) = parse_path(cgroups_path, id)?;
    let pending = Pending::new(unit.clone(), id, r, annotations)?;
    let (host, mountinfo) = super::detect_host_and_mountinfo()?;
    let mount = match (host.layout, host.unified) {
        (super::Layout::V2, Some((mount, _))) => mount,
        (l, _) => {
            return Err(Error::Other(format!(
                "--systemd-cgroup: this host's cgroups are {l:?} (cgroup v1 hierarchies mounted); \
                 husk's systemd driver needs a pure cgroup v2 host"
            )))
        }
    };
    let path = cgroup_dir(&mount, &dir);
    let st = super::CgroupState {
        layout: super::Layout::V2,
        v1: Vec::new(),
        unified: Some(super::UnifiedHierarchy { mount, path }),
        systemd: Some(unit),
    };
    Ok((st, mountinfo, pending))
}
