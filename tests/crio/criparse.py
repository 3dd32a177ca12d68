# SPDX-License-Identifier: Apache-2.0
"""The readers on the other side of the monitor, ported to Python from their rules:

- exec_sync_log(): how CRI-O v1.32 turns an ExecSync's k8s-file log into the response's
  stdout/stderr (internal/oci/runtime_oci.go parseLog),
- read_cri_logs(): how the kubelet (and crictl logs) turn a container's log back into the
  bytes of each stream (pkg/kubelet/kuberuntime/logs/logs.go, ReadLogs without follow),
- parse_semver(): how CRI-O reads the third field of `conmon --version` (blang/semver's strict form).

Each keeps the reader's quirks on purpose: a test passes only if the monitor's log reads back
as those programs read it.
"""

import datetime
import json
import re

# -------------------------------------------------------------------- CRI-O ExecSync


def exec_sync_log(data):
    """(stdout, stderr) as CRI-O builds the ExecSync response from the log bytes."""
    out, err = bytearray(), bytearray()
    # Entries are split after each newline; a last piece without one is still an entry.
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl + 1
        line = data[pos:end]
        pos = end
        # "DATE pipe tag rest": at most four fields, the rest kept whole; fewer is skipped.
        parts = line.split(b" ", 3)
        if len(parts) < 4:
            continue
        pipe, tag, content = parts[1], parts[2], parts[3]
        # Only a partial record loses the newline the monitor appended to it; a full
        # record's content is kept with its newline.
        if tag == b"P" and content.endswith(b"\n"):
            content = content[:-1]
        if pipe == b"stdout":
            out += content
        elif pipe == b"stderr":
            err += content
    return bytes(out), bytes(err)


# -------------------------------------------------------------------- kubelet CRI logs

_TS_RE = re.compile(rb"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class LogParseError(ValueError):
    pass


def parse_timestamp(raw):
    """RFC 3339 with optional fraction (Go's RFC3339NanoLenient layout) -> aware datetime."""
    m = _TS_RE.match(raw)
    if not m:
        raise LogParseError("unexpected timestamp format: %r" % raw)
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    frac = m.group(7)
    micro = int((frac[1:] + b"000000")[:6]) if frac else 0
    zone = m.group(8)
    if zone == b"Z":
        tz = datetime.timezone.utc
    else:
        sign = 1 if zone[:1] == b"+" else -1
        hh, mm = int(zone[1:3]), int(zone[4:6])
        if hh > 23 or mm > 59:
            raise LogParseError("bad zone in %r" % raw)
        tz = datetime.timezone(sign * datetime.timedelta(hours=hh, minutes=mm))
    try:
        return datetime.datetime(y, mo, d, h, mi, s, micro, tzinfo=tz)
    except ValueError as e:
        raise LogParseError("timestamp %r out of range: %s" % (raw, e))


def parse_cri_line(line):
    """One line of the CRI format -> (timestamp, stream, tags, content), as parseCRILog."""
    idx = line.find(b" ")
    if idx < 0:
        raise LogParseError("timestamp is not found")
    ts = parse_timestamp(line[:idx])
    line = line[idx + 1:]
    idx = line.find(b" ")
    if idx < 0:
        raise LogParseError("stream type is not found")
    stream = line[:idx]
    if stream not in (b"stdout", b"stderr"):
        raise LogParseError("unexpected stream type %r" % stream)
    line = line[idx + 1:]
    idx = line.find(b" ")
    if idx < 0:
        raise LogParseError("log tag is not found")
    tags = line[:idx].split(b":")
    # The trailing newline goes only from a partial record (tags[0] == "P"), and it is
    # trimmed from the whole remainder before the content is cut out of it.
    if tags[0] == b"P" and line.endswith(b"\n"):
        line = line[:-1]
    return ts, stream.decode(), [t.decode(errors="replace") for t in tags], line[idx + 1:]


def parse_docker_json_line(line):
    try:
        obj = json.loads(line)
    except ValueError as e:
        raise LogParseError("failed to unmarshal log %r: %s" % (line, e))
    if not isinstance(obj, dict):
        raise LogParseError("not a JSON object: %r" % line)
    return None, obj.get("stream", ""), [], obj.get("log", "").encode()


def read_cri_logs(data):
    """(stdout, stderr, records) as `kubectl logs` / `crictl logs` print the whole log.
    records: [(stream, tags, content)] of the lines that parsed; lines that do not parse are
    skipped, as the kubelet does after logging them. Raises LogParseError when the first
    line fits no format (the kubelet's "failed to get parse function")."""
    out, err, records = bytearray(), bytearray(), []
    parse = None
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl + 1  # an incomplete last line is still read
        line = data[pos:end]
        pos = end
        if parse is None:
            for cand in (parse_cri_line, parse_docker_json_line):
                try:
                    cand(line)
                    parse = cand
                    break
                except LogParseError:
                    continue
            if parse is None:
                raise LogParseError("unsupported log format: %r" % line[:200])
        try:
            _, stream, tags, content = parse(line)
        except LogParseError:
            continue
        if stream == "stdout":
            out += content
        elif stream == "stderr":
            err += content
        else:
            raise LogParseError("unexpected stream type %r" % stream)
        records.append((stream, tags, content))
    return bytes(out), bytes(err), records


# -------------------------------------------------------------------- semver

_SEMVER_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                        r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
                        r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")


def parse_semver(text):
    """'2.1.6' -> (2, 1, 6, prerelease-or-None); ValueError where blang/semver's New() fails
    (a leading 'v', missing parts, leading zeros)."""
    m = _SEMVER_RE.match(text)
    if not m:
        raise ValueError("not a semantic version: %r" % text)
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)


def semver_gte(v, major, minor, patch):
    """v >= major.minor.patch; a pre-release sorts before its release, as in semver."""
    if v[:3] != (major, minor, patch):
        return v[:3] > (major, minor, patch)
    return v[3] is None
