# Joins multicast groups inside the current network namespace and holds them until killed.
# argv[1]: JSON [[group, ifname, sockets], ...] (v4 and v6 mixed). Prints "ready" when joined.
import json, signal, socket, struct, sys

socks = []
for group, ifname, count in json.loads(sys.argv[1]):
    idx = socket.if_nametoindex(ifname)
    for _ in range(count):
        if ':' in group:
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack('@I', idx)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            mreqn = socket.inet_aton(group) + socket.inet_aton('0.0.0.0') + struct.pack('@i', idx)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        socks.append(s)
print('ready', flush=True)
signal.pause()
