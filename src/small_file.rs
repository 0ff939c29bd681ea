//! The small files a user names (tokens, passwords, certificates, keys, a hosts list, the
//! config): read whole, but never more than [`LIMIT`], so that `/dev/zero` or a huge file named
//! by mistake is one clear error and not the machine's memory. A pipe (`--token-file <(…)`)
//! is read like a file.

use std::io::Read;
use std::path::Path;

/// Far more than any token, certificate chain or config gputop reads.
pub const LIMIT: u64 = 4 << 20;

/// The file's bytes, or an error when it cannot be read or holds more than [`LIMIT`].
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(LIMIT + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > LIMIT {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB: not the file meant", LIMIT >> 20),
        ));
    }
    Ok(bytes)
}

/// [`read`], as UTF-8 text.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read(path)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_an_error_not_all_memory() {
        let err = read(Path::new("/dev/zero")).unwrap_err();
        assert!(err.to_string().starts_with("larger than 4 MiB"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "s3cret\n").unwrap();
        assert_eq!(read_to_string(&token).unwrap(), "s3cret\n");
    }
}
