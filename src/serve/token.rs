//! Bearer tokens read from files: for `serve --token-file` (what clients must send) and for
//! `--remote-token-file` and `--hosts` (what gputop sends). A token that was asked for is
//! never silently dropped: an unreadable or empty file is an error.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The token in `path`, surrounding whitespace trimmed, and a warning when other users can
/// read the file.
pub fn read(path: &Path) -> Result<(String, Option<String>), String> {
    let text = crate::small_file::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the token file {}: {e} (create it with the token on one line)",
            path.display()
        )
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!(
            "the token file {} is empty: put the token in it (e.g. `openssl rand -hex 32 > {}`), or leave the option out",
            path.display(),
            path.display()
        ));
    }
    if token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!(
            "the token in {} has spaces or control characters: use one word, such as a hex string",
            path.display()
        ));
    }
    let world_readable = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0);
    let warning = world_readable.then(|| {
        format!(
            "gputop: warning: the token file {} can be read by every user: chmod 600 {}",
            path.display(),
            path.display()
        )
    });
    Ok((token.to_string(), warning))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str, mode: u32) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        f
    }

    #[test]
    fn a_token_is_trimmed_and_a_private_file_gives_no_warning() {
        let f = file("  s3cret \n", 0o600);
        assert_eq!(read(f.path()).unwrap(), ("s3cret".to_string(), None));
    }

    #[test]
    fn empty_missing_and_odd_tokens_are_errors() {
        assert!(read(file(" \n", 0o600).path()).unwrap_err().contains("is empty"));
        assert!(read(Path::new("/nonexistent/token")).unwrap_err().contains("cannot read"));
        assert!(read(file("a b", 0o600).path()).unwrap_err().contains("spaces"));
    }

    #[test]
    fn a_world_readable_file_is_warned_about() {
        let (_, warning) = read(file("s3cret", 0o644).path()).unwrap();
        assert!(warning.unwrap().contains("chmod 600"));
    }
}
