# socklab's script rules in Python (the text `socklab script --emit
# python` puts at the top of each program). Each actor is a thread; the
# main thread hands each line to its actor in file order, and starts the
# next line when the call returned or its thread is seen asleep in that
# very call (/proc/self/task/TID/stat says S, .../syscall names the
# call), never after a sleep. A line written whole whose call ends by
# itself (a poll with a timeout, a line expecting EAGAIN or EINPROGRESS)
# is waited for instead. The /proc files are kept at fds >= 900, so the
# script's calls get the fds they get under socklab.
import array
import errno
import fcntl
import mmap
import os
import select
import signal
import socket
import struct
import sys
import termios
import threading
import time

TIMEOUT = 5.0  # socklab script's --timeout
lock = threading.Condition()
done = set()
open_socks = []  # what the script opened, in that order: closed at the end
ports = {}  # port labels: as written -> this run's
ACTORS = []  # the actors, threads and processes, in the program's order
BORN = set()  # the thread actors a clone3 line starts (runtime_thread.py)
MAIN_PID = os.getpid()


def fail(line, what, expected, got):
    print(f"{FILE}:{line}: {TEXT[line]}\n  {what}: expected {expected}, got {got}",
          file=sys.stderr, flush=True)
    quit(1)


def want(line, got, expected):
    if got != expected:
        fail(line, "result", f"= {expected}", f"= {got}")


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


def data_is(line, data, expected, cut):
    if data[:len(expected)] != expected if cut else data != expected:
        fail(line, "data", repr(expected), repr(data))


def port(written):
    """A port label: bound by the first result that shows it; a port first
    written in an input is used as written. Port 0 is never a label."""
    if written == 0:
        return 0
    return ports.setdefault(written, written)


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


def addr_is(line, addr, ip, written):
    if addr[0] != ip:
        fail(line, "address", ip, addr[0])
    if written == 0 or written not in ports:
        if written == 0 and addr[1] != 0:
            fail(line, "port", 0, addr[1])
        ports.setdefault(written, addr[1])
    elif ports[written] != addr[1]:
        fail(line, "port", ports[written], addr[1])


def opened(sock):
    with lock:
        open_socks.append(sock)
    return sock


def closed(sock):
    with lock:
        if sock in open_socks:
            open_socks.remove(sock)


def status_is(line, st, expected):
    """wait4's status as strace prints it, and as the line wrote it."""
    if os.WIFEXITED(st):
        got = f"{{WIFEXITED(s) && WEXITSTATUS(s) == {os.WEXITSTATUS(st)}}}"
    else:
        core = " && WCOREDUMP(s)" if os.WCOREDUMP(st) else ""
        got = f"{{WIFSIGNALED(s) && WTERMSIG(s) == {signal.Signals(os.WTERMSIG(st)).name}{core}}}"
    if got != expected:
        fail(line, "status", expected, got)


NET = sys.argv[1] if len(sys.argv) > 1 else "socklab"  # the lab network (script --net)


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


class Actor(threading.Thread):
    process = False
    ended = False

    def __init__(self, name, host=None):
        super().__init__(name=name, daemon=True)
        self.host = host  # the lab network's host its thread enters
        self.job = None  # the step it runs
        self.nr = -1
        self.tid = None

    def give(self, i, nr):
        with lock:
            self.nr, self.job = nr, i
            lock.notify_all()

    def run(self):
        if self.host:
            enter_host(self.host)
        with lock:
            self.tid = threading.get_native_id()
            lock.notify_all()
            while True:
                lock.wait_for(lambda: self.job is not None and self.job not in done)
                job = self.job
                lock.release()
                try:
                    script_line(STEPS[job][0])
                except OSError as e:
                    line = STEPS[job][0]
                    fail(line, "result", "no error",
                         f"= -1 {errno.errorcode.get(e.errno, e.errno)}")
                except Exception as e:  # not a socket error: say so, do not hang
                    line = STEPS[job][0]
                    print(f"{FILE}:{line}: {TEXT[line]}\n  {type(e).__name__}: {e}",
                          file=sys.stderr, flush=True)
                    quit(1)
                finally:
                    lock.acquire()
                done.add(job)
                self.job = None
                lock.notify_all()

    def proc(self, pid):
        """The thread's (process's) /proc files, moved to fds >= 900."""
        def high(name):
            fd = os.open(f"/proc/{pid}/task/{self.tid}/{name}", os.O_RDONLY)
            up = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 900)
            os.close(fd)
            return up
        self.stat, self.syscall = high("stat"), high("syscall")

    def asleep(self):
        """Asleep (S) in its call's syscall?"""
        try:
            stat = os.pread(self.stat, 512, 0).decode()
            if stat[stat.rfind(")") + 2:][:1] != "S":
                return False
            nr = os.pread(self.syscall, 512, 0).split()
        except OSError:  # the thread or process is gone
            return False
        return bool(nr) and nr[0] == str(self.nr).encode()


def wait_until(cond):
    end = time.monotonic() + TIMEOUT
    while not cond():
        if time.monotonic() >= end:
            return False
        time.sleep(0.001)
    return True


def stuck(line, why):
    print(f"{FILE}:{line}: {TEXT[line]}\n  cannot start after {TIMEOUT:g}s: {why}",
          file=sys.stderr, flush=True)
    quit(1)


def set_links(next):
    """The script's `net | set SPEC` lines before step next, if it has any
    (runtime_link.py defines them)."""


def run(names):
    """Run the steps in file order, then close what the script left open."""
    actors = ACTORS
    actors.extend(Proc(n) if process else Actor(n, host) for n, process, host in names)
    for k, a in enumerate(actors):
        if a.process or k in BORN:  # started by its fork's (clone3's) line
            continue
        a.start()
        with lock:
            lock.wait_for(lambda: a.tid is not None)
        a.proc(MAIN_PID)
    for i, (line, who, nr, waits, after, delay, _, _) in enumerate(STEPS):
        a = actors[who]
        set_links(i)
        if delay:
            time.sleep(delay / 1000)
        if not wait_until(lambda: a.job is None):
            stuck(line, "its actor is still blocked in an earlier call")
        if after is not None and not wait_until(lambda: after in done):
            stuck(line, "the call that opens its fd has not returned")
        if a.process and a.ended:
            stuck(line, "its process has ended")
        a.give(i, nr)
        end = time.monotonic() + TIMEOUT + (waits / 1000 if waits > 0 else 0)
        while not (i in done or a.ended or time.monotonic() >= end
                   or (waits < 0 and a.asleep())):
            time.sleep(0.001)
        # A line woke blocked calls: wait until each is asleep again or returned.
        wait_until(lambda: all(b.job is None or b.job in done or b.asleep() for b in actors))
    set_links(len(STEPS))
    wait_until(lambda: all(b.job is None or b.job in done for b in actors))
    for b in actors:
        if b.job is not None and b.job not in done and STEPS[b.job][6]:
            line = STEPS[b.job][0]
            print(f"{FILE}:{line}: {TEXT[line]}\n  still blocked after {TIMEOUT:g}s (--timeout)",
                  file=sys.stderr, flush=True)
            quit(1)
    end_processes()
    with lock:
        left = list(open_socks)
    for s in left:
        s.close()
    remove_socket_files()
    remove_dirs()
    sys.stdout.flush()
    os._exit(0)


def fds_in(anc):
    """The fds an SCM_RIGHTS message carried."""
    fds = array.array("i")
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    return list(fds)
