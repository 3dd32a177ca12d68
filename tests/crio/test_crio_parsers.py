# SPDX-License-Identifier: Apache-2.0
"""The ported readers themselves, on hand-made logs: if these drift from CRI-O's and the
kubelet's rules, every other case here checks the wrong thing. (No monitor involved.)"""

from testlib import Registry, check, check_eq
from criparse import LogParseError, exec_sync_log, parse_semver, read_cri_logs, semver_gte

reg = Registry()
test = reg.test

TS = b"2016-10-06T00:17:09.669794202Z"


@test()
def test_parsers_exec_sync_rules(ctx):
    log = (TS + b" stdout P hel\n" + TS + b" stdout F lo\n" + TS + b" stderr P e\n" +
           TS + b" stdout F \n" + b"garbage\n" + TS + b" other F x\n" + TS + b" stdout P tail")
    # P loses its newline, F keeps it, short and unknown-pipe lines are skipped, and an
    # unterminated last line still counts.
    check_eq(exec_sync_log(log), (b"hello\n\ntail", b"e"), "exec sync parse")
    # The empty F record a monitor might add at exit is what turns `hello` into `hello\n`.
    check_eq(exec_sync_log(TS + b" stdout P hello\n" + TS + b" stdout F \n")[0], b"hello\n", "synthesized F")


@test()
def test_parsers_kubelet_rules(ctx):
    log = (TS + b" stdout P a\n" + b"2016-10-06T00:17:10+02:00 stderr F b c\n" + b"bad line\n" +
           TS + b" stdout F:x d\n" + TS + b" stdout P e")
    out, err, recs = read_cri_logs(log)
    check_eq((out, err), (b"ad\ne", b"b c\n"), "kubelet parse")
    check_eq([r[1] for r in recs], [["P"], ["F"], ["F", "x"], ["P"]], "tags")
    for bad in (b"2016-13-06T00:17:09Z stdout F x\n", b"2016-10-06 00:17:09Z stdout F x\n",
                TS + b" stdin F x\n", TS + b" stdout\n"):
        try:
            read_cri_logs(bad)
        except LogParseError:
            continue
        raise AssertionError("accepted %r" % bad)
    docker = b'{"log":"content 1\\n","stream":"stdout","time":"2016-10-20T18:39:20.57606443Z"}\n'
    check_eq(read_cri_logs(docker)[0], b"content 1\n", "docker JSON format")


@test()
def test_parsers_semver(ctx):
    check_eq(parse_semver("2.1.6")[:3], (2, 1, 6), "2.1.6")
    check(semver_gte(parse_semver("2.2.1"), 2, 1, 2), "2.2.1 >= 2.1.2")
    check(not semver_gte(parse_semver("2.1.2-rc1"), 2, 1, 2), "a pre-release sorts first")
    for bad in ("v2.1.6", "2.1", "02.1.6", "2.1.6.1", ""):
        try:
            parse_semver(bad)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % bad)
