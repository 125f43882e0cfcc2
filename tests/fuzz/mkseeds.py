#!/usr/bin/env python3
# Seeds for the handler harnesses, in tests/fuzz/fuzz_msg.h's input format:
#   tests/fuzz/mkseeds.py DIR   writes DIR/TARGET/NAME. Senders are fuzz_keys.h's node numbers.
import os, struct, sys
T = dict(PREPARE=1, PREPARE_ACK=2, RELAY_REQUEST=3, RELAY_RESPONSE=4, RELAY_STOP=5, RELAYED_PACKET=6,
         IMS_UPDATE=7, IMS_ACK=8, QUERY=9, REPLY=10, SUBSCRIBE=11, NOTIFY=12, BINDING_UPDATE=13,
         BINDING_ACK=14, RESUMED=15)
TLV = dict(HA=1, MA=2, LIFETIME=3, STATUS=4, PREFIX=5, ROUTER=6, GROUP=7, SOURCE=8, PORT=9,
           UPDATE_SEQ=10, PACKET=11, LLADDR=12)
A = {a: i for i, a in enumerate(["::", "::1", "2001:db8:100::1", "2001:db8:100::2", "2001:db8:100::3",
     "2001:db8:a::5", "2001:db8:b::", "2001:db8:a::", "fe80::1", "ff3e::1234", "ff3e::1", "ff02::1",
     "ff05::2", "2001:db8:5::1", "2001:db8:2::1", "2001:db8:c::5", "2001:db8:b::1", "2001:db8:1::1",
     "fe80::2", "ff3e::2", "2001:db8:d::7", "2001:db8:b::9", "ff0e::1", "::ffff:192.0.2.1",
     "2001:db8:a::7"])}

def msg(op, type, sender, peer, seq=(0, 1), **f):
    """op byte, then the message; seq = (mode, delta); f: TLV name -> value."""
    present = 0
    for k in f:
        present |= 1 << TLV[k.upper()]
    b = bytes([op, T[type], sender, peer, seq[0]]) + struct.pack(">HH", seq[1], present)
    for k in sorted(f, key=lambda k: TLV[k.upper()]):
        v = f[k]
        k = k.upper()
        if k in ("HA", "MA", "ROUTER", "GROUP", "SOURCE"):
            b += bytes([A[v]])
        elif k == "LIFETIME":
            b += bytes([v])
        elif k == "STATUS":
            b += bytes([v])
        elif k == "PREFIX":
            b += bytes([A[v[0]], v[1]])
        elif k == "PORT":
            b += struct.pack(">H", v)
        elif k == "UPDATE_SEQ":
            b += bytes([v[0]]) + struct.pack(">H", v[1])
        elif k == "PACKET":   # (kind, len, [src], payload byte)
            kind, n = v[0], v[1]
            b += bytes([kind, n])
            if kind & 1 and (kind & 4 or "source" not in f):
                b += bytes([A[v[2]]])
            b += bytes([0x5a]) * (n << 2 if kind & 2 else n)
        elif k == "LLADDR":
            b += bytes([0x52, 0x54, 0, 0, 0, 2])
    return b

def write(target, name, data):
    d = os.path.join(sys.argv[1], target)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), "wb").write(data)

# imsd: ops 0 msg, 1 flush, 2 expiry
upd = msg(0, "IMS_UPDATE", 3, 1, ha="2001:db8:100::1", ma="2001:db8:a::5", lifetime=60)
upd2 = msg(0, "IMS_UPDATE", 3, 1, (0, 2), ha="2001:db8:100::2", ma="2001:db8:a::7", lifetime=60)
wd = msg(0, "IMS_UPDATE", 3, 1, (0, 3), ha="2001:db8:100::1", lifetime=0)
q = msg(0, "QUERY", 5, 0, (0, 4), ha="2001:db8:100::1")
sub = msg(0, "SUBSCRIBE", 5, 0, (0, 5), prefix=("2001:db8:100::1", 0x80 | 48), lifetime=60, port=5301)
write("fuzz_imsd", "update", upd + b"\x01")
write("fuzz_imsd", "update-query", upd + b"\x01" + q + b"\x01")
write("fuzz_imsd", "batch", upd + upd2 + msg(0, "IMS_UPDATE", 4, 2, (0, 2), ha="2001:db8:100::3", ma="2001:db8:b::9", lifetime=10) + b"\x01")
write("fuzz_imsd", "subscribe-dump", upd + b"\x01" + sub + b"\x01" + upd2 + wd + b"\x01\x02")
write("fuzz_imsd", "denied", msg(0, "IMS_UPDATE", 4, 1, ha="2001:db8:100::1", ma="2001:db8:a::5", lifetime=60) + b"\x01")
write("fuzz_imsd", "stale", upd + b"\x01" + upd + b"\x01")
write("fuzz_imsd", "replay", q + q + b"\x01")

# agent: ops 0 msg, 1 time, 2 native packet, 3 resumed
resp = msg(0, "RELAY_RESPONSE", 1, 0, (4, 5), group="ff3e::1234", lifetime=30, status=0)
pkt = msg(0, "RELAYED_PACKET", 1, 0, (0, 7), group="ff3e::1234", packet=(1, 20, "2001:db8:5::1"))
pkt_ssm = msg(0, "RELAYED_PACKET", 1, 0, (0, 8), group="ff3e::1", source="2001:db8:5::1", packet=(1, 24))
native = bytes([2, 0, A["ff3e::1234"], 1, 20, A["2001:db8:5::1"]]) + b"\x5a" * 20
reply = msg(0, "REPLY", 1, 1, (4, 1), ha="2001:db8:100::1", ma="2001:db8:a::5", status=0)
ack = msg(0, "PREPARE_ACK", 1, 2, (4, 0), ma="2001:db8:b::9", status=0, lladdr=1)
write("fuzz_agent", "relay-response", resp)
write("fuzz_agent", "relayed", resp + pkt + pkt + pkt_ssm)
write("fuzz_agent", "relayed-native", pkt + native + pkt + native)
write("fuzz_agent", "prepare", reply + b"\x01\x05" + ack + b"\x03\x00")
write("fuzz_agent", "prepare-notneeded", msg(0, "REPLY", 1, 1, (4, 0), ha="2001:db8:100::3", ma="2001:db8:c::5", status=0) + b"\x01\x05")

# relay server: ops 0 msg, 1 a multicast packet captured
req = msg(0, "RELAY_REQUEST", 1, 0, (0, 1), group="ff3e::1234", lifetime=30)
req_ssm = msg(0, "RELAY_REQUEST", 2, 1, (0, 2), group="ff3e::1", source="2001:db8:5::1", lifetime=30)
stop = msg(0, "RELAY_STOP", 1, 0, (0, 3), group="ff3e::1234")
cap = bytes([1, A["ff3e::1234"], 1, 20, A["2001:db8:5::1"]]) + b"\x5a" * 20
write("fuzz_relay_server", "request", req)
write("fuzz_relay_server", "request-stop", req + cap + stop + cap)
write("fuzz_relay_server", "ssm", req_ssm + req + bytes([1, A["ff3e::1"], 1, 20, A["2001:db8:5::1"]]) + b"\x5a" * 20)
write("fuzz_relay_server", "denied", msg(0, "RELAY_REQUEST", 1, 0, (0, 1), group="ff02::1", lifetime=30))
write("fuzz_relay_server", "withdraw", req + msg(0, "RELAY_REQUEST", 1, 0, (0, 2), group="ff3e::1234", lifetime=0))

# matd: ops 0 msg, 1 time passes
prep = msg(0, "PREPARE", 1, 0, (0, 1), prefix=("2001:db8:b::", 64), router="fe80::1", lladdr=1)
resumed = msg(0, "RESUMED", 1, 0, (0, 2), ma="2001:db8:b::9", ha="2001:db8:100::1")
prep_ma = msg(0, "PREPARE", 1, 0, (0, 1), ma="2001:db8:b::9", prefix=("2001:db8:b::", 64), router="fe80::1")
ims_ack = msg(0, "IMS_ACK", 3, 1, (4, 0), ha="2001:db8:100::1", status=0)
bu_ack = msg(0, "BINDING_ACK", 3, 2, (4, 0), ha="2001:db8:100::1", status=0)
bu = msg(0, "BINDING_UPDATE", 4, 2, (0, 3), ha="2001:db8:100::3", ma="2001:db8:b::9", lifetime=60)
notify = msg(0, "NOTIFY", 3, 1, (0, 4), ha="2001:db8:100::3", ma="2001:db8:a::7", lifetime=60, status=0, update_seq=(0, 4))
write("fuzz_matd", "prepare", prep)
write("fuzz_matd", "prepare-resumed", prep_ma + resumed + ims_ack + bu_ack)
write("fuzz_matd", "binding-update", bu + bu)
write("fuzz_matd", "notify", notify + msg(0, "REPLY", 3, 1, (4, 0), ha="2001:db8:100::3", ma="2001:db8:a::7", lifetime=60, status=0, update_seq=(0, 5)))
