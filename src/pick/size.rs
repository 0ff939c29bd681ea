//! Memory sizes as people type them: `20GiB`, `20G`, `500M`, `1.5T`, `8000` (MiB, as nvidia-smi
//! counts), or decimal units spelled out (`20GB` = 20 × 10⁹ bytes).

/// Bytes in `text`, or a message saying what is accepted.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 20GiB, 500M, 8000 for MiB)"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "m" | "mi" | "mib" => (1u64 << 20) as f64,
        "b" => 1.0,
        "k" | "ki" | "kib" => 1024.0,
        "g" | "gi" | "gib" => (1u64 << 30) as f64,
        "t" | "ti" | "tib" => (1u64 << 40) as f64,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}` (use B, K, M, G or T; KiB…TiB are the same, KB…TB decimal)"
            ))
        }
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_by_default_decimal_when_spelled_out() {
        assert_eq!(parse_size("20GiB"), Ok(20 << 30));
        assert_eq!(parse_size("20G"), Ok(20 << 30));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("8000"), Ok(8000 << 20));
        assert_eq!(parse_size("20GB"), Ok(20_000_000_000));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert!(parse_size("20XB").unwrap_err().contains("unknown unit `XB`"));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("").is_err());
    }
}
