//! `skyhold init` writes a configuration that `serve --config` and `doctor` read; `doctor` passes
//! on a healthy local node and names each problem (with a fix) on a broken public configuration.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{TempDir, listening, skyhold};

/// A server process killed (by its PID) and reaped when the test ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(command: &mut std::process::Command) -> (Option<i32>, String) {
    let output = command.output().expect("running skyhold");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

#[test]
fn init_writes_a_private_valid_configuration_once() {
    let dir = TempDir::new("init");
    let config = dir.0.join("etc/skyhold.env");
    let init = |extra: &[&str]| {
        run(skyhold()
            .args(["init", "--non-interactive", "--config"])
            .arg(&config)
            .args(["--hostname", "PDS.Example.com", "--email", "me@example.com"])
            .arg("--data-dir")
            .arg(dir.0.join("data"))
            .args(extra))
    };
    let (code, text) = init(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("admin password (generated"), "{text}");
    assert!(text.contains("*.pds.example.com"), "{text}");
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.contains("SKYHOLD_PUBLIC_URL=https://pds.example.com\n"),
        "{written}"
    );
    assert!(
        written.contains("SKYHOLD_ACME_EMAIL=me@example.com\n"),
        "{written}"
    );
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the file holds the admin password");

    let (code, text) = init(&[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("already exists"), "{text}");
    let (code, text) = init(&["--force", "--admin-password", "short"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("at least 8 characters"), "{text}");
    let (code, text) = init(&[
        "--force",
        "--admin-password",
        "a 'quoted' $password",
        "--behind-proxy",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("SKYHOLD_TLS=off")
    );
    let (code, text) = run(skyhold()
        .args(["init", "--non-interactive", "--force", "--config"])
        .arg(&config)
        .args(["--hostname", "192.0.2.1", "--email", "me@example.com"]));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("not an IP address"), "{text}");
}

#[tokio::test]
async fn doctor_passes_on_a_running_local_node_started_from_a_config_file() {
    let dir = TempDir::new("doctor-ok");
    let config = dir.0.join("skyhold.env");
    let write_config = |listen: &str, relay: &str| {
        let data = dir.0.join("data");
        let text = format!(
            "# a local node\nSKYHOLD_LISTEN={listen}\nSKYHOLD_DATA_DIR='{}'\n\
             SKYHOLD_RELAY_LISTEN={relay}\n",
            data.display()
        );
        std::fs::write(&config, text).unwrap();
    };
    write_config("127.0.0.1:0", "127.0.0.1:0");
    let mut child = skyhold()
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let listening = listening(&mut child).await;
    let server = Running(child);
    // The operator's file names the ports the node took, as it would after the first start.
    let relay = listening.relay.expect("the relay listener");
    write_config(&listening.http.unwrap().to_string(), &relay.to_string());
    let (code, text) = run(skyhold().args(["doctor", "--config"]).arg(&config));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("running, answering at"), "{text}");
    assert!(text.contains("local mode"), "{text}");
    assert!(text.contains("in use, by the running skyhold"), "{text}");
    drop(server);
}

#[tokio::test]
async fn doctor_names_each_problem_with_a_fix() {
    let dir = TempDir::new("doctor-bad");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = dir.0.join("skyhold.env");
    std::fs::write(
        &config,
        format!(
            "SKYHOLD_PUBLIC_URL=https://doctor-check.invalid\nSKYHOLD_ADMIN_PASSWORD=long-enough\n\
             SKYHOLD_LISTEN={}\nSKYHOLD_DATA_DIR={}\nSKYHOLD_PLC_URL=http://127.0.0.1:1\n\
             SKYHOLD_TLS=off\nSKYHOLD_NO_SUCH_SETTING=1\n",
            taken.local_addr().unwrap(),
            dir.0.join("data").display()
        ),
    )
    .unwrap();
    let (code, text) = run(skyhold()
        .args(["doctor", "--config"])
        .arg(&config)
        .env("SKYHOLD_TLS", "off"));
    assert_eq!(code, Some(1), "{text}");
    for expected in [
        "in use by another program",
        "doctor-check.invalid does not resolve",
        "*.doctor-check.invalid does not resolve",
        "http://127.0.0.1:1 cannot be reached",
        "SKYHOLD_NO_SUCH_SETTING is not a setting",
        "fix: add an A record",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    drop(taken);
}
