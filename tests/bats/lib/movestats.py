#!/usr/bin/env python3
"""movestats: join what one testbed run recorded into one row per move.

Inputs: the testbed's migrations file ("src dst down up" per move, epoch
seconds), the receiver's seqstream JSON (gaps with their start time), and
optionally matd's log (one "handover #N ..." line per handover, in order).
Output: JSON, a list of {src, dst, down, up, outage_ms, phases...}.
The outage of a move is the longest gap in the stream that starts between
the link going down and half a second after it came back; after_up_ms is
how long after the link came back that gap ended. The stream fields of a
multicast receiver (mcstream) and a TCP/UDP one (seqstream) are the same."""
import json
import re
import sys

HANDOVER = re.compile(
    r"handover #(\d+) (prepared|unprepared) (\S+) \((\w+)\): \S+ -> (\S+): "
    r"detect->usable ([-\d.]+) ms, usable->ims ([-\d.]+) ms, ims rtt ([-\d.]+) ms, "
    r"cn notify rtt ([-\d.]+) ms \((\d+)/(\d+) acked\), total ([-\d.]+) ms")


def handovers(path):
    out = []
    with open(path) as f:
        for line in f:
            m = HANDOVER.search(line)
            if not m or m.group(4) == "start":
                continue
            out.append({
                "path": m.group(2), "to": m.group(5),
                "detect_to_usable_ms": float(m.group(6)),
                "usable_to_ims_ms": float(m.group(7)),
                "ims_rtt_ms": float(m.group(8)),
                "cn_rtt_ms": float(m.group(9)),
                "total_ms": float(m.group(12)),
            })
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: movestats.py MIGRATIONS RECEIVER.json [MATD.log]")
    moves = []
    with open(sys.argv[1]) as f:
        for line in f:
            src, dst, down, up = line.split()
            moves.append({"src": src, "dst": dst, "down": float(down), "up": float(up)})
    rx = json.load(open(sys.argv[2]))
    gaps = rx.get("gaps", [])
    for mv in moves:
        near = [g for g in gaps if mv["down"] - 0.02 <= g["at"] <= mv["up"] + 0.5]
        g = max(near, key=lambda g: g["ms"]) if near else None
        mv["outage_ms"] = g["ms"] if g else 0.0
        # the part of it after the link came back: what glm decides; the
        # part before is the testbed moving a veth between namespaces
        mv["after_up_ms"] = (g["at"] + g["ms"] / 1000 - mv["up"]) * 1000 if g else 0.0
    if len(sys.argv) > 3:
        hos = handovers(sys.argv[3])
        # same-subnet moves give no handover line; pair in order otherwise
        cross = [mv for mv in moves if "hB" in (mv["src"], mv["dst"])]
        for mv, ho in zip(cross, hos):
            mv.update(ho)
    json.dump({"moves": moves, "stream": {k: rx.get(k) for k in
                                           ("sent", "received", "lost", "reordered", "dup", "error")}},
              sys.stdout)


if __name__ == "__main__":
    main()
