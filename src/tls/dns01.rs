//! The DNS-01 hook (RFC 8555 §8.4): an executable the operator provides to publish and remove the
//! `_acme-challenge` TXT record at their DNS host, called as
//!
//! ```text
//! <hook> set   _acme-challenge.example.com <txt value>
//! <hook> clear _acme-challenge.example.com <txt value>
//! ```
//!
//! `set` must exit 0 only once the record is published (visible at the zone's authoritative
//! servers), because skyhold asks the CA to validate right after it returns. skyhold knows no DNS
//! provider's API: that is the hook's job, which keeps credentials for the DNS host out of skyhold.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::TlsError;

/// How long one hook call may take (some DNS hosts publish slowly; the hook may wait for it).
const HOOK_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How much of the hook's stderr is kept for the error message.
const MAX_HOOK_OUTPUT: usize = 2048;

/// What the hook is asked to do.
#[derive(Clone, Copy, Debug)]
pub enum HookAction {
    Set,
    Clear,
}

impl HookAction {
    fn as_str(self) -> &'static str {
        match self {
            HookAction::Set => "set",
            HookAction::Clear => "clear",
        }
    }
}

/// The TXT record name for a domain's DNS-01 challenge (a wildcard's base domain for `*.` names).
pub fn record_name(domain: &str) -> String {
    format!("_acme-challenge.{}", domain.trim_start_matches("*."))
}

/// Runs the hook once; a non-zero exit, a failure to start or a timeout is an error that carries
/// the end of the hook's stderr.
pub async fn run(hook: &Path, action: HookAction, name: &str, value: &str) -> Result<(), TlsError> {
    let child = tokio::process::Command::new(hook)
        .arg(action.as_str())
        .arg(name)
        .arg(value)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| TlsError::Dns01Hook(format!("starting {}: {e}", hook.display())))?;
    let output = tokio::time::timeout(HOOK_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            TlsError::Dns01Hook(format!("{} {} timed out", hook.display(), action.as_str()))
        })?
        .map_err(|e| TlsError::Dns01Hook(format!("running {}: {e}", hook.display())))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: String = stderr
        .chars()
        .rev()
        .take(MAX_HOOK_OUTPUT)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(TlsError::Dns01Hook(format!(
        "{} {} {name} exited with {}: {}",
        hook.display(),
        action.as_str(),
        output.status,
        tail.trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names() {
        assert_eq!(record_name("*.example.com"), "_acme-challenge.example.com");
        assert_eq!(record_name("example.com"), "_acme-challenge.example.com");
    }

    #[tokio::test]
    async fn exit_status_and_stderr_are_reported() {
        let dir = std::env::temp_dir().join(format!("skyhold-hook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hook = dir.join("hook.sh");
        std::fs::write(
            &hook,
            "#!/bin/sh\n[ \"$1\" = set ] && [ \"$2\" = _acme-challenge.x.test ] && [ \"$3\" = v ] && exit 0\necho \"refused $1\" >&2\nexit 3\n",
        )
        .unwrap();
        let mut perms = std::fs::metadata(&hook).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&hook, perms).unwrap();

        run(&hook, HookAction::Set, "_acme-challenge.x.test", "v")
            .await
            .unwrap();
        let error = run(&hook, HookAction::Clear, "_acme-challenge.x.test", "v")
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("refused clear"), "{error}");
        assert!(
            run(&dir.join("missing"), HookAction::Set, "n", "v")
                .await
                .is_err()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
