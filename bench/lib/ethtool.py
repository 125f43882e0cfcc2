#!/usr/bin/env python3
"""ethtool.py DEV FEATURE [0|1]: read (and set) one offload of a network
device with the legacy ethtool ioctls, for benchmarks on machines without
the ethtool program. FEATURE: gro | tso. Prints the value after the change.
bench/gateway turns GRO on at a router port (a veth then receives through
NAPI, which can run in a thread of its own whose CPU time is exact) and
TSO off at the sender (a veth hands a sender's packets to NAPI only when
it does not segment them)."""
import ctypes
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
CMDS = {"gro": (0x2b, 0x2c), "tso": (0x1e, 0x1f)}  # ETHTOOL_G*, ETHTOOL_S*


def feature(dev, what, val=None):
    get, set_ = CMDS[what]
    ev = ctypes.create_string_buffer(struct.pack("II", get if val is None else set_, val or 0))
    ifr = struct.pack("16sP16x", dev.encode(), ctypes.addressof(ev))  # struct ifreq
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s, SIOCETHTOOL, ifr)
    return struct.unpack("II", ev.raw[:8])[1]


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[2] not in CMDS:
        sys.exit("usage: ethtool.py DEV gro|tso [0|1]")
    if len(sys.argv) == 4:
        feature(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    print(feature(sys.argv[1], sys.argv[2]))
