//! The one reader of /proc/<pid>/mountinfo (proc(5)): every line is
//! `id parent major:minor root mount-point options [optional fields...] - fstype source super-options`,
//! its paths escaped (`\040` for a space, `\011` tab, `\012` newline, `\134` backslash). The
//! optional fields are as many as the kernel writes (none, `shared:N`, `master:N`, ...), so the
//! line is split at " - ", which no escaped field can contain.

use std::path::PathBuf;

/// One mount, its paths unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The directory of the filesystem that is mounted here (`/` for a whole filesystem; a
    /// bind mount or a cgroup namespace shows a path below its root).
    pub root: String,
    pub mount_point: PathBuf,
    /// Per-mount options (rw, nosuid, relatime, ...).
    pub options: String,
    /// Propagation and the like: `shared:1`, `master:2`, `propagate_from:3`, `unbindable`.
    pub optional: Vec<String>,
    pub fstype: String,
    pub source: String,
    /// Per-superblock options (for cgroup v1: the controllers).
    pub super_options: String,
}

/// Every mount of a mountinfo text, in its order (parents before children). A line the kernel
/// would not write (too few fields, no " - ") is skipped.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

/// The mounts of this process's mount namespace, or none when it cannot be read.
pub fn read_own() -> std::io::Result<Vec<Mount>> {
    std::fs::read_to_string("/proc/self/mountinfo").map(|t| parse(&t))
}

pub fn parse_line(line: &str) -> Option<Mount> {
    let (pre, post) = line.split_once(" - ")?;
    // Split on single spaces: an empty source shows as an empty field, not a missing one.
    let pre: Vec<&str> = pre.split(' ').collect();
    if pre.len() < 5 {
        return None;
    }
    let mut post = post.split(' ');
    Some(Mount {
        root: unescape(pre[3]),
        mount_point: PathBuf::from(unescape(pre[4])),
        options: pre.get(5).copied().unwrap_or("").to_string(),
        optional: pre.iter().skip(6).map(|s| s.to_string()).collect(),
        fstype: post.next().unwrap_or("").to_string(),
        source: unescape(post.next().unwrap_or("")),
        super_options: post.next().unwrap_or("").to_string(),
    })
}

/// The kernel's octal escapes (`\ooo`) decoded; anything else is kept as it is.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = u32::from(b[i + 1] - b'0') * 64
                + u32::from(b[i + 2] - b'0') * 8
                + u32::from(b[i + 3] - b'0');
            out.push(v as u8);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_fields_without_optional_fields() {
        let m =
            parse_line("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro").unwrap();
        assert_eq!(
            m,
            Mount {
                root: "/".into(),
                mount_point: "/".into(),
                options: "rw,relatime".into(),
                optional: vec![],
                fstype: "ext4".into(),
                source: "/dev/sda1".into(),
                super_options: "rw,errors=remount-ro".into(),
            }
        );
    }

    #[test]
    fn mountinfo_optional_fields_of_any_number() {
        let m = parse_line(
            "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue",
        )
        .unwrap();
        assert_eq!(m.optional, ["master:1", "shared:7"]);
        assert_eq!(m.root, "/mnt1");
        assert_eq!(m.mount_point, PathBuf::from("/mnt2"));
        assert_eq!(m.fstype, "ext3");
        assert_eq!(m.super_options, "rw,errors=continue");
    }

    #[test]
    fn mountinfo_escaped_spaces_in_root_mount_point_and_source() {
        let m = parse_line(
            r"40 22 0:35 /my\040dir /mnt/a\040b\011c rw shared:3 - tmpfs my\040src rw,size=64k",
        )
        .unwrap();
        assert_eq!(m.root, "/my dir");
        assert_eq!(m.mount_point, PathBuf::from("/mnt/a b\tc"));
        assert_eq!(m.source, "my src");
        assert_eq!(m.optional, ["shared:3"]);
    }

    #[test]
    fn mountinfo_backslash_and_incomplete_escapes() {
        assert_eq!(unescape(r"a\134b"), r"a\b");
        assert_eq!(unescape(r"a\012b"), "a\nb");
        // Not an escape: kept as written.
        assert_eq!(unescape(r"a\9zz"), r"a\9zz");
        assert_eq!(unescape(r"end\04"), r"end\04");
        assert_eq!(unescape(r"\040"), " ");
    }

    #[test]
    fn mountinfo_empty_source_keeps_the_super_options_in_place() {
        let m = parse_line("50 22 0:40 / /x rw - fuse  rw,user_id=0").unwrap();
        assert_eq!(m.source, "");
        assert_eq!(m.super_options, "rw,user_id=0");
    }

    #[test]
    fn mountinfo_lines_the_kernel_would_not_write_are_skipped() {
        let text = "garbage\n1 2 3 4 - x\n\n25 1 0:22 / /proc rw - proc proc rw\n";
        let all = parse(text);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].fstype, "proc");
        assert_eq!(all[0].mount_point, PathBuf::from("/proc"));
    }

    #[test]
    fn mountinfo_of_this_process_has_a_root() {
        let all = read_own().expect("reading /proc/self/mountinfo");
        assert!(all.iter().any(|m| m.mount_point == PathBuf::from("/")));
    }
}
