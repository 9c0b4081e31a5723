//! The configuration file: `KEY=value` lines in the format of systemd's `EnvironmentFile=`
//! (`/etc/skyhold/skyhold.env`). systemd hands it to `skyhold serve` as environment variables; the
//! other commands (`serve --config`, `doctor`, `backup`, `restore`) read it here, so every command
//! sees the same settings.
//!
//! Precedence, highest first: command-line flags, `SKYHOLD_*` environment variables, the file, the
//! defaults. A file value becomes a flag only when the environment does not set that variable.
//!
//! Parsing follows systemd for the forms `skyhold init` writes and people usually type: comments
//! (`#` or `;` at the start of a line), blank lines, `KEY=value` with surrounding blanks trimmed,
//! `'single quoted'` (taken literally), `"double quoted"` (backslash escapes `\"`, `\\`, `\$`,
//! `` \` ``), and a backslash escaping the next character in an unquoted value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::config::ServeArgs;

/// Where the .deb and `skyhold init` put the configuration.
pub const DEFAULT_PATH: &str = "/etc/skyhold/skyhold.env";

/// Parses an environment file into its assignments, in order; errors name the line.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "line {number}: expected KEY=value, found {:?}",
                truncate(line)
            ));
        };
        let key = key.trim();
        if key.is_empty()
            || key.starts_with(|c: char| c.is_ascii_digit())
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!("line {number}: {key:?} is not a variable name"));
        }
        let value = unquote(value.trim()).map_err(|e| format!("line {number}: {e}"))?;
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

fn unquote(raw: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next() {
                    Some('\'') => break,
                    Some(c) => out.push(c),
                    None => return Err("a single quote is not closed".into()),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c @ ('"' | '\\' | '$' | '`')) => out.push(c),
                        Some(c) => {
                            out.push('\\');
                            out.push(c);
                        }
                        None => return Err("a double quote is not closed".into()),
                    },
                    Some(c) => out.push(c),
                    None => return Err("a double quote is not closed".into()),
                }
            },
            '\\' => {
                if let Some(c) = chars.next() {
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A value as it must be written so that systemd (and [`parse`]) read it back unchanged.
pub fn quote(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        value.to_owned()
    } else if !value.contains('\'') {
        format!("'{value}'")
    } else {
        let mut out = String::from("\"");
        for c in value.chars() {
            if matches!(c, '"' | '\\' | '$' | '`') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    }
}

/// The settings a command runs with.
pub struct Loaded {
    pub args: ServeArgs,
    /// The file read, if any.
    pub path: Option<PathBuf>,
    /// Every assignment in the file.
    pub file: BTreeMap<String, String>,
    /// `SKYHOLD_*` names in the file that no flag of this skyhold reads.
    pub unknown: Vec<String>,
}

impl Loaded {
    /// A setting by its variable name: the environment first, then the file.
    pub fn setting(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| self.file.get(name).cloned())
    }
}

/// `ServeArgs` alone, as a command, to parse synthesized flags and list every setting.
#[derive(Parser)]
#[command(name = "skyhold")]
pub struct ServeFlags {
    #[command(flatten)]
    args: ServeArgs,
}

/// Reads the configuration file (`path`, else `SKYHOLD_CONFIG`, else [`DEFAULT_PATH`] when
/// `default_if_present` and it exists) and builds the serve settings with `flags` on top.
pub fn load(
    path: Option<&Path>,
    default_if_present: bool,
    flags: &[String],
) -> anyhow::Result<Loaded> {
    let path = path.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("SKYHOLD_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                let default = PathBuf::from(DEFAULT_PATH);
                (default_if_present && default.exists()).then_some(default)
            })
    });
    let file: BTreeMap<String, String> = match &path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the configuration file {}", path.display()))?;
            parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                .into_iter()
                .collect()
        }
        None => BTreeMap::new(),
    };
    let (args, unknown) = serve_args(&file, flags)?;
    Ok(Loaded {
        args,
        path,
        file,
        unknown,
    })
}

/// Serve settings from file assignments plus flags (see the module doc for precedence).
fn serve_args(
    file: &BTreeMap<String, String>,
    flags: &[String],
) -> anyhow::Result<(ServeArgs, Vec<String>)> {
    let command = ServeFlags::command().args_override_self(true);
    let mut argv = vec!["skyhold".to_owned()];
    let mut known = std::collections::HashSet::new();
    for arg in command.get_arguments() {
        let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        let env = env.to_string_lossy().into_owned();
        let from_environment = std::env::var_os(&env).is_some_and(|v| !v.is_empty());
        let value = file.get(&env).filter(|v| !v.is_empty());
        known.insert(env);
        let Some(value) = value.filter(|_| !from_environment) else {
            continue;
        };
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            if matches!(
                value.to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            ) {
                argv.push(format!("--{long}"));
            }
        } else {
            argv.push(format!("--{long}={value}"));
        }
    }
    argv.extend(flags.iter().cloned());
    let matches = command
        .try_get_matches_from(argv)
        .map_err(|e| anyhow::anyhow!("invalid setting: {}", e.render().to_string().trim()))?;
    let args = ServeFlags::from_arg_matches(&matches)
        .map_err(|e| anyhow::anyhow!("invalid setting: {e}"))?
        .args;
    let unknown = file
        .keys()
        .filter(|k| k.starts_with("SKYHOLD_") && !known.contains(*k))
        .cloned()
        .collect();
    Ok((args, unknown))
}

/// The plain-HTTP URL at which this machine reaches the server's `--listen` address.
pub fn local_url(listen: std::net::SocketAddr) -> String {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", std::net::SocketAddr::new(ip, listen.port()))
}

/// The admin password: the flag, the configuration, or the data directory's generated one.
pub fn admin_password(
    flag: Option<&str>,
    loaded: &Loaded,
    data_dir: &Path,
) -> anyhow::Result<String> {
    if let Some(password) = flag.or(loaded.args.admin_password.as_deref()) {
        return Ok(password.to_owned());
    }
    let file = data_dir.join(crate::backup::ADMIN_PASSWORD_FILE);
    std::fs::read_to_string(&file)
        .map(|p| p.trim().to_owned())
        .with_context(|| {
            format!(
                "no admin password: none configured and {} is not readable; give \
                 --admin-password, or run as a user who can read the configuration",
                file.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_systemd_reads() {
        let text = "# comment\n; also a comment\n\n  SKYHOLD_A=plain\nSKYHOLD_B = 'single $x \\n'\n\
                    SKYHOLD_C=\"dq \\\"x\\\" \\$y \\\\ \\n\"\nexport SKYHOLD_D=a\\ b\nSKYHOLD_E=\n";
        let parsed = parse(text).unwrap();
        assert_eq!(
            parsed,
            vec![
                ("SKYHOLD_A".into(), "plain".into()),
                ("SKYHOLD_B".into(), "single $x \\n".into()),
                ("SKYHOLD_C".into(), "dq \"x\" $y \\ \\n".into()),
                ("SKYHOLD_D".into(), "a b".into()),
                ("SKYHOLD_E".into(), String::new()),
            ]
        );
        assert!(parse("no equals sign").unwrap_err().contains("line 1"));
        assert!(parse("\nA='open").unwrap_err().contains("line 2"));
        assert!(parse("1A=x").is_err());
    }

    #[test]
    fn quoting_round_trips() {
        for value in [
            "plain",
            "https://pds.example.com",
            "with space",
            "it's",
            "q\"uote$`\\ all'",
            "",
            "#hash",
        ] {
            let line = format!("K={}", quote(value));
            assert_eq!(
                parse(&line).unwrap(),
                vec![("K".into(), value.into())],
                "{line}"
            );
        }
    }

    #[test]
    fn file_values_become_flags_and_flags_win() {
        let file: BTreeMap<String, String> = [
            ("SKYHOLD_DATA_DIR", "/var/lib/skyhold"),
            ("SKYHOLD_LISTEN", "127.0.0.1:3000"),
            ("SKYHOLD_HANDLE_DOMAINS", ".a.example,.b.example"),
            ("SKYHOLD_RELAY_LENIENT", "true"),
            ("SKYHOLD_INVITE_REQUIRED", "false"),
            ("SKYHOLD_NOT_A_SETTING_ANYWHERE", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let (args, unknown) =
            serve_args(&file, &["--listen".into(), "127.0.0.1:4000".into()]).unwrap();
        assert_eq!(args.data_dir, PathBuf::from("/var/lib/skyhold"));
        assert_eq!(args.listen.port(), 4000);
        assert_eq!(args.handle_domains, vec![".a.example", ".b.example"]);
        assert!(args.relay_lenient);
        assert_eq!(args.invite_required, Some(false));
        assert_eq!(unknown, vec!["SKYHOLD_NOT_A_SETTING_ANYWHERE"]);
        let bad: BTreeMap<String, String> =
            [("SKYHOLD_LISTEN".to_owned(), "not an address".to_owned())].into();
        assert!(serve_args(&bad, &[]).is_err());
    }

    #[test]
    fn local_url_reaches_wildcard_listeners_on_loopback() {
        assert_eq!(
            local_url("0.0.0.0:2583".parse().unwrap()),
            "http://127.0.0.1:2583"
        );
        assert_eq!(local_url("[::]:80".parse().unwrap()), "http://[::1]:80");
        assert_eq!(
            local_url("192.0.2.1:8080".parse().unwrap()),
            "http://192.0.2.1:8080"
        );
    }
}
