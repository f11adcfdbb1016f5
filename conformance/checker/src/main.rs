//! husk-checker: runs as a container's process and prints one JSON object describing what the
//! process sees (namespaces, mounts, identity, capabilities, limits, ...).
//!
//! It never panics on purpose: every failure is reported as a string inside the JSON, so that
//! the test that reads the output can tell what went wrong.
//!
//! Options (each may be repeated):
//!   --stat PATH     lstat PATH (type, mode, owner, device numbers, symlink target)
//!   --probe PATH    does PATH exist, can it be read (and how much), can it be written
//!   --sysctl NAME   content of /proc/sys/NAME (dots become slashes)
//!   --file PATH     content of PATH

mod json;

use json::Json;
use std::ffi::CString;
use std::io::Read;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut stats = Vec::new();
    let mut probes = Vec::new();
    let mut sysctls = Vec::new();
    let mut files = Vec::new();
    let mut arg_errors = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let target = match flag {
            "--stat" => Some(&mut stats),
            "--probe" => Some(&mut probes),
            "--sysctl" => Some(&mut sysctls),
            "--file" => Some(&mut files),
            _ => None,
        };
        match (target, args.get(i + 1)) {
            (Some(list), Some(value)) => {
                list.push(value.clone());
                i += 2;
            }
            (Some(_), None) => {
                arg_errors.push(Json::str(format!("{flag}: missing value")));
                i += 1;
            }
            (None, _) => {
                arg_errors.push(Json::str(format!("unknown argument {flag:?}")));
                i += 1;
            }
        }
    }

    let status = read_string("/proc/self/status");
    let status_field = |name: &str| -> Option<String> {
        let text = status.as_ref().ok()?;
        text.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        })
    };

    let mut out = Vec::new();
    out.push(("arg_errors", Json::Arr(arg_errors)));
    out.push(("pid", Json::Int(unsafe { libc::getpid() } as i64)));
    out.push(("ppid", Json::Int(unsafe { libc::getppid() } as i64)));
    out.push(("namespaces", namespaces()));
    out.push(("uid_map", id_map("/proc/self/uid_map")));
    out.push(("gid_map", id_map("/proc/self/gid_map")));
    out.push(("mounts", mountinfo()));
    out.push(("uname", uname()));
    out.push(("ids", ids()));
    out.push(("capabilities", capabilities(&status_field)));
    out.push(("rlimits", rlimits()));
    out.push(("no_new_privs", no_new_privs()));
    out.push(("oom_score_adj", oom_score_adj()));
    out.push((
        "umask",
        match status_field("Umask") {
            Some(v) => match u32::from_str_radix(&v, 8) {
                Ok(n) => Json::Int(n as i64),
                Err(e) => Json::error(format!("Umask {v:?}: {e}")),
            },
            None => Json::error("no Umask line in /proc/self/status"),
        },
    ));
    out.push((
        "cwd",
        match std::env::current_dir() {
            Ok(p) => Json::str(p.to_string_lossy()),
            Err(e) => Json::error(e),
        },
    ));
    out.push((
        "env",
        Json::Arr(
            std::env::vars_os()
                .map(|(k, v)| Json::str(format!("{}={}", k.to_string_lossy(), v.to_string_lossy())))
                .collect(),
        ),
    ));
    out.push(("personality", personality()));
    out.push(("scheduler", scheduler()));
    out.push(("ioprio", ioprio()));
    out.push((
        "attr_current",
        match read_string("/proc/self/attr/current") {
            Ok(s) => Json::str(s.trim_end_matches(['\n', '\0'])),
            Err(e) => Json::error(e),
        },
    ));
    out.push((
        "seccomp",
        match status_field("Seccomp").map(|v| v.parse::<i64>()) {
            Some(Ok(n)) => Json::Int(n),
            Some(Err(e)) => Json::error(e),
            None => Json::error("no Seccomp line in /proc/self/status"),
        },
    ));
    out.push((
        "stat",
        Json::Obj(stats.iter().map(|p| (p.clone(), stat(p))).collect()),
    ));
    out.push((
        "probe",
        Json::Obj(probes.iter().map(|p| (p.clone(), probe(p))).collect()),
    ));
    out.push((
        "sysctl",
        Json::Obj(
            sysctls
                .iter()
                .map(|n| {
                    let path = format!("/proc/sys/{}", n.replace('.', "/"));
                    let v = match read_string(&path) {
                        Ok(s) => Json::str(s.trim_end()),
                        Err(e) => Json::error(e),
                    };
                    (n.clone(), v)
                })
                .collect(),
        ),
    ));
    out.push((
        "file",
        Json::Obj(
            files
                .iter()
                .map(|p| {
                    let v = match read_string(p) {
                        Ok(s) => Json::str(s),
                        Err(e) => Json::error(e),
                    };
                    (p.clone(), v)
                })
                .collect(),
        ),
    ));

    let doc = Json::Obj(out.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    let mut text = doc.to_string();
    text.push('\n');
    write_all(1, text.as_bytes());
}

fn write_all(fd: i32, mut buf: &[u8]) {
    while !buf.is_empty() {
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        buf = &buf[n as usize..];
    }
}

/// Reads at most 1 MiB of a file as (lossy) UTF-8 text.
fn read_string(path: &str) -> Result<String, String> {
    let f = std::fs::File::open(path).map_err(|e| io_err(&e))?;
    let mut buf = Vec::new();
    f.take(1 << 20)
        .read_to_end(&mut buf)
        .map_err(|e| io_err(&e))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn io_err(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => format!("{}: {}", errno_name(n), e),
        None => e.to_string(),
    }
}

fn errno_name(n: i32) -> &'static str {
    match n {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ELOOP => "ELOOP",
        libc::ETXTBSY => "ETXTBSY",
        _ => "E?",
    }
}

fn errno_json(n: i32) -> Json {
    Json::Obj(vec![
        ("errno".into(), Json::Int(n as i64)),
        ("name".into(), Json::str(errno_name(n))),
    ])
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn cstring(s: &str) -> Result<CString, Json> {
    CString::new(s).map_err(|_| Json::error("path contains a NUL byte"))
}

fn namespaces() -> Json {
    let kinds = [
        "cgroup",
        "ipc",
        "mnt",
        "net",
        "pid",
        "pid_for_children",
        "time",
        "time_for_children",
        "user",
        "uts",
    ];
    Json::Obj(
        kinds
            .iter()
            .map(|k| {
                let v = match std::fs::read_link(format!("/proc/self/ns/{k}")) {
                    Ok(target) => {
                        let link = target.to_string_lossy().into_owned();
                        // "net:[4026531840]" -> 4026531840
                        let inode = link
                            .rsplit_once('[')
                            .and_then(|(_, r)| r.strip_suffix(']'))
                            .and_then(|n| n.parse::<u64>().ok());
                        Json::Obj(vec![
                            ("link".into(), Json::str(link)),
                            ("inode".into(), inode.map(Json::UInt).unwrap_or(Json::Null)),
                        ])
                    }
                    Err(e) => Json::error(io_err(&e)),
                };
                (k.to_string(), v)
            })
            .collect(),
    )
}

/// uid_map / gid_map as a list of [inside, outside, count].
fn id_map(path: &str) -> Json {
    match read_string(path) {
        Ok(text) => Json::Arr(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    Json::Arr(
                        l.split_whitespace()
                            .map(|n| match n.parse::<u64>() {
                                Ok(n) => Json::UInt(n),
                                Err(_) => Json::str(n),
                            })
                            .collect(),
                    )
                })
                .collect(),
        ),
        Err(e) => Json::error(e),
    }
}

/// Undoes mountinfo's octal escapes (\040 for space, ...).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn split_opts(s: &str) -> Json {
    Json::Arr(
        s.split(',')
            .filter(|o| !o.is_empty())
            .map(|o| Json::str(unescape(o)))
            .collect(),
    )
}

fn mountinfo() -> Json {
    let text = match read_string("/proc/self/mountinfo") {
        Ok(t) => t,
        Err(e) => return Json::error(e),
    };
    Json::Arr(
        text.lines()
            .map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let sep = fields.iter().position(|f| *f == "-");
                match sep {
                    Some(sep) if sep >= 6 && fields.len() >= sep + 4 => Json::Obj(vec![
                        ("id".into(), Json::str(fields[0])),
                        ("parent".into(), Json::str(fields[1])),
                        ("dev".into(), Json::str(fields[2])),
                        ("root".into(), Json::str(unescape(fields[3]))),
                        ("mount_point".into(), Json::str(unescape(fields[4]))),
                        ("options".into(), split_opts(fields[5])),
                        (
                            "propagation".into(),
                            Json::Arr(fields[6..sep].iter().map(|f| Json::str(*f)).collect()),
                        ),
                        ("fs_type".into(), Json::str(unescape(fields[sep + 1]))),
                        ("source".into(), Json::str(unescape(fields[sep + 2]))),
                        ("super_options".into(), split_opts(fields[sep + 3])),
                    ]),
                    _ => Json::error(format!("unparsed mountinfo line: {line}")),
                }
            })
            .collect(),
    )
}

fn type_name(mode: u32) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "file",
        libc::S_IFDIR => "dir",
        libc::S_IFLNK => "symlink",
        libc::S_IFCHR => "char",
        libc::S_IFBLK => "block",
        libc::S_IFIFO => "fifo",
        libc::S_IFSOCK => "socket",
        _ => "unknown",
    }
}

fn lstat(path: &str) -> Result<libc::stat, i32> {
    let c = cstring(path).map_err(|_| libc::EINVAL)?;
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::lstat(c.as_ptr(), &mut st) } == 0 {
        Ok(st)
    } else {
        Err(last_errno())
    }
}

fn stat(path: &str) -> Json {
    let st = match lstat(path) {
        Ok(st) => st,
        Err(n) => {
            return Json::Obj(vec![
                ("error".into(), Json::str(errno_name(n))),
                ("errno".into(), Json::Int(n as i64)),
            ])
        }
    };
    let mut o = vec![
        ("type".into(), Json::str(type_name(st.st_mode))),
        ("mode".into(), Json::Int((st.st_mode & 0o7777) as i64)),
        ("uid".into(), Json::Int(st.st_uid as i64)),
        ("gid".into(), Json::Int(st.st_gid as i64)),
        ("size".into(), Json::Int(st.st_size)),
        (
            "rdev_major".into(),
            Json::Int(libc::major(st.st_rdev) as i64),
        ),
        (
            "rdev_minor".into(),
            Json::Int(libc::minor(st.st_rdev) as i64),
        ),
    ];
    if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
        let target = match std::fs::read_link(path) {
            Ok(t) => Json::str(t.to_string_lossy()),
            Err(e) => Json::error(io_err(&e)),
        };
        o.push(("link_target".into(), target));
    }
    Json::Obj(o)
}

/// Exists? Readable (and how many bytes / entries)? Writable (and if not, which errno)?
/// Files are opened non-blocking so that a device or a /proc file that would block cannot hang
/// the checker; the write probe opens for writing but never writes. For a directory the write
/// probe creates (and removes at once) a file in it.
fn probe(path: &str) -> Json {
    let st = match lstat(path) {
        Ok(st) => st,
        Err(n) => {
            return Json::Obj(vec![
                ("exists".into(), Json::Bool(false)),
                ("lstat_error".into(), errno_json(n)),
            ])
        }
    };
    let mut o = vec![
        ("exists".into(), Json::Bool(true)),
        ("type".into(), Json::str(type_name(st.st_mode))),
    ];
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        let read = match std::fs::read_dir(path) {
            Ok(rd) => Json::Obj(vec![
                ("ok".into(), Json::Bool(true)),
                ("entries".into(), Json::Int(rd.count() as i64)),
            ]),
            Err(e) => Json::Obj(vec![
                ("ok".into(), Json::Bool(false)),
                ("error".into(), errno_json(e.raw_os_error().unwrap_or(0))),
            ]),
        };
        o.push(("read".into(), read));
        let name = format!(
            "{}/.husk-checker-probe-{}",
            path.trim_end_matches('/'),
            unsafe { libc::getpid() }
        );
        let write = match cstring(&name) {
            Err(j) => j,
            Ok(c) => {
                let fd = unsafe {
                    libc::open(
                        c.as_ptr(),
                        libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
                        0o600,
                    )
                };
                if fd >= 0 {
                    unsafe {
                        libc::close(fd);
                        libc::unlink(c.as_ptr());
                    }
                    Json::Obj(vec![("ok".into(), Json::Bool(true))])
                } else {
                    Json::Obj(vec![
                        ("ok".into(), Json::Bool(false)),
                        ("error".into(), errno_json(last_errno())),
                    ])
                }
            }
        };
        o.push(("write".into(), write));
        return Json::Obj(o);
    }
    let c = match cstring(path) {
        Ok(c) => c,
        Err(j) => return j,
    };
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    let read = if fd < 0 {
        Json::Obj(vec![
            ("ok".into(), Json::Bool(false)),
            ("error".into(), errno_json(last_errno())),
        ])
    } else {
        let mut buf = vec![0u8; 65536];
        let mut total = 0usize;
        let mut err = None;
        while total < buf.len() {
            let n = unsafe { libc::read(fd, buf[total..].as_mut_ptr().cast(), buf.len() - total) };
            if n < 0 {
                let e = last_errno();
                if e == libc::EINTR {
                    continue;
                }
                err = Some(e);
                break;
            }
            if n == 0 {
                break;
            }
            total += n as usize;
        }
        unsafe { libc::close(fd) };
        match err {
            Some(e) => Json::Obj(vec![
                ("ok".into(), Json::Bool(false)),
                ("len".into(), Json::Int(total as i64)),
                ("error".into(), errno_json(e)),
            ]),
            None => Json::Obj(vec![
                ("ok".into(), Json::Bool(true)),
                ("len".into(), Json::Int(total as i64)),
            ]),
        }
    };
    o.push(("read".into(), read));
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    let write = if fd < 0 {
        Json::Obj(vec![
            ("ok".into(), Json::Bool(false)),
            ("error".into(), errno_json(last_errno())),
        ])
    } else {
        unsafe { libc::close(fd) };
        Json::Obj(vec![("ok".into(), Json::Bool(true))])
    };
    o.push(("write".into(), write));
    Json::Obj(o)
}

fn cstr_field(f: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = f
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn uname() -> Json {
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return Json::error(io_err(&std::io::Error::last_os_error()));
    }
    Json::Obj(vec![
        ("sysname".into(), Json::str(cstr_field(&u.sysname))),
        ("nodename".into(), Json::str(cstr_field(&u.nodename))),
        ("release".into(), Json::str(cstr_field(&u.release))),
        ("machine".into(), Json::str(cstr_field(&u.machine))),
        ("domainname".into(), Json::str(cstr_field(&u.domainname))),
    ])
}

fn ids() -> Json {
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let groups = if n < 0 {
        Json::error(io_err(&std::io::Error::last_os_error()))
    } else {
        let mut v = vec![0 as libc::gid_t; n as usize];
        let m = unsafe { libc::getgroups(n, v.as_mut_ptr()) };
        if m < 0 {
            Json::error(io_err(&std::io::Error::last_os_error()))
        } else {
            Json::Arr(
                v[..m as usize]
                    .iter()
                    .map(|g| Json::Int(*g as i64))
                    .collect(),
            )
        }
    };
    Json::Obj(vec![
        ("uid".into(), Json::Int(unsafe { libc::getuid() } as i64)),
        ("gid".into(), Json::Int(unsafe { libc::getgid() } as i64)),
        ("euid".into(), Json::Int(unsafe { libc::geteuid() } as i64)),
        ("egid".into(), Json::Int(unsafe { libc::getegid() } as i64)),
        ("groups".into(), groups),
    ])
}

fn capabilities(field: &dyn Fn(&str) -> Option<String>) -> Json {
    let sets = [
        ("inheritable", "CapInh"),
        ("permitted", "CapPrm"),
        ("effective", "CapEff"),
        ("bounding", "CapBnd"),
        ("ambient", "CapAmb"),
    ];
    Json::Obj(
        sets.iter()
            .map(|(name, key)| {
                let v = match field(key) {
                    Some(hex) => match u64::from_str_radix(&hex, 16) {
                        Ok(n) => Json::UInt(n),
                        Err(e) => Json::error(format!("{key} {hex:?}: {e}")),
                    },
                    None => Json::error(format!("no {key} line in /proc/self/status")),
                };
                (name.to_string(), v)
            })
            .collect(),
    )
}

fn rlimits() -> Json {
    let all: [(&str, u32); 16] = [
        ("RLIMIT_CPU", libc::RLIMIT_CPU),
        ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
        ("RLIMIT_DATA", libc::RLIMIT_DATA),
        ("RLIMIT_STACK", libc::RLIMIT_STACK),
        ("RLIMIT_CORE", libc::RLIMIT_CORE),
        ("RLIMIT_RSS", libc::RLIMIT_RSS),
        ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
        ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
        ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
        ("RLIMIT_AS", libc::RLIMIT_AS),
        ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
        ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
        ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
        ("RLIMIT_NICE", libc::RLIMIT_NICE),
        ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
        ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
    ];
    Json::Obj(
        all.iter()
            .map(|(name, res)| {
                let mut r = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                let v = if unsafe { libc::getrlimit(*res, &mut r) } == 0 {
                    Json::Obj(vec![
                        ("soft".into(), Json::UInt(r.rlim_cur)),
                        ("hard".into(), Json::UInt(r.rlim_max)),
                    ])
                } else {
                    Json::error(io_err(&std::io::Error::last_os_error()))
                };
                (name.to_string(), v)
            })
            .collect(),
    )
}

fn no_new_privs() -> Json {
    let r = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    if r < 0 {
        Json::error(io_err(&std::io::Error::last_os_error()))
    } else {
        Json::Int(r as i64)
    }
}

fn oom_score_adj() -> Json {
    match read_string("/proc/self/oom_score_adj") {
        Ok(s) => match s.trim().parse::<i64>() {
            Ok(n) => Json::Int(n),
            Err(e) => Json::error(format!("{s:?}: {e}")),
        },
        Err(e) => Json::error(e),
    }
}

fn personality() -> Json {
    let r = unsafe { libc::personality(0xffff_ffff) };
    if r < 0 {
        Json::error(io_err(&std::io::Error::last_os_error()))
    } else {
        Json::Int(r as i64)
    }
}

fn scheduler() -> Json {
    let policy = unsafe { libc::sched_getscheduler(0) };
    if policy < 0 {
        return Json::error(io_err(&std::io::Error::last_os_error()));
    }
    let mut p = libc::sched_param { sched_priority: 0 };
    let prio = if unsafe { libc::sched_getparam(0, &mut p) } == 0 {
        Json::Int(p.sched_priority as i64)
    } else {
        Json::error(io_err(&std::io::Error::last_os_error()))
    };
    // SCHED_RESET_ON_FORK may be or-ed into the policy.
    let base = policy & !0x4000_0000;
    let name = match base {
        libc::SCHED_OTHER => "SCHED_OTHER",
        libc::SCHED_FIFO => "SCHED_FIFO",
        libc::SCHED_RR => "SCHED_RR",
        libc::SCHED_BATCH => "SCHED_BATCH",
        libc::SCHED_IDLE => "SCHED_IDLE",
        6 => "SCHED_DEADLINE",
        _ => "unknown",
    };
    Json::Obj(vec![
        ("policy".into(), Json::Int(policy as i64)),
        ("name".into(), Json::str(name)),
        (
            "reset_on_fork".into(),
            Json::Bool(policy & 0x4000_0000 != 0),
        ),
        ("priority".into(), prio),
    ])
}

fn ioprio() -> Json {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    let r = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0 as libc::c_long) };
    if r < 0 {
        return Json::error(io_err(&std::io::Error::last_os_error()));
    }
    let class = r >> 13;
    let class_name = match class {
        0 => "IOPRIO_CLASS_NONE",
        1 => "IOPRIO_CLASS_RT",
        2 => "IOPRIO_CLASS_BE",
        3 => "IOPRIO_CLASS_IDLE",
        _ => "unknown",
    };
    Json::Obj(vec![
        ("raw".into(), Json::Int(r as i64)),
        ("class".into(), Json::Int(class as i64)),
        ("class_name".into(), Json::str(class_name)),
        ("level".into(), Json::Int((r & 0x7) as i64)),
    ])
}
