//! `runc events --stats` data: the same JSON shape as runc's events types (members with
//! runc's omitempty rules kept out when zero).

use std::path::Path;

use serde_json::{json, Map, Value};

use super::util::{self, read_keyed, read_opt, read_u64_opt};
use super::{Layout, Manager};
use crate::error::{Error, Result};

/// Hugepage sizes of the host as runc names them ("2MB", "1GB", "64KB").
pub(super) fn hugepage_sizes() -> Vec<String> {
    let Ok(rd) = std::fs::read_dir("/sys/kernel/mm/hugepages") else {
        return Vec::new();
    };
    let mut v: Vec<(u64, String)> = rd
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let kb: u64 = n
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some((kb, size_name(kb * 1024)))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, n)| n).collect()
}

/// Bytes to runc's page size name: 2097152 -> "2MB".
pub(super) fn size_name(mut bytes: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut i = 0;
    while bytes >= 1024 && bytes.is_multiple_of(1024) && i + 1 < units.len() {
        bytes /= 1024;
        i += 1;
    }
    format!("{bytes}{}", units[i])
}

/// A hugepageLimits pageSize must be one of the host's sizes.
pub(super) fn check_page_size(s: &str) -> Result<String> {
    let sizes = hugepage_sizes();
    if sizes.iter().any(|x| x == s) {
        Ok(s.to_string())
    } else {
        Err(Error::Config(format!(
            "linux.resources.hugepageLimits: page size {s:?} is not supported by this host (it has {sizes:?})"
        )))
    }
}

fn put(m: &mut Map<String, Value>, k: &str, v: u64) {
    m.insert(k.to_string(), json!(v));
}

/// omitempty: only when non-zero.
fn put_nz(m: &mut Map<String, Value>, k: &str, v: u64) {
    if v != 0 {
        m.insert(k.to_string(), json!(v));
    }
}

/// runc's MemoryEntry: limit and failcnt always, usage and max when non-zero.
fn mem_entry(limit: u64, usage: u64, max: u64, failcnt: u64) -> Value {
    let mut m = Map::new();
    put(&mut m, "limit", limit);
    put_nz(&mut m, "usage", usage);
    put_nz(&mut m, "max", max);
    put(&mut m, "failcnt", failcnt);
    Value::Object(m)
}

/// "0-2,4" -> [0, 1, 2, 4]
pub(super) fn parse_list(s: &str) -> Vec<u64> {
    let mut v = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u64>(), b.parse::<u64>()) {
                    v.extend(a..=b);
                }
            }
            None => v.extend(part.parse::<u64>().ok()),
        }
    }
    v
}

fn u64s(s: &str) -> Vec<u64> {
    s.split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect()
}

fn rd(dir: &Path, f: &str) -> Result<u64> {
    Ok(read_u64_opt(dir, f)?.unwrap_or(0))
}

/// v1 limits read as 9223372036854771712 for "none"; v2 "max" is reported as u64::MAX.
fn limit_of(dir: &Path, f: &str) -> Result<u64> {
    rd(dir, f)
}

pub(super) fn collect(m: &Manager) -> Result<Value> {
    let mut cpu_usage = Map::new();
    let mut throttling = Map::new();
    let mut cpuset = Map::new();
    let mut memory = Map::new();
    let mut pids = Map::new();
    let mut blkio = Map::new();
    let mut hugetlb = Map::new();
    let v2dir = if m.layout() == Layout::V2 {
        m.unified_path()
    } else {
        None
    };

    // cpu
    if let Some(d) = m.v1_path("cpuacct") {
        put_nz(&mut cpu_usage, "total", rd(d, "cpuacct.usage")?);
        let per = read_opt(d, "cpuacct.usage_percpu")?
            .map(|s| u64s(&s))
            .unwrap_or_default();
        if !per.is_empty() {
            cpu_usage.insert("percpu".into(), json!(per));
        }
        // cpuacct.usage_all: "cpu user system" per line.
        if let Some(all) = read_opt(d, "cpuacct.usage_all")? {
            let (mut k, mut u) = (Vec::new(), Vec::new());
            for l in all.lines().skip(1) {
                let f = u64s(l);
                if f.len() == 3 {
                    u.push(f[1]);
                    k.push(f[2]);
                }
            }
            if !k.is_empty() {
                cpu_usage.insert("percpu_kernel".into(), json!(k));
                cpu_usage.insert("percpu_user".into(), json!(u));
            }
        }
        // cpuacct.stat is in clock ticks; runc reports nanoseconds.
        let st = read_opt(d, "cpuacct.stat")?
            .map(|s| util::parse_keyed(&s))
            .unwrap_or_default();
        let tick = clock_ticks();
        let ns = |t: u64| t.saturating_mul(1_000_000_000) / tick;
        put(
            &mut cpu_usage,
            "kernel",
            ns(st.get("system").copied().unwrap_or(0)),
        );
        put(
            &mut cpu_usage,
            "user",
            ns(st.get("user").copied().unwrap_or(0)),
        );
    } else if let Some(d) = v2dir {
        let st = read_keyed(d, "cpu.stat")?;
        let g = |k: &str| st.get(k).copied().unwrap_or(0);
        put_nz(&mut cpu_usage, "total", g("usage_usec") * 1000);
        put(&mut cpu_usage, "kernel", g("system_usec") * 1000);
        put(&mut cpu_usage, "user", g("user_usec") * 1000);
        put_nz(&mut throttling, "periods", g("nr_periods"));
        put_nz(&mut throttling, "throttledPeriods", g("nr_throttled"));
        put_nz(&mut throttling, "throttledTime", g("throttled_usec") * 1000);
    } else {
        put(&mut cpu_usage, "kernel", 0);
        put(&mut cpu_usage, "user", 0);
    }
    if let Some(d) = m.v1_path("cpu") {
        if let Some(s) = read_opt(d, "cpu.stat")? {
            let st = util::parse_keyed(&s);
            let g = |k: &str| st.get(k).copied().unwrap_or(0);
            put_nz(&mut throttling, "periods", g("nr_periods"));
            put_nz(&mut throttling, "throttledPeriods", g("nr_throttled"));
            put_nz(&mut throttling, "throttledTime", g("throttled_time"));
        }
    }

    // cpuset
    let cs_dir = m.v1_path("cpuset");
    if let Some(d) = cs_dir {
        let cpus = parse_list(&read_opt(d, "cpuset.cpus")?.unwrap_or_default());
        if !cpus.is_empty() {
            cpuset.insert("cpus".into(), json!(cpus));
        }
    }
    put(
        &mut cpuset,
        "cpu_exclusive",
        cs_dir.map_or(Ok(0), |d| rd(d, "cpuset.cpu_exclusive"))?,
    );
    if let Some(d) = cs_dir {
        let mems = parse_list(&read_opt(d, "cpuset.mems")?.unwrap_or_default());
        if !mems.is_empty() {
            cpuset.insert("mems".into(), json!(mems));
        }
    }
    for (k, f) in [
        ("mem_hardwall", "cpuset.mem_hardwall"),
        ("mem_exclusive", "cpuset.mem_exclusive"),
        ("memory_migrate", "cpuset.memory_migrate"),
        ("memory_spread_page", "cpuset.memory_spread_page"),
        ("memory_spread_slab", "cpuset.memory_spread_slab"),
        ("memory_pressure", "cpuset.memory_pressure"),
        ("sched_load_balance", "cpuset.sched_load_balance"),
    ] {
        put(&mut cpuset, k, cs_dir.map_or(Ok(0), |d| rd(d, f))?);
    }
    let relax = match cs_dir {
        Some(d) => read_opt(d, "cpuset.sched_relax_domain_level")?
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0),
        None => 0,
    };
    cpuset.insert("sched_relax_domain_level".into(), json!(relax));

    // memory
    if let Some(d) = m.v1_path("memory") {
        let raw = read_opt(d, "memory.stat")?
            .map(|s| util::parse_keyed(&s))
            .unwrap_or_default();
        put_nz(&mut memory, "cache", raw.get("cache").copied().unwrap_or(0));
        let entry = |p: &str| -> Result<Value> {
            if !d.join(format!("{p}.usage_in_bytes")).exists()
                && !d.join(format!("{p}.failcnt")).exists()
            {
                return Ok(mem_entry(0, 0, 0, 0));
            }
            Ok(mem_entry(
                limit_of(d, &format!("{p}.limit_in_bytes"))?,
                rd(d, &format!("{p}.usage_in_bytes"))?,
                rd(d, &format!("{p}.max_usage_in_bytes"))?,
                rd(d, &format!("{p}.failcnt"))?,
            ))
        };
        memory.insert("usage".into(), entry("memory")?);
        memory.insert("swap".into(), entry("memory.memsw")?);
        memory.insert("kernel".into(), entry("memory.kmem")?);
        memory.insert("kernelTCP".into(), entry("memory.kmem.tcp")?);
        if !raw.is_empty() {
            memory.insert("raw".into(), json!(raw));
        }
    } else if let Some(d) = v2dir.filter(|d| d.join("memory.stat").exists()) {
        let raw = read_keyed(d, "memory.stat")?;
        put_nz(&mut memory, "cache", raw.get("file").copied().unwrap_or(0));
        let ev = read_opt(d, "memory.events")?
            .map(|s| util::parse_keyed(&s))
            .unwrap_or_default();
        let usage = rd(d, "memory.current")?;
        let limit = read_u64_opt(d, "memory.max")?.unwrap_or(u64::MAX);
        let peak = rd(d, "memory.peak")?;
        memory.insert(
            "usage".into(),
            mem_entry(limit, usage, peak, ev.get("max").copied().unwrap_or(0)),
        );
        // runc reports v2 swap as memory+swap, like v1's memsw.
        let swap_usage = rd(d, "memory.swap.current")?;
        let swap_limit = read_u64_opt(d, "memory.swap.max")?.unwrap_or(u64::MAX);
        let swap_limit = if swap_limit == u64::MAX || limit == u64::MAX {
            u64::MAX
        } else {
            swap_limit + limit
        };
        let swap_peak = rd(d, "memory.swap.peak")?;
        let swap_max = if swap_peak != 0 { swap_peak + peak } else { 0 };
        memory.insert(
            "swap".into(),
            mem_entry(swap_limit, swap_usage + usage, swap_max, 0),
        );
        memory.insert("kernel".into(), mem_entry(0, 0, 0, 0));
        memory.insert("kernelTCP".into(), mem_entry(0, 0, 0, 0));
        if !raw.is_empty() {
            memory.insert("raw".into(), json!(raw));
        }
    } else {
        for k in ["usage", "swap", "kernel", "kernelTCP"] {
            memory.insert(k.into(), mem_entry(0, 0, 0, 0));
        }
    }

    // pids
    let pdir = m
        .v1_path("pids")
        .or(v2dir.filter(|d| d.join("pids.current").exists()));
    if let Some(d) = pdir {
        put_nz(&mut pids, "current", rd(d, "pids.current")?);
        let lim = read_u64_opt(d, "pids.max")?.unwrap_or(u64::MAX);
        if lim != u64::MAX {
            put_nz(&mut pids, "limit", lim);
        }
    }

    // blkio
    if let Some(d) = m.v1_path("blkio") {
        blkio_v1(d, &mut blkio)?;
    } else if let Some(d) = v2dir.filter(|d| d.join("io.stat").exists()) {
        blkio_v2(&read_opt(d, "io.stat")?.unwrap_or_default(), &mut blkio);
    }

    // hugetlb
    if let Some(d) = m.v1_path("hugetlb") {
        for size in hugepage_sizes() {
            let mut e = Map::new();
            put_nz(
                &mut e,
                "usage",
                rd(d, &format!("hugetlb.{size}.usage_in_bytes"))?,
            );
            put_nz(
                &mut e,
                "max",
                rd(d, &format!("hugetlb.{size}.max_usage_in_bytes"))?,
            );
            put(
                &mut e,
                "failcnt",
                rd(d, &format!("hugetlb.{size}.failcnt"))?,
            );
            hugetlb.insert(size, Value::Object(e));
        }
    } else if let Some(d) = m.unified_path() {
        // Pure v2, or hybrid where hugetlb lives only in cgroup2.
        for size in hugepage_sizes() {
            let cur = format!("hugetlb.{size}.current");
            if !d.join(&cur).exists() {
                continue;
            }
            let mut e = Map::new();
            put_nz(&mut e, "usage", rd(d, &cur)?);
            let ev = read_opt(d, &format!("hugetlb.{size}.events"))?
                .map(|s| util::parse_keyed(&s))
                .unwrap_or_default();
            put(&mut e, "failcnt", ev.get("max").copied().unwrap_or(0));
            hugetlb.insert(size, Value::Object(e));
        }
    }

    Ok(json!({
        "cpu": {"usage": cpu_usage, "throttling": throttling},
        "cpuset": cpuset,
        "memory": memory,
        "pids": pids,
        "blkio": blkio,
        "hugetlb": hugetlb,
        "intel_rdt": {},
        "network_interfaces": null,
    }))
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// One v1 blkio stat file: "maj:min Op value" lines ("Total n" skipped).
pub(super) fn blkio_entries(text: &str) -> Vec<Value> {
    let mut v = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split([' ', ':']).filter(|s| !s.is_empty()).collect();
        if f.len() < 3 {
            continue;
        }
        let (Ok(major), Ok(minor)) = (f[0].parse::<u64>(), f[1].parse::<u64>()) else {
            continue;
        };
        let (op, val) = if f.len() >= 4 {
            (f[2], f[3])
        } else {
            ("", f[2])
        };
        let Ok(value) = val.parse::<u64>() else {
            continue;
        };
        let mut e = Map::new();
        put_nz(&mut e, "major", major);
        put_nz(&mut e, "minor", minor);
        if !op.is_empty() {
            e.insert("op".into(), json!(op));
        }
        put_nz(&mut e, "value", value);
        v.push(Value::Object(e));
    }
    v
}

fn blkio_v1(d: &Path, out: &mut Map<String, Value>) -> Result<()> {
    let mut add = |key: &str, file: &str| -> Result<bool> {
        match read_opt(d, file)? {
            Some(t) => {
                let e = blkio_entries(&t);
                if !e.is_empty() {
                    out.insert(key.into(), Value::Array(e));
                }
                Ok(true)
            }
            None => Ok(false),
        }
    };
    // BFQ stats first, then CFQ, then the throttle counters (always there), as runc.
    if d.join("blkio.bfq.io_service_bytes_recursive").exists() {
        add(
            "ioServiceBytesRecursive",
            "blkio.bfq.io_service_bytes_recursive",
        )?;
        add("ioServicedRecursive", "blkio.bfq.io_serviced_recursive")?;
    } else if d.join("blkio.io_service_bytes_recursive").exists() {
        add(
            "ioServiceBytesRecursive",
            "blkio.io_service_bytes_recursive",
        )?;
        add("ioServicedRecursive", "blkio.io_serviced_recursive")?;
        add("ioQueueRecursive", "blkio.io_queued_recursive")?;
        add("ioServiceTimeRecursive", "blkio.io_service_time_recursive")?;
        add("ioWaitTimeRecursive", "blkio.io_wait_time_recursive")?;
        add("ioMergedRecursive", "blkio.io_merged_recursive")?;
        add("ioTimeRecursive", "blkio.time_recursive")?;
        add("sectorsRecursive", "blkio.sectors_recursive")?;
    } else {
        add(
            "ioServiceBytesRecursive",
            "blkio.throttle.io_service_bytes_recursive",
        )?;
        add(
            "ioServicedRecursive",
            "blkio.throttle.io_serviced_recursive",
        )?;
    }
    Ok(())
}

/// v2 io.stat "maj:min rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=.." in runc's
/// v1-shaped entries.
pub(super) fn blkio_v2(text: &str, out: &mut Map<String, Value>) {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for l in text.lines() {
        let mut it = l.split_whitespace();
        let Some(dev) = it.next() else { continue };
        let Some((Ok(major), Ok(minor))) = dev
            .split_once(':')
            .map(|(a, b)| (a.parse::<u64>(), b.parse::<u64>()))
        else {
            continue;
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(v) = v.parse::<u64>() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            let mut e = Map::new();
            put_nz(&mut e, "major", major);
            put_nz(&mut e, "minor", minor);
            e.insert("op".into(), json!(op));
            put_nz(&mut e, "value", v);
            list.push(Value::Object(e));
        }
    }
    if !bytes.is_empty() {
        out.insert("ioServiceBytesRecursive".into(), Value::Array(bytes));
    }
    if !ios.is_empty() {
        out.insert("ioServicedRecursive".into(), Value::Array(ios));
    }
}
