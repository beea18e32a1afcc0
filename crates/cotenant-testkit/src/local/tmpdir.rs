//! Where servers' directories and templates go.
//!
//! Each server starts by copying a ~30 MB, ~1,000-file template. File creation is what that costs:
//! on our machines `cp -a` of a template took 1.0–1.3 s into /tmp (ext4) and 0.1 s into /dev/shm
//! (tmpfs). Throwaway servers with fsync off lose nothing by living in memory, so a roomy tmpfs
//! wins; a small one (Docker gives containers 64 MB) would fill up, so it must have room.

use std::fs;
use std::path::PathBuf;

use crate::env;

/// A tmpfs smaller than this is not used: a few servers with test data must fit.
const MIN_TMPFS_BYTES: u64 = 1 << 30;

/// `COTENANT_TEST_TMPDIR`, else /dev/shm when it is a roomy tmpfs, else `fallback`.
///
/// Whatever is chosen must be reachable by the OS user running the server: both /dev/shm and /tmp
/// are world-writable with the sticky bit.
pub(crate) fn base(fallback: impl FnOnce() -> PathBuf) -> PathBuf {
    if let Some(dir) = env::var(env::TEST_TMPDIR) {
        return PathBuf::from(dir);
    }
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if roomy_tmpfs(&mountinfo, "/dev/shm") {
        return PathBuf::from("/dev/shm");
    }
    fallback()
}

/// Whether `/proc/self/mountinfo` shows `mount_point` as a tmpfs of at least [`MIN_TMPFS_BYTES`].
/// Lines read `id parent dev root mount_point options [optional...] - fstype source super_options`;
/// the last line for a mount point is the mount on top.
fn roomy_tmpfs(mountinfo: &str, mount_point: &str) -> bool {
    let Some(line) = mountinfo
        .lines()
        .rev()
        .find(|line| line.split(' ').nth(4) == Some(mount_point))
    else {
        return false;
    };
    let Some((_, filesystem)) = line.split_once(" - ") else {
        return false;
    };
    let mut fields = filesystem.split(' ');
    if fields.next() != Some("tmpfs") {
        return false;
    }
    let options = fields.nth(1).unwrap_or_default();
    match options
        .split(',')
        .find_map(|option| option.strip_prefix("size="))
    {
        Some(size) => parse_size(size).is_some_and(|bytes| bytes >= MIN_TMPFS_BYTES),
        // No size: the kernel's default, half of the memory.
        None => true,
    }
}

/// `24683656k`, `64m`, `1g` or plain bytes.
fn parse_size(size: &str) -> Option<u64> {
    let (number, unit) = match size.char_indices().last()? {
        (at, 'k' | 'K') => (&size[..at], 1 << 10),
        (at, 'm' | 'M') => (&size[..at], 1 << 20),
        (at, 'g' | 'G') => (&size[..at], 1 << 30),
        _ => (size, 1),
    };
    number.parse::<u64>().ok()?.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::roomy_tmpfs;

    const HOST: &str = "25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683656k\n\
                        30 25 0:27 / /tmp rw,relatime - ext4 /dev/vda rw\n";
    const DOCKER: &str =
        "611 601 0:62 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k\n";

    #[test]
    fn a_roomy_tmpfs_is_used_and_a_small_one_is_not() {
        assert!(roomy_tmpfs(HOST, "/dev/shm"));
        assert!(!roomy_tmpfs(HOST, "/tmp"));
        assert!(!roomy_tmpfs(DOCKER, "/dev/shm"));
        assert!(!roomy_tmpfs("", "/dev/shm"));
    }
}
