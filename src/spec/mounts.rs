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
    /// Recursive attributes (rro, rnosuid, ...): MOUNT_ATTR_* bits to set and to clear on the
    /// mount and every mount below it, with one mount_setattr(2) once it is mounted.
    pub rec_set: u64,
    pub rec_clr: u64,
}

/// mount_setattr(2) attribute bits.
pub mod attr {
    pub const RDONLY: u64 = 0x1;
    pub const NOSUID: u64 = 0x2;
    pub const NODEV: u64 = 0x4;
    pub const NOEXEC: u64 = 0x8;
    /// The access-time mode is a value in these bits, not a flag of its own.
    pub const ATIME_MASK: u64 = 0x70;
    pub const RELATIME: u64 = 0x0;
    pub const NOATIME: u64 = 0x10;
    pub const STRICTATIME: u64 = 0x20;
    pub const NODIRATIME: u64 = 0x80;
    pub const NOSYMFOLLOW: u64 = 0x200000;
}

/// A recursive attribute option: what it does to the attributes.
#[derive(Clone, Copy)]
enum RecAttr {
    Set(u64),
    Clear(u64),
    /// An access-time mode for the whole tree.
    Atime(u64),
    /// Leaves the access-time mode as it is (rnorelatime, as runc reads it).
    Nothing,
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
    /// rro, rnosuid, ...: applied to the whole mounted tree.
    Rec(RecAttr),
    /// idmap, ridmap.
    IdMap,
}

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
        // Idmapped mounts are prepared by the runtime (rootfs::idmap), not by these flags.
        "idmap" | "ridmap" => Opt::IdMap,
        o if o.starts_with("idmap=") || o.starts_with("ridmap=") => Opt::Unsupported(
            "mappings given in the idmap option itself (use uidMappings and gidMappings)",
        ),
        "rro" => Opt::Rec(RecAttr::Set(attr::RDONLY)),
        "rrw" => Opt::Rec(RecAttr::Clear(attr::RDONLY)),
        "rnosuid" => Opt::Rec(RecAttr::Set(attr::NOSUID)),
        "rsuid" => Opt::Rec(RecAttr::Clear(attr::NOSUID)),
        "rnodev" => Opt::Rec(RecAttr::Set(attr::NODEV)),
        "rdev" => Opt::Rec(RecAttr::Clear(attr::NODEV)),
        "rnoexec" => Opt::Rec(RecAttr::Set(attr::NOEXEC)),
        "rexec" => Opt::Rec(RecAttr::Clear(attr::NOEXEC)),
        "rnodiratime" => Opt::Rec(RecAttr::Set(attr::NODIRATIME)),
        "rdiratime" => Opt::Rec(RecAttr::Clear(attr::NODIRATIME)),
        "rnosymfollow" => Opt::Rec(RecAttr::Set(attr::NOSYMFOLLOW)),
        "rsymfollow" => Opt::Rec(RecAttr::Clear(attr::NOSYMFOLLOW)),
        "rrelatime" => Opt::Rec(RecAttr::Atime(attr::RELATIME)),
        "rnoatime" => Opt::Rec(RecAttr::Atime(attr::NOATIME)),
        "rstrictatime" => Opt::Rec(RecAttr::Atime(attr::STRICTATIME)),
        // "Not noatime" and "not strictatime" are the kernel's default mode, relatime (the
        // kernel refuses a partial clear of the access-time bits, so they cannot be a clear).
        "ratime" | "rnostrictatime" => Opt::Rec(RecAttr::Atime(attr::RELATIME)),
        "rnorelatime" => Opt::Rec(RecAttr::Nothing),
        _ => Opt::Data,
    }
}

/// Reject options that husk knows but cannot honour yet, so they are never silently ignored.
pub fn check_option(o: &str) -> Result<(), String> {
    match classify(o) {
        Opt::Unsupported(what) => Err(format!("{o:?}: {what}: not supported yet")),
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
            // Later options win over earlier ones, as for the plain flags.
            Opt::Rec(RecAttr::Set(f)) => {
                p.rec_set |= f;
                p.rec_clr &= !f;
            }
            Opt::Rec(RecAttr::Clear(f)) => {
                p.rec_clr |= f;
                p.rec_set &= !f;
            }
            Opt::Rec(RecAttr::Atime(mode)) => {
                p.rec_set = (p.rec_set & !attr::ATIME_MASK) | mode;
                p.rec_clr |= attr::ATIME_MASK;
            }
            Opt::Rec(RecAttr::Nothing) | Opt::IdMap => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(o: &[&str]) -> Parsed {
        parse(&o.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn recursive_attributes_set_clear_and_last_wins() {
        let r = p(&["rbind", "rro", "rnosuid", "ro"]);
        assert_eq!(r.rec_set, attr::RDONLY | attr::NOSUID);
        assert_eq!(r.rec_clr, 0);
        assert!(r.flags.contains(MsFlags::MS_RDONLY) && r.recursive_bind);
        assert!(!r.data.contains("rro"), "recursive options are not fs data");
        let r = p(&["rro", "rrw", "rnoexec"]);
        assert_eq!((r.rec_set, r.rec_clr), (attr::NOEXEC, attr::RDONLY));
    }

    #[test]
    fn recursive_access_time_is_one_mode() {
        let r = p(&["rnoatime"]);
        assert_eq!((r.rec_set, r.rec_clr), (attr::NOATIME, attr::ATIME_MASK));
        let r = p(&["rstrictatime", "rrelatime"]);
        assert_eq!((r.rec_set, r.rec_clr), (attr::RELATIME, attr::ATIME_MASK));
        let r = p(&["rnoatime", "ratime", "rnodiratime"]);
        assert_eq!((r.rec_set, r.rec_clr), (attr::NODIRATIME, attr::ATIME_MASK));
        let r = p(&["rnorelatime"]);
        assert_eq!((r.rec_set, r.rec_clr), (0, 0));
        assert!(check_option("rro").is_ok());
        assert!(check_option("idmap").is_ok() && check_option("idmap=uids=0-1-2").is_err());
        assert!(p(&["rbind", "ridmap"]).data.is_empty());
    }
}
