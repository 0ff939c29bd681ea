#!/usr/bin/env python3
"""AMD GPUs and their DRM clients for a benchmark, in the caller's private mount namespace
(run it as root under `unshare -m --propagation private`): a tmpfs over /sys/class with CARDS
amdgpu cards (files as Documentation/gpu/amdgpu/driver-misc.rst and thermal.rst name them), a
tmpfs /dev/dri with their render nodes (mknod c 226 128+N), and each PID given holding one
client of a card: a directory bind-mounted over its /proc/PID/fd (fd 3, a link to the render
node) and one over /proc/PID/fdinfo (fd 3's usage, as Documentation/gpu/drm-usage-stats.rst
shows it). With --update, a child process then advances every client's engine time once a
second, as a training job would, until the clients have all exited.

    drm-fixture.py CARDS PID... [--update]
"""
import os
import subprocess
import sys
import tempfile
import time

args = [a for a in sys.argv[1:] if not a.startswith("--")]
update = "--update" in sys.argv
cards, pids = int(args[0]), [int(p) for p in args[1:]]


def mount(*argv):
    subprocess.run(["mount", *argv], check=True)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


mount("-t", "tmpfs", "none", "/sys/class")
os.makedirs("/dev/dri", exist_ok=True)
mount("-t", "tmpfs", "none", "/dev/dri")
for c in range(cards):
    dev = f"/sys/class/drm/card{c}/device"
    write(f"{dev}/uevent", f"DRIVER=amdgpu\nPCI_SLOT_NAME=0000:{0x10 + c:02x}:00.0\n")
    write(f"{dev}/vendor", "0x1002\n")
    write(f"{dev}/device", "0x74a1\n")
    write(f"{dev}/revision", "0x00\n")
    write(f"{dev}/gpu_busy_percent", "90\n")
    write(f"{dev}/mem_busy_percent", "40\n")
    write(f"{dev}/mem_info_vram_total", f"{192 << 30}\n")
    write(f"{dev}/mem_info_vram_used", f"{70 << 30}\n")
    write(f"{dev}/pp_dpm_sclk", "0: 500Mhz\n1: 2100Mhz *\n")
    write(f"{dev}/pp_dpm_mclk", "0: 900Mhz\n1: 1300Mhz *\n")
    os.makedirs(f"{dev}/drm/renderD{128 + c}", exist_ok=True)
    hw = f"{dev}/hwmon/hwmon{c}"
    for name, value in [("temp1_input", 65000), ("temp1_label", "edge"), ("temp2_input", 71000),
                        ("temp2_label", "junction"), ("power1_average", 560000000),
                        ("power1_cap", 750000000)]:
        write(f"{hw}/{name}", f"{value}\n")
    os.mknod(f"/dev/dri/renderD{128 + c}", 0o20666, os.makedev(226, 128 + c))

scratch = tempfile.mkdtemp(prefix="drm-clients-")
mount("-t", "tmpfs", "none", scratch)
fdinfo_files = []
for i, pid in enumerate(pids):
    card = i % cards
    fd_dir, info_dir = f"{scratch}/{pid}/fd", f"{scratch}/{pid}/fdinfo"
    os.makedirs(fd_dir)
    os.makedirs(info_dir)
    os.symlink(f"/dev/dri/renderD{128 + card}", f"{fd_dir}/3")
    fdinfo_files.append((f"{info_dir}/3", card, i + 1))
    mount("--bind", fd_dir, f"/proc/{pid}/fd")
    mount("--bind", info_dir, f"/proc/{pid}/fdinfo")


def fdinfo(client, card, busy_ns):
    return (f"pos:\t0\nflags:\t02100002\nmnt_id:\t1\nino:\t1\ndrm-driver:\tamdgpu\n"
            f"drm-client-id:\t{client}\ndrm-pdev:\t0000:{0x10 + card:02x}:00.0\n"
            f"drm-total-vram:\t{8 << 20} KiB\ndrm-resident-vram:\t{8 << 20} KiB\n"
            f"drm-total-gtt:\t2048 KiB\ndrm-resident-gtt:\t2048 KiB\n"
            f"drm-engine-gfx:\t{busy_ns} ns\ndrm-engine-compute:\t{busy_ns // 2} ns\n"
            f"drm-engine-capacity-compute:\t4\n")


for path, card, client in fdinfo_files:
    write(path, fdinfo(client, card, 0))
if update and os.fork() == 0:
    start = time.monotonic()
    def alive(pid):
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False

    while any(alive(pid) for pid in pids):
        time.sleep(1)
        busy = int((time.monotonic() - start) * 0.9e9)
        for path, card, client in fdinfo_files:
            write(path, fdinfo(client, card, busy))
