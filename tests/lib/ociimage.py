# SPDX-License-Identifier: Apache-2.0
"""Container images built without a registry or a container engine, for the tests.

A layer is a tar made with Python's tarfile (from a directory, or from entries given one by
one, which is how the tests make whiteouts and hostile entries). Images are written as an
OCI image layout directory, an OCI archive (that directory as a tar) or a docker-save archive.
"""

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {
    None: "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_dir(path):
    """The tree at path as an uncompressed layer, numeric owners kept."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(path)):
            t.add(os.path.join(path, name), arcname=name)
    return buf.getvalue()


def tar_entries(entries):
    """entries: (name, kind, arg): kind "file" (arg = bytes), "dir", "symlink"/"hardlink" (arg = target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            ti = tarfile.TarInfo(name)
            ti.mode = 0o755 if kind == "dir" else 0o644
            data = None
            if kind == "file":
                ti.size = len(arg)
                data = io.BytesIO(arg)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, arg
            t.addfile(ti, data)
    return buf.getvalue()


def compress(tar, how):
    if how == "gzip":
        return gzip.compress(tar, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=tar, stdout=subprocess.PIPE, check=True).stdout
    return tar


def config(layers, arch="amd64", **cfg):
    """An image config; cfg holds its "config" fields (Entrypoint, Cmd, Env, ...)."""
    return {"architecture": arch, "os": "linux", "created": "2026-01-02T03:04:05Z", "config": cfg,
            "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in layers]}}


class Image:
    """layers: uncompressed tars, bottom first; compression: None, "gzip" or "zstd"."""

    def __init__(self, layers, cfg=None, compression="gzip", ref_name=None):
        self.layers = layers
        self.config = cfg or config(layers, Cmd=["/bin/sh"])
        self.compression = compression
        self.ref_name = ref_name
        # Tests that break an image edit these before writing.
        self.layer_media_type = None
        self.extra_manifest = {}

    def config_bytes(self):
        return json.dumps(self.config).encode()

    def oci_dir(self, path, skip_blobs=()):
        blobs = os.path.join(path, "blobs", "sha256")
        os.makedirs(blobs, exist_ok=True)

        def put(data):
            d = sha256(data)
            if d not in skip_blobs:
                with open(os.path.join(blobs, d[7:]), "wb") as f:
                    f.write(data)
            return {"digest": d, "size": len(data)}

        layer_descs = []
        for t in self.layers:
            desc = put(compress(t, self.compression))
            desc["mediaType"] = self.layer_media_type or LAYER_TYPES[self.compression]
            layer_descs.append(desc)
        cfg = dict(put(self.config_bytes()), mediaType=OCI_CONFIG)
        manifest = dict({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": layer_descs},
                        **self.extra_manifest)
        mdesc = dict(put(json.dumps(manifest).encode()), mediaType=OCI_MANIFEST)
        if self.ref_name:
            mdesc["annotations"] = {"org.opencontainers.image.ref.name": self.ref_name}
        with open(os.path.join(path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [mdesc]}, f)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        return path

    def oci_archive(self, path, workdir):
        d = self.oci_dir(os.path.join(workdir, os.path.basename(path) + ".d"))
        with tarfile.open(path, "w") as t:
            for name in ("oci-layout", "index.json", "blobs"):
                t.add(os.path.join(d, name), arcname=name)
        return path

    def docker_archive(self, path, repo_tag=None):
        """docker save's shape: manifest.json, the config named by its digest, DIR/layer.tar."""
        cfg = self.config_bytes()
        files = {sha256(cfg)[7:] + ".json": cfg}
        layer_names = []
        for t in self.layers:
            name = sha256(t)[7:] + "/layer.tar"
            files[name] = t
            layer_names.append(name)
        manifest = [{"Config": sha256(cfg)[7:] + ".json", "RepoTags": [repo_tag] if repo_tag else [],
                     "Layers": layer_names}]
        files["manifest.json"] = json.dumps(manifest).encode()
        with tarfile.open(path, "w") as t:
            for name, data in files.items():
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
        return path
