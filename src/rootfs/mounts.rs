//! Mount options as the OCI spec and runc read them: flags, propagation, and the rest passed to
//! the filesystem as data.

use nix::mount::MsFlags;

#[derive(Debug, Clone)]
pub struct Parsed {
    /// Flags for the mount itself.
    pub flags: MsFlags,
    /// Flags that must be cleared (from "rw", "suid", ...), which matters for bind remounts.
    pub clear: MsFlags,
    /// Propagation changes applied after the mount, in order.
    pub propagation: Vec<MsFlags>,
    /// Comma-joined options the filesystem interprets (size=, mode=, ...).
    pub data: String,
    pub bind: bool,
    pub recursive_bind: bool,
    pub tmpcopyup: bool,
    /// Recursive attributes (rro, ...) to set and clear on the mount and every mount below
    /// it, with mount_setattr(2) once it is mounted.
    pub rec_set: u64,
    pub rec_clr: u64,
}

/// One option's meaning: (set, clear) flags, or a propagation type, or data.
enum Opt {
    Flag(MsFlags, bool),
    Propagation(MsFlags),
    Bind(bool),
    Data,
    /// Options we know but do not implement yet: an error, never silently dropped.
    Unsupported(&'static str),
    /// tmpcopyup: fill a new tmpfs with what the directory under it held.
    CopyUp,
    /// A recursive mount attribute (rro, rnosuid, ratime, ...): the MOUNT_ATTR_* bit, and
    /// whether the option clears it.
    RecAttr(u64, bool),
}

/// MOUNT_ATTR_* bits of mount_setattr(2).
pub const ATTR_RDONLY: u64 = 0x1;
pub const ATTR_NOSUID: u64 = 0x2;
pub const ATTR_NODEV: u64 = 0x4;
pub const ATTR_NOEXEC: u64 = 0x8;
pub const ATTR_ATIME_MASK: u64 = 0x70;
pub const ATTR_RELATIME: u64 = 0x0;
pub const ATTR_NOATIME: u64 = 0x10;
pub const ATTR_STRICTATIME: u64 = 0x20;
pub const ATTR_NODIRATIME: u64 = 0x80;
pub const ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

fn classify(o: &str) -> Opt {
    use MsFlags as F;
    match o {
        "ro" => Opt::Flag(F::MS_RDONLY, true),
        "rw" => Opt::Flag(F::MS_RDONLY, false),
        "nosuid" => Opt::Flag(F::MS_NOSUID, true),
        "suid" => Opt::Flag(F::MS_NOSUID, false),
        "nodev" => Opt::Flag(F::MS_NODEV, true),
        "dev" => Opt::Flag(F::MS_NODEV, false),
        "noexec" => Opt::Flag(F::MS_NOEXEC, true),
        "exec" => Opt::Flag(F::MS_NOEXEC, false),
        "sync" => Opt::Flag(F::MS_SYNCHRONOUS, true),
        "async" => Opt::Flag(F::MS_SYNCHRONOUS, false),
        "dirsync" => Opt::Flag(F::MS_DIRSYNC, true),
        "remount" => Opt::Flag(F::MS_REMOUNT, true),
        "mand" => Opt::Flag(F::MS_MANDLOCK, true),
        "nomand" => Opt::Flag(F::MS_MANDLOCK, false),
        "atime" => Opt::Flag(F::MS_NOATIME, false),
        "noatime" => Opt::Flag(F::MS_NOATIME, true),
        "diratime" => Opt::Flag(F::MS_NODIRATIME, false),
        "nodiratime" => Opt::Flag(F::MS_NODIRATIME, true),
        "relatime" => Opt::Flag(F::MS_RELATIME, true),
        "norelatime" => Opt::Flag(F::MS_RELATIME, false),
        "strictatime" => Opt::Flag(F::MS_STRICTATIME, true),
        "nostrictatime" => Opt::Flag(F::MS_STRICTATIME, false),
        "lazytime" => Opt::Flag(F::MS_LAZYTIME, true),
        "nolazytime" => Opt::Flag(F::MS_LAZYTIME, false),
        "silent" => Opt::Flag(F::MS_SILENT, true),
        "loud" => Opt::Flag(F::MS_SILENT, false),
        "defaults" => Opt::Flag(F::empty(), true),
        "acl" => Opt::Flag(F::MS_POSIXACL, true),
        "noacl" => Opt::Flag(F::MS_POSIXACL, false),
        "iversion" => Opt::Flag(F::MS_I_VERSION, true),
        "noiversion" => Opt::Flag(F::MS_I_VERSION, false),
        "nosymfollow" => Opt::Flag(F::from_bits_retain(256), true),
        "symfollow" => Opt::Flag(F::from_bits_retain(256), false),
        "bind" => Opt::Bind(false),
        "rbind" => Opt::Bind(true),
        "private" => Opt::Propagation(F::MS_PRIVATE),
        "rprivate" => Opt::Propagation(F::MS_PRIVATE | F::MS_REC),
        "shared" => Opt::Propagation(F::MS_SHARED),
        "rshared" => Opt::Propagation(F::MS_SHARED | F::MS_REC),
        "slave" => Opt::Propagation(F::MS_SLAVE),
        "rslave" => Opt::Propagation(F::MS_SLAVE | F::MS_REC),
        "unbindable" => Opt::Propagation(F::MS_UNBINDABLE),
        "runbindable" => Opt::Propagation(F::MS_UNBINDABLE | F::MS_REC),
        "tmpcopyup" => Opt::CopyUp,
        o if o.starts_with("idmap") || o.starts_with("ridmap") => {
            Opt::Unsupported("idmapped mounts (idmap, ridmap)")
        }
        "rro" => Opt::RecAttr(ATTR_RDONLY, false),
        "rrw" => Opt::RecAttr(ATTR_RDONLY, true),
        "rnosuid" => Opt::RecAttr(ATTR_NOSUID, false),
        "rsuid" => Opt::RecAttr(ATTR_NOSUID, true),
        "rnodev" => Opt::RecAttr(ATTR_NODEV, false),
        "rdev" => Opt::RecAttr(ATTR_NODEV, true),
        "rnoexec" => Opt::RecAttr(ATTR_NOEXEC, false),
        "rexec" => Opt::RecAttr(ATTR_NOEXEC, true),
        "rnodiratime" => Opt::RecAttr(ATTR_NODIRATIME, false),
        "rdiratime" => Opt::RecAttr(ATTR_NODIRATIME, true),
        "rrelatime" => Opt::RecAttr(ATTR_RELATIME, false),
        "rnorelatime" => Opt::RecAttr(ATTR_RELATIME, true),
        "rnoatime" => Opt::RecAttr(ATTR_NOATIME, false),
        "ratime" => Opt::RecAttr(ATTR_NOATIME, true),
        "rstrictatime" => Opt::RecAttr(ATTR_STRICTATIME, false),
        "rnostrictatime" => Opt::RecAttr(ATTR_STRICTATIME, true),
        "rnosymfollow" => Opt::RecAttr(ATTR_NOSYMFOLLOW, false),
        "rsymfollow" => Opt::RecAttr(ATTR_NOSYMFOLLOW, true),
        _ => Opt::Data,
    }
}

/// Reject options that husk knows but cannot honour yet, so they are never silently ignored.
pub fn check_option(o: &str) -> Result<(), String> {
    match classify(o) {
        Opt::Unsupported(what) => Err(format!("{o:?}: {what} are not supported yet")),
        _ => Ok(()),
    }
}

pub fn parse(options: &[String]) -> Parsed {
    let mut p = Parsed {
        flags: MsFlags::empty(),
        clear: MsFlags::empty(),
        propagation: Vec::new(),
        data: String::new(),
        bind: false,
        recursive_bind: false,
        tmpcopyup: false,
        rec_set: 0,
        rec_clr: 0,
    };
    let mut data = Vec::new();
    for o in options {
        match classify(o) {
            Opt::Flag(f, true) => {
                p.flags |= f;
                p.clear &= !f;
            }
            Opt::Flag(f, false) => {
                p.flags &= !f;
                p.clear |= f;
            }
            Opt::Propagation(f) => p.propagation.push(f),
            Opt::Bind(rec) => {
                p.bind = true;
                p.recursive_bind |= rec;
            }
            Opt::CopyUp => p.tmpcopyup = true,
            Opt::RecAttr(bit, clear) => {
                if clear {
                    p.rec_clr |= bit;
                    p.rec_set &= !bit;
                } else {
                    p.rec_set |= bit;
                    p.rec_clr &= !bit;
                }
                // The access-time mode is one field: setting (or clearing) any of it replaces
                // the whole field (mount_setattr(2)); clearing it all means relatime.
                if bit & ATTR_ATIME_MASK == bit {
                    p.rec_clr |= ATTR_ATIME_MASK;
                }
            }
            Opt::Data | Opt::Unsupported(_) => data.push(o.as_str()),
        }
    }
    p.data = data.join(",");
    p
}

/// Propagation of the rootfs mount from `linux.rootfsPropagation`.
pub fn rootfs_propagation(v: &str) -> Option<MsFlags> {
    match classify(v) {
        Opt::Propagation(f) => Some(f),
        _ => None,
    }
}
