//! One DRM client's `/proc/PID/fdinfo/FD`, parsed as the kernel documents it
//! (`Documentation/gpu/drm-usage-stats.rst`): `drm-driver`, `drm-pdev`, `drm-client-id`, the
//! engines' busy time (`drm-engine-<e>: <ns> ns`, with `drm-engine-capacity-<e>` engines of
//! that class) or cycles (`drm-cycles-<e>` against `drm-total-cycles-<e>`), and memory by
//! region (`drm-total-<r>`, `drm-resident-<r>`, and the older `drm-memory-<r>`, which the
//! document says equals `drm-resident-<r>`), in bytes, `KiB` or `MiB`.
//!
//! The text comes from a process another user may own: nothing in it is trusted beyond being
//! numbers, and a line that is not one of these keys is ignored.

use std::collections::BTreeMap;

/// What one DRM client has used so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientUsage {
    /// The PCI address of the device, `0000:03:00.0`.
    pub pdev: Option<String>,
    /// Unique per open DRM file: dup'ed and inherited fds of one client share it.
    pub client_id: Option<u64>,
    /// Busy time so far, by engine class.
    pub engine_ns: BTreeMap<String, u64>,
    /// How many engines of the class there are (1 where not said).
    pub engine_capacity: BTreeMap<String, u64>,
    /// Busy cycles so far, and all cycles elapsed, by engine class (`xe`).
    pub cycles: BTreeMap<String, u64>,
    pub total_cycles: BTreeMap<String, u64>,
    /// Memory by region: (total, resident) in bytes.
    pub memory: BTreeMap<String, RegionMemory>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegionMemory {
    /// Everything the client allocated in the region (`drm-total-`).
    pub total: Option<u64>,
    /// What of it is in the region now (`drm-resident-`, or the older `drm-memory-`).
    pub resident: Option<u64>,
}

impl ClientUsage {
    pub fn parse(text: &[u8]) -> Self {
        let mut usage = Self::default();
        for line in text.split(|&b| b == b'\n') {
            let Ok(line) = std::str::from_utf8(line) else { continue };
            let Some((key, value)) = line.split_once(':') else { continue };
            let (key, value) = (key.trim(), value.trim());
            let Some(key) = key.strip_prefix("drm-") else { continue };
            match key {
                "pdev" => usage.pdev = Some(value.to_ascii_lowercase()),
                "client-id" => usage.client_id = value.parse().ok(),
                _ => usage.parse_counter(key, value),
            }
        }
        usage
    }

    fn parse_counter(&mut self, key: &str, value: &str) {
        // The longer prefixes first: `drm-engine-capacity-` is not an engine called
        // `capacity-…`, nor `drm-total-cycles-` a memory region called `cycles-…`.
        if let Some(engine) = key.strip_prefix("engine-capacity-") {
            insert(&mut self.engine_capacity, engine, number(value, "").map(|n| n.max(1)));
        } else if let Some(engine) = key.strip_prefix("engine-") {
            insert(&mut self.engine_ns, engine, number(value, "ns"));
        } else if let Some(engine) = key.strip_prefix("total-cycles-") {
            insert(&mut self.total_cycles, engine, number(value, ""));
        } else if let Some(engine) = key.strip_prefix("cycles-") {
            insert(&mut self.cycles, engine, number(value, ""));
        } else if let Some(region) = key.strip_prefix("total-") {
            if let Some(bytes) = bytes(value) {
                self.memory.entry(region.to_string()).or_default().total = Some(bytes);
            }
        } else if let Some(region) =
            key.strip_prefix("resident-").or_else(|| key.strip_prefix("memory-"))
        {
            if let Some(bytes) = bytes(value) {
                self.memory.entry(region.to_string()).or_default().resident = Some(bytes);
            }
        }
    }

    /// Holds each busy counter at least at its value in `before` (the kernel may report a
    /// lower value for a while; `drm-usage-stats.rst` asks readers to keep the larger one).
    /// Except xe's cycles: `drm-total-cycles-<e>` is a GPU timestamp that starts again low
    /// after a GT reset or a suspend, so when it reads lower the new readings are the new
    /// baseline (held at the old, it would stand still for as long as the GPU ran before).
    pub fn keep_larger_counters(&mut self, before: &ClientUsage) {
        for (engine, value) in self.engine_ns.iter_mut() {
            if let Some(&earlier) = before.engine_ns.get(engine) {
                *value = (*value).max(earlier);
            }
        }
        for (engine, total) in self.total_cycles.iter_mut() {
            let Some(&earlier_total) = before.total_cycles.get(engine) else { continue };
            if *total < earlier_total {
                continue;
            }
            if let (Some(cycles), Some(&earlier)) =
                (self.cycles.get_mut(engine), before.cycles.get(engine))
            {
                *cycles = (*cycles).max(earlier);
            }
        }
    }

    /// Bytes resident in the device's own memory (regions `vram*`, and i915's `local*`), or
    /// `None` where the client reports no such region (an integrated GPU has none).
    pub fn device_memory_bytes(&self) -> Option<u64> {
        let mut local = self
            .memory
            .iter()
            .filter(|(region, _)| region.starts_with("vram") || region.starts_with("local"))
            .map(|(_, m)| m.resident.or(m.total))
            .peekable();
        local.peek()?;
        local.try_fold(0u64, |sum, m| Some(sum.saturating_add(m?)))
    }
}

fn insert(map: &mut BTreeMap<String, u64>, key: &str, value: Option<u64>) {
    if let Some(value) = value {
        map.insert(key.to_string(), value);
    }
}

/// A number with the unit the document gives it (`ns`, or none).
fn number(value: &str, unit: &str) -> Option<u64> {
    let mut parts = value.split_whitespace();
    let n = parts.next()?.parse().ok()?;
    match parts.next() {
        None => Some(n),
        Some(u) if u == unit => Some(n),
        Some(_) => None,
    }
}

/// A memory amount: bytes, `KiB` or `MiB` (the document's units).
fn bytes(value: &str) -> Option<u64> {
    let mut parts = value.split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    let scale = match parts.next() {
        None => 1,
        Some("KiB") => 1 << 10,
        Some("MiB") => 1 << 20,
        Some(_) => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_amdgpu_client_as_the_document_shows_it() {
        let text = b"pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t1170\n\
            drm-driver:\tamdgpu\ndrm-client-id:\t42\ndrm-pdev:\t0000:03:00.0\n\
            drm-total-vram:\t2048 KiB\ndrm-resident-vram:\t1024 KiB\n\
            drm-memory-gtt:\t512 KiB\ndrm-engine-gfx:\t1000000 ns\n\
            drm-engine-compute:\t3000 ns\ndrm-engine-capacity-compute:\t4\n";
        let u = ClientUsage::parse(text);
        assert_eq!(u.client_id, Some(42));
        assert_eq!(u.pdev.as_deref(), Some("0000:03:00.0"));
        assert_eq!(u.engine_ns["gfx"], 1_000_000);
        assert_eq!(u.engine_ns["compute"], 3000);
        assert_eq!(u.engine_capacity["compute"], 4);
        assert!(!u.engine_ns.contains_key("capacity-compute"));
        assert_eq!(u.memory["gtt"].resident, Some(512 << 10));
        assert_eq!(u.device_memory_bytes(), Some(1 << 20));
    }

    #[test]
    fn an_xe_client_counts_cycles_and_no_cycles_region() {
        let text = b"drm-driver:\txe\ndrm-client-id:\t7\ndrm-cycles-rcs:\t28257900\n\
            drm-total-cycles-rcs:\t7655183225\ndrm-total-vram0:\t4 MiB\ndrm-total-system:\t8 KiB\n";
        let u = ClientUsage::parse(text);
        assert_eq!(u.cycles["rcs"], 28_257_900);
        assert_eq!(u.total_cycles["rcs"], 7_655_183_225);
        assert!(!u.memory.contains_key("cycles-rcs"));
        assert_eq!(u.device_memory_bytes(), Some(4 << 20));
    }

    #[test]
    fn hostile_text_is_numbers_or_nothing() {
        let text = b"drm-engine-gfx:\t99999999999999999999999 ns\ndrm-total-vram:\t1 TiB\n\
            drm-resident-vram:\t18446744073709551615 MiB\ndrm-client-id: x\n\xff\xfe\n";
        let u = ClientUsage::parse(text);
        assert!(u.engine_ns.is_empty() && u.client_id.is_none());
        assert_eq!(u.memory.get("vram").and_then(|m| m.total), None);
        assert_eq!(u.device_memory_bytes(), None, "an overflowing amount is no amount");
        let integrated = ClientUsage::parse(b"drm-driver:\ti915\ndrm-total-system0:\t4 KiB\n");
        assert_eq!(integrated.device_memory_bytes(), None);
    }
}
