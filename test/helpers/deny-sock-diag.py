"""Runs a command under a seccomp filter that fails socket(AF_NETLINK, *, NETLINK_SOCK_DIAG) with
the given errno, as a sandbox refusing sock_diag would: python3 deny-sock-diag.py ERRNO CMD ARGS...
With --groups first, it fails setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP) instead: sock_diag
works, its multicast groups (the destroy notifications) cannot be joined.
Every other system call is allowed. x86_64 and aarch64."""
import ctypes, os, platform, struct, sys

ARCH = {"x86_64": (0xC000003E, 41, 54), "aarch64": (0xC00000B7, 198, 208)}  # AUDIT_ARCH_*, __NR_socket, __NR_setsockopt
arch, nr_socket, nr_setsockopt = ARCH[platform.machine()]
groups = sys.argv[1] == "--groups"
args = sys.argv[2:] if groups else sys.argv[1:]
errno = int(args[0])
cmd = args[1:]

LD_ABS_W, JEQ_K, RET_K = 0x20, 0x15, 0x06
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
AF_NETLINK, NETLINK_SOCK_DIAG = 16, 4
SOL_NETLINK, NETLINK_ADD_MEMBERSHIP = 270, 1

def insn(code, k, jt=0, jf=0):
    return struct.pack("HBBI", code, jt, jf, k)

# struct seccomp_data: nr at 0, arch at 4, args[0] at 16, args[1] at 24, args[2] at 32 (low words on
# little endian). The call refused, and the two arguments that make it the one: socket's domain and
# protocol, or setsockopt's level and option name.
nr, (at1, value1), (at2, value2) = (
    (nr_setsockopt, (24, SOL_NETLINK), (32, NETLINK_ADD_MEMBERSHIP)) if groups else (nr_socket, (16, AF_NETLINK), (32, NETLINK_SOCK_DIAG))
)
program = b"".join([
    insn(LD_ABS_W, 4), insn(JEQ_K, arch, 0, 7),
    insn(LD_ABS_W, 0), insn(JEQ_K, nr, 0, 5),
    insn(LD_ABS_W, at1), insn(JEQ_K, value1, 0, 3),
    insn(LD_ABS_W, at2), insn(JEQ_K, value2, 0, 1),
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
