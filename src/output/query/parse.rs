//! Reading a query's arguments: `--format=csv[,noheader][,nounits]` and the comma-separated
//! list of property names, with nvidia-smi's errors.

use std::str::FromStr;

use super::field::Field;
use crate::text::sanitize::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryFormat {
    pub header: bool,
    pub units: bool,
}

/// nvidia-smi's default: `csv`, with the header and the units.
impl Default for QueryFormat {
    fn default() -> Self {
        Self { header: true, units: true }
    }
}

impl FromStr for QueryFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut format = QueryFormat { header: true, units: true };
        let mut csv = false;
        for opt in s.split(',').map(str::trim) {
            match opt {
                "csv" => csv = true,
                "noheader" => format.header = false,
                "nounits" => format.units = false,
                other => {
                    return Err(format!(
                        "unknown --format option `{other}` (expected csv, noheader, nounits)"
                    ))
                }
            }
        }
        if !csv {
            return Err("--format must include `csv`".into());
        }
        Ok(format)
    }
}

/// Why a query's list of properties cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// In nvidia-smi's words, which scripts may look for (it prints them on stdout and exits 2).
    #[error("Field \"{0}\" is not a valid field to query.")]
    NotAField(String),
    #[error("no fields to query")]
    Empty,
}

/// The fields `spec` names, in its order, each found by any of its names (any case).
pub(super) fn parse_fields<T: 'static>(
    table: impl Iterator<Item = &'static Field<T>> + Clone,
    spec: &str,
) -> Result<Vec<&'static Field<T>>, QueryError> {
    let fields = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            table
                .clone()
                .find(|f| f.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
                .ok_or_else(|| QueryError::NotAField(sanitize(name).into_owned()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if fields.is_empty() {
        return Err(QueryError::Empty);
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_options_parse_like_nvidia_smi() {
        assert_eq!("csv".parse(), Ok(QueryFormat { header: true, units: true }));
        assert_eq!("csv,noheader,nounits".parse(), Ok(QueryFormat { header: false, units: false }));
        assert!("json".parse::<QueryFormat>().is_err());
        assert!("csv,fancy".parse::<QueryFormat>().is_err());
    }
}
