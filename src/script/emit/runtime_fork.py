

# Process actors (`NAME = fork()`), as socklab runs them: the line's
# os.fork() makes the child, which goes on in the same script() as actor
# NAME: main writes each of its steps' index down a pipe, the child makes
# the call and writes the index back up (turn). The pipes are kept at fds
# >= 900 (the script's calls get the fds they get under socklab); the
# parent learns how a child ended when its pipe ends, with waitid(WNOWAIT)
# (the wait4 is made at the end, or by the script's own wait4 line).
#@ Proc
class Proc:
    process = True

    def __init__(self, name):
        self.name = name
        self.job = None  # the step it runs
        self.nr = -1
        self.tid = None  # its pid
        self.ended = self.reaped = False

    def proc(self, pid):
        Actor.proc(self, pid)

    def asleep(self):
        return Actor.asleep(self)

    def give(self, i, nr):
        if i >= 0:
            with lock:
                self.nr, self.job = nr, i
        try:
            os.write(self.down, i.to_bytes(4, "little", signed=True))
        except OSError:
            self.ended = True


#@ high_pipe
def high_pipe():
    r, w = os.pipe()
    ends = fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 900), fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 900)
    os.close(r)
    os.close(w)
    return ends


#@ pipes
def pipes(k):
    """Before a fork: the pipes of actor k."""
    a = ACTORS[k]
    a.child_down, a.down = high_pipe()
    a.up, a.child_up = high_pipe()


#@ cut_short
def cut_short(step, si):
    """A line in a process ended it: fine if the line expects nothing
    definite, or EPIPE and SIGPIPE came; else the line failed."""
    line, nr, cut = STEPS[step][0], STEPS[step][2], STEPS[step][7]
    if si.si_code == os.CLD_EXITED:
        if nr != EXIT_GROUP:  # the child said why
            quit(1)
        return
    if cut == 0 or (cut == 1 and si.si_status == signal.SIGPIPE):
        return
    fail(line, "result", "a return",
         f"its process killed by {signal.Signals(si.si_status).name}")


#@ reader
def reader(a):
    """The parent's side of a child: the lines it made, then its end."""
    while True:
        got = os.read(a.up, 4)
        if len(got) < 4:
            break
        with lock:
            done.add(int.from_bytes(got, "little", signed=True))
            a.job = None
            lock.notify_all()
    try:
        si = os.waitid(os.P_PID, a.tid, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:  # the script's own wait4 reaped it (and checks it)
        si = None
    with lock:
        cut = a.job if a.job is not None and a.job not in done else None
        a.ended, a.job = True, None
        lock.notify_all()
    if cut is not None and si is not None:
        cut_short(cut, si)


#@ forked
def forked(k, r):
    """After the line's os.fork(): the child (r == 0) is actor k from here
    on (its own pipe ends only); the parent watches it."""
    global lock
    a = ACTORS[k]
    if r == 0:
        a.tid = os.getpid()
        lock = threading.Condition()  # main's may have been held at the fork
        for b in ACTORS:
            if b is not a and b.process and b.tid:
                os.close(b.down)
                os.close(b.up)
        os.close(a.down)
        os.close(a.up)
        here.actor, here.step = a, None
        return
    os.close(a.child_down)
    os.close(a.child_up)
    a.tid = r
    a.proc(r)
    threading.Thread(target=reader, args=(a,), daemon=True).start()


#@ reaped
def reaped(r):
    """wait4 made by the script reaped pid r (wait4(-1, ...): any child;
    WNOHANG: 0, none): the end does not reap that actor again."""
    for a in ACTORS:
        if r > 0 and a.process and a.tid == r:
            a.reaped = True


#@ end_processes
def end_processes():
    """The end of each process actor: one still in a call is killed; the
    others close their sockets and exit; then each is reaped (wait4)."""
    for a in ACTORS:
        if not a.process or not a.tid:
            continue
        if not a.ended and a.job is not None:
            os.kill(a.tid, signal.SIGKILL)
        elif not a.ended:
            a.give(-1, -1)
        wait_until(lambda: a.ended)
        if not a.reaped:
            os.waitpid(a.tid, 0)
            a.reaped = True
