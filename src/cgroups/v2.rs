//! cgroup v2 driver (pure v2 hosts, and the unified part of hybrid hosts). Every function
//! takes the directories to work on, so tests can run it against a fake tree.

use std::path::Path;
use std::time::Duration;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::util::{self, set};
use super::{ebpf, v1, Manager};
use crate::error::{Error, Result};

/// Controllers a cgroup2 directory offers (its cgroup.controllers).
pub(super) fn available_controllers(dir: &Path) -> Vec<String> {
    util::read_opt(dir, "cgroup.controllers")
        .ok()
        .flatten()
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Enable `ctrls` in cgroup.subtree_control of every directory from `mount` down to the
/// parent of `leaf` (creating missing directories), so that `leaf` gets their files.
/// `strict`: fail when a controller cannot be enabled; otherwise skip it (as runc does at
/// create time on v2, where some controllers may be unavailable in a sub-tree).
pub(super) fn enable_controllers(
    mount: &Path,
    leaf: &Path,
    ctrls: &[String],
    strict: bool,
) -> Result<()> {
    let Ok(rel) = leaf.strip_prefix(mount) else {
        return Err(Error::Other(format!(
            "cgroup {} is not under {}",
            leaf.display(),
            mount.display()
        )));
    };
    let mut dir = mount.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for (i, c) in comps.iter().enumerate() {
        if i > 0 {
            util::mkdir_p(&dir)?;
        }
        let have = util::read_opt(&dir, "cgroup.subtree_control")?.unwrap_or_default();
        let have: Vec<&str> = have.split_whitespace().collect();
        let offered = available_controllers(&dir);
        for ctrl in ctrls {
            if have.contains(&ctrl.as_str()) {
                continue;
            }
            if !offered.contains(ctrl) {
                if strict {
                    return Err(Error::Other(format!(
                        "the {ctrl} controller is not available in cgroup {}",
                        dir.display()
                    )));
                }
                continue;
            }
            if let Err(e) = util::write(&dir, "cgroup.subtree_control", &format!("+{ctrl}")) {
                if strict {
                    return Err(e);
                }
                log::debug!("not enabling {ctrl} in {}: {e}", dir.display());
            }
        }
        dir.push(c);
    }
    Ok(())
}

/// The leaf directory, or a Config error when `controller` is not enabled for it.
fn need<'a>(dir: &'a Path, controller: &str, field: &str) -> Result<&'a Path> {
    if available_controllers(dir).iter().any(|c| c == controller) {
        Ok(dir)
    } else {
        Err(v1::missing(controller, field))
    }
}

/// runc's conversion of cgroup v1 cpu.shares (2..262144) to cgroup v2 cpu.weight (1..10000).
pub(super) fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262142
}

/// runc's conversion of blkio weight (10..1000) to io.weight (1..10000).
pub(super) fn blkio_weight_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (u64::from(w).saturating_sub(10) * 9999) / 990
}

/// v1 memory.memsw semantics (memory+swap) to v2 memory.swap.max (swap only), as runc:
/// returns the value to write, None to leave the file alone.
pub(super) fn swap_to_v2(swap: i64, limit: i64) -> Result<Option<String>> {
    if limit == -1 && swap == 0 {
        return Ok(Some("max".into()));
    }
    match swap {
        0 => Ok(None),
        -1 => Ok(Some("max".into())),
        _ => {
            if limit == 0 || limit == -1 {
                return Err(Error::Config(
                    "linux.resources.memory.swap: a swap limit needs a memory limit (linux.resources.memory.limit)"
                        .into(),
                ));
            }
            if swap < limit {
                return Err(Error::Config(format!(
                    "linux.resources.memory.swap: {swap} is below linux.resources.memory.limit {limit} \
                     (swap is memory+swap and must be >= the memory limit)"
                )));
            }
            Ok(Some((swap - limit).to_string()))
        }
    }
}

fn num(v: i64) -> Option<String> {
    match v {
        0 => None,
        -1 => Some("max".into()),
        v => Some(v.to_string()),
    }
}

pub(super) fn memory(dir: &Path, m: &LinuxMemory) -> Result<()> {
    let limit = v1::mem_value(m.limit(), "linux.resources.memory.limit")?;
    let swap = v1::mem_value(m.swap(), "linux.resources.memory.swap")?;
    let reservation = v1::mem_value(m.reservation(), "linux.resources.memory.reservation")?;
    if limit == 0 && swap == 0 && reservation == 0 {
        warn_ignored(m);
        return Ok(());
    }
    let first = if limit != 0 {
        "limit"
    } else if swap != 0 {
        "swap"
    } else {
        "reservation"
    };
    let dir = need(dir, "memory", &format!("linux.resources.memory.{first}"))?;
    if m.check_before_update() == Some(true) && limit > 0 {
        if let Some(cur) = util::read_u64_opt(dir, "memory.current")? {
            if (limit as u64) < cur {
                return Err(Error::Config(format!(
                    "linux.resources.memory.limit: {limit} is below the current usage {cur} \
                     (checkBeforeUpdate is set)"
                )));
            }
        }
    }
    let mut swap_str = swap_to_v2(swap, limit)?;
    if swap_str.as_deref() == Some("0") && swap > 0 {
        swap_str = Some("0".into()); // memory == memory+swap: no swap at all
    }
    if let Some(s) = swap_str {
        if let Err(e) = set(dir, "memory.swap.max", &s, "linux.resources.memory.swap") {
            // No swap accounting: "unlimited" or "none" are what the host does anyway.
            let missing = !dir.join("memory.swap.max").exists();
            if !(missing && (s == "max" || s == "0")) {
                return Err(e);
            }
        }
    }
    if let Some(v) = num(limit) {
        set(dir, "memory.max", &v, "linux.resources.memory.limit")?;
    }
    if let Some(v) = num(reservation) {
        set(dir, "memory.low", &v, "linux.resources.memory.reservation")?;
    }
    warn_ignored(m);
    Ok(())
}

fn warn_ignored(m: &LinuxMemory) {
    if m.kernel().is_some() || m.kernel_tcp().is_some() {
        log::warn!(
            "linux.resources.memory.kernel/kernelTCP have no cgroup v2 equivalent and are ignored"
        );
    }
    if m.swappiness().is_some() {
        log::warn!("linux.resources.memory.swappiness has no cgroup v2 equivalent and is ignored");
    }
    if m.disable_oom_killer() == Some(true) {
        log::warn!(
            "linux.resources.memory.disableOOMKiller has no cgroup v2 equivalent and is ignored"
        );
    }
}

pub(super) fn cpu(dir: &Path, c: &LinuxCpu) -> Result<()> {
    let f = |n: &str| format!("linux.resources.cpu.{n}");
    if c.realtime_runtime().is_some_and(|v| v != 0) || c.realtime_period().is_some_and(|v| v != 0) {
        return Err(Error::Config(
            "linux.resources.cpu.realtimeRuntime/realtimePeriod: real-time scheduling limits are not \
             supported by cgroup v2"
                .into(),
        ));
    }
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        if !(2..=262144).contains(&s) {
            return Err(Error::Config(format!(
                "linux.resources.cpu.shares: invalid value {s} (expected 2 to 262144)"
            )));
        }
        let dir = need(dir, "cpu", &f("shares"))?;
        set(
            dir,
            "cpu.weight",
            &shares_to_weight(s).to_string(),
            &f("shares"),
        )?;
    }
    let quota = c.quota().unwrap_or(0);
    let period = c.period().unwrap_or(0);
    if quota != 0 || period != 0 {
        let dir = need(dir, "cpu", &f(if quota != 0 { "quota" } else { "period" }))?;
        let mut v = if quota > 0 {
            quota.to_string()
        } else {
            "max".to_string()
        };
        if period != 0 {
            v += &format!(" {period}");
        }
        set(dir, "cpu.max", &v, &f("quota"))?;
    }
    if let Some(b) = c.burst() {
        let dir = need(dir, "cpu", &f("burst"))?;
        set(dir, "cpu.max.burst", &b.to_string(), &f("burst"))?;
    }
    if let Some(i) = c.idle() {
        let dir = need(dir, "cpu", &f("idle"))?;
        set(dir, "cpu.idle", &i.to_string(), &f("idle"))?;
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        let dir = need(dir, "cpuset", &f("cpus"))?;
        set(dir, "cpuset.cpus", cpus, &f("cpus"))?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        let dir = need(dir, "cpuset", &f("mems"))?;
        set(dir, "cpuset.mems", mems, &f("mems"))?;
    }
    Ok(())
}

pub(super) fn io(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    let f = |n: &str| format!("linux.resources.blockIO.{n}");
    let bfq = dir.join("io.bfq.weight").exists();
    let dev_count = b.weight_device().as_ref().map_or(0, Vec::len)
        + [
            b.throttle_read_bps_device(),
            b.throttle_write_bps_device(),
            b.throttle_read_iops_device(),
            b.throttle_write_iops_device(),
        ]
        .iter()
        .map(|v| v.as_ref().map_or(0, Vec::len))
        .sum::<usize>();
    if b.weight().is_none() && dev_count == 0 {
        if b.leaf_weight().is_some() {
            log::warn!(
                "linux.resources.blockIO.leafWeight has no cgroup v2 equivalent and is ignored"
            );
        }
        return Ok(());
    }
    let first = if b.weight().is_some() {
        "weight"
    } else {
        "weightDevice"
    };
    let dir = need(dir, "io", &f(first))?;
    if let Some(w) = b.weight() {
        v1::check_weight(w, &f("weight"))?;
        if bfq {
            set(dir, "io.bfq.weight", &w.to_string(), &f("weight"))?;
        } else {
            set(
                dir,
                "io.weight",
                &blkio_weight_to_io_weight(w).to_string(),
                &f("weight"),
            )?;
        }
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(w) = d.weight() {
            let field = format!("linux.resources.blockIO.weightDevice[{i}].weight");
            v1::check_weight(w, &field)?;
            if bfq {
                set(
                    dir,
                    "io.bfq.weight",
                    &format!("{}:{} {w}", d.major(), d.minor()),
                    &field,
                )?;
            } else {
                let v = format!(
                    "{}:{} {}",
                    d.major(),
                    d.minor(),
                    blkio_weight_to_io_weight(w)
                );
                set(dir, "io.weight", &v, &field)?;
            }
        }
    }
    let throttles = [
        (
            "throttleReadBpsDevice",
            b.throttle_read_bps_device(),
            "rbps",
        ),
        (
            "throttleWriteBpsDevice",
            b.throttle_write_bps_device(),
            "wbps",
        ),
        (
            "throttleReadIOPSDevice",
            b.throttle_read_iops_device(),
            "riops",
        ),
        (
            "throttleWriteIOPSDevice",
            b.throttle_write_iops_device(),
            "wiops",
        ),
    ];
    for (name, list, key) in throttles {
        for (i, d) in list.iter().flatten().enumerate() {
            let rate = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            let v = format!("{}:{} {key}={rate}", d.major(), d.minor());
            set(
                dir,
                "io.max",
                &v,
                &format!("linux.resources.blockIO.{name}[{i}]"),
            )?;
        }
    }
    Ok(())
}

fn hugetlb(dir: &Path, r: &LinuxResources) -> Result<()> {
    for l in r.hugepage_limits().iter().flatten() {
        let size = super::stats::check_page_size(l.page_size())?;
        let field = format!("linux.resources.hugepageLimits[{}].limit", l.page_size());
        let dir = need(dir, "hugetlb", &field)?;
        let v = if l.limit() < 0 {
            "max".to_string()
        } else {
            l.limit().to_string()
        };
        set(dir, &format!("hugetlb.{size}.max"), &v, &field)?;
        let rsvd = format!("hugetlb.{size}.rsvd.max");
        if dir.join(&rsvd).exists() {
            set(dir, &rsvd, &v, &field)?;
        }
    }
    Ok(())
}

fn unified(dir: &Path, r: &LinuxResources) -> Result<()> {
    let Some(map) = r.unified() else {
        return Ok(());
    };
    // Sorted for a deterministic order.
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for k in keys {
        let field = format!("linux.resources.unified[{k:?}]");
        if k.is_empty() || k.contains('/') || k.starts_with('.') {
            return Err(Error::Config(format!("{field}: invalid cgroup file name")));
        }
        if k == "cgroup.procs" || k == "cgroup.threads" || k == "cgroup.subtree_control" {
            return Err(Error::Config(format!(
                "{field}: {k} cannot be set through linux.resources.unified"
            )));
        }
        if let Some((ctrl, _)) = k.split_once('.') {
            if ctrl != "cgroup" && !available_controllers(dir).iter().any(|c| c == ctrl) {
                return Err(Error::Config(format!(
                    "{field}: the {ctrl} controller is not available in cgroup {}",
                    dir.display()
                )));
            }
        }
        set(dir, k, &map[k], &field)?;
    }
    Ok(())
}

fn unified_controllers_wanted(r: &LinuxResources) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for k in r.unified().iter().flat_map(|m| m.keys()) {
        if let Some((c, _)) = k.split_once('.') {
            if c != "cgroup" && !v.iter().any(|x| x == c) {
                v.push(c.to_string());
            }
        }
    }
    v
}

/// Pure v2: all of linux.resources.
pub(super) fn apply(m: &Manager, r: &LinuxResources) -> Result<()> {
    let u =
        m.st.unified
            .as_ref()
            .ok_or_else(|| Error::Other("no cgroup2 hierarchy".into()))?;
    let dir = u.path.as_path();
    // Validated (and loaded) before anything is written, so a bad rule changes nothing.
    if let Some(rules) = r.devices() {
        ebpf::apply(dir, rules)?;
    }
    if let Some(mem) = r.memory() {
        memory(dir, mem)?;
    }
    if let Some(c) = r.cpu() {
        cpu(dir, c)?;
    }
    if let Some(v) = super::pids_max(r) {
        let dir = need(dir, "pids", "linux.resources.pids.limit")?;
        set(dir, "pids.max", &v, "linux.resources.pids.limit")?;
    }
    if let Some(b) = r.block_io() {
        io(dir, b)?;
    }
    hugetlb(dir, r)?;
    network_unsupported(r)?;
    rdma(dir, r)?;
    unified(dir, r)
}

fn network_unsupported(r: &LinuxResources) -> Result<()> {
    if let Some(n) = r.network() {
        if n.class_id().is_some() {
            return Err(v1::missing("net_cls", "linux.resources.network.classID"));
        }
        if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(v1::missing(
                "net_prio",
                "linux.resources.network.priorities",
            ));
        }
    }
    Ok(())
}

fn rdma(dir: &Path, r: &LinuxResources) -> Result<()> {
    let Some(map) = r.rdma() else { return Ok(()) };
    for (dev, l) in map {
        if let Some(v) = v1::rdma_line(dev, l.hca_handles(), l.hca_objects()) {
            let field = format!("linux.resources.rdma[{dev}]");
            let dir = need(dir, "rdma", &field)?;
            set(dir, "rdma.max", &v, &field)?;
        }
    }
    Ok(())
}

/// Hybrid: what the v1 hierarchies cannot do but the unified one can — hugetlb limits when
/// only cgroup2 has hugetlb, and `linux.resources.unified` files.
pub(super) fn apply_hybrid_extras(m: &Manager, r: &LinuxResources) -> Result<()> {
    let Some(u) = m.st.unified.as_ref() else {
        if r.unified().as_ref().is_some_and(|x| !x.is_empty()) {
            return Err(Error::Config(
                "invalid configuration: linux.resources.unified: this host has no cgroup2 hierarchy".into(),
            ));
        }
        return Ok(());
    };
    let mut wanted = unified_controllers_wanted(r);
    let huge = m.v1_path("hugetlb").is_none()
        && r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty());
    if huge && !wanted.iter().any(|c| c == "hugetlb") {
        wanted.push("hugetlb".into());
    }
    for c in &wanted {
        if m.v1_path(c).is_some() {
            return Err(Error::Config(format!(
                "invalid configuration: linux.resources.unified: the {c} controller is bound to cgroup v1 on this host; \
                 set it through the v1 fields of linux.resources"
            )));
        }
    }
    if huge {
        // Validate before touching the hierarchy.
        for l in r.hugepage_limits().iter().flatten() {
            super::stats::check_page_size(l.page_size())?;
        }
    }
    if !wanted.is_empty() {
        enable_controllers(&u.mount, &u.path, &wanted, true).map_err(|e| {
            Error::Config(format!(
                "linux.resources: enabling cgroup2 controllers {wanted:?}: {e}"
            ))
        })?;
    }
    if huge {
        hugetlb(&u.path, r)?;
    }
    unified(&u.path, r)
}

pub(super) fn freeze(dir: &Path, frozen: bool) -> Result<()> {
    let want = if frozen { "1" } else { "0" };
    util::write(dir, "cgroup.freeze", want)?;
    let ok = util::wait_until(Duration::from_secs(5), || {
        is_frozen(dir).map(|f| f == frozen)
    })?;
    if ok {
        return Ok(());
    }
    if frozen {
        let _ = util::write(dir, "cgroup.freeze", "0");
    }
    Err(Error::Other(format!(
        "cgroup {} did not become {} in time",
        dir.display(),
        if frozen { "frozen" } else { "thawed" }
    )))
}

pub(super) fn is_frozen(dir: &Path) -> Result<bool> {
    Ok(util::read_keyed(dir, "cgroup.events")?
        .get("frozen")
        .copied()
        == Some(1))
}
