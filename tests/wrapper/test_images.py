#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ctr-wrap with images: image load/ls/rm/inspect and run/spec from an image, against one monitor.

    python3 tests/wrapper/test_images.py --wrapper wrapper/ctr-wrap --monitor PATH --label ours \\
        [--build build] [-k PATTERN] [--jobs N]

Images are made here without a registry (tests/lib/ociimage.py tars the busybox rootfs into a
layer) and, as cross-checks, by `podman save` from a private podman store under /tmp. Each test
has its own --root and --storage under one /tmp/cwi-* directory; containers are removed with
`rm -f` and any overlay mount left under a storage is unmounted before the directory goes.
Output as test_wrapper.py's.
"""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, HERE)

import ociimage  # noqa: E402
import testlib  # noqa: E402
from ociimage import Image, config, tar_entries  # noqa: E402
import test_wrapper as tw  # noqa: E402
from test_wrapper import Ctx  # noqa: E402
from testlib import TestSkip, check, check_eq  # noqa: E402

reg = testlib.Registry()
_base_layer = {}
_base_lock = threading.Lock()


class ImageCtx(Ctx):
    def __init__(self, wrapper, monitor, rootfs, root, storage, work):
        super().__init__(wrapper, monitor, rootfs, root)
        self.storage = storage
        self.work = work

    def argv(self, *args):
        return super().argv(*args)[:1] + ["--storage", self.storage] + super().argv(*args)[1:]

    def base_layer(self):
        """The busybox rootfs as one uncompressed layer (made once per run)."""
        with _base_lock:
            if "tar" not in _base_layer:
                _base_layer["tar"] = ociimage.tar_dir(self.rootfs)
            return _base_layer["tar"]

    def image(self, compression="gzip", extra_layers=(), ref_name=None, **cfg):
        layers = [self.base_layer()] + list(extra_layers)
        cfg.setdefault("Cmd", ["/bin/sh"])
        return Image(layers, config(layers, **cfg), compression=compression, ref_name=ref_name)

    def path(self, name):
        return os.path.join(self.work, name)

    def load(self, source, *extra):
        return self.ok("image", "load", source, *extra)

    def image_id(self, ref):
        return json.loads(self.ok("image", "inspect", ref).out)[0]["Id"]


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if ln.split()[4].startswith(path + "/")]


def unmount_under(path):
    for m in sorted(mounts_under(path), reverse=True):
        subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)


def store_snapshot(storage):
    """Every path in the store with its type and size: what a failed import must not change."""
    out = []
    for top, dirs, files in os.walk(storage):
        for n in dirs + files:
            p = os.path.join(top, n)
            st = os.lstat(p)
            out.append((os.path.relpath(p, storage), st.st_mode >> 12, st.st_size if n in files else 0))
    return sorted(out)


@contextlib.contextmanager
def ctx_for(base, wrapper, monitor, rootfs, name):
    top = tempfile.mkdtemp(prefix=name[:20] + "-", dir=base)
    dirs = [os.path.join(top, d) for d in ("root", "storage", "work")]
    for d in dirs:
        os.mkdir(d)
    ctx = ImageCtx(wrapper, monitor, rootfs, *dirs)
    try:
        yield ctx
    finally:
        ctx.remove_all()
        unmount_under(top)
        shutil.rmtree(top, ignore_errors=True)


# ------------------------------------------------------------------ tests

@reg.test()
def test_image_config_applied(ctx):
    img = ctx.image(Entrypoint=["/bin/sh", "-c"], Cmd=['echo "$GREETING $OTHER"; pwd; id -u'],
                    Env=["GREETING=hello", "OTHER=image", "PATH=/bin:/usr/bin"], WorkingDir="/srv", User="user")
    ctx.load("oci-archive:" + img.oci_archive(ctx.path("cfg.tar"), ctx.work), "--name", "cfg:1")
    check_eq(ctx.ok("run", "--rm", "cfg:1").out, "hello image\n/srv\n1000\n", "Entrypoint, Cmd, Env, WorkingDir, User")
    # The arguments replace Cmd, -e wins over Env, -u and -w over User and WorkingDir.
    res = ctx.ok("run", "--rm", "-e", "OTHER=cli", "-u", "0", "-w", "/tmp", "cfg:1", 'echo "$GREETING $OTHER"; pwd; id -u')
    check_eq(res.out, "hello cli\n/tmp\n0\n", "command line over image config")
    # --entrypoint replaces Entrypoint and drops Cmd.
    check_eq(ctx.ok("run", "--rm", "--entrypoint", "/bin/echo", "cfg:1").out, "\n", "--entrypoint drops Cmd")
    check_eq(ctx.ok("run", "--rm", "--entrypoint", '["/bin/echo","-n"]', "cfg:1", "x", "y").out, "x y",
             "--entrypoint as a JSON array")
    spec = json.loads(ctx.ok("spec", "cfg:1").out)
    check_eq(spec["process"]["args"], ["/bin/sh", "-c", 'echo "$GREETING $OTHER"; pwd; id -u'], "spec args")
    check("GREETING=hello" in spec["process"]["env"], "spec env %r" % spec["process"]["env"])
    check_eq(mounts_under(ctx.storage), [], "spec leaves no mount")


@reg.test()
def test_image_stop_signal(ctx):
    img = ctx.image(Cmd=["/bin/sh", "-c", "trap 'echo got-usr1; exit 7' USR1; echo ready; "
                         "while :; do sleep 0.1; done"], StopSignal="SIGUSR1")
    ctx.load("oci-archive:" + img.oci_archive(ctx.path("sig.tar"), ctx.work), "--name", "sig")
    ctx.ok("run", "-d", "--name", "s", "sig")
    check(testlib.wait_for(lambda: "ready" in ctx.ok("logs", "s").out, 10), "container started")
    ctx.ok("stop", "-t", "30", "s")
    info = ctx.inspect("s")
    check_eq(info["ExitCode"], 7, "exit code after stop (SIGUSR1 trapped, not SIGKILL)")
    check_eq(info["Config"]["StopSignal"], "SIGUSR1", "inspect StopSignal")
    check("got-usr1" in ctx.ok("logs", "s").out, "the trap ran")


@reg.test()
def test_image_containers_share_layers(ctx):
    img = ctx.image(Cmd=["/bin/sleep", "100"])
    ctx.load("oci-archive:" + img.oci_archive(ctx.path("share.tar"), ctx.work), "--name", "share")
    ctx.ok("run", "-d", "--name", "a", "share")
    ctx.ok("run", "-d", "--name", "b", "share")
    layers = os.listdir(os.path.join(ctx.storage, "layers"))
    check_eq(len(layers), 1, "one unpacked copy of the layer")
    roots = [ctx.inspect(n)["Rootfs"] for n in ("a", "b")]
    check(roots[0] != roots[1] and all(r.startswith(ctx.storage + "/mounts/") for r in roots), "roots %r" % roots)
    with open("/proc/self/mountinfo") as f:
        lowers = [re.search(r"lowerdir=([^,]+)", ln).group(1) for ln in f if ln.split()[4] in roots]
    check_eq(lowers, [layers[0], layers[0]], "both roots are overlays on the same layer directory")
    ctx.ok("exec", "a", "/bin/sh", "-c", "echo mine > /written-by-a; rm /etc/hostname")
    check_eq(ctx.w("exec", "b", "cat", "/written-by-a").returncode, 1, "b does not see a's file")
    check_eq(ctx.ok("exec", "b", "cat", "/etc/hostname").out, "rootfs\n", "b still has what a deleted")
    layer_dir = os.path.join(ctx.storage, "layers", layers[0])
    check(not os.path.exists(os.path.join(layer_dir, "written-by-a")), "the layer is unchanged")
    ctx.ok("rm", "-f", "a", "b")
    check_eq(mounts_under(ctx.storage), [], "rm unmounts the roots")
    check_eq(os.listdir(os.path.join(ctx.storage, "mounts")), [], "rm removes the container's upper dir")


@reg.test()
def test_image_whiteouts(ctx):
    lower = tar_entries([("etc/gone", "file", b"x"), ("data", "dir", None), ("data/a", "file", b"a"),
                         ("data/sub", "dir", None), ("data/sub/b", "file", b"b"), ("keep", "file", b"k")])
    upper = tar_entries([("etc/.wh.gone", "file", b""), ("data", "dir", None), ("data/.wh..wh..opq", "file", b""),
                         ("data/c", "file", b"c")])
    img = ctx.image(compression="zstd", extra_layers=[lower, upper])
    ctx.load("oci-archive:" + img.oci_archive(ctx.path("wh.tar"), ctx.work), "--name", "wh")
    res = ctx.ok("run", "--rm", "wh", "/bin/sh", "-c", "ls /data; cat /keep; test -e /etc/gone || echo gone")
    check_eq(res.out, "c\nkgone\n", "whiteout and opaque directory applied")


@reg.test()
def test_image_sources(ctx):
    img = ctx.image(Cmd=["/bin/cat", "/etc/hostname"], ref_name="localhost/src:1")
    one_id = ociimage.sha256(img.config_bytes())[7:]
    sources = {
        "oci": "oci:" + img.oci_dir(ctx.path("layout")),
        "oci tag": "oci:%s:src:1" % ctx.path("layout"),
        "oci-archive": "oci-archive:" + img.oci_archive(ctx.path("img.tar"), ctx.work),
        "docker-archive": "docker-archive:" + img.docker_archive(ctx.path("docker.tar"), "localhost/src:1"),
    }
    for what, src in sources.items():
        res = ctx.load(src)
        check("Loaded image: localhost/src:1\nLoaded image: sha256:%s\n" % one_id == res.out, "%s: %r" % (what, res))
    check_eq(ctx.ok("image", "ls", "-q").out, one_id + "\n", "one image however it came")
    check_eq(ctx.ok("run", "--rm", "src:1").out, "rootfs\n", "run by short name")
    check_eq(ctx.ok("run", "--rm", one_id[:12]).out, "rootfs\n", "run by id prefix")
    uncompressed = ctx.image(compression=None, Cmd=["/bin/echo", "plain"])
    check_eq(ctx.ok("run", "--rm", "oci-archive:" + uncompressed.oci_archive(ctx.path("plain.tar"), ctx.work)).out,
             "plain\n", "run straight from a source with an uncompressed layer")
    check_eq(ctx.ok("run", "--rm", ctx.rootfs, "/bin/cat", "/etc/hostname").out, "rootfs\n", "a directory still works")
    # A detached --rm container's root goes with it, through the monitor's exit command.
    ctx.ok("run", "-d", "--rm", "src:1")
    check(testlib.wait_for(lambda: not ctx.ps("-a") and not mounts_under(ctx.storage), 20),
          "detached --rm leaves no container and no mount")
    check_eq(os.listdir(os.path.join(ctx.storage, "mounts")), [], "no root left after --rm")
    listing = json.loads(ctx.ok("image", "ls", "--format", "json").out)
    check_eq(sorted(i["Id"] for i in listing), sorted([one_id, ociimage.sha256(uncompressed.config_bytes())[7:]]),
             "image ls")


@reg.test()
def test_image_podman_save(ctx):
    if not shutil.which("podman"):
        raise TestSkip("podman not installed")
    store = ctx.path("podman")
    # podman wants a short --runroot.
    runroot = tempfile.mkdtemp(prefix="pm-", dir="/tmp")
    podman = ["podman", "--root", store, "--runroot", runroot, "--storage-driver", "vfs",
              "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    tarball = ctx.path("rootfs.tar")
    with open(tarball, "wb") as f:
        f.write(ctx.base_layer())
    try:
        res = testlib.run(podman + ["import", "--change", 'CMD ["/bin/echo", "from podman"]',
                                    "--change", "ENV FROM=podman", tarball, "localhost/pm:1"], timeout=120)
        check_eq(res.returncode, 0, "podman import %r" % res)
        for fmt in ("oci-archive", "docker-archive"):
            out = ctx.path(fmt + ".tar")
            res = testlib.run(podman + ["save", "--format", fmt, "-o", out, "localhost/pm:1"], timeout=120)
            check_eq(res.returncode, 0, "podman save %s %r" % (fmt, res))
            check("Loaded image: localhost/pm:1\n" in ctx.load("%s:%s" % (fmt, out)).out, fmt)
            check_eq(ctx.ok("run", "--rm", "pm:1").out, "from podman\n", "run what podman saved as " + fmt)
            check_eq(ctx.ok("run", "--rm", "pm:1", "/bin/sh", "-c", "echo $FROM").out, "podman\n", "its Env")
            ctx.ok("image", "rm", "pm:1")
            check_eq(os.listdir(os.path.join(ctx.storage, "layers")), [], "image rm drops the layers")
    finally:
        testlib.run(podman + ["system", "reset", "-f"], timeout=120)
        shutil.rmtree(runroot, ignore_errors=True)


@reg.test()
def test_image_rm_in_use_and_ports(ctx):
    img = ctx.image(Cmd=["/bin/sh", "-c", "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 80 -h /www"],
                    ExposedPorts={"80/tcp": {}}, Labels={"org.example.role": "web"})
    ctx.load("oci-archive:" + img.oci_archive(ctx.path("web.tar"), ctx.work), "--name", "web:1", )
    ctx.ok("run", "-d", "-P", "--name", "w", "web:1")
    info = ctx.inspect("w")
    check(re.fullmatch(r"0\.0\.0\.0:\d+->80/tcp", (info["Ports"] or [""])[0]), "-P published %r" % info["Ports"])
    check_eq(info["Config"]["ExposedPorts"], {"80/tcp": {}}, "inspect ExposedPorts")
    check_eq(info["Config"]["Labels"], {"org.example.role": "web"}, "inspect Labels")
    check_eq(info["ImageName"], "web:1", "inspect ImageName")
    res = ctx.w("image", "rm", "web:1")
    check(res.returncode == 125 and "used by a container" in res.err, "rm refused while used %r" % res)
    ctx.ok("image", "rm", "-f", "web:1")
    check_eq(ctx.ok("image", "ls", "-q").out, "", "image gone")
    check_eq(ctx.ok("exec", "w", "cat", "/www/index.html").out, "hi\n", "the container keeps its root")
    check_eq(len(os.listdir(os.path.join(ctx.storage, "layers"))), 1, "its layer stays while it is used")
    ctx.ok("rm", "-f", "w")
    check_eq(os.listdir(os.path.join(ctx.storage, "layers")), [], "and goes with the container")


def _bad_images(ctx):
    """(name, source, what the error says) for each kind of bad input."""
    base = ctx.base_layer()
    out = []

    def arch(what, img, expect, mk="oci_archive"):
        path = ctx.path(what.replace(" ", "-") + ".tar")
        src = img.oci_archive(path, ctx.work) if mk == "oci_archive" else mk(path)
        out.append((what, "oci-archive:" + src if mk == "oci_archive" else src, expect))

    good = ctx.image()
    full = good.oci_archive(ctx.path("full.tar"), ctx.work)
    with open(full, "rb") as f:
        data = f.read()
    with open(ctx.path("truncated.tar"), "wb") as f:
        f.write(data[:len(data) // 2])
    out.append(("truncated archive", "oci-archive:" + ctx.path("truncated.tar"), "corrupt|truncated|Truncated"))
    # The layer blob with its middle overwritten: gzip notices, or the digest does.
    d = good.oci_dir(ctx.path("corrupt"))
    blob = os.path.join(d, "blobs", "sha256", ociimage.sha256(ociimage.compress(base, "gzip"))[7:])
    with open(blob, "r+b") as f:
        f.seek(os.path.getsize(blob) // 2)
        f.write(b"\0garbage\0" * 64)
    out.append(("corrupt layer", "oci:" + d, "corrupt|digest mismatch"))
    # A valid layer in place of the one the manifest names.
    d = good.oci_dir(ctx.path("swapped"))
    with open(blob.replace(ctx.path("corrupt"), d), "wb") as f:
        f.write(ociimage.compress(tar_entries([("x", "file", b"x")]), "gzip"))
    out.append(("digest mismatch", "oci:" + d, "digest mismatch"))
    for what, entries, expect in (
            ("dot-dot path", [("../evil", "file", b"x")], r"leaves the layer"),
            ("absolute path", [("/evil", "file", b"x")], r"absolute path"),
            ("escaping hard link", [("h", "hardlink", "../../../etc/passwd")], r"hard link h: .*leaves the layer"),
            ("through a symlink", [("lnk", "symlink", ctx.work), ("lnk/evil", "file", b"x")], r"symlink")):
        arch(what, ctx.image(extra_layers=[tar_entries(entries)]), expect)
    missing = ctx.image()
    out.append(("missing blob", "oci:" + missing.oci_dir(ctx.path("missing"),
                                                         skip_blobs=(ociimage.sha256(missing.config_bytes()),)),
                r"No such file"))
    mt = ctx.image()
    mt.layer_media_type = "application/x-unknown"
    arch("unknown media type", mt, r"unknown media type application/x-unknown")
    arch("other architecture", Image([base], config([base], arch="s390x", Cmd=["/bin/sh"])),
         r"for s390x, this machine is")
    return out


@reg.test()
def test_image_bad_inputs(ctx):
    # Its layer is not the busybox one, which the bad images must unpack (and fail to).
    small = tar_entries([("etc", "dir", None), ("etc/motd", "file", b"hi")])
    good = Image([small], config([small], Cmd=["/bin/true"]))
    ctx.load("oci-archive:" + good.oci_archive(ctx.path("good.tar"), ctx.work), "--name", "good")
    before = store_snapshot(ctx.storage)
    for what, src, expect in _bad_images(ctx):
        for cmd in (["image", "load", src], ["run", "--rm", src, "/bin/true"]):
            res = ctx.w(*cmd)
            check_eq(res.returncode, 125, "%s: %s exit code %r" % (what, cmd[0], res))
            lines = res.err.splitlines()
            check(len(lines) == 1 and lines[0].startswith("ctr-wrap: image %s: " % src) and re.search(expect, lines[0]),
                  "%s: one line naming the image and the cause: %r" % (what, res.err))
            check_eq(store_snapshot(ctx.storage), before, "%s: the store is as it was" % what)
    check(not os.path.exists(os.path.join(ctx.work, "evil")), "nothing written through the symlink")
    check_eq(container_count(ctx), 0, "no container left")


def container_count(ctx):
    return len(ctx.ps("-a"))


@reg.test()
def test_image_full_disk(ctx):
    small = ctx.path("small")
    os.mkdir(small)
    res = testlib.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", small])
    check_eq(res.returncode, 0, "mount tmpfs %r" % res)
    try:
        ctx.storage = small
        ctx.load("oci-archive:" + ctx.image(Cmd=["/bin/true"]).oci_archive(ctx.path("fits.tar"), ctx.work), "--name", "fits")
        before = store_snapshot(small)
        big = tar_entries([("big", "file", os.urandom(24 << 20))])
        src = "oci-archive:" + ctx.image(extra_layers=[big]).oci_archive(ctx.path("big.tar"), ctx.work)
        res = ctx.w("image", "load", src)
        check(res.returncode == 125 and re.fullmatch(r"ctr-wrap: image %s: .*No space left on device\n" % re.escape(src),
                                                     res.err), "full disk %r" % res)
        check_eq(store_snapshot(small), before, "the store is as it was")
        check_eq(ctx.ok("run", "--rm", "fits").returncode, 0, "the store still works")
    finally:
        testlib.run(["umount", "-l", small])


@reg.test()
def test_image_concurrent_loads(ctx):
    src = "oci-archive:" + ctx.image(Cmd=["/bin/echo", "ok"]).oci_archive(ctx.path("c.tar"), ctx.work)
    procs = [testlib.spawn(ctx.argv("image", "load", "--name", "same", src), tempfile.mkdtemp(dir=ctx.work))
             for _ in range(3)]
    codes = [p.wait(120) for p in procs]
    check_eq(codes, [0, 0, 0], "three concurrent loads of one image")
    check_eq(len(os.listdir(os.path.join(ctx.storage, "layers"))), 1, "one copy of the layer")
    check_eq(os.listdir(os.path.join(ctx.storage, "tmp")), [], "nothing left in tmp")
    check_eq(ctx.ok("run", "--rm", "same").out, "ok\n", "the image runs")


@reg.test()
def test_image_bad_refs(ctx):
    res = ctx.w("run", "--rm", "no-such-image", "/bin/true")
    check(res.returncode == 125 and "neither a directory nor an image" in res.err, "unknown image %r" % res)
    res = ctx.w("image", "load", "oci-archive:")
    check(res.returncode == 125 and "no path after" in res.err, "empty source %r" % res)
    res = ctx.w("image", "load", "--name", "Bad Name", "oci:/nonexistent")
    check(res.returncode == 125 and "invalid image name" in res.err, "bad --name %r" % res)
    res = ctx.w("image", "rm", "nothing")
    check(res.returncode == 125 and "no image nothing" in res.err, "rm unknown %r" % res)


def setup(opts, monitor, rootfs, base, stack):
    stack.callback(unmount_under, base)
    wrapper = os.path.abspath(opts.wrapper)
    return lambda tc: ctx_for(base, wrapper, monitor, rootfs, tc.name)


if __name__ == "__main__":
    sys.exit(tw.main(reg, setup, "cwi-"))
