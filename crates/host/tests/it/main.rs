//! shipgate-host against what the system's own tools say: `df` for the disk, the
//! kernel's meminfo for memory, a relative path refused.

use std::process::Command;

#[test]
fn the_disk_agrees_with_df() {
    let out = Command::new("df")
        .args(["-B1", "--output=size,avail", "/"])
        .output()
        .expect("df (coreutils) runs");
    let text = String::from_utf8(out.stdout).unwrap();
    let numbers: Vec<u64> = text
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let disk = shipgate_host::disk("/").unwrap();
    assert_eq!(disk.total, numbers[0], "size");
    // Free space moves while the suite writes: within 1 GiB.
    assert!(
        disk.available.abs_diff(numbers[1]) < 1 << 30,
        "{disk:?} vs {numbers:?}"
    );
    assert!((0.0..=1.0).contains(&disk.used_ratio()));
}

#[test]
fn memory_agrees_with_the_kernel() {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    let m = shipgate_host::memory().unwrap();
    assert_eq!(m.total, kib * 1024);
    assert!(m.available <= m.total && m.available > 0);
}

#[test]
fn a_relative_path_names_no_file_system() {
    let e = shipgate_host::disk("relative/dir").unwrap_err();
    assert_eq!(
        e.to_string(),
        "relative/dir: no mounted file system holds it"
    );
    let load = shipgate_host::load();
    assert!(load.one >= 0.0 && load.cpus >= 1);
}
