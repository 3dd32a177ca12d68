# SPDX-License-Identifier: Apache-2.0
"""The image scenario of `make bench`: loading a ~100 MB image, and `run --rm` from it.

An image of the busybox rootfs plus 100 files of 1 MiB random bytes (which no compression
shrinks), in one gzip layer of an OCI archive: `image load` wall time into an empty store, the
store's disk use against the archive's size, then `ctr-wrap run --rm IMAGE /bin/true` against the
same from the unpacked directory.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import ociimage  # noqa: E402

FILES, FILE_MIB = 100, 1


def du_bytes(path):
    out = subprocess.run(["du", "-sB1", path], check=True, stdout=subprocess.PIPE, text=True).stdout
    return int(out.split()[0])


def bench_image(conmon, wrapper, rootfs, runs, timed):
    """timed(argv, runs) -> median seconds (run.py's)."""
    tmp = tempfile.mkdtemp(prefix="img-", dir="/tmp")
    try:
        tree = os.path.join(tmp, "tree")
        # Without the log and attach scenarios' 1 GiB /data: this image has its own.
        shutil.copytree(rootfs, tree, symlinks=True, ignore=lambda d, names: ["data"] if d == rootfs else [])
        os.makedirs(os.path.join(tree, "data"))
        for i in range(FILES):
            with open(os.path.join(tree, "data", "f%03d" % i), "wb") as f:
                f.write(os.urandom(FILE_MIB << 20))
        layer = ociimage.tar_dir(tree)
        archive = ociimage.Image([layer], ociimage.config([layer], Cmd=["/bin/true"])).oci_archive(
            os.path.join(tmp, "big.tar"), tmp)
        cw = [wrapper, "--root", os.path.join(tmp, "root"), "--conmon", conmon]
        loads = []
        for i in range(runs):
            store = os.path.join(tmp, "store%d" % i)
            t0 = time.monotonic()
            subprocess.run(cw + ["--storage", store, "image", "load", "--name", "big", "oci-archive:" + archive],
                           check=True, stdout=subprocess.DEVNULL)
            loads.append(time.monotonic() - t0)
        store = os.path.join(tmp, "store0")
        res = {"image_mib": len(layer) / (1 << 20), "archive_mib": os.path.getsize(archive) / (1 << 20),
               "store_mib": du_bytes(store) / (1 << 20), "load_s": sorted(loads)[len(loads) // 2]}
        run = cw + ["--storage", store, "run", "--rm"]
        res["run_image_s"] = timed(run + ["big", "/bin/true"], runs * 3)
        res["run_dir_s"] = timed(run + [tree, "/bin/true"], runs * 3)
        return res
    finally:
        subprocess.run(["sh", "-c", "grep -o ' %s/[^ ]*' /proc/mounts | xargs -r -n1 umount -l" % tmp])
        shutil.rmtree(tmp, ignore_errors=True)


def report_image(r):
    return [
        "## Images",
        "",
        "A %.0f MiB image (busybox and %d files of random bytes) in one gzip layer, an OCI archive of %.0f MiB:"
        " `ctr-wrap image load` into an empty store, the store's size after it (`du`), and `run --rm /bin/true`"
        " from the image (an overlay mount made and removed per run) against from the unpacked directory." % (
            r["image_mib"], FILES, r["archive_mib"]),
        "",
        "| | |",
        "|---|---|",
        "| image load (s) | %.2f |" % r["load_s"],
        "| store on disk (MiB) | %.0f |" % r["store_mib"],
        "| run --rm from the image (ms) | %.0f |" % (r["run_image_s"] * 1000),
        "| run --rm from the directory (ms) | %.0f |" % (r["run_dir_s"] * 1000),
        "",
    ]
