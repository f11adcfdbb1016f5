//! The unit properties of a container: its resources translated as runc's systemd driver
//! translates them, and the `org.systemd.property.NAME` annotations in runc's syntax.

use super::dbus::Value;
use crate::cgroups::v2;
use crate::error::{Error, Result};
use oci_spec::runtime::LinuxResources;

type Props = Vec<(String, Value)>;

/// systemd's USEC_INFINITY / "no limit" for the u64 properties.
const INFINITY: u64 = u64::MAX;
/// The period systemd and the kernel assume when none is given.
const DEFAULT_PERIOD: u64 = 100_000;

/// A cpu/memory-node list ("0-3,5") as the byte mask AllowedCPUs/AllowedMemoryNodes take:
/// bit n%8 of byte n/8 for each member n.
pub fn list_to_mask(list: &str, field: &str) -> Result<Vec<u8>> {
    let bad = || Error::Config(format!("{field}: invalid list {list:?}"));
    let mut mask: Vec<u8> = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = b.trim().parse().map_err(|_| bad())?;
        if a > b || b >= 1 << 16 {
            return Err(bad());
        }
        for n in a..=b {
            if mask.len() <= n / 8 {
                mask.resize(n / 8 + 1, 0);
            }
            mask[n / 8] |= 1 << (n % 8);
        }
    }
    if mask.is_empty() {
        return Err(bad());
    }
    Ok(mask)
}

fn bytes(v: Vec<u8>) -> Value {
    Value::Array("y".into(), v.into_iter().map(Value::Byte).collect())
}

/// runc's CPUQuotaPerSecUSec: microseconds per second, rounded up to whole percents
/// (systemd keeps the quota as a percentage); no quota is infinity.
fn add_quota(p: &mut Props, quota: i64, period: u64) {
    if period != 0 {
        p.push(("CPUQuotaPeriodUSec".into(), Value::U64(period)));
    }
    if quota == 0 && period == 0 {
        return;
    }
    let mut per_sec = INFINITY;
    if quota > 0 {
        let period = if period == 0 { DEFAULT_PERIOD } else { period };
        per_sec = (quota as u64).saturating_mul(1_000_000) / period;
        if per_sec % 10_000 != 0 {
            per_sec = (per_sec / 10_000 + 1) * 10_000;
        }
    }
    p.push(("CPUQuotaPerSecUSec".into(), Value::U64(per_sec)));
}

fn signed(v: i64) -> u64 {
    if v < 0 {
        INFINITY
    } else {
        v as u64
    }
}

/// `linux.resources` as unit properties (only what is set). Whatever systemd has no
/// property for is written to the cgroup's files afterwards, as with cgroupfs.
pub fn from_resources(r: &LinuxResources) -> Result<Props> {
    let mut p = Props::new();
    if let Some(m) = r.memory() {
        let limit = m.limit().unwrap_or(0);
        if limit != 0 {
            p.push(("MemoryMax".into(), Value::U64(signed(limit))));
        }
        if let Some(res) = m.reservation().filter(|v| *v != 0) {
            p.push(("MemoryLow".into(), Value::U64(signed(res))));
        }
        if let Some(s) = v2::swap_to_v2(m.swap().unwrap_or(0), limit)? {
            let v = if s == "max" {
                INFINITY
            } else {
                s.parse().unwrap_or(INFINITY)
            };
            p.push(("MemorySwapMax".into(), Value::U64(v)));
        }
    }
    if let Some(c) = r.cpu() {
        let w = v2::shares_to_weight(c.shares().unwrap_or(0));
        if w != 0 {
            p.push(("CPUWeight".into(), Value::U64(w)));
        }
        add_quota(&mut p, c.quota().unwrap_or(0), c.period().unwrap_or(0));
        let sets = [
            (c.cpus(), "AllowedCPUs", "cpus"),
            (c.mems(), "AllowedMemoryNodes", "mems"),
        ];
        for (list, name, f) in sets {
            if let Some(l) = list.as_deref().filter(|l| !l.is_empty()) {
                let mask = list_to_mask(l, &format!("linux.resources.cpu.{f}"))?;
                p.push((name.into(), bytes(mask)));
            }
        }
    }
    if let Some(l) = r
        .pids()
        .as_ref()
        .map(|p| p.limit())
        .filter(|l| *l > 0 || *l == -1)
    {
        p.push(("TasksMax".into(), Value::U64(signed(l))));
    }
    if let Some(w) = r
        .block_io()
        .as_ref()
        .and_then(|b| b.weight())
        .filter(|w| *w != 0)
    {
        p.push((
            "IOWeight".into(),
            Value::U64(v2::blkio_weight_to_io_weight(w)),
        ));
    }
    if let Some(u) = r.unified() {
        from_unified(&mut p, u)?;
    }
    Ok(p)
}

fn u64_or_max(k: &str, v: &str) -> Result<u64> {
    if v == "max" {
        return Ok(INFINITY);
    }
    v.parse()
        .map_err(|_| Error::Config(format!("linux.resources.unified.{k}: invalid value {v:?}")))
}

/// The `unified` files systemd has properties for; the others go to the files only.
fn from_unified(p: &mut Props, u: &std::collections::HashMap<String, String>) -> Result<()> {
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    for k in keys {
        let v = u[k].trim();
        let named =
            |n: &str| -> Result<(String, Value)> { Ok((n.into(), Value::U64(u64_or_max(k, v)?))) };
        match k.as_str() {
            "cpu.max" => {
                let mut f = v.split_whitespace();
                let quota = match f.next() {
                    Some("max") | None => 0,
                    Some(q) => q.parse().map_err(|_| {
                        Error::Config(format!(
                            "linux.resources.unified.cpu.max: invalid value {v:?}"
                        ))
                    })?,
                };
                let period = match f.next() {
                    Some(x) => u64_or_max(k, x)?,
                    None => DEFAULT_PERIOD,
                };
                add_quota(p, quota, period);
            }
            "cpu.weight" => p.push(named("CPUWeight")?),
            "cpuset.cpus" => p.push((
                "AllowedCPUs".into(),
                bytes(list_to_mask(v, "linux.resources.unified.cpuset.cpus")?),
            )),
            "cpuset.mems" => p.push((
                "AllowedMemoryNodes".into(),
                bytes(list_to_mask(v, "linux.resources.unified.cpuset.mems")?),
            )),
            "memory.high" => p.push(named("MemoryHigh")?),
            "memory.low" => p.push(named("MemoryLow")?),
            "memory.min" => p.push(named("MemoryMin")?),
            "memory.max" => p.push(named("MemoryMax")?),
            "memory.swap.max" => p.push(named("MemorySwapMax")?),
            "pids.max" => p.push(named("TasksMax")?),
            _ => {}
        }
    }
    Ok(())
}

const PREFIX: &str = "org.systemd.property.";

/// Unit properties from `org.systemd.property.NAME` annotations, with runc's rules: NAME is
/// 3+ latin letters; the value is in GVariant text form (see [`gvariant`]); a NAME ending in
/// a lower-case letter + "Sec" is in seconds and is passed as NAMEUSec in microseconds.
pub fn from_annotations<'a>(ann: impl Iterator<Item = (&'a String, &'a String)>) -> Result<Props> {
    let mut out = Props::new();
    for (k, v) in ann {
        let Some(name) = k.strip_prefix(PREFIX) else {
            continue;
        };
        if name.len() < 3 || !name.bytes().all(|c| c.is_ascii_alphabetic()) {
            return Err(Error::Config(format!(
                "annotations.{k}: {name:?} is not a systemd property name (3 or more latin letters)"
            )));
        }
        let bad = |why: &str| Error::Config(format!("annotations.{k}: value {v:?}: {why}"));
        let mut value = gvariant(v).map_err(|e| bad(&e))?;
        let mut name = name.to_string();
        let b = name.as_bytes();
        if name.ends_with("Sec") && b.len() > 3 && b[b.len() - 4].is_ascii_lowercase() {
            value = Value::U64(seconds_to_usec(&value).ok_or_else(|| bad("not a number"))?);
            name = format!("{}USec", &name[..name.len() - 3]);
        }
        out.push((name, value));
    }
    Ok(out)
}

fn seconds_to_usec(v: &Value) -> Option<u64> {
    const M: u64 = 1_000_000;
    Some(match *v {
        Value::Byte(x) => u64::from(x) * M,
        Value::I16(x) => (x as u64).wrapping_mul(M),
        Value::U16(x) => u64::from(x) * M,
        Value::I32(x) => (x as u64).wrapping_mul(M),
        Value::U32(x) => u64::from(x) * M,
        Value::I64(x) => (x as u64).wrapping_mul(M),
        Value::U64(x) => x.wrapping_mul(M),
        Value::F64(x) => (x * M as f64) as u64,
        _ => return None,
    })
}

/// The GVariant text forms runc's annotations use: `true`/`false`; a number, typed with a
/// keyword (`uint64 5`, `int32 -1`, `byte 3`, `double 1.5`...) or a `@t` prefix, untyped
/// meaning int32 (double with a dot); a 'single' or "double" quoted string; an array of
/// strings `['a', 'b']` (`@as []` for an empty one). Other forms are refused.
pub fn gvariant(text: &str) -> std::result::Result<Value, String> {
    let t = text.trim();
    match t {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        "@as []" => return Ok(Value::Array("s".into(), vec![])),
        _ => {}
    }
    if t.starts_with('\'') || t.starts_with('"') {
        return quoted(t).map(Value::Str);
    }
    if let Some(inner) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return string_array(inner);
    }
    let (ty, num) = match t.split_once(char::is_whitespace) {
        Some((ty, n)) => (ty, n.trim()),
        None => ("", t),
    };
    typed_number(ty, num)
}

fn typed_number(ty: &str, n: &str) -> std::result::Result<Value, String> {
    let e = |_| format!("cannot parse {n:?} as a number of type {ty:?}");
    Ok(match ty {
        "" if n.contains('.') => Value::F64(n.parse().map_err(|_| format!("cannot parse {n:?}"))?),
        "" | "int32" | "@i" => Value::I32(n.parse().map_err(e)?),
        "byte" | "@y" => Value::Byte(n.parse().map_err(e)?),
        "int16" | "@n" => Value::I16(n.parse().map_err(e)?),
        "uint16" | "@q" => Value::U16(n.parse().map_err(e)?),
        "uint32" | "@u" => Value::U32(n.parse().map_err(e)?),
        "int64" | "@x" => Value::I64(n.parse().map_err(e)?),
        "uint64" | "@t" => Value::U64(n.parse().map_err(e)?),
        "double" | "@d" => Value::F64(
            n.parse()
                .map_err(|_| format!("cannot parse {n:?} as a double"))?,
        ),
        _ => {
            return Err(format!(
                "unsupported GVariant text {:?}",
                format!("{ty} {n}").trim()
            ))
        }
    })
}

fn quoted(t: &str) -> std::result::Result<String, String> {
    let q = t.chars().next().unwrap_or('\'');
    let inner = t
        .strip_prefix(q)
        .and_then(|s| s.strip_suffix(q))
        .filter(|_| t.len() >= 2)
        .ok_or("unterminated string")?;
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => out.push(it.next().ok_or("string ends with a backslash")?),
            c if c == q => return Err("unescaped quote inside a string".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn string_array(inner: &str) -> std::result::Result<Value, String> {
    let mut items = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let q = rest.chars().next().unwrap_or(' ');
        if q != '\'' && q != '"' {
            return Err("only arrays of quoted strings are supported".into());
        }
        let mut end = None;
        let mut esc = false;
        for (i, c) in rest.char_indices().skip(1) {
            match c {
                _ if esc => esc = false,
                '\\' => esc = true,
                c if c == q => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or("unterminated string")?;
        items.push(Value::Str(quoted(&rest[..=end])?));
        rest = rest[end + 1..].trim_start();
        rest = match rest.strip_prefix(',') {
            Some(r) => r.trim_start(),
            None if rest.is_empty() => rest,
            None => return Err("expected ',' between array items".into()),
        };
    }
    Ok(Value::Array("s".into(), items))
}
