//! A popular Python library that picks GPUs by shelling out to nvidia-smi (GPUtil), run with
//! gputop standing in for `nvidia-smi` on PATH (a two-line wrapper) on the fake NVML library:
//! it must see the scenario's GPUs. `.ci/run` installs it from PyPI into
//! `target/pyclients-venv`; without that venv the test says so (and fails in CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

fn venv_python() -> Option<PathBuf> {
    let python = Path::new(ROOT).join("target/pyclients-venv/bin/python");
    let ok = python.exists()
        && Command::new(&python).args(["-c", "import GPUtil"]).status().is_ok_and(|s| s.success());
    if ok {
        Some(python)
    } else {
        skipped("GPUtil is missing: python3 -m venv target/pyclients-venv && target/pyclients-venv/bin/pip install setuptools GPUtil");
        None
    }
}

#[test]
fn gputil_sees_the_scenario_gpus_through_gputop_as_nvidia_smi() {
    let Some(python) = venv_python() else { return };
    let scenario = scenario_file(
        "[[gpus]]\nname = \"NVIDIA H100 80GB HBM3\"\nuuid = \"GPU-aaaaaaaa-1111-2222-3333-444444444444\"\n\
         serial = \"1652222004547\"\nmemory_total_mib = 81559\nmemory_used_mib = 40000\n\
         utilization_gpu = 87\ntemperature_c = 62\ndisplay_mode = false\n\
         [[gpus]]\nname = \"NVIDIA GeForce RTX 4090\"\nmemory_total_mib = 24564\nmemory_used_mib = 1000\n\
         utilization_gpu = 3\ntemperature_c = 41\ndisplay_mode = true\n",
    );
    // The two-line wrapper a user would put on PATH as nvidia-smi.
    let bin = temp_dir();
    let wrapper = bin.path().join("nvidia-smi");
    std::fs::write(&wrapper, "#!/bin/sh\nexec \"$GPUTOP\" \"$@\"\n").unwrap();
    Command::new("chmod").arg("+x").arg(&wrapper).status().unwrap();
    let script = "import json, GPUtil\n\
        gpus = GPUtil.getGPUs()\n\
        print(json.dumps({'gpus': [dict(id=g.id, uuid=g.uuid, load=g.load, total=g.memoryTotal, \
        used=g.memoryUsed, free=g.memoryFree, driver=g.driver, name=g.name, serial=g.serial, \
        display_active=g.display_active, display_mode=g.display_mode, temperature=g.temperature) \
        for g in gpus], 'available': GPUtil.getAvailable(order='memory', limit=2, maxLoad=0.5)}))";
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap());
    let out = gputop_std(&scenario);
    let envs: Vec<(String, String)> = out
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    let result = Command::new(python)
        .args(["-c", script])
        .envs(envs)
        .env("PATH", path)
        .env("GPUTOP", assert_cmd::cargo::cargo_bin("gputop"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "{stdout}{}", String::from_utf8_lossy(&result.stderr));
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let gpus = doc["gpus"].as_array().unwrap();
    assert_eq!(gpus.len(), 2, "{doc:#}");
    let h100 = &gpus[0];
    assert_eq!(h100["id"], 0);
    assert_eq!(h100["uuid"], "GPU-aaaaaaaa-1111-2222-3333-444444444444");
    assert_eq!(h100["name"], "NVIDIA H100 80GB HBM3");
    assert_eq!(h100["serial"], "1652222004547");
    assert_eq!(h100["load"], 0.87);
    assert_eq!(h100["total"], 81559.0);
    assert_eq!(h100["used"], 40000.0);
    assert_eq!(h100["temperature"], 62.0);
    assert_eq!(h100["driver"], "550.54.15");
    assert_eq!(h100["display_mode"], "Disabled");
    assert_eq!(gpus[1]["display_mode"], "Enabled");
    // Only the RTX is under half loaded; with no serial it reads [N/A] as nvidia-smi prints.
    assert_eq!(gpus[1]["serial"], "[N/A]");
    assert_eq!(doc["available"], serde_json::json!([1]));
}
