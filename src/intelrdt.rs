//! linux.intelRdt (runtime-spec 1.3) through the resctrl filesystem: the container's init
//! (and every `exec`'d process) joins a CTRL_MON group named after `closID`, or after the
//! container id when there is none; schemata lines are written l3CacheSchema first, then
//! memBwSchema, then `schemata`; `enableMonitoring` adds a MON group named after the
//! container id. What this container created is listed in a record in its state directory
//! before it is created, so every way out of create and delete removes it (a group named by
//! `closID` is never removed: the spec leaves it to whoever set it up).

use crate::error::{Error, Result};
use oci_spec::runtime::LinuxIntelRdt;
use std::path::{Path, PathBuf};

const RECORD: &str = "intelrdt.json";

fn cfg(msg: String) -> Error {
    Error::Config(msg)
}

/// What this container holds in resctrl: `tasks` is the file its processes are written to,
/// `remove` the directories to remove when it goes (deepest first).
#[derive(serde::Serialize, serde::Deserialize, Debug, Default, PartialEq)]
pub struct Record {
    pub tasks: PathBuf,
    pub remove: Vec<PathBuf>,
}

/// True when intelRdt asks for anything (an empty object asks for nothing).
fn asks(r: &LinuxIntelRdt) -> bool {
    r.clos_id().as_deref().is_some_and(|s| !s.is_empty())
        || r.l3_cache_schema()
            .as_deref()
            .is_some_and(|s| !s.is_empty())
        || r.mem_bw_schema().as_deref().is_some_and(|s| !s.is_empty())
        || r.schemata().as_ref().is_some_and(|s| !s.is_empty())
        || *r.enable_monitoring() == Some(true)
}

pub fn wanted(spec: &oci_spec::runtime::Spec) -> Option<&LinuxIntelRdt> {
    spec.linux()
        .as_ref()?
        .intel_rdt()
        .as_ref()
        .filter(|r| asks(r))
}

/// The schemata lines to write, in the spec's order.
fn lines(r: &LinuxIntelRdt) -> Vec<(String, &str)> {
    let mut v = Vec::new();
    if let Some(s) = r.l3_cache_schema().as_deref().filter(|s| !s.is_empty()) {
        v.push(("linux.intelRdt.l3CacheSchema".to_string(), s));
    }
    if let Some(s) = r.mem_bw_schema().as_deref().filter(|s| !s.is_empty()) {
        v.push(("linux.intelRdt.memBwSchema".to_string(), s));
    }
    for (i, s) in r.schemata().iter().flatten().enumerate() {
        v.push((format!("linux.intelRdt.schemata[{i}]"), s.as_str()));
    }
    v
}

/// Up front, before anything exists: the values, and that this host has resctrl at all.
pub fn check(spec: &oci_spec::runtime::Spec) -> Result<()> {
    let Some(r) = wanted(spec) else {
        return Ok(());
    };
    check_values(r)?;
    mount_point().map(|_| ())
}

fn check_values(r: &LinuxIntelRdt) -> Result<()> {
    if let Some(c) = r.clos_id().as_deref() {
        if c.is_empty() || c == "." || c == ".." || c.contains(['/', '\n', '\0']) {
            return Err(cfg(format!(
                "linux.intelRdt.closID {c:?}: not a valid resctrl group name"
            )));
        }
    }
    for (field, l) in lines(r) {
        if l.contains(['\n', '\0']) || l.trim().is_empty() {
            return Err(cfg(format!(
                "{field} {l:?}: must be one non-empty schemata line"
            )));
        }
    }
    Ok(())
}

/// Where resctrl is mounted, from our mountinfo.
fn mount_point() -> Result<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let point = pre.split_whitespace().nth(4)?;
            (post.split_whitespace().next()? == "resctrl").then(|| PathBuf::from(point))
        })
        .ok_or_else(|| cfg("linux.intelRdt: this host has no resctrl filesystem mounted (Intel RDT / AMD QoS is not available or not enabled; mount -t resctrl resctrl /sys/fs/resctrl)".into()))
}

/// Put `pid` (create's init) into its group, making what is needed under the resctrl root
/// `root`; `state_dir` gets the record first.
pub fn apply(
    root: &Path,
    r: &LinuxIntelRdt,
    id: &str,
    pid: i32,
    state_dir: &Path,
) -> Result<Record> {
    check_values(r)?;
    let lines = lines(r);
    let clos = r.clos_id().as_deref().filter(|s| !s.is_empty());
    let group = root.join(clos.unwrap_or(id));
    let mut rec = Record::default();
    let exists = group.is_dir();
    if let Some(c) = clos.filter(|_| exists) {
        if !lines.is_empty() {
            same_schemata(&group, c, &lines)?;
        }
    } else if clos.is_some() && lines.is_empty() {
        return Err(cfg(format!(
            "linux.intelRdt.closID {:?}: no such resctrl group in {} (without schemata it must exist already)",
            clos.unwrap_or_default(),
            root.display()
        )));
    } else {
        if clos.is_none() {
            rec.remove.push(group.clone());
        }
        check_resources(root, &lines)?;
    }
    if *r.enable_monitoring() == Some(true) {
        let mon = group.join("mon_groups").join(id);
        rec.remove.insert(0, mon.clone());
        rec.tasks = mon.join("tasks");
    } else {
        rec.tasks = group.join("tasks");
    }
    write_record(state_dir, &rec)?;
    if !exists {
        mkdir(&group, "linux.intelRdt")?;
        for (field, l) in &lines {
            write_schemata(root, &group, field, l)?;
        }
    }
    if *r.enable_monitoring() == Some(true) {
        mkdir(
            rec.tasks.parent().unwrap_or(&group),
            "linux.intelRdt.enableMonitoring",
        )?;
    }
    join(&rec, pid)?;
    Ok(rec)
}

fn mkdir(p: &Path, field: &str) -> Result<()> {
    std::fs::create_dir(p).map_err(|e| {
        cfg(format!(
            "{field}: creating {}: {}",
            p.display(),
            crate::spec::io_desc(&e)
        ))
    })
}

/// A line for L3 needs the L3 resource, one for MB memory bandwidth allocation (runc's rule:
/// the error names what the host lacks instead of the kernel's EINVAL).
fn check_resources(root: &Path, lines: &[(String, &str)]) -> Result<()> {
    for (field, l) in lines {
        let res = l.split(':').next().unwrap_or("").trim();
        if !res.is_empty() && !root.join("info").join(res).is_dir() {
            return Err(cfg(format!(
                "{field} {l:?}: this host's resctrl has no {res} resource"
            )));
        }
    }
    Ok(())
}

fn write_schemata(root: &Path, group: &Path, field: &str, line: &str) -> Result<()> {
    let mut data = line.trim().to_string();
    data.push('\n');
    std::fs::write(group.join("schemata"), data).map_err(|e| {
        // The kernel says why in last_cmd_status.
        let why = std::fs::read_to_string(root.join("info/last_cmd_status")).unwrap_or_default();
        let why = why.trim();
        cfg(format!(
            "{field} {line:?}: {}{}{}",
            crate::spec::io_desc(&e),
            if why.is_empty() { "" } else { ": " },
            why
        ))
    })
}

/// A resource's domains as {domain: value}, values without leading zeros, lower case (the
/// kernel prints masks padded).
fn domains(line: &str) -> Option<(String, Vec<(String, String)>)> {
    let (res, rest) = line.trim().split_once(':')?;
    let mut v: Vec<(String, String)> = rest
        .split(';')
        .filter_map(|d| {
            let (k, val) = d.trim().split_once('=')?;
            let val = val.trim().to_ascii_lowercase();
            let val = val.trim_start_matches('0');
            Some((
                k.trim().to_string(),
                if val.is_empty() { "0" } else { val }.to_string(),
            ))
        })
        .collect();
    v.sort();
    Some((res.trim().to_string(), v))
}

/// An existing closID group must already have the schemata asked for (spec 1.3).
fn same_schemata(group: &Path, clos: &str, lines: &[(String, &str)]) -> Result<()> {
    let have = std::fs::read_to_string(group.join("schemata")).map_err(|e| {
        cfg(format!(
            "linux.intelRdt.closID {clos:?}: reading its schemata: {}",
            crate::spec::io_desc(&e)
        ))
    })?;
    let have: Vec<_> = have.lines().filter_map(domains).collect();
    for (field, l) in lines {
        let want = domains(l).ok_or_else(|| {
            cfg(format!(
                "{field} {l:?}: not a schemata line (RESOURCE:ID=VALUE;...)"
            ))
        })?;
        let found = have.iter().find(|(r, _)| *r == want.0);
        let ok = found.is_some_and(|(_, ds)| want.1.iter().all(|d| ds.contains(d)));
        if !ok {
            return Err(cfg(format!(
                "{field} {l:?}: the existing resctrl group {clos:?} has other schemata"
            )));
        }
    }
    Ok(())
}

fn write_record(state_dir: &Path, rec: &Record) -> Result<()> {
    let data = serde_json::to_vec(rec).unwrap_or_default();
    std::fs::write(state_dir.join(RECORD), data)
        .map_err(|e| Error::io("recording the container's resctrl group", e))
}

pub fn recorded(state_dir: &Path) -> Option<Record> {
    serde_json::from_slice(&std::fs::read(state_dir.join(RECORD)).ok()?).ok()
}

/// Put a process (init, or an `exec`'d one) into the recorded group.
pub fn join(rec: &Record, pid: i32) -> Result<()> {
    std::fs::write(&rec.tasks, pid.to_string()).map_err(|e| {
        cfg(format!(
            "linux.intelRdt: adding pid {pid} to {}: {}",
            rec.tasks.display(),
            crate::spec::io_desc(&e)
        ))
    })
}

/// Remove what the record lists (its processes are gone or about to be: resctrl moves any
/// left to the parent group), then the record.
pub fn remove_recorded(state_dir: &Path) {
    if let Some(rec) = recorded(state_dir) {
        for d in &rec.remove {
            if let Err(e) = std::fs::remove_dir(d) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log::warn!("removing resctrl group {}: {e}", d.display());
                }
            }
        }
    }
    let _ = std::fs::remove_file(state_dir.join(RECORD));
}

/// create: after init is set up (it waits on the exec fifo, its program not started).
pub fn apply_for_create(
    spec: &oci_spec::runtime::Spec,
    id: &str,
    pid: i32,
    state_dir: &Path,
) -> Result<()> {
    let Some(r) = wanted(spec) else {
        return Ok(());
    };
    apply(&mount_point()?, r, id, pid, state_dir).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake resctrl root: real resctrl files are plain files here, so the test sees what
    /// was written to them.
    struct Fake(PathBuf);
    impl Fake {
        fn new(name: &str, resources: &[&str]) -> Fake {
            let root = std::env::temp_dir().join(format!("husk-rdt-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            for r in resources {
                std::fs::create_dir_all(root.join("info").join(r)).unwrap();
            }
            std::fs::create_dir_all(&root).unwrap();
            Fake(root)
        }
        fn state(&self) -> PathBuf {
            let s = self.0.join("state");
            std::fs::create_dir_all(&s).unwrap();
            s
        }
    }
    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn rdt(json: &str) -> LinuxIntelRdt {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn group_named_after_the_container_is_made_written_joined_and_removed() {
        let f = Fake::new("own", &["L3", "MB"]);
        let st = f.state();
        let r =
            rdt(r#"{"l3CacheSchema":"L3:0=7f0","memBwSchema":"MB:0=20","schemata":["L3:0=ff"]}"#);
        // On a real resctrl each write replaces that resource's line; the fake keeps the last.
        let rec = apply(&f.0, &r, "ctr", 4242, &st).unwrap();
        let g = f.0.join("ctr");
        assert_eq!(std::fs::read_to_string(g.join("tasks")).unwrap(), "4242");
        assert_eq!(
            std::fs::read_to_string(g.join("schemata")).unwrap(),
            "L3:0=ff\n"
        );
        assert_eq!(rec.remove, vec![g.clone()]);
        assert_eq!(recorded(&st), Some(rec));
        std::fs::remove_file(g.join("tasks")).unwrap();
        std::fs::remove_file(g.join("schemata")).unwrap();
        remove_recorded(&st);
        assert!(!g.exists() && recorded(&st).is_none());
    }

    #[test]
    fn monitoring_adds_a_mon_group_removed_on_delete() {
        let f = Fake::new("mon", &["L3"]);
        let st = f.state();
        let r = rdt(r#"{"closID":"gold","enableMonitoring":true}"#);
        std::fs::create_dir_all(f.0.join("gold/mon_groups")).unwrap();
        let rec = apply(&f.0, &r, "ctr", 7, &st).unwrap();
        let mon = f.0.join("gold/mon_groups/ctr");
        assert_eq!(std::fs::read_to_string(mon.join("tasks")).unwrap(), "7");
        // closID groups stay; the MON group goes.
        assert_eq!(rec.remove, vec![mon.clone()]);
        std::fs::remove_file(mon.join("tasks")).unwrap();
        remove_recorded(&st);
        assert!(!mon.exists() && f.0.join("gold").is_dir());
    }

    #[test]
    fn existing_clos_group_must_match_and_missing_one_needs_schemata() {
        let f = Fake::new("clos", &["L3", "MB"]);
        let st = f.state();
        std::fs::create_dir_all(f.0.join("gold")).unwrap();
        std::fs::write(
            f.0.join("gold/schemata"),
            "    L3:0=007f0;1=fff\n    MB:0=100;1=100\n",
        )
        .unwrap();
        let ok = rdt(r#"{"closID":"gold","l3CacheSchema":"L3:0=7F0"}"#);
        apply(&f.0, &ok, "ctr", 9, &st).unwrap();
        assert_eq!(
            std::fs::read_to_string(f.0.join("gold/tasks")).unwrap(),
            "9"
        );
        assert!(
            recorded(&st).unwrap().remove.is_empty(),
            "a closID group is never removed"
        );
        let bad = rdt(r#"{"closID":"gold","memBwSchema":"MB:0=20"}"#);
        let e = apply(&f.0, &bad, "ctr", 9, &st).unwrap_err().to_string();
        assert!(
            e.starts_with("linux.intelRdt.memBwSchema") && e.contains("other schemata"),
            "{e}"
        );
        let missing = rdt(r#"{"closID":"silver"}"#);
        let e = apply(&f.0, &missing, "ctr", 9, &st)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no such resctrl group"), "{e}");
        // With schemata, a missing closID group is made (and kept on delete).
        let made = rdt(r#"{"closID":"silver","schemata":["L3:0=f"]}"#);
        let rec = apply(&f.0, &made, "ctr", 9, &st).unwrap();
        assert!(rec.remove.is_empty() && f.0.join("silver/schemata").is_file());
    }

    #[test]
    fn bad_values_and_missing_resources_name_the_field() {
        let f = Fake::new("bad", &["L3"]);
        let st = f.state();
        let e = |j: &str| apply(&f.0, &rdt(j), "ctr", 1, &st).unwrap_err().to_string();
        assert!(e(r#"{"closID":"a/b"}"#).starts_with("linux.intelRdt.closID"));
        assert!(e(r#"{"closID":".."}"#).starts_with("linux.intelRdt.closID"));
        assert!(e(r#"{"schemata":["L3:0=f\nMB:0=1"]}"#).starts_with("linux.intelRdt.schemata[0]"));
        assert!(e(r#"{"memBwSchema":"MB:0=20"}"#).contains("no MB resource"));
        assert!(!f.0.join("ctr").exists(), "nothing made on bad input");
        assert!(!asks(&rdt(r#"{"closID":"","schemata":[]}"#)));
    }
}
