

# The runner: socklab's rule for whose turn it is. Each thread actor's
# thread runs script() and makes only its own lines, each when main gives
# it its turn (turn). Main gives the lines in file order, and starts the
# next line when the call returned or its thread is seen asleep in that
# very call (/proc/self/task/TID/stat says S, .../syscall names the
# call), never after a sleep. A line written whole whose call ends by
# itself (a poll with a timeout, a line expecting EAGAIN or EINPROGRESS)
# is waited for instead. The /proc files are kept at fds >= 900, so the
# script's calls get the fds they get under socklab.
here = threading.local()  # .actor: the actor this thread is; .step: its step


class Actor(threading.Thread):
#@if forked
    process = False
#@end
#@if forked set_links
    ended = False
#@end

#@if enter_host
    def __init__(self, name, enter=None, host=None):
        super().__init__(name=name, daemon=True)
        self.enter, self.host = enter, host  # the lab network's host its thread enters
#@else
    def __init__(self, name):
        super().__init__(name=name, daemon=True)
#@end
        self.job = None  # the step it runs
        self.nr = -1
        self.tid = None

    def give(self, i, nr):
        with lock:
            self.nr, self.job = nr, i
            lock.notify_all()

    def run(self):
        """Tell main its id, make its lines of the script, then stay (the
        program's end ends it)."""
#@if enter_host
        if self.enter:  # its host, first
            self.enter(self.host)
#@end
        here.actor, here.step = self, None
        with lock:
            self.tid = threading.get_native_id()
            lock.notify_all()
        try:
            script()
            returned()
        except OSError as e:
            line = STEPS[here.step][0] if here.step is not None else 0
            fail(line, "result", "no error", f"= -1 {errno.errorcode.get(e.errno, e.errno)}")
        except Exception as e:  # not a socket error: say so, do not hang
            line = STEPS[here.step][0] if here.step is not None else 0
            print(f"{FILE}:{line}: {TEXT.get(line, '')}\n  {type(e).__name__}: {e}",
                  file=sys.stderr, flush=True)
            quit(1)
#@if forked
        # A process actor (the fork's copy of its parent's thread) gets
        # here too: it waits for main's end, then exits.
        if here.actor.process:
            while given(here.actor) >= 0:
                pass
            child_exit()
#@end
        with lock:
            while True:
                lock.wait()

    def proc(self, pid):
        """The thread's /proc files, moved to fds >= 900."""
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
        except OSError:  # the thread is gone
            return False
        return bool(nr) and nr[0] == str(self.nr).encode()


#@if forked
def given(a):
    """A process actor: the next step main writes down its pipe (-1: the end)."""
    got = os.read(a.child_down, 4)
    return int.from_bytes(got, "little", signed=True) if len(got) == 4 else -1


def child_exit():
    """A process actor's end: close the sockets it still has (lowest fd
    first, as socklab) and exit."""
    for s in sorted(open_socks, key=lambda s: s.fileno()):
        s.close()
    os._exit(0)


#@end
def returned():
    """The calling actor's line has returned: main may go on."""
    a, step = here.actor, here.step
    if step is None:
        return
    here.step = None
#@if forked
    if a.process:  # a process: the step's index up its pipe
        os.write(a.child_up, step.to_bytes(4, "little", signed=True))
        return
#@end
    with lock:
        done.add(step)
        a.job = None
        lock.notify_all()


def job(a):
    """A thread actor's next step: its job, once main gives it."""
    with lock:
        lock.wait_for(lambda: a.job is not None and a.job not in done)
        return a.job


def turn(who, line):
    """Line `line` of actor `who`: if that is the calling thread's actor,
    say its previous line returned, wait until main gives this one, and
    return True; else False."""
    a = getattr(here, "actor", None)
    if a is None or a.name != who:
        return False
    returned()
#@if forked
    step = given(a) if a.process else job(a)
    if step < 0:  # main's end, down a process actor's pipe
        child_exit()
#@else
    step = job(a)
#@end
    here.step = step
    if STEPS[step][0] != line:
        print(f"{FILE}:{line}: given the turn of line {STEPS[step][0]}", file=sys.stderr, flush=True)
        quit(1)
    return True


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


def start(actors):
    """Main, first: each thread actor's thread (it tells its id) and the
    /proc files main watches it by."""
    ACTORS.extend(actors)
    for k, a in enumerate(ACTORS):
#@if forked
        if a.process:  # started by its fork's line
            continue
#@end
#@if born
        if k in BORN:  # started by its clone3's line
            continue
#@end
        a.start()
        with lock:
            lock.wait_for(lambda: a.tid is not None)
        a.proc(MAIN_PID)


def run():
    """Main: each line's turn in file order, once its actor is idle and the
    call that opens its fd has returned; then wait until it returned or
    sleeps in it. At the end the calls still under way get TIMEOUT to
    return (one whose line expects a result must)."""
    for i, (line, who, nr, waits, after, delay, *_) in enumerate(STEPS):
        a = ACTORS[who]
#@if set_links
        set_links(i)  # the `net | set` lines before it
#@end
        if delay:
            time.sleep(delay / 1000)
        if not wait_until(lambda: a.job is None):
            stuck(line, "its actor is still blocked in an earlier call")
        if after is not None and not wait_until(lambda: after in done):
            stuck(line, "the call that opens its fd has not returned")
#@if forked
        if a.process and a.ended:
            stuck(line, "its process has ended")
#@end
        a.give(i, nr)
        end = time.monotonic() + TIMEOUT + (waits / 1000 if waits > 0 else 0)
#@if forked set_links
        while not (i in done or a.ended or time.monotonic() >= end
                   or (waits < 0 and a.asleep())):
#@else
        while not (i in done or time.monotonic() >= end or (waits < 0 and a.asleep())):
#@end
            time.sleep(0.001)
        # A line woke blocked calls: wait until each is asleep again or returned.
        wait_until(lambda: all(b.job is None or b.job in done or b.asleep() for b in ACTORS))
#@if set_links
    set_links(len(STEPS))
#@end
    wait_until(lambda: all(b.job is None or b.job in done for b in ACTORS))
    for b in ACTORS:
        if b.job is not None and b.job not in done and STEPS[b.job][6]:
            line = STEPS[b.job][0]
            print(f"{FILE}:{line}: {TEXT[line]}\n  still blocked after {TIMEOUT:g}s (--timeout)",
                  file=sys.stderr, flush=True)
            quit(1)


def close_left():
    """Main, last: close what the script left open, in the order opened."""
    with lock:
        left = list(open_socks)
    for s in left:
        s.close()


def quit(code):
    """A failure: the program exits."""
#@if forked
    # A child just exits; main kills and reaps its children first.
    if os.getpid() != MAIN_PID:
        os._exit(code)
    for a in ACTORS:
        if a.process and a.tid and not a.reaped:
            os.kill(a.tid, signal.SIGKILL)
            os.waitpid(a.tid, 0)
#@end
    os._exit(code)
