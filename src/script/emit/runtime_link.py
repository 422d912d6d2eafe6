

def set_link(line, spec):
    """`net | set SPEC`: the lab network's link changes mid-run, asked of its
    forwarder as socklab asks it (src/net/control.rs): socket, connect to
    /run/socklab/NET/ctl, getsockopt SO_PEERCRED (who answers), write the
    request, shutdown, poll and read until the forwarder closes (5 s at
    most), close. The answer starts with "ok" or "error: ..."."""
    path = f"/run/socklab/{NET}/ctl"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        os.write(s.fileno(), f"set {spec}\n".encode())
        s.shutdown(socket.SHUT_WR)
        p = select.poll()
        p.register(s.fileno(), select.POLLIN)
        answer, end = b"", time.monotonic() + 5
        while time.monotonic() < end:
            if not p.poll(1000):
                continue
            got = os.read(s.fileno(), 4096)
            if not got:
                break
            answer += got
    except OSError as e:
        print(f"{FILE}:{line}: net | set {spec}\n  the lab network '{NET}' is not up ({path}: "
              f"{e.strerror}); hint: bring it up first: socklab net up --name {NET}",
              file=sys.stderr, flush=True)
        quit(1)
    s.close()
    if not answer.startswith(b"ok\n"):
        print(f"{FILE}:{line}: net | set {spec}\n  the link refused it: {answer.decode(errors='replace')}",
              file=sys.stderr, flush=True)
        quit(1)


def set_links(next):
    """Before step next: its `net | set` lines (LINKS), each once the calls
    under way that the script shows returned before it have returned
    (RETURNS_BY: the step by which each call's line shows its result),
    within TIMEOUT, as socklab's runner does."""
    for before, line, spec in LINKS:
        if before == next:
            wait_until(lambda: all(b.job is None or b.job in done or b.ended
                                   or RETURNS_BY[b.job] > next for b in ACTORS))
            set_link(line, spec)
