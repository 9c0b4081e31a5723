//! Reading a device backup: a folder (a `skyhold mirror`, or an unpacked archive) or the tar
//! archive the web UI downloads (`repo.car`, `blobs/<cid>`, `mirror.json`). The archive is indexed
//! by its headers and each file read on demand, so a backup with large videos is never held in
//! memory whole.
//!
//! Format: POSIX ustar (<https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html>):
//! 512-byte headers (name, octal size, `ustar` magic, name prefix), contents padded to 512 bytes,
//! two zero blocks at the end.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::mirror::{BLOBS_DIR, MirrorState, REPO_FILE, STATE_FILE};

/// A backup to restore from.
pub enum Backup {
    Folder(PathBuf),
    Archive {
        path: PathBuf,
        /// name → (offset, length)
        entries: HashMap<String, (u64, u64)>,
    },
}

fn octal(field: &[u8]) -> anyhow::Result<u64> {
    let text = std::str::from_utf8(field)
        .context("a tar header field is not text")?
        .trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).context("a tar header size is not octal")
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The regular files of a ustar archive: name → (offset of the contents, length).
fn index(file: &mut (impl Read + Seek)) -> anyhow::Result<HashMap<String, (u64, u64)>> {
    let mut entries = HashMap::new();
    let mut offset = 0u64;
    let mut header = [0u8; 512];
    loop {
        file.seek(SeekFrom::Start(offset))?;
        if file.read_exact(&mut header).is_err() || header.iter().all(|b| *b == 0) {
            return Ok(entries);
        }
        if &header[257..262] != b"ustar" {
            bail!("not a tar archive (no ustar header at byte {offset})");
        }
        let stored: u64 = octal(&header[148..156])?;
        let computed: u64 = header
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(*b)
                }
            })
            .sum();
        if stored != computed {
            bail!("the tar header at byte {offset} is damaged (checksum)");
        }
        let size = octal(&header[124..136])?;
        let prefix = text(&header[345..500]);
        let name = text(&header[0..100]);
        let name = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = header[156];
        if kind == b'0' || kind == 0 {
            entries.insert(
                name.trim_start_matches("./").to_owned(),
                (offset + 512, size),
            );
        }
        offset += 512 + size.div_ceil(512) * 512;
    }
}

impl Backup {
    /// A folder, or a `.tar` file.
    pub fn open(path: &Path) -> anyhow::Result<Backup> {
        if path.is_dir() {
            return Ok(Backup::Folder(path.to_owned()));
        }
        let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let entries = index(&mut file).with_context(|| format!("reading {}", path.display()))?;
        Ok(Backup::Archive {
            path: path.to_owned(),
            entries,
        })
    }

    /// A file of the backup by its name inside it (`repo.car`, `blobs/<cid>`), if present.
    pub fn read(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self {
            Backup::Folder(dir) => match std::fs::read(dir.join(name)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| format!("reading {name}")),
            },
            Backup::Archive { path, entries } => {
                let Some(&(offset, len)) = entries.get(name) else {
                    return Ok(None);
                };
                let mut file = File::open(path)?;
                file.seek(SeekFrom::Start(offset))?;
                let mut bytes = vec![0u8; usize::try_from(len)?];
                file.read_exact(&mut bytes)
                    .with_context(|| format!("reading {name} from {}", path.display()))?;
                Ok(Some(bytes))
            }
        }
    }

    pub fn repo(&self) -> anyhow::Result<Option<Vec<u8>>> {
        self.read(REPO_FILE)
    }

    pub fn blob(&self, cid: &str) -> anyhow::Result<Option<Vec<u8>>> {
        self.read(&format!("{BLOBS_DIR}/{cid}"))
    }

    /// The backup's `mirror.json`, if it has one.
    pub fn state(&self) -> anyhow::Result<Option<MirrorState>> {
        match self.read(STATE_FILE)? {
            Some(bytes) => Ok(Some(
                serde_json::from_slice(&bytes).context("reading mirror.json")?,
            )),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One ustar entry as the web UI writes it.
    fn entry(name: &str, body: &[u8]) -> Vec<u8> {
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        header[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
        header[136..147].copy_from_slice(b"00000000000");
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        let mut out = header.to_vec();
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    #[test]
    fn archives_are_indexed_and_read_by_name() {
        let mut tar = entry("repo.car", b"car bytes");
        tar.extend(entry("blobs/bafkrei", &[7u8; 700]));
        tar.extend([0u8; 1024]);
        let dir = std::env::temp_dir().join(format!("skyhold-archive-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("backup.tar");
        std::fs::write(&path, &tar).unwrap();
        let backup = Backup::open(&path).unwrap();
        assert_eq!(backup.repo().unwrap().unwrap(), b"car bytes");
        assert_eq!(backup.blob("bafkrei").unwrap().unwrap(), vec![7u8; 700]);
        assert_eq!(backup.blob("other").unwrap(), None);
        let mut damaged = tar.clone();
        damaged[10] ^= 1;
        std::fs::write(&path, &damaged).unwrap();
        assert!(Backup::open(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
