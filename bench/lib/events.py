"""The libvirt and QEMU events that bench/migration and
bench/migration-control record per host (virsh event / qemu-monitor-event
--loop --timestamp into ev-HOST.txt and qev-HOST.txt), as (time, what)
lists per host, times in seconds since the epoch (the hosts' clock)."""
import datetime
import os
import re

HOSTS = ("hA", "hB", "hA2")
EV = re.compile(r"(\S+ \S+)\+0000: event 'lifecycle' for domain '[^']*': (.*)")
QEV = re.compile(r"(\S+ \S+)\+0000: event (\w+) for domain '[^']*': (.*)")


def read_events(raw, name, pattern, what):
    """(time, what(match)) per host from NAME-HOST.txt in RAW"""
    evs = {}
    for h in HOSTS:
        evs[h] = []
        path = f"{raw}/{name}-{h}.txt"
        for l in open(path) if os.path.exists(path) else []:
            m = pattern.match(l)
            if m:
                t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(
                    tzinfo=datetime.timezone.utc).timestamp()
                evs[h].append((t, what(m)))
    return evs


def qemu_what(m):
    """QEMU's event name; MIGRATION:STATUS for a migration's status change,
    "pass" for MIGRATION_PASS"""
    if m.group(2) == "MIGRATION":
        status = re.search(r'"status":\s*"([\w-]+)"', m.group(3))
        return "MIGRATION:" + (status.group(1) if status else "?")
    return "pass" if m.group(2) == "MIGRATION_PASS" else m.group(2)


def lifecycle_events(raw):
    return read_events(raw, "ev", EV, lambda m: m.group(2).strip())


def qemu_events(raw):
    return read_events(raw, "qev", QEV, qemu_what)


def find(evs, host, what, lo, hi, last=False):
    """the first (last) WHAT on HOST between LO and HI, or None"""
    ts = [t for t, e in evs.get(host, []) if e == what and lo <= t <= hi]
    return (ts[-1] if last else ts[0]) if ts else None
