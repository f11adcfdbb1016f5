//! `update`, `pause`, `resume`, `ps` and `events`: the commands that act on a running
//! container's cgroup, rebuilt from state.json by [`crate::container::cgroup::manager`].

use super::Global;
use crate::cgroups::Manager;
use crate::cli::{self, Args};
use crate::container::{Container, Status};
use crate::error::{Context, Error, Result};
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
};
use std::io::Write;
use std::time::{Duration, Instant};

fn load(g: &Global, a: &Args, name: &str, max: usize) -> Result<Container> {
    let cmd = cli::command(name).ok_or_else(|| Error::Usage(name.to_string()))?;
    cli::expect_args(a, cmd, 1, max)?;
    Container::load(&g.root, &a.positional[0])
}

/// The container's cgroup manager; a container created without one cannot do cgroup work.
fn manager_of(c: &Container, what: &str) -> Result<Manager> {
    crate::container::cgroup::manager(c).ok_or_else(|| {
        Error::Container(format!(
            "cannot {what} container {}: it has no cgroup (a rootless container runs without one when it may not create it and asks for no limits)",
            c.state.id
        ))
    })
}

// ---------------------------------------------------------------------------------------
// pause / resume
// ---------------------------------------------------------------------------------------

pub fn pause(g: &Global, a: &Args) -> Result<i32> {
    let c = load(g, a, "pause", 1)?;
    // As runc: a created container may be paused too (its init waits on the exec fifo).
    match c.status() {
        Status::Running | Status::Created => {}
        Status::Paused => {
            return Err(Error::Container(format!(
                "cannot pause container {}: container already paused",
                c.state.id
            )))
        }
        _ => {
            return Err(Error::Container(format!(
                "cannot pause container {}: container not running",
                c.state.id
            )))
        }
    }
    manager_of(&c, "pause")?.freeze()?;
    Ok(0)
}

pub fn resume(g: &Global, a: &Args) -> Result<i32> {
    let c = load(g, a, "resume", 1)?;
    if c.status() != Status::Paused {
        return Err(Error::Container(format!(
            "cannot resume container {}: container not paused",
            c.state.id
        )));
    }
    manager_of(&c, "resume")?.thaw()?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------
// ps
// ---------------------------------------------------------------------------------------

/// runc's `ps`: json is the array of host pids in the container's cgroup; table runs the
/// host's `ps` (default `-ef`) and keeps its header and the lines of those pids.
pub fn ps(g: &Global, a: &Args) -> Result<i32> {
    let cmd = cli::command("ps").ok_or_else(|| Error::Usage("ps".into()))?;
    if a.positional.is_empty() {
        cli::expect_args(a, cmd, 1, 1)?;
    }
    let format = a.value("format").unwrap_or("table");
    if format != "table" && format != "json" {
        return Err(Error::Usage(format!(
            "--format {format:?}: invalid format (expected table or json)"
        )));
    }
    let c = Container::load(&g.root, &a.positional[0])?;
    // As runc: the processes are the cgroup's; without one there is nothing to list from.
    let pids = manager_of(&c, "list the processes of")?.pids()?;
    if format == "json" {
        println!("{}", serde_json::json!(pids));
        return Ok(0);
    }
    // ps options: anything after the id, and anything after `--`.
    let mut ps_args: Vec<String> = a.positional[1..].to_vec();
    if ps_args.first().is_some_and(|s| s == "--") {
        ps_args.remove(0);
    }
    ps_args.extend(a.rest.iter().cloned());
    if ps_args.is_empty() {
        ps_args.push("-ef".into());
    }
    let out = std::process::Command::new("ps")
        .args(&ps_args)
        .stdin(std::process::Stdio::null())
        .output()
        .ctx(|| format!("running ps {}", ps_args.join(" ")))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Other(format!(
            "ps {}: {}: {}",
            ps_args.join(" "),
            out.status,
            msg.trim().replace('\n', " ")
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{}", filter_ps(&text, &pids)?);
    Ok(0)
}

/// The header and the lines whose PID column is one of `pids`.
fn filter_ps(text: &str, pids: &[i32]) -> Result<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let idx = header
        .split_whitespace()
        .position(|t| t == "PID")
        .ok_or_else(|| {
            Error::Other(format!(
                "ps output has no PID column (header {header:?}); pass ps options that print it"
            ))
        })?;
    let mut out = format!("{header}\n");
    for l in lines.filter(|l| !l.trim().is_empty()) {
        let Some(field) = l.split_whitespace().nth(idx) else {
            continue;
        };
        let pid: i32 = field
            .parse()
            .map_err(|_| Error::Other(format!("ps output: cannot parse pid {field:?} in {l:?}")))?;
        if pids.contains(&pid) {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// events
// ---------------------------------------------------------------------------------------

/// A Go duration ("5s", "100ms", "1m30s", "1.5h", "250us").
pub fn parse_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..n];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let v: f64 = num.parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u..];
        total += v * scale;
    }
    Duration::try_from_secs_f64(total).ok()
}

fn emit(v: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}")
        .and_then(|()| out.flush())
        .ctx(|| "writing events to stdout".into())
}

/// runc's `events`: `--stats` prints one stats event and exits; otherwise a stats event
/// every `--interval` and an oom event whenever the cgroup's OOM kill count rises, until the
/// container stops.
pub fn events(g: &Global, a: &Args) -> Result<i32> {
    let iv = a.value("interval").unwrap_or("5s");
    let interval = parse_duration(iv).ok_or_else(|| {
        Error::Usage(format!(
            "--interval {iv:?}: invalid duration (use Go syntax such as 5s, 100ms or 1m)"
        ))
    })?;
    if interval.is_zero() {
        return Err(Error::Usage(format!(
            "--interval {iv:?}: must be greater than zero"
        )));
    }
    let c = load(g, a, "events", 1)?;
    let id = c.state.id.clone();
    if c.status() == Status::Stopped {
        return Err(Error::Container(format!(
            "container with id {id} is not running"
        )));
    }
    let m = manager_of(&c, "watch")?;
    let stats_event = |m: &Manager| -> Result<serde_json::Value> {
        Ok(serde_json::json!({"type": "stats", "id": id, "data": m.stats()?}))
    };
    if a.is_set("stats") {
        emit(&stats_event(&m)?)?;
        return Ok(0);
    }
    let mut ooms = m.oom_kill_count().ok().flatten().unwrap_or(0);
    let check_oom = |ooms: &mut u64| -> Result<()> {
        if let Ok(Some(n)) = m.oom_kill_count() {
            if n > *ooms {
                *ooms = n;
                emit(&serde_json::json!({"type": "oom", "id": id}))?;
            }
        }
        Ok(())
    };
    // OOM kills are looked for often (they are short-lived news); stats once per interval.
    let tick = interval.min(Duration::from_millis(100));
    let mut next_stats = Instant::now() + interval;
    loop {
        std::thread::sleep(tick);
        check_oom(&mut ooms)?;
        if !c.init_alive() {
            // The last word: an OOM that killed init is reported before we leave.
            check_oom(&mut ooms)?;
            return Ok(0);
        }
        if Instant::now() >= next_stats {
            next_stats += interval;
            match stats_event(&m) {
                Ok(v) => emit(&v)?,
                // As runc: a failed read is logged and the stream goes on.
                Err(e) => log::error!("events: reading the stats of {id}: {e}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// update
// ---------------------------------------------------------------------------------------

/// docker/go-units RAMInBytes, which runc uses for memory flags: a decimal number, an
/// optional space, an optional unit k/m/g/t/p (binary, any case), optional `i` and `b`.
pub fn parse_ram(s: &str) -> Option<i64> {
    let n = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, mut unit) = s.split_at(n);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    unit = unit.strip_prefix(' ').unwrap_or(unit);
    let mut chars = unit.chars().peekable();
    let mut mult = 1f64;
    if let Some(c) = chars.peek().copied() {
        let p = match c.to_ascii_lowercase() {
            'k' => Some(1),
            'm' => Some(2),
            'g' => Some(3),
            't' => Some(4),
            'p' => Some(5),
            _ => None,
        };
        if let Some(p) = p {
            mult = 1024f64.powi(p);
            chars.next();
        }
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'i')) {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'b')) {
        chars.next();
    }
    if chars.next().is_some() {
        return None;
    }
    let bytes = v * mult;
    (bytes < i64::MAX as f64).then_some(bytes as i64)
}

fn flag_ram(a: &Args, flag: &str) -> Result<Option<i64>> {
    let Some(v) = a.value(flag) else {
        return Ok(None);
    };
    if v.is_empty() {
        return Ok(None);
    }
    if v == "-1" {
        return Ok(Some(-1));
    }
    parse_ram(v).map(Some).ok_or_else(|| {
        Error::Usage(format!(
            "--{flag} {v:?}: invalid size (use bytes or a size such as 100m or 1g, or -1 for unlimited)"
        ))
    })
}

fn flag_num<T: std::str::FromStr>(a: &Args, flag: &str, what: &str) -> Result<Option<T>> {
    match a.value(flag) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<T>()
            .map(Some)
            .map_err(|_| Error::Usage(format!("--{flag} {v:?}: invalid value (expected {what})"))),
    }
}

/// The resources the flags ask for; only the given ones are set.
fn resources_from_flags(a: &Args) -> Result<LinuxResources> {
    let build = |what: &str, e: oci_spec::OciSpecError| {
        Error::Other(format!("building the {what} update: {e}"))
    };
    let mut mem = LinuxMemoryBuilder::default();
    let mut mem_set = false;
    for (flag, which) in [
        ("memory", 0),
        ("memory-swap", 1),
        ("memory-reservation", 2),
        ("kernel-memory", 3),
        ("kernel-memory-tcp", 4),
    ] {
        if let Some(v) = flag_ram(a, flag)? {
            mem_set = true;
            mem = match which {
                0 => mem.limit(v),
                1 => mem.swap(v),
                2 => mem.reservation(v),
                3 => mem.kernel(v),
                _ => mem.kernel_tcp(v),
            };
        }
    }
    let mut cpu = LinuxCpuBuilder::default();
    let mut cpu_set = false;
    if let Some(v) = flag_num::<u64>(a, "cpu-share", "a non-negative integer")? {
        cpu = cpu.shares(v);
        cpu_set = true;
    }
    if let Some(v) = flag_num::<u64>(a, "cpu-period", "microseconds, a non-negative integer")? {
        cpu = cpu.period(v);
        cpu_set = true;
    }
    if let Some(v) = flag_num::<i64>(a, "cpu-quota", "microseconds, or -1 for no limit")? {
        cpu = cpu.quota(v);
        cpu_set = true;
    }
    if let Some(v) = flag_num::<u64>(a, "cpu-burst", "microseconds, a non-negative integer")? {
        cpu = cpu.burst(v);
        cpu_set = true;
    }
    if let Some(v) = flag_num::<u64>(a, "cpu-rt-period", "microseconds, a non-negative integer")? {
        cpu = cpu.realtime_period(v);
        cpu_set = true;
    }
    if let Some(v) = flag_num::<i64>(a, "cpu-rt-runtime", "microseconds, an integer")? {
        cpu = cpu.realtime_runtime(v);
        cpu_set = true;
    }
    if let Some(v) = flag_num::<i64>(a, "cpu-idle", "0 or 1")? {
        cpu = cpu.idle(v);
        cpu_set = true;
    }
    if let Some(v) = a.value("cpuset-cpus").filter(|v| !v.is_empty()) {
        cpu = cpu.cpus(v.to_string());
        cpu_set = true;
    }
    if let Some(v) = a.value("cpuset-mems").filter(|v| !v.is_empty()) {
        cpu = cpu.mems(v.to_string());
        cpu_set = true;
    }
    let mut r = LinuxResources::default();
    if mem_set {
        r.set_memory(Some(mem.build().map_err(|e| build("memory", e))?));
    }
    if cpu_set {
        r.set_cpu(Some(cpu.build().map_err(|e| build("cpu", e))?));
    }
    // As runc: 0 means "leave it".
    if let Some(w) = flag_num::<u16>(a, "blkio-weight", "10 to 1000")?.filter(|w| *w != 0) {
        let b = LinuxBlockIoBuilder::default()
            .weight(w)
            .build()
            .map_err(|e| build("blkio", e))?;
        r.set_block_io(Some(b));
    }
    if let Some(l) = flag_num::<i64>(a, "pids-limit", "an integer, -1 for no limit")? {
        if l != 0 {
            let p = LinuxPidsBuilder::default()
                .limit(l)
                .build()
                .map_err(|e| build("pids", e))?;
            r.set_pids(Some(p));
        }
    }
    Ok(r)
}

/// A LinuxResources from `--resources FILE` or `-` (stdin); errors name the JSON field.
fn resources_from_json(src: &str) -> Result<LinuxResources> {
    let data = if src == "-" {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut s)
            .ctx(|| "--resources -: reading standard input".into())?;
        s
    } else {
        std::fs::read(src).map_err(|e| {
            Error::Usage(format!(
                "--resources {src}: {}",
                crate::error::errno_text(nix::errno::Errno::from_raw(
                    e.raw_os_error().unwrap_or(libc::EIO)
                ))
            ))
        })?
    };
    let de = &mut serde_json::Deserializer::from_slice(&data);
    serde_path_to_error::deserialize::<_, LinuxResources>(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            Error::Config(format!("--resources {src}: invalid JSON: {inner}"))
        } else {
            Error::Config(format!("--resources {src}: {path}: {inner}"))
        }
    })
}

/// Rewrite the message of an apply error (the config field names become what the user gave).
fn reword(e: Error, f: impl Fn(&str) -> String) -> Error {
    match e {
        Error::Sys { what, errno } => Error::Sys {
            what: f(&what),
            errno,
        },
        Error::Config(t) => Error::Config(f(&t)),
        Error::Other(t) => Error::Other(f(&t)),
        Error::Usage(t) => Error::Usage(f(&t)),
        Error::Container(t) => Error::Container(f(&t)),
    }
}

/// Spell a failing config field as the flag the user gave.
fn name_flag(text: &str) -> String {
    const FLAGS: &[(&str, &str)] = &[
        ("linux.resources.memory.limit", "--memory"),
        ("linux.resources.memory.swap", "--memory-swap"),
        ("linux.resources.memory.reservation", "--memory-reservation"),
        ("linux.resources.memory.kernelTCP", "--kernel-memory-tcp"),
        ("linux.resources.cpu.shares", "--cpu-share"),
        ("linux.resources.cpu.period", "--cpu-period"),
        ("linux.resources.cpu.quota", "--cpu-quota"),
        ("linux.resources.cpu.burst", "--cpu-burst"),
        ("linux.resources.cpu.realtimePeriod", "--cpu-rt-period"),
        ("linux.resources.cpu.realtimeRuntime", "--cpu-rt-runtime"),
        ("linux.resources.cpu.idle", "--cpu-idle"),
        ("linux.resources.cpu.cpus", "--cpuset-cpus"),
        ("linux.resources.cpu.mems", "--cpuset-mems"),
        ("linux.resources.pids.limit", "--pids-limit"),
        ("linux.resources.blockIO.weight", "--blkio-weight"),
    ];
    let mut t = text.to_string();
    for (field, flag) in FLAGS {
        t = t.replace(field, flag);
    }
    t
}

pub fn update(g: &Global, a: &Args) -> Result<i32> {
    for flag in ["l3-cache-schema", "mem-bw-schema"] {
        if a.value(flag).is_some_and(|v| !v.is_empty()) {
            return Err(Error::Usage(format!(
                "--{flag}: Intel RDT is not supported yet"
            )));
        }
    }
    let cmd = cli::command("update").ok_or_else(|| Error::Usage("update".into()))?;
    cli::expect_args(a, cmd, 1, 1)?;
    // As runc: with --resources the other flags are ignored.
    let from_json = a.value("resources").filter(|v| !v.is_empty());
    let mut r = match from_json {
        Some(src) => resources_from_json(src)?,
        None => resources_from_flags(a)?,
    };
    // Device rules are never updated (as runc): they were set up at create.
    r.set_devices(None);
    let mut c = Container::load(&g.root, &a.positional[0])?;
    if c.status() == Status::Stopped {
        return Err(Error::Container(format!(
            "cannot update container {}: container not running",
            c.state.id
        )));
    }
    let m = manager_of(&c, "update")?;
    // docker update sends zeros around the one value it changes: they must not be recorded.
    let mut r = crate::cgroups::strip_unset(&r);
    if m.layout() == crate::cgroups::Layout::V2 {
        crate::cgroups::keep_quota(&mut r, crate::container::cgroup::recorded_quota(&c));
    }
    // systemd keeps the limits as unit properties and would re-apply its old ones.
    let applied = match m.systemd_unit() {
        Some(u) => {
            crate::cgroups::systemd::set_resources(u, &r).and_then(|()| m.apply_resources(&r))
        }
        None => m.apply_resources(&r),
    };
    // v1 refuses a memory limit above memory+swap with a bare EINVAL: say what to do.
    let raising_alone = from_json.is_none() && a.given("memory") && !a.given("memory-swap");
    let applied = applied.map_err(|e| {
        if raising_alone
            && e.errno() == Some(nix::errno::Errno::EINVAL)
            && e.to_string().contains("memory.limit_in_bytes")
        {
            reword(e, |t| {
                format!("{t} (a memory limit cannot exceed the memory+swap limit; raise --memory-swap too)")
            })
        } else {
            e
        }
    });
    applied.map_err(|e| match from_json {
        Some(src) => reword(e, |t| {
            t.replace("linux.resources.", &format!("--resources {src}: "))
        }),
        None => reword(e, name_flag),
    })?;
    // Keep what the container now has, so later updates and readers see the whole picture.
    crate::container::cgroup::record_update(&mut c, &r);
    c.save()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_sizes_as_go_units() {
        assert_eq!(parse_ram("1024"), Some(1024));
        assert_eq!(parse_ram("100m"), Some(100 << 20));
        assert_eq!(parse_ram("100MB"), Some(100 << 20));
        assert_eq!(parse_ram("100MiB"), Some(100 << 20));
        assert_eq!(parse_ram("1g"), Some(1 << 30));
        assert_eq!(parse_ram("1.5g"), Some(1610612736));
        assert_eq!(parse_ram("10 k"), Some(10240));
        assert_eq!(parse_ram("7b"), Some(7));
        assert_eq!(parse_ram("10x"), None);
        assert_eq!(parse_ram("-5"), None);
        assert_eq!(parse_ram(""), None);
        assert_eq!(parse_ram("m"), None);
        assert_eq!(parse_ram("1.g"), None);
        assert_eq!(parse_ram("99999999p"), None);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250us"), Some(Duration::from_micros(250)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("-5s"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn ps_lines_filtered_by_pid_column() {
        let text = "UID PID PPID CMD\nroot 1 0 init\nroot 42 1 sleep 100\nroot 43 42 sh -c x\n";
        let out = filter_ps(text, &[42]).unwrap();
        assert_eq!(out, "UID PID PPID CMD\nroot 42 1 sleep 100\n");
        assert!(filter_ps("USER CMD\nroot x\n", &[1]).is_err());
    }
}
