# Sends TCP segments that connection tracking finds invalid (SYN and FIN together) from a raw
# socket, to count in nf_conntrack's `invalid` statistic.
# argv: destination source [count]
import socket, struct, sys

dst, src = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 1


def checksum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


segment = struct.pack('!HHIIBBHHH', 40000, 8080, 1, 0, 5 << 4, 0x03, 1024, 0, 0)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(segment))
segment = segment[:16] + struct.pack('!H', checksum(pseudo + segment)) + segment[18:]
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for _ in range(count):
    r.sendto(segment, (dst, 0))
