//! The configuration file, `~/.config/gputop/config.toml` (XDG-aware): defaults ← file ←
//! environment ← flags. A malformed file is one clear error naming the file and the line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The monitor's colours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
    Mono,
}

/// A column of the monitor's process table, to sort by or to show (its width and label are
/// the monitor's: `tui/rows.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    Gpu,
    Pid,
    User,
    Type,
    GpuMemory,
    Sm,
    GpuMemoryPercent,
    Cpu,
    HostMemory,
    Time,
    Command,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Between samples: a number of seconds, or a duration (`"2s"`, `"500ms"`) read by the
    /// one duration parser the flags use.
    #[serde(default, deserialize_with = "duration")]
    pub interval: Option<std::time::Duration>,
    pub theme: Option<ThemeName>,
    /// Start with the GPU panels hidden (more room for processes).
    #[serde(default)]
    pub hide_gpus: bool,
    /// Start with the process table hidden.
    #[serde(default)]
    pub hide_processes: bool,
    pub sort: Option<SortKey>,
    #[serde(default)]
    pub sort_descending: Option<bool>,
    /// History window of the charts, in seconds.
    pub history_seconds: Option<u64>,
    /// The process table's columns, in order; COMMAND always comes last.
    pub columns: Option<Vec<SortKey>>,
}

impl Config {
    /// The configured columns before COMMAND, each once, or the default set.
    pub fn process_columns(&self) -> Vec<SortKey> {
        let Some(columns) = &self.columns else { return SortKey::DEFAULT_COLUMNS.to_vec() };
        let mut shown: Vec<SortKey> = Vec::with_capacity(columns.len());
        for &key in columns {
            if key != SortKey::Command && !shown.contains(&key) {
                shown.push(key);
            }
        }
        shown
    }
}

/// A duration in the file: a number of seconds, or text such as `"2s"`.
fn duration<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::time::Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Seconds(f64),
        Text(String),
    }
    let text = match Written::deserialize(d)? {
        Written::Seconds(s) => s.to_string(),
        Written::Text(t) => t,
    };
    crate::text::time::parse_duration(&text).map(Some).map_err(serde::de::Error::custom)
}

pub const TEMPLATE: &str = r#"# gputop configuration: ~/.config/gputop/config.toml ($XDG_CONFIG_HOME/gputop/config.toml).
# Flags and GPUTOP_* environment variables override these values.

# Seconds between samples (0.1 to 3600).
# interval = 1.0

# Colours: "dark", "light" or "mono" (mono is also used with NO_COLOR or --color never).
# theme = "dark"

# Start with the GPU panels or the process table hidden (keys g and p toggle them).
# hide_gpus = false
# hide_processes = false

# Process table order: "gpu", "pid", "user", "type", "gpu_memory", "sm", "gpu_memory_percent",
# "cpu", "host_memory", "time" or "command"; and whether largest first.
# sort = "gpu_memory"
# sort_descending = true

# How much history the charts keep, in seconds.
# history_seconds = 600

# The process table's columns, in this order (same names as for sort); the command line is
# always shown, last.
# columns = ["gpu", "pid", "user", "type", "gpu_memory", "sm", "gpu_memory_percent", "cpu", "host_memory", "time"]
"#;

/// The configuration file's path: `$XDG_CONFIG_HOME/gputop/config.toml`, else `~/.config/…`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("gputop").join("config.toml"))
}

impl Config {
    /// Reads `path`; a missing file is the default configuration.
    pub fn load(path: &Path) -> Result<Self, String> {
        Self::from_read(path, crate::small_file::read_to_string(path))
    }

    /// [`Config::load`] of the default path, which may also be a file this user may not read
    /// (another user's home, `sudo` keeping HOME): then the defaults, with a warning to say.
    /// The file is opened once, as every command starts here.
    pub fn load_default(path: &Path) -> Result<(Self, Option<String>), String> {
        match crate::small_file::read_to_string(path) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Ok((
                Self::default(),
                Some(format!("cannot read config {}: {e}; going on without it", path.display())),
            )),
            read => Self::from_read(path, read).map(|c| (c, None)),
        }
    }

    /// The configuration in what reading `path` gave: a missing file is the default.
    fn from_read(path: &Path, read: std::io::Result<String>) -> Result<Self, String> {
        match read {
            Ok(text) => {
                Self::parse(&text).map_err(|e| format!("invalid config {}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("cannot read config {}: {e}", path.display())),
        }
    }

    /// Reads a file the user named: unlike the default path, it must exist.
    pub fn load_named(path: &Path) -> Result<Self, String> {
        if !path.exists() {
            return Err(format!(
                "the config file {} does not exist (`gputop --print-config > {}` writes a template)",
                path.display(),
                path.display()
            ));
        }
        Self::load(path)
    }

    /// Parses the text of a config file; a TOML error keeps its diagram (the line, a caret
    /// under the bad value) on lines of its own.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Config =
            toml::from_str(text).map_err(|e| format!("\n{}", e.to_string().trim_end()))?;
        if let Some(i) = config.interval {
            if !(0.1..=3600.0).contains(&i.as_secs_f64()) {
                let i = i.as_secs_f64();
                return Err(format!("interval = {i} is out of range (0.1 to 3600)"));
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_and_is_all_defaults() {
        assert_eq!(Config::parse(TEMPLATE).unwrap(), Config::default());
        let uncommented: String = TEMPLATE
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|r| r.contains(" = ")).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let c = Config::parse(&uncommented).unwrap();
        assert_eq!(c.theme, Some(ThemeName::Dark));
        assert_eq!(c.sort, Some(SortKey::GpuMemory));
    }

    #[test]
    fn errors_name_the_line() {
        let err = Config::parse("interval = 1.0\ntheme = \"purple\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        // The caret diagram: the line, then a caret under the value, each on its own line.
        assert!(err.lines().any(|l| l.contains("theme = \"purple\"")), "{err}");
        assert!(
            err.lines().any(|l| l.trim_start().trim_start_matches('|').trim().starts_with('^')),
            "{err}"
        );
        assert!(Config::parse("interval = 0\n").unwrap_err().contains("out of range"));
        assert!(Config::parse("interval = -1\n").unwrap_err().contains("out of range"));
        assert!(Config::parse("interval = \"soon\"\n").unwrap_err().contains("`soon`"));
        assert!(Config::parse("colour = 1\n").unwrap_err().contains("line 1"));
    }

    #[test]
    fn the_interval_is_read_as_the_flags_read_durations() {
        let secs = |text: &str| Config::parse(text).unwrap().interval.unwrap().as_secs_f64();
        assert_eq!(secs("interval = 2\n"), 2.0);
        assert_eq!(secs("interval = 0.5\n"), 0.5);
        assert_eq!(secs("interval = \"1500ms\"\n"), 1.5);
        assert_eq!(secs("interval = \"2m\"\n"), 120.0);
    }

    #[test]
    fn columns_keep_their_order_once_each_with_the_command_last() {
        assert_eq!(Config::default().process_columns(), SortKey::DEFAULT_COLUMNS);
        let c = Config::parse("columns = [\"pid\", \"command\", \"cpu\", \"pid\"]\n").unwrap();
        assert_eq!(c.process_columns(), [SortKey::Pid, SortKey::Cpu]);
        let err = Config::parse("columns = [\"pid\", \"colour\"]\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn a_missing_file_is_the_default_only_when_not_named() {
        assert_eq!(Config::load(Path::new("/nonexistent/gputop.toml")).unwrap(), Config::default());
        let err = Config::load_named(Path::new("/nonexistent/gputop.toml")).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn the_default_path_is_read_once_whatever_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(Config::load_default(&path).unwrap(), (Config::default(), None));
        std::fs::write(&path, "interval = 0\n").unwrap();
        let err = Config::load_default(&path).unwrap_err();
        assert!(err.starts_with("invalid config") && err.contains("out of range"), "{err}");
        // A directory where the file should be is an error, not the defaults.
        let err = Config::load_default(dir.path()).unwrap_err();
        assert!(err.starts_with("cannot read config"), "{err}");
    }
}
