# Sends argv[1] UDP datagrams to a socket of its own on loopback (inside the current namespace).
import socket, sys
n = int(sys.argv[1])
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(('127.0.0.1', 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(n): s.sendto(b'x' * 100, r.getsockname())
for _ in range(n): r.recv(200)
print('sent', n)
