"""Runs a command under a seccomp filter that fails socket(AF_NETLINK, *, NETLINK_SOCK_DIAG) with
the given errno, as a sandbox refusing sock_diag would: python3 deny-sock-diag.py ERRNO CMD ARGS...
Every other system call is allowed. x86_64 and aarch64."""
import ctypes, os, platform, struct, sys

ARCH = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}  # AUDIT_ARCH_*, __NR_socket
arch, nr_socket = ARCH[platform.machine()]
errno = int(sys.argv[1])
cmd = sys.argv[2:]

LD_ABS_W, JEQ_K, RET_K = 0x20, 0x15, 0x06
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
AF_NETLINK, NETLINK_SOCK_DIAG = 16, 4

def insn(code, k, jt=0, jf=0):
    return struct.pack("HBBI", code, jt, jf, k)

# struct seccomp_data: nr at 0, arch at 4, args[0] at 16, args[2] at 32 (low words on little endian).
program = b"".join([
    insn(LD_ABS_W, 4), insn(JEQ_K, arch, 0, 7),
    insn(LD_ABS_W, 0), insn(JEQ_K, nr_socket, 0, 5),
    insn(LD_ABS_W, 16), insn(JEQ_K, AF_NETLINK, 0, 3),
    insn(LD_ABS_W, 32), insn(JEQ_K, NETLINK_SOCK_DIAG, 0, 1),
    insn(RET_K, ERRNO | errno),
    insn(RET_K, ALLOW),
])

class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_NO_NEW_PRIVS): errno %d" % ctypes.get_errno())
prog = SockFprog(len(program) // 8, program)
if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
    sys.exit("prctl(PR_SET_SECCOMP): errno %d" % ctypes.get_errno())
os.execvp(cmd[0], cmd)
