# SPDX-License-Identifier: Apache-2.0
"""docs/man/conmon.8 kept in step with the monitor: every option `--help` shows (with its default
and the conmon release it came with), the conmon version `--version` claims, the log levels the
binary accepts, the environment variables the sources read, a mode for every file; and the page
renders without groff warnings."""

import glob
import os
import re
import shutil

import testlib
from testlib import Registry, TestSkip, check, check_eq

reg = Registry()
test = reg.test

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAN = os.path.join(TOP, "docs", "man", "conmon.8")


def page():
    data = testlib.read_file(MAN)
    check(data is not None, "%s missing" % MAN)
    return data.decode()


def plain(roff):
    """Roff source with escapes undone (\\- to -, font changes dropped), requests kept."""
    return re.sub(r"\\f[BIRP]", "", roff.replace("\\-", "-"))


def section(text, name):
    m = re.search(r"(?ms)^\.SH %s\n(.*?)(?=^\.SH |\Z)" % re.escape(name), text)
    check(m, "the man page has no %s section" % name)
    return m.group(1)


def entries(body):
    """.TP entries of a section: [(heading line, body text)]."""
    out = []
    for chunk in re.split(r"(?m)^\.TP\n", body)[1:]:
        head, _, rest = chunk.partition("\n")
        # An entry ends at the next subsection or paragraph.
        rest = re.split(r"(?m)^\.(?:SS|PP)\b", rest)[0]
        out.append((head, rest))
    return out


def help_options(text):
    opts = set()
    for m in re.finditer(r"(?m)^\s+(?:(-\w), )?(--[\w-]+)", text):
        opts.update(o for o in m.groups() if o and o not in ("-h", "--help"))
    return opts


@test(only="ours")
def test_man_page_options(ctx):
    res = ctx.run_monitor(["--help"])
    check_eq(res.returncode, 0, "--help exit status")
    shown = help_options(res.out)
    check("--log-rotate" in shown and "-c" in shown, "options parsed from --help: %r" % sorted(shown))
    documented = {}
    for head, body in entries(section(plain(page()), "OPTIONS")):
        for opt in re.findall(r"(?<![\w-])(--?[\w][\w-]*)", head):
            documented[opt] = body
    check_eq(sorted(shown - set(documented)), [], "options --help shows that the man page lacks")
    check_eq(sorted(set(documented) - shown), [], "options the man page has that --help does not show")
    for opt, body in sorted(documented.items()):
        text = " ".join(body.split())
        check(re.search(r"Since conmon 2\.\d+\.\d+\.", text), "%s: no 'Since conmon X.Y.Z.'" % opt)
        check(opt == "--version" or "Default:" in text, "%s: no default" % opt)


@test(only="ours")
def test_man_page_versions(ctx):
    res = ctx.run_monitor(["--version"])
    check_eq(res.returncode, 0, "--version exit status")
    lines = res.out.splitlines()
    m = re.match(r"^conmon version (\S+)$", lines[0])
    check(m, "--version first line %r" % lines[0])
    text = plain(page())
    desc = " ".join(section(text, "DESCRIPTION").split())
    check("It matches conmon %s:" % m.group(1) in desc,
          "DESCRIPTION does not say 'It matches conmon %s:' as --version does" % m.group(1))
    # --version prints conmon's two lines only, so the project's version comes from the Makefile.
    with open(os.path.join(TOP, "Makefile")) as f:
        own = re.search(r"(?m)^VERSION\s*:=\s*(\S+)", f.read())
    th = re.search(r'(?m)^\.TH \S+ 8 "[^"]*" "ctr-wrap (\S+)"', text)
    check(own and th, "versions: Makefile %r, .TH %r" % (own and own.group(0), th and th.group(0)))
    check_eq(th.group(1), own.group(1), "ctr-wrap version on the .TH line")


@test(only="ours")
def test_man_page_log_levels(ctx):
    body = section(plain(page()), "LOG LEVELS")
    intro = body.split(".TP", 1)[0]
    # The bold words of the first paragraph: all of a .B line, every other one of a .BR line.
    levels = []
    for ln in intro.splitlines():
        req, _, args = ln.partition(" ")
        if req in (".B", ".BR"):
            words = re.findall(r'"[^"]*"|\S+', args)
            levels += [w for w in (words if req == ".B" else words[::2]) if re.fullmatch(r"[a-z]+", w)]
    check(set(levels) >= {"error", "warn", "info", "debug", "trace"}, "levels found in the page: %r" % levels)
    for level in levels + [levels[0].upper()]:
        res = ctx.run_monitor(["--cid", "x", "--log-level", level])
        check("No such log level" not in res.err, "documented level %r refused: %r" % (level, res.err))
    res = ctx.run_monitor(["--cid", "x", "--log-level", "verbose"])
    check("No such log level" in res.err, "an undocumented level is accepted: %r" % res)


@test(only="ours")
def test_man_page_environment_files(ctx):
    text = plain(page())
    env = " ".join(h for h, _ in entries(section(text, "ENVIRONMENT")))
    read = set()
    for src in glob.glob(os.path.join(TOP, "conmon", "*.c")) + glob.glob(os.path.join(TOP, "common", "*.c")):
        with open(src) as f:
            read.update(re.findall(r'(?:getenv|g_getenv|sync_env_fd)\("([A-Z_]+)"', f.read()))
    check("_OCI_SYNCPIPE" in read, "environment variables read by the sources: %r" % sorted(read))
    check_eq(sorted(v for v in read if not re.search(r"\b%s\b" % v, env)), [],
             "variables the sources read that ENVIRONMENT lacks")
    files = entries(section(text, "FILES"))
    heads = " ".join(h for h, _ in files)
    for name in ("exit", "oom", "PIDFILE", "ctl", "winsz", "attach", "k8s-file"):
        check(name in heads, "FILES has no entry for %s" % name)
    for head, body in files:
        check(re.search(r"\b0[0-7]{3}\b", body), "FILES entry %r gives no mode" % head)


@test(only="ours")
def test_man_page_renders(ctx):
    groff = shutil.which("groff")
    if groff is None:
        raise TestSkip("groff not installed")
    res = testlib.run([groff, "-man", "-ww", "-z", MAN], timeout=30)
    check_eq((res.returncode, res.err), (0, ""), "groff -man -ww warnings")
