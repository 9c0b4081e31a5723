//! The packaging files: the systemd unit keeps its hardening and passes `systemd-analyze verify`
//! and `security`, the .deb metadata names files that exist, the maintainer and release scripts
//! parse.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The unit with ExecStart pointing at the binary under test (verify checks that it exists).
fn unit_copy(dir: &Path) -> PathBuf {
    let unit = read("systemd/skyhold.service").replace(
        "ExecStart=/usr/bin/skyhold",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_skyhold")),
    );
    let path = dir.join("skyhold.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn the_systemd_unit_is_hardened() {
    let unit = read("systemd/skyhold.service");
    for directive in [
        "User=skyhold",
        "EnvironmentFile=/etc/skyhold/skyhold.env",
        "ConditionPathExists=/etc/skyhold/skyhold.env",
        "ExecStart=/usr/bin/skyhold serve",
        "StateDirectory=skyhold",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE\n",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n",
        "SystemCallFilter=@system-service\n",
        "MemoryDenyWriteExecute=yes",
        "RestrictNamespaces=yes",
        "SystemCallArchitectures=native",
    ] {
        assert!(
            unit.contains(directive),
            "skyhold.service lacks {directive:?}"
        );
    }
    assert!(
        have("systemd-analyze"),
        "systemd-analyze is not installed: run tests/run-all.sh, which installs Debian's systemd package"
    );
    let dir = crate::harness::TempDir::new("unit");
    let path = unit_copy(&dir.0);
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stderr).into_owned();
    assert!(
        verify.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&security.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for skyhold.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {text}"));
    println!("systemd-analyze security: exposure {score}");
    assert!(score <= 2.0, "exposure {score} is above 2.0:\n{text}");
}

#[test]
fn the_deb_metadata_names_existing_files() {
    let manifest = read("Cargo.toml");
    let deb = manifest
        .split("[package.metadata.deb]")
        .nth(1)
        .expect("Cargo.toml has [package.metadata.deb]");
    let deb = deb.split("\n[").next().unwrap_or(deb);
    for line in deb.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("[\"") {
            let source = rest.split('"').next().unwrap();
            if !source.starts_with("target/") {
                assert!(
                    root().join(source).is_file(),
                    "deb asset {source} is missing"
                );
            }
        }
    }
    assert!(deb.contains("maintainer-scripts = \"packaging/debian/\""));
    assert!(deb.contains("unit-scripts = \"systemd/\""));
    let postinst = read("packaging/debian/postinst");
    assert!(
        postinst.contains("adduser --system"),
        "postinst must create the user"
    );
    for script in ["packaging/debian/postinst", "packaging/debian/postrm"] {
        // cargo-deb replaces every occurrence, comments included, with shell code.
        let text = read(script);
        assert_eq!(
            text.matches("#DEBHELPER#").count(),
            1,
            "{script} must hold the #DEBHELPER# marker exactly once"
        );
        assert!(
            text.lines().any(|l| l == "#DEBHELPER#"),
            "{script}: #DEBHELPER# must be a line of its own"
        );
        let status = Command::new("sh")
            .arg("-n")
            .arg(root().join(script))
            .status()
            .unwrap();
        assert!(status.success(), "{script} does not parse");
    }
    for script in ["packaging/build-release.sh", "packaging/smoke-test.sh"] {
        let status = Command::new("bash")
            .arg("-n")
            .arg(root().join(script))
            .status()
            .unwrap();
        assert!(status.success(), "{script} does not parse");
    }
}
