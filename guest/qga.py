#!/usr/bin/env python3
"""qga.py: talk to a guest's qemu-ga or to QEMU's QMP over their unix sockets.

  qga.py SOCK ping [--wait SECONDS]     guest-ping; --wait retries until it answers
  qga.py SOCK exec [--timeout S] [--stdin TEXT] -- CMD [ARG...]
                                        guest-exec, wait, print its stdout (stderr
                                        to stderr), exit with its exit code
  qga.py SOCK call COMMAND [JSON-ARGS]  any qga command, print the return value as JSON
  qga.py --qmp SOCK COMMAND [JSON-ARGS] a QMP command (after qmp_capabilities)

The qga socket is QEMU's end of the virtio-serial port (-chardev socket,
server=on,wait=off). Each call resynchronises with guest-sync-delimited, so
a reply left over from an earlier client is never taken for this one's.
Exit status: the command's, 0 for ping/call/qmp, 2 on a protocol error or
timeout, 3 if the guest agent did not answer.
"""
import base64
import json
import os
import random
import socket
import sys
import time


class Timeout(Exception):
    pass


class Conn:
    def __init__(self, path, timeout):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def send(self, obj, raw_prefix=b""):
        self.s.sendall(raw_prefix + json.dumps(obj).encode() + b"\n")

    def recv(self, deadline):
        """One JSON object; skips 0xff delimiters and blank lines."""
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.replace(b"\xff", b"").strip()
                if line:
                    try:
                        return json.loads(line)
                    except ValueError:
                        continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                raise Timeout()
            if not d:
                raise Timeout()
            self.buf += d

    def close(self):
        self.s.close()


def qga_open(path, timeout):
    """Connect and resync; raises Timeout if the agent does not answer."""
    c = Conn(path, timeout)
    sid = random.randint(1, 2**31)
    c.send({"execute": "guest-sync-delimited", "arguments": {"id": sid}}, raw_prefix=b"\xff")
    deadline = time.monotonic() + timeout
    while True:
        r = c.recv(deadline)
        if r.get("return") == sid:
            return c


def qga_call(c, cmd, args=None, timeout=10.0):
    m = {"execute": cmd}
    if args is not None:
        m["arguments"] = args
    c.send(m)
    deadline = time.monotonic() + timeout
    while True:
        r = c.recv(deadline)
        if "error" in r:
            raise RuntimeError("%s: %s" % (cmd, r["error"].get("desc", r["error"])))
        if "return" in r:
            return r["return"]


def connect_retry(path, wait, per_try=1.0):
    deadline = time.monotonic() + wait
    while True:
        try:
            return qga_open(path, per_try)
        except (Timeout, OSError):
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)


def cmd_exec(path, argv, timeout, stdin):
    c = connect_retry(path, 5.0)
    if not c:
        print("qga: no answer from %s" % path, file=sys.stderr)
        return 3
    args = {"path": argv[0], "arg": argv[1:], "capture-output": True}
    if stdin is not None:
        args["input-data"] = base64.b64encode(stdin.encode()).decode()
    pid = qga_call(c, "guest-exec", args)["pid"]
    deadline = time.monotonic() + timeout
    while True:
        st = qga_call(c, "guest-exec-status", {"pid": pid})
        if st.get("exited"):
            break
        if time.monotonic() >= deadline:
            print("qga: %s still running after %.1fs" % (argv[0], timeout), file=sys.stderr)
            return 2
        time.sleep(0.05)
    c.close()
    if "out-data" in st:
        sys.stdout.buffer.write(base64.b64decode(st["out-data"]))
    if "err-data" in st:
        sys.stderr.buffer.write(base64.b64decode(st["err-data"]))
    if "signal" in st:
        return 128 + st["signal"]
    return st.get("exitcode", 0)


def cmd_qmp(path, command, args):
    c = Conn(path, 10.0)
    deadline = time.monotonic() + 10.0
    c.recv(deadline)  # greeting
    c.send({"execute": "qmp_capabilities"})
    while "return" not in c.recv(deadline):
        pass
    m = {"execute": command}
    if args is not None:
        m["arguments"] = args
    c.send(m)
    while True:
        r = c.recv(deadline)
        if "error" in r:
            print("qmp: %s: %s" % (command, r["error"].get("desc")), file=sys.stderr)
            return 2
        if "return" in r:
            print(json.dumps(r["return"]))
            return 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "--qmp":
        return cmd_qmp(argv[1], argv[2], json.loads(argv[3]) if len(argv) > 3 else None)
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 64
    path, sub, rest = argv[0], argv[1], argv[2:]
    try:
        if sub == "ping":
            wait = float(rest[1]) if len(rest) == 2 and rest[0] == "--wait" else 0.0
            c = connect_retry(path, wait, per_try=0.25 if wait else 1.0)
            if not c:
                print("qga: no answer from %s" % path, file=sys.stderr)
                return 3
            qga_call(c, "guest-ping")
            return 0
        if sub == "exec":
            timeout, stdin = 30.0, None
            while rest and rest[0] != "--":
                if rest[0] == "--timeout":
                    timeout = float(rest[1])
                elif rest[0] == "--stdin":
                    stdin = rest[1]
                else:
                    print("qga: unknown exec option %s" % rest[0], file=sys.stderr)
                    return 64
                rest = rest[2:]
            if not rest or len(rest) < 2:
                print("qga: exec needs -- CMD", file=sys.stderr)
                return 64
            return cmd_exec(path, rest[1:], timeout, stdin)
        if sub == "call":
            c = connect_retry(path, 5.0)
            if not c:
                print("qga: no answer from %s" % path, file=sys.stderr)
                return 3
            print(json.dumps(qga_call(c, rest[0], json.loads(rest[1]) if len(rest) > 1 else None)))
            return 0
    except (Timeout, OSError, RuntimeError) as e:
        print("qga: %s: %s" % (sub, e or "timeout"), file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
