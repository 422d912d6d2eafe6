# socklab's script rules in Python (the text `socklab script --emit
# python` writes at the top of each program): the helpers each line's call
# uses (a check that fails prints the line, expected and got, and exits 1),
# only those the script uses; then the script's labels, script(), the
# steps' table and main(); the runner (how main gives each line its turn)
# comes last.
import errno
import fcntl
import os
import signal
import sys
import threading
import time
#@ array
import array
#@ mmap
import mmap
#@ select
import select
#@ socket
import socket
#@ struct
import struct
#@ termios
import termios
#@ TIMEOUT lock done open_socks ports ACTORS MAIN_PID

TIMEOUT = 5.0  # socklab script's --timeout
lock = threading.Condition()
done = set()
open_socks = []  # what the script opened, in that order: closed at the end
ports = {}  # port labels: as written -> this run's
ACTORS = []  # the actors, threads and processes, in the program's order
#@if born
BORN = set()  # the thread actors a clone3 line starts (runtime_thread.py)
#@end
MAIN_PID = os.getpid()


#@ fail
def fail(line, what, expected, got):
    print(f"{FILE}:{line}: {TEXT.get(line, '')}\n  {what}: expected {expected}, got {got}",
          file=sys.stderr, flush=True)
    quit(1)


#@ want
def want(line, got, expected):
    if got != expected:
        fail(line, "result", f"= {expected}", f"= {got}")


#@ want_errno
def want_errno(line, err, call):
    """A call the line expects to fail with errno `err`."""
    try:
        r = call()
    except OSError as e:
        if e.errno != err:
            fail(line, "result", f"= -1 {errno.errorcode[err]}",
                 f"= -1 {errno.errorcode.get(e.errno, e.errno)}")
        return
    fail(line, "result", f"= -1 {errno.errorcode[err]}", f"= {0 if r is None else r!r}")


#@ data_is
def data_is(line, data, expected, cut):
    if data[:len(expected)] != expected if cut else data != expected:
        fail(line, "data", repr(expected), repr(data))


#@ port
def port(written):
    """A port label: bound by the first result that shows it; a port first
    written in an input is used as written. Port 0 is never a label."""
    if written == 0:
        return 0
    return ports.setdefault(written, written)


#@ SharedPorts
class SharedPorts:
    """The port labels, in memory a fork shares: a port a process actor's
    result binds is its parent's too (0: none bound yet)."""
    def __init__(self, written):
        self.at = {p: 4 * i for i, p in enumerate(written)}
        self.mem = mmap.mmap(-1, 4 * max(1, len(written)))

    def __contains__(self, p):
        return p in self.at and self[p] != 0

    def __getitem__(self, p):
        return int.from_bytes(self.mem[self.at[p]:self.at[p] + 4], "little")

    def setdefault(self, p, value):
        if p not in self.at:
            return value
        if p not in self:
            self.mem[self.at[p]:self.at[p] + 4] = value.to_bytes(4, "little")
        return self[p]


#@ addr_is
def addr_is(line, addr, ip, written):
    if addr[0] != ip:
        fail(line, "address", ip, addr[0])
    if written == 0 or written not in ports:
        if written == 0 and addr[1] != 0:
            fail(line, "port", 0, addr[1])
        ports.setdefault(written, addr[1])
    elif ports[written] != addr[1]:
        fail(line, "port", ports[written], addr[1])


#@ opened
def opened(sock):
    with lock:
        open_socks.append(sock)
    return sock


#@ closed
def closed(sock):
    with lock:
        if sock in open_socks:
            open_socks.remove(sock)


#@ status_is
def status_is(line, st, expected):
    """wait4's status as strace prints it, and as the line wrote it."""
    if os.WIFEXITED(st):
        got = f"{{WIFEXITED(s) && WEXITSTATUS(s) == {os.WEXITSTATUS(st)}}}"
    else:
        core = " && WCOREDUMP(s)" if os.WCOREDUMP(st) else ""
        got = f"{{WIFSIGNALED(s) && WTERMSIG(s) == {signal.Signals(os.WTERMSIG(st)).name}{core}}}"
    if got != expected:
        fail(line, "status", expected, got)


#@ NET
NET = sys.argv[1] if len(sys.argv) > 1 else "socklab"  # the lab network (script --net)


#@ enter_host
def enter_host(host):
    """A thread entering a host of the lab network, as socklab's actors do:
    openat of /run/netns/NET-HOST, setns(fd, CLONE_NEWNET), close. Python
    3.11 has no os.setns: libc's setns through ctypes (the same call)."""
    import ctypes
    path = f"/run/netns/{NET}-{host}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    except OSError as e:
        print(f"{FILE}: host {host} of the lab network '{NET}' is not there ({path}: "
              f"{e.strerror}); hint: bring the network up first: socklab net up --name {NET}",
              file=sys.stderr, flush=True)
        os._exit(1)
    os.close(fd)


#@ fds_in
def fds_in(anc):
    """The fds an SCM_RIGHTS message carried."""
    fds = array.array("i")
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    return list(fds)


#@ epoll_register epoll_modify epoll_ctl_data
def epoll_ctl_data(ep, op, fd, events, data):
    """register()/modify() with the script's data: select.epoll sets data =
    the fd, so libc's epoll_ctl through ctypes (the same call)."""
    import ctypes

    class Event(ctypes.Structure):
        _pack_ = 1 if os.uname().machine == "x86_64" else 8  # x86_64's is packed
        _fields_ = [("events", ctypes.c_uint32), ("data", ctypes.c_uint64)]
    fileno = lambda f: f if isinstance(f, int) else f.fileno()  # noqa: E731
    ev = Event(events, fileno(data))
    if ctypes.CDLL(None, use_errno=True).epoll_ctl(fileno(ep), op, fileno(fd), ctypes.byref(ev)):
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def epoll_register(ep, fd, events, data):
    epoll_ctl_data(ep, 1, fd, events, data)  # EPOLL_CTL_ADD


def epoll_modify(ep, fd, events, data):
    epoll_ctl_data(ep, 3, fd, events, data)  # EPOLL_CTL_MOD
