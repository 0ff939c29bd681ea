//! Where a GPU sits: its place in the rack and its NVLink fabric, decoded from NVML's bytes.

use serde::{Deserialize, Serialize};

/// `nvmlPlatformInfo_v2_t`: the GPU's place in its rack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub chassis_serial_number: String,
    pub slot_number: u8,
    pub tray_index: u8,
    pub host_id: u8,
    pub peer_type: u8,
    pub module_id: u8,
    /// The GPU's InfiniBand fabric GUID, `0x` and 16 hex digits (a 64-bit EUI-64).
    pub fabric_guid: String,
}

impl Platform {
    /// From NVML's bytes; the serial is NUL-padded and sanitized (it is the board's text).
    pub fn from_nvml(ib_guid: &[u8; 16], serial: &[u8; 16], numbers: [u8; 5]) -> Self {
        let end = serial.iter().position(|&b| b == 0).unwrap_or(serial.len());
        let text = String::from_utf8_lossy(&serial[..end]);
        let guid: String = ib_guid[..8].iter().map(|b| format!("{b:02x}")).collect();
        let [slot_number, tray_index, host_id, peer_type, module_id] = numbers;
        Self {
            chassis_serial_number: crate::text::sanitize::sanitize(&text).into_owned(),
            slot_number,
            tray_index,
            host_id,
            peer_type,
            module_id,
            fabric_guid: format!("0x{guid}"),
        }
    }
}

/// A GPU's registration with its NVLink fabric, in nvidia-smi's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fabric {
    /// `Not Started`, `In Progress` or `Completed`.
    pub state: String,
    /// `Success`, or why the registration failed.
    pub status: String,
    pub clique_id: u32,
    pub cluster_uuid: String,
}

impl Fabric {
    /// From `nvmlGpuFabricInfo_t`'s fields: `None` for state 0 (no fabric) or one NVML does
    /// not define; `status` in the driver's words.
    pub fn from_nvml(state: u8, status: String, clique_id: u32, uuid: [u8; 16]) -> Option<Self> {
        let state = match state {
            1 => "Not Started",
            2 => "In Progress",
            3 => "Completed",
            _ => return None,
        };
        let hex = |range: std::ops::Range<usize>| -> String {
            uuid[range].iter().map(|b| format!("{b:02x}")).collect()
        };
        let cluster_uuid =
            format!("{}-{}-{}-{}-{}", hex(0..4), hex(4..6), hex(6..8), hex(8..10), hex(10..16));
        Some(Self { state: state.to_string(), status, clique_id, cluster_uuid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_cuts_the_serial_at_its_nul_and_escapes_it() {
        let guid = [0xab, 0xcd, 0, 1, 2, 3, 4, 0xff, 9, 9, 9, 9, 9, 9, 9, 9];
        let serial = *b"SN\x1b[2J\0garbage!!";
        let p = Platform::from_nvml(&guid, &serial, [1, 2, 3, 4, 5]);
        assert_eq!(p.chassis_serial_number, "SN\\x1b[2J");
        assert_eq!(p.fabric_guid, "0xabcd0001020304ff");
        assert_eq!(
            (p.slot_number, p.tray_index, p.host_id, p.peer_type, p.module_id),
            (1, 2, 3, 4, 5)
        );
    }

    #[test]
    fn fabric_names_its_state_and_writes_the_cluster_uuid_dashed() {
        let uuid: [u8; 16] = std::array::from_fn(|i| i as u8 * 0x11);
        let f = Fabric::from_nvml(3, "Success".into(), 7, uuid).unwrap();
        assert_eq!(f.state, "Completed");
        assert_eq!(f.cluster_uuid, "00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(Fabric::from_nvml(0, "Success".into(), 7, uuid), None, "no fabric");
        assert_eq!(Fabric::from_nvml(9, "Success".into(), 7, uuid), None, "a state NVML lacks");
    }
}
