//! linux.netDevices (runtime-spec 1.3): host network interfaces moved into the container's
//! network namespace, renamed as asked, with their permanent global addresses, and set up.
//! As the spec requires (and runc does), nothing moves them back: when the namespace dies the
//! kernel returns physical devices to the host and destroys virtual ones (veth, macvlan, ...).
//! The move is one RTM_NEWLINK carrying IFLA_NET_NS_FD and IFLA_IFNAME, so the rename and the
//! move happen together and a name taken on either side cannot leave the device half-moved.

use crate::error::{Context, Error, Result};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
const RT_SCOPE_UNIVERSE: u8 = 0;
const IFF_UP: u32 = 1;
/// IFNAMSIZ less the terminating NUL.
const MAX_NAME: usize = 15;

fn cfg(msg: String) -> Error {
    Error::Config(msg)
}

/// The devices asked for, as (host name, name inside), sorted so errors are reproducible.
fn wanted(spec: &Spec) -> Vec<(String, String)> {
    let Some(devs) = spec.linux().as_ref().and_then(|l| l.net_devices().as_ref()) else {
        return Vec::new();
    };
    let mut v: Vec<_> = devs
        .iter()
        .map(|(host, d)| {
            let inside = d
                .name()
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(host);
            (host.clone(), inside.to_string())
        })
        .collect();
    v.sort();
    v
}

/// The kernel's rule for an interface name (dev_valid_name).
fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_NAME
        && n != "."
        && n != ".."
        && !n
            .bytes()
            .any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace())
}

/// Checked before anything is created: names, duplicates, the namespace, the host devices.
pub fn check(spec: &Spec) -> Result<()> {
    let want = wanted(spec);
    if want.is_empty() {
        return Ok(());
    }
    let ns = crate::spec::namespace(spec, LinuxNamespaceType::Network).ok_or_else(|| {
        cfg("linux.netDevices: moving network devices needs a network namespace in linux.namespaces".into())
    })?;
    if let Some(p) = ns.path() {
        if same_file(p, std::path::Path::new("/proc/self/ns/net")) {
            return Err(cfg(format!("linux.netDevices: the network namespace {} is the runtime's own (moving devices needs another one)", p.display())));
        }
    }
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(cfg(
            "linux.netDevices: moving network devices needs root on the host (not supported for rootless containers)".into(),
        ));
    }
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (host, inside) in &want {
        let field = format!("linux.netDevices[{host:?}]");
        if !valid_name(host) || host.contains('%') {
            return Err(cfg(format!("{field}: not a valid interface name (1 to {MAX_NAME} bytes, no '/', ':' or spaces)")));
        }
        if host == "lo" {
            return Err(cfg(format!("{field}: the loopback device cannot be moved (every network namespace has its own)")));
        }
        if !valid_name(inside) {
            return Err(cfg(format!("{field}.name {inside:?}: not a valid interface name (1 to {MAX_NAME} bytes, no '/', ':' or spaces)")));
        }
        if inside == "lo" {
            return Err(cfg(format!(
                "{field}.name \"lo\": the container's loopback device has that name"
            )));
        }
        // A template ("eth%d") lets the kernel pick a free name, so it may repeat.
        if !inside.contains('%') {
            if let Some(other) = seen.insert(inside, host) {
                return Err(cfg(format!("{field}.name {inside:?}: also the name of {other:?} (two devices cannot have one name)")));
            }
        }
        if index_of(host).is_none() {
            return Err(cfg(format!(
                "{field}: no network device of that name on the host"
            )));
        }
    }
    Ok(())
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

fn index_of(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: a NUL-terminated name.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

fn name_of(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: the buffer holds IF_NAMESIZE bytes, as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into buf.
    let s = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(s.to_string_lossy().into_owned())
}

/// Move every device of linux.netDevices into the network namespace of `pid` (the container's
/// init, already in its namespaces). Runs in the runtime, before init is let past its mounts.
pub fn move_all(spec: &Spec, pid: i32) -> Result<()> {
    let want = wanted(spec);
    if want.is_empty() {
        return Ok(());
    }
    let target = open_ro(&format!("/proc/{pid}/ns/net"))
        .ctx(|| "opening the container's network namespace".into())?;
    for (host, inside) in &want {
        move_one(host, inside, &target)
            .map_err(|e| cfg(format!("linux.netDevices[{host:?}]: {e}")))?;
        log::debug!("network device {host} moved into the container as {inside}");
    }
    Ok(())
}

fn open_ro(path: &str) -> std::io::Result<OwnedFd> {
    std::fs::File::open(path).map(OwnedFd::from)
}

fn move_one(host: &str, inside: &str, target: &OwnedFd) -> Result<()> {
    let index = index_of(host)
        .ok_or_else(|| Error::Other("no network device of that name on the host".into()))?;
    let nl = Netlink::open().ctx(|| "opening a netlink socket".into())?;
    // Down first, so nothing on the host keeps using it while it changes namespace.
    nl.ack(RTM_NEWLINK, 0, &link_msg(index, 0, IFF_UP, &[]))
        .ctx(|| "setting it down".into())?;
    let addrs = nl.addresses(index).ctx(|| "reading its addresses".into())?;
    let mut attrs = Vec::new();
    put_attr(&mut attrs, IFLA_IFNAME, &nul_terminated(inside));
    put_attr(
        &mut attrs,
        IFLA_NET_NS_FD,
        &(target.as_raw_fd() as u32).to_ne_bytes(),
    );
    nl.ack(RTM_NEWLINK, 0, &link_msg(index, 0, 0, &attrs))
        .ctx(|| format!("moving it into the container's network namespace as {inside:?}"))?;
    drop(nl);
    in_netns(target, || configure_inside(index, inside, &addrs))
}

/// Inside the container's namespace: find the device (by its index, which the kernel keeps
/// when it is free, else by name), put its addresses back and set it up.
fn configure_inside(old_index: u32, inside: &str, addrs: &[Addr]) -> Result<()> {
    let template = inside.split('%').next().unwrap_or(inside);
    let index = match name_of(old_index) {
        Some(n) if n == inside || (inside.contains('%') && n.starts_with(template)) => old_index,
        _ => index_of(inside).ok_or_else(|| {
            Error::Other(format!(
                "moved, but no device named {inside:?} in the container"
            ))
        })?,
    };
    let nl = Netlink::open().ctx(|| "opening a netlink socket in the container".into())?;
    for a in addrs {
        let mut body = vec![a.family, a.prefix, 0, RT_SCOPE_UNIVERSE];
        body.extend_from_slice(&index.to_ne_bytes());
        for (t, v) in &a.attrs {
            put_attr(&mut body, *t, v);
        }
        nl.ack(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &body)
            .ctx(|| "restoring one of its addresses".into())?;
    }
    nl.ack(RTM_NEWLINK, 0, &link_msg(index, IFF_UP, IFF_UP, &[]))
        .ctx(|| "setting it up in the container".into())
}

/// Run `f` with this thread in the network namespace `target`, then come back. husk is
/// single-threaded, so the whole runtime is in it meanwhile; `f` only talks netlink.
fn in_netns<T>(target: &OwnedFd, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let home = open_ro("/proc/thread-self/ns/net")
        .ctx(|| "opening the runtime's network namespace".into())?;
    // SAFETY: setns with valid namespace fds.
    if unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(Error::sys(
            "entering the container's network namespace",
            nix::errno::Errno::last(),
        ));
    }
    let r = f();
    // SAFETY: as above.
    if unsafe { libc::setns(home.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        // Staying in the container's namespace would make every later step wrong.
        eprintln!("husk: cannot return to the runtime's network namespace");
        std::process::exit(1);
    }
    r
}

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn put_attr(buf: &mut Vec<u8>, t: u16, data: &[u8]) {
    buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
    buf.extend_from_slice(&t.to_ne_bytes());
    buf.extend_from_slice(data);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

/// An ifinfomsg for `index` (flags under `change` set to `flags`), then `attrs`.
fn link_msg(index: u32, flags: u32, change: u32, attrs: &[u8]) -> Vec<u8> {
    let mut b = vec![libc::AF_UNSPEC as u8, 0, 0, 0];
    b.extend_from_slice(&index.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b.extend_from_slice(attrs);
    b
}

/// One address to carry over: family, prefix length, and its IFA_LOCAL/IFA_ADDRESS attributes.
#[derive(Debug, PartialEq)]
struct Addr {
    family: u8,
    prefix: u8,
    attrs: Vec<(u16, Vec<u8>)>,
}

/// Attributes of one message body after its fixed header of `skip` bytes.
fn attrs_of(body: &[u8], skip: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut p = skip;
    while p + 4 <= body.len() {
        let len = u16::from_ne_bytes([body[p], body[p + 1]]) as usize;
        let t = u16::from_ne_bytes([body[p + 2], body[p + 3]]);
        if len < 4 || p + len > body.len() {
            break;
        }
        out.push((t, &body[p + 4..p + len]));
        p += (len + 3) & !3;
    }
    out
}

/// The permanent, global addresses of `index` in one RTM_NEWADDR body, as the spec asks.
fn keep_addr(body: &[u8], index: u32) -> Option<Addr> {
    if body.len() < 8 || u32::from_ne_bytes([body[4], body[5], body[6], body[7]]) != index {
        return None;
    }
    let attrs = attrs_of(body, 8);
    let mut flags = body[2] as u32;
    if let Some((_, v)) = attrs.iter().find(|(t, v)| *t == IFA_FLAGS && v.len() == 4) {
        flags = u32::from_ne_bytes([v[0], v[1], v[2], v[3]]);
    }
    if flags & IFA_F_PERMANENT == 0 || body[3] != RT_SCOPE_UNIVERSE {
        return None;
    }
    Some(Addr {
        family: body[0],
        prefix: body[1],
        attrs: attrs
            .iter()
            .filter(|(t, _)| *t == IFA_LOCAL || *t == IFA_ADDRESS)
            .map(|(t, v)| (*t, v.to_vec()))
            .collect(),
    })
}

struct Netlink {
    fd: OwnedFd,
    seq: std::cell::Cell<u32>,
}

impl Netlink {
    fn open() -> std::io::Result<Netlink> {
        // SAFETY: plain socket call.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Netlink {
            // SAFETY: a fresh fd.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            seq: std::cell::Cell::new(1),
        })
    }

    fn send(&self, t: u16, flags: u16, body: &[u8]) -> std::io::Result<u32> {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        let mut m = Vec::with_capacity(16 + body.len());
        m.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&t.to_ne_bytes());
        m.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(body);
        // SAFETY: sending our own buffer on our socket (to the kernel: no address needed).
        let n = unsafe { libc::send(self.fd.as_raw_fd(), m.as_ptr().cast(), m.len(), 0) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(seq)
    }

    /// Read replies to `seq` until an ack/error or the end of a dump; `each` gets every
    /// other message (type, body).
    fn replies(&self, seq: u32, mut each: impl FnMut(u16, &[u8])) -> std::io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: reading into our own buffer.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let data = &buf[..n as usize];
            let mut p = 0;
            while p + 16 <= data.len() {
                let len = u32::from_ne_bytes(data[p..p + 4].try_into().unwrap()) as usize;
                let t = u16::from_ne_bytes([data[p + 4], data[p + 5]]);
                let s = u32::from_ne_bytes(data[p + 8..p + 12].try_into().unwrap());
                if len < 16 || p + len > data.len() {
                    return Err(std::io::Error::from_raw_os_error(libc::EBADMSG));
                }
                let body = &data[p + 16..p + len];
                p += (len + 3) & !3;
                if s != seq {
                    continue;
                }
                match t {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR if body.len() >= 4 => {
                        let err = i32::from_ne_bytes(body[..4].try_into().unwrap());
                        return match err {
                            0 => Ok(()),
                            e => Err(std::io::Error::from_raw_os_error(-e)),
                        };
                    }
                    _ => each(t, body),
                }
            }
        }
    }

    fn ack(&self, t: u16, flags: u16, body: &[u8]) -> std::io::Result<()> {
        let seq = self.send(t, flags | NLM_F_ACK, body)?;
        self.replies(seq, |_, _| {})
    }

    fn addresses(&self, index: u32) -> std::io::Result<Vec<Addr>> {
        let seq = self.send(RTM_GETADDR, NLM_F_DUMP, &[0u8; 8])?;
        let mut out = Vec::new();
        self.replies(seq, |t, body| {
            if t == RTM_NEWADDR {
                out.extend(keep_addr(body, index));
            }
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_follow_the_kernel_rule() {
        for ok in ["eth0", "a", "c0ntainer_eth0x", "eth%d", "x.y-z"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "sixteen-bytes-xx",
            "tab\t",
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn only_permanent_global_addresses_of_the_device_are_kept() {
        let msg = |flags: u8, scope: u8, index: u32, ext: Option<u32>| {
            let mut b = vec![libc::AF_INET as u8, 24, flags, scope];
            b.extend_from_slice(&index.to_ne_bytes());
            put_attr(&mut b, IFA_ADDRESS, &[10, 1, 2, 3]);
            put_attr(&mut b, IFA_LOCAL, &[10, 1, 2, 3]);
            put_attr(&mut b, 5, &[1, 2, 3, 4]); // IFA_BROADCAST: not carried
            if let Some(f) = ext {
                put_attr(&mut b, IFA_FLAGS, &f.to_ne_bytes());
            }
            b
        };
        let a = keep_addr(&msg(0x80, 0, 7, None), 7).expect("kept");
        assert_eq!(
            (a.family, a.prefix, a.attrs.len()),
            (libc::AF_INET as u8, 24, 2)
        );
        assert!(
            keep_addr(&msg(0x80, 0, 8, None), 7).is_none(),
            "other device"
        );
        assert!(keep_addr(&msg(0, 0, 7, None), 7).is_none(), "dynamic");
        assert!(
            keep_addr(&msg(0x80, 253, 7, None), 7).is_none(),
            "link scope"
        );
        // IFA_FLAGS (32 bits) wins over the 8-bit field.
        assert!(keep_addr(&msg(0x80, 0, 7, Some(0)), 7).is_none());
        assert!(keep_addr(&msg(0, 0, 7, Some(0x80)), 7).is_some());
        assert!(keep_addr(&[1, 2, 3], 7).is_none(), "short message");
    }
}
