# The tests' programs on the lab network (tests/suite/net): Python, not
# socklab, so the link is measured by someone else's sockets.
#   peers.py sink ADDR            count 'd' datagrams; answer 's' and 'q' with the count
#   peers.py rtt ADDR N           N echo round trips (after a warm-up): the median in ms
#   peers.py echo ADDR            echo every datagram back until 'q'
#   peers.py blast ADDR N BATCH   N 'd' datagrams, a sync after each BATCH; print the sink's count
#   peers.py big ADDR             (echo there?) two 1400-byte sends with PMTU discovery on; the path MTU
#   peers.py connect ADDR PORT    connect: 'connected' or the errno name
#   peers.py idle ADDR            nothing
#   peers.py ready ADDR           ask the sink until it answers
import errno, select, socket, sys, time

def sock(addr, kind=socket.SOCK_DGRAM):
    return socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, kind)

def ask(s, dest, msg, tries=100, wait=0.2):
    s.settimeout(wait)
    for _ in range(tries):
        s.sendto(msg, dest)
        try:
            return s.recvfrom(100)[0]
        except socket.timeout:
            pass
    sys.exit("no answer to %r" % msg)

mode, addr = sys.argv[1], sys.argv[2]
dest = (addr, 9000)
if mode in ("sink", "echo"):
    s = sock(addr); s.bind(dest); s.settimeout(15); n = 0
    while True:
        d, peer = s.recvfrom(2000)
        if mode == "echo" and d != b"q":
            s.sendto(d, peer)
        elif d[:1] == b"d":
            n += 1
        elif d[:1] in (b"s", b"q"):
            s.sendto(b"%d" % n, peer)
        if d == b"q":
            break
elif mode == "rtt":
    s = sock(addr); ask(s, dest, b"warm-up"); s.settimeout(2); rtts = []
    for i in range(int(sys.argv[3])):
        t = time.monotonic(); msg = b"p%d" % i; s.sendto(msg, dest)
        # Its own echo: a late second answer to the warm-up (retried
        # after 0.2 s under load) must not stand for this one.
        while s.recvfrom(100)[0] != msg:
            pass
        rtts.append(time.monotonic() - t)
    s.sendto(b"q", dest); rtts.sort()
    print("median rtt %.1f ms" % (rtts[len(rtts) // 2] * 1000))
elif mode == "blast":
    s = sock(addr); ask(s, dest, b"s-warm-up", 20, 1.0)
    n, batch = int(sys.argv[3]), int(sys.argv[4])
    for i in range(n):
        s.sendto(b"d%d" % i, dest)
        if (i + 1) % batch == 0:
            # 1 s: a retry only for a sync the link lost, never for a slow
            # answer (a retry is a packet more, and shifts the draws).
            ask(s, dest, b"s%d" % i, 20, 1.0)
    print("received %s of %d" % (ask(s, dest, b"q", 20, 1.0).decode(), n))
elif mode == "ready":
    ask(sock(addr), dest, b"s-ready")
elif mode == "big":
    ask(sock(addr), dest, b"ready")  # the echo is there: its 'q' cannot be lost
    s = sock(addr); s.connect(dest)
    if ':' in addr:
        s.setsockopt(socket.IPPROTO_IPV6, 23, 2)  # IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO
    else:
        s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER, IP_PMTUDISC_DO
    for i in range(2):
        try:
            s.send(b"x" * 1400); print("send %d: sent" % i)
        except OSError as e:
            print("send %d: %s" % (i, errno.errorcode[e.errno]))
        if i == 0:
            # The router's ICMP (need to frag / packet too big) is a hard
            # error on a connected socket: POLLERR. Waited for, up to 5 s.
            p = select.poll(); p.register(s, select.POLLERR)
            if not p.poll(5000):
                print("no ICMP within 5 s")
    opt = (socket.IPPROTO_IPV6, 24) if ':' in addr else (socket.IPPROTO_IP, 14)  # IPV6_MTU, IP_MTU
    print("path mtu %d" % s.getsockopt(*opt))
    sock(addr).sendto(b"q", dest)
elif mode == "connect":
    s = sock(addr, socket.SOCK_STREAM); t = time.monotonic()
    try:
        s.connect((addr, int(sys.argv[3]))); print("connected")
    except OSError as e:
        print("connect: %s after %.0f s" % (errno.errorcode[e.errno], time.monotonic() - t))
