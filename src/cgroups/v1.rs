//! cgroup v1 driver: one directory per hierarchy, runc's v1 file names and write orders.

use std::path::Path;
use std::time::Duration;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::util::{self, set};
use super::{devices, Layout, Manager};
use crate::error::{Error, Result};

/// The container's directory for `controller`, or a Config error naming `field`.
fn need<'a>(m: &'a Manager, controller: &str, field: &str) -> Result<&'a Path> {
    m.v1_path(controller)
        .ok_or_else(|| missing(controller, field))
}

pub(super) fn missing(controller: &str, field: &str) -> Error {
    Error::Config(format!(
        "{field}: the {controller} cgroup controller is not available on this host"
    ))
}

pub(super) fn apply(m: &Manager, r: &LinuxResources) -> Result<()> {
    if let Some(mem) = r.memory() {
        if memory_is_set(mem) {
            memory(need(m, "memory", &first_memory_field(mem))?, mem)?;
        }
    }
    if let Some(cpu) = r.cpu() {
        apply_cpu(m, cpu)?;
    }
    if let Some(v) = super::pids_max(r) {
        let dir = need(m, "pids", "linux.resources.pids.limit")?;
        set(dir, "pids.max", &v, "linux.resources.pids.limit")?;
    }
    if let Some(b) = r.block_io() {
        if blkio_is_set(b) {
            blkio(need(m, "blkio", "linux.resources.blockIO")?, b)?;
        }
    }
    if let Some(h) = r.hugepage_limits() {
        if !h.is_empty() {
            if let Some(dir) = m.v1_path("hugetlb") {
                for l in h {
                    let size = super::stats::check_page_size(l.page_size())?;
                    let v = l.limit().to_string();
                    let field = format!("linux.resources.hugepageLimits[{}].limit", l.page_size());
                    set(dir, &format!("hugetlb.{size}.limit_in_bytes"), &v, &field)?;
                    let rsvd = format!("hugetlb.{size}.rsvd.limit_in_bytes");
                    if dir.join(&rsvd).exists() {
                        set(dir, &rsvd, &v, &field)?;
                    }
                }
            } else if !(m.layout() == Layout::Hybrid && m.v2_controller("hugetlb")) {
                return Err(missing("hugetlb", "linux.resources.hugepageLimits"));
            }
        }
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            let dir = need(m, "net_cls", "linux.resources.network.classID")?;
            set(
                dir,
                "net_cls.classid",
                &id.to_string(),
                "linux.resources.network.classID",
            )?;
        }
        if let Some(prios) = n.priorities() {
            if !prios.is_empty() {
                let dir = need(m, "net_prio", "linux.resources.network.priorities")?;
                for p in prios {
                    let v = format!("{} {}", p.name(), p.priority());
                    set(
                        dir,
                        "net_prio.ifpriomap",
                        &v,
                        "linux.resources.network.priorities",
                    )?;
                }
            }
        }
    }
    if let Some(rdma) = r.rdma() {
        if !rdma.is_empty() {
            let dir = need(m, "rdma", "linux.resources.rdma")?;
            for (dev, l) in rdma {
                if let Some(v) = rdma_line(dev, l.hca_handles(), l.hca_objects()) {
                    set(dir, "rdma.max", &v, &format!("linux.resources.rdma[{dev}]"))?;
                }
            }
        }
    }
    if let Some(rules) = r.devices() {
        let dir = need(m, "devices", "linux.resources.devices")?;
        // As runc: the rule list describes an allow-list built on top of "deny all".
        set(dir, "devices.deny", "a", "linux.resources.devices")?;
        for (i, rule) in rules.iter().enumerate() {
            let (file, line) = devices::v1_line(rule, i)?;
            set(dir, file, &line, &format!("linux.resources.devices[{i}]"))?;
        }
    }
    Ok(())
}

pub(super) fn rdma_line(dev: &str, handles: Option<u32>, objects: Option<u32>) -> Option<String> {
    let mut v = dev.to_string();
    if let Some(h) = handles {
        v += &format!(" hca_handle={h}");
    }
    if let Some(o) = objects {
        v += &format!(" hca_object={o}");
    }
    (handles.is_some() || objects.is_some()).then_some(v)
}

fn memory_is_set(m: &LinuxMemory) -> bool {
    m.limit().is_some()
        || m.reservation().is_some()
        || m.swap().is_some()
        || m.kernel().is_some()
        || m.kernel_tcp().is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer().is_some()
        || m.use_hierarchy().is_some()
}

fn first_memory_field(m: &LinuxMemory) -> String {
    let f = if m.limit().is_some() {
        "limit"
    } else if m.reservation().is_some() {
        "reservation"
    } else if m.swap().is_some() {
        "swap"
    } else if m.kernel_tcp().is_some() {
        "kernelTCP"
    } else if m.swappiness().is_some() {
        "swappiness"
    } else {
        "disableOOMKiller"
    };
    format!("linux.resources.memory.{f}")
}

/// Check a memory value: positive bytes or -1 (unlimited); 0 means "not set".
pub(super) fn mem_value(v: Option<i64>, field: &str) -> Result<i64> {
    match v {
        None => Ok(0),
        Some(v) if v >= -1 => Ok(v),
        Some(v) => Err(Error::Config(format!(
            "{field}: invalid value {v} (expected bytes or -1 for unlimited)"
        ))),
    }
}

fn memory(dir: &Path, m: &LinuxMemory) -> Result<()> {
    let limit = mem_value(m.limit(), "linux.resources.memory.limit")?;
    let mut swap = mem_value(m.swap(), "linux.resources.memory.swap")?;
    let reservation = mem_value(m.reservation(), "linux.resources.memory.reservation")?;
    let ktcp = mem_value(m.kernel_tcp(), "linux.resources.memory.kernelTCP")?;
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(Error::Config(format!(
                "linux.resources.memory.swappiness: invalid value {s} (expected 0 to 100)"
            )));
        }
    }
    if m.check_before_update() == Some(true) && limit > 0 {
        if let Some(usage) = util::read_u64_opt(dir, "memory.usage_in_bytes")? {
            if (limit as u64) < usage {
                return Err(Error::Config(format!(
                    "linux.resources.memory.limit: {limit} is below the current usage {usage} \
                     (checkBeforeUpdate is set)"
                )));
            }
        }
    }
    // Unlimited memory with swap not given means unlimited swap too (when swap exists).
    if limit == -1 && swap == 0 && dir.join("memory.memsw.limit_in_bytes").exists() {
        swap = -1;
    }
    let set_limit = |v: i64| -> Result<()> {
        set(
            dir,
            "memory.limit_in_bytes",
            &v.to_string(),
            "linux.resources.memory.limit",
        )
        .map_err(|e| {
            if e.errno() == Some(nix::errno::Errno::EBUSY) {
                let usage = util::read_u64(dir, "memory.usage_in_bytes").unwrap_or(0);
                let peak = util::read_u64(dir, "memory.max_usage_in_bytes").unwrap_or(0);
                Error::Config(format!(
                    "linux.resources.memory.limit: cannot set the memory limit to {v}: current \
                     usage is {usage}, peak usage {peak}"
                ))
            } else {
                e
            }
        })
    };
    let set_swap = |v: i64| {
        set(
            dir,
            "memory.memsw.limit_in_bytes",
            &v.to_string(),
            "linux.resources.memory.swap",
        )
    };
    let mut done = false;
    if limit != 0 && swap != 0 {
        // The kernel requires memsw >= memory at all times: pick the order that keeps it.
        let cur = util::read_u64(dir, "memory.limit_in_bytes")?;
        if swap == -1 || cur < swap as u64 {
            set_swap(swap)?;
            set_limit(limit)?;
            done = true;
        }
    }
    if !done {
        if limit != 0 {
            set_limit(limit)?;
        }
        if swap != 0 {
            set_swap(swap)?;
        }
    }
    if reservation != 0 {
        set(
            dir,
            "memory.soft_limit_in_bytes",
            &reservation.to_string(),
            "linux.resources.memory.reservation",
        )?;
    }
    if m.kernel().is_some_and(|k| k != 0) {
        // Kernel memory limits are gone from Linux (5.16+); runc ignores them too.
        log::warn!("linux.resources.memory.kernel is deprecated and ignored");
    }
    if ktcp != 0 {
        set(
            dir,
            "memory.kmem.tcp.limit_in_bytes",
            &ktcp.to_string(),
            "linux.resources.memory.kernelTCP",
        )?;
    }
    if let Some(s) = m.swappiness() {
        set(
            dir,
            "memory.swappiness",
            &s.to_string(),
            "linux.resources.memory.swappiness",
        )?;
    }
    if m.disable_oom_killer() == Some(true) {
        set(
            dir,
            "memory.oom_control",
            "1",
            "linux.resources.memory.disableOOMKiller",
        )?;
    }
    if let Some(h) = m.use_hierarchy() {
        let cur = util::read_u64_opt(dir, "memory.use_hierarchy")?;
        // Recent kernels are always hierarchical and refuse 0; write only a change.
        if cur != Some(u64::from(h)) {
            set(
                dir,
                "memory.use_hierarchy",
                if h { "1" } else { "0" },
                "linux.resources.memory.useHierarchy",
            )?;
        }
    }
    Ok(())
}

fn apply_cpu(m: &Manager, c: &LinuxCpu) -> Result<()> {
    let f = |n: &str| format!("linux.resources.cpu.{n}");
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        let dir = need(m, "cpu", &f("shares"))?;
        set(dir, "cpu.shares", &s.to_string(), &f("shares"))?;
        // The kernel clamps silently; report a value it did not take.
        let got = util::read_u64(dir, "cpu.shares")?;
        if got != s {
            return Err(Error::Config(format!(
                "linux.resources.cpu.shares: {s} is out of range (the kernel allows 2 to 262144 and set {got})"
            )));
        }
    }
    let period = c.period().unwrap_or(0);
    let quota = c.quota().unwrap_or(0);
    if period != 0 || quota != 0 {
        let dir = need(m, "cpu", &f(if quota != 0 { "quota" } else { "period" }))?;
        let mut period_pending = false;
        if period != 0 {
            if let Err(e) = set(dir, "cpu.cfs_period_us", &period.to_string(), &f("period")) {
                // A smaller period can be refused until the new quota is in place.
                if e.errno() != Some(nix::errno::Errno::EINVAL) || quota == 0 {
                    return Err(e);
                }
                period_pending = true;
            }
        }
        if quota != 0 {
            set(dir, "cpu.cfs_quota_us", &quota.to_string(), &f("quota"))?;
            if period_pending {
                set(dir, "cpu.cfs_period_us", &period.to_string(), &f("period"))?;
            }
        }
    }
    if let Some(b) = c.burst() {
        let dir = need(m, "cpu", &f("burst"))?;
        set(dir, "cpu.cfs_burst_us", &b.to_string(), &f("burst"))?;
    }
    let rt_runtime = c.realtime_runtime().filter(|&r| r != 0);
    let mut rt_runtime_done = false;
    if let Some(p) = c.realtime_period().filter(|&p| p != 0) {
        let dir = need(m, "cpu", &f("realtimePeriod"))?;
        if let Err(e) = set(
            dir,
            "cpu.rt_period_us",
            &p.to_string(),
            &f("realtimePeriod"),
        ) {
            // A period below the current runtime is refused until the new (smaller) runtime
            // is in place: write the runtime first, then the period again (as runc).
            let Some(r) = rt_runtime.filter(|_| e.errno() == Some(nix::errno::Errno::EINVAL))
            else {
                return Err(e);
            };
            set(
                dir,
                "cpu.rt_runtime_us",
                &r.to_string(),
                &f("realtimeRuntime"),
            )?;
            rt_runtime_done = true;
            set(
                dir,
                "cpu.rt_period_us",
                &p.to_string(),
                &f("realtimePeriod"),
            )?;
        }
    }
    if let Some(r) = rt_runtime.filter(|_| !rt_runtime_done) {
        let dir = need(m, "cpu", &f("realtimeRuntime"))?;
        set(
            dir,
            "cpu.rt_runtime_us",
            &r.to_string(),
            &f("realtimeRuntime"),
        )?;
    }
    if let Some(i) = c.idle() {
        let dir = need(m, "cpu", &f("idle"))?;
        set(dir, "cpu.idle", &i.to_string(), &f("idle"))?;
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        let dir = need(m, "cpuset", &f("cpus"))?;
        set(dir, "cpuset.cpus", cpus, &f("cpus"))?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        let dir = need(m, "cpuset", &f("mems"))?;
        set(dir, "cpuset.mems", mems, &f("mems"))?;
    }
    Ok(())
}

fn blkio_is_set(b: &LinuxBlockIo) -> bool {
    let nonempty = |v: &Option<Vec<_>>| v.as_ref().is_some_and(|v: &Vec<_>| !v.is_empty());
    b.weight().is_some()
        || b.leaf_weight().is_some()
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || nonempty(b.throttle_read_bps_device())
        || nonempty(b.throttle_write_bps_device())
        || nonempty(b.throttle_read_iops_device())
        || nonempty(b.throttle_write_iops_device())
}

fn blkio(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    let f = |n: &str| format!("linux.resources.blockIO.{n}");
    // CFQ exposes blkio.weight; with BFQ the knob is blkio.bfq.weight.
    let (wfile, wdev) =
        if dir.join("blkio.weight").exists() || !dir.join("blkio.bfq.weight").exists() {
            ("blkio.weight", "blkio.weight_device")
        } else {
            ("blkio.bfq.weight", "blkio.bfq.weight_device")
        };
    if let Some(w) = b.weight() {
        check_weight(w, &f("weight"))?;
        set(dir, wfile, &w.to_string(), &f("weight"))?;
    }
    if let Some(w) = b.leaf_weight() {
        check_weight(w, &f("leafWeight"))?;
        set(dir, "blkio.leaf_weight", &w.to_string(), &f("leafWeight"))?;
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(w) = d.weight() {
            let field = format!("linux.resources.blockIO.weightDevice[{i}].weight");
            check_weight(w, &field)?;
            set(
                dir,
                wdev,
                &format!("{}:{} {w}", d.major(), d.minor()),
                &field,
            )?;
        }
        if let Some(w) = d.leaf_weight() {
            let field = format!("linux.resources.blockIO.weightDevice[{i}].leafWeight");
            check_weight(w, &field)?;
            set(
                dir,
                "blkio.leaf_weight_device",
                &format!("{}:{} {w}", d.major(), d.minor()),
                &field,
            )?;
        }
    }
    let throttles = [
        (
            "throttleReadBpsDevice",
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
        ),
        (
            "throttleWriteBpsDevice",
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
        ),
        (
            "throttleReadIOPSDevice",
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
        ),
        (
            "throttleWriteIOPSDevice",
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
        ),
    ];
    for (name, list, file) in throttles {
        for (i, d) in list.iter().flatten().enumerate() {
            let field = format!("linux.resources.blockIO.{name}[{i}]");
            set(
                dir,
                file,
                &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                &field,
            )?;
        }
    }
    Ok(())
}

pub(super) fn check_weight(w: u16, field: &str) -> Result<()> {
    if (10..=1000).contains(&w) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{field}: invalid value {w} (expected 10 to 1000)"
        )))
    }
}

/// A new cpuset cgroup starts with empty cpus/mems, and no task can join it then: copy
/// them from the nearest ancestor that has them, down the path, as runc does.
pub(super) fn cpuset_init(mount: &Path, path: &Path) -> Result<()> {
    let mut chain = Vec::new();
    let mut p = path;
    while p != mount {
        chain.push(p);
        match p.parent() {
            Some(parent) if parent.starts_with(mount) => p = parent,
            _ => break,
        }
    }
    chain.reverse();
    for dir in chain {
        let parent = dir.parent().unwrap_or(mount);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let cur = util::read(dir, file)?;
            if cur.trim().is_empty() {
                let from = util::read(parent, file)?;
                util::write(dir, file, from.trim())?;
            }
        }
    }
    Ok(())
}

pub(super) fn freeze(dir: &Path, frozen: bool) -> Result<()> {
    let want = if frozen { "FROZEN" } else { "THAWED" };
    util::write(dir, "freezer.state", want)?;
    // FREEZING can linger while tasks are in uninterruptible sleep; re-ask until it sticks.
    let ok = util::wait_until(Duration::from_secs(5), || {
        let st = util::read(dir, "freezer.state")?;
        if st.trim() == want {
            return Ok(true);
        }
        util::write(dir, "freezer.state", want)?;
        Ok(false)
    })?;
    if ok {
        return Ok(());
    }
    if frozen {
        // Do not leave the container half frozen.
        let _ = util::write(dir, "freezer.state", "THAWED");
    }
    Err(Error::Other(format!(
        "cgroup {} did not reach the {want} state in time",
        dir.display()
    )))
}

pub(super) fn is_frozen(dir: &Path) -> Result<bool> {
    Ok(util::read(dir, "freezer.state")?.trim() == "FROZEN")
}
