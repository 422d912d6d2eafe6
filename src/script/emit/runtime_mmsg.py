

# sendmmsg and recvmmsg (appended when a line makes one): the socket
# module has neither, so libc's own through ctypes, the very call the
# line writes (one call, its struct mmsghdr array).
import ctypes

LIBC = ctypes.CDLL(None, use_errno=True)


class Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class Msghdr(ctypes.Structure):
    _fields_ = [("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(Iovec)), ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
                ("msg_flags", ctypes.c_int)]


class Mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", Msghdr), ("msg_len", ctypes.c_uint)]


def mmsg_array(bufs, names):
    """The array: entry i reads or writes bufs[i], names[i] its msg_name (None: NULL)."""
    mm = (Mmsghdr * len(bufs))()
    iov = (Iovec * len(bufs))()
    for i, (b, nm) in enumerate(zip(bufs, names)):
        iov[i].iov_base, iov[i].iov_len = ctypes.addressof(b), len(b)
        mm[i].msg_hdr.msg_iov, mm[i].msg_hdr.msg_iovlen = ctypes.pointer(iov[i]), 1
        if nm is not None:
            mm[i].msg_hdr.msg_name, mm[i].msg_hdr.msg_namelen = ctypes.addressof(nm), len(nm)
    return mm, iov


def checked(r):
    """A libc call's result, or the OSError the socket module would raise."""
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def sockaddr(addr):
    """(ip, port) as a sockaddr_in or sockaddr_in6."""
    ip, p = addr
    if ":" in ip:
        raw = struct.pack("=HHI16sI", socket.AF_INET6, socket.htons(p), 0,
                          socket.inet_pton(socket.AF_INET6, ip), 0)
    else:
        raw = struct.pack("=HH4s8x", socket.AF_INET, socket.htons(p), socket.inet_aton(ip))
    return ctypes.create_string_buffer(raw, len(raw))


def address(nm):
    """A sockaddr_in or sockaddr_in6 the kernel wrote, as (ip, port)."""
    family, p = struct.unpack_from("=HH", nm)
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, nm[8:24]), socket.ntohs(p)
    return socket.inet_ntop(socket.AF_INET, nm[4:8]), socket.ntohs(p)


def sendmmsg(sock, datagrams, flags):
    """One sendmmsg of datagrams [(bytes, (ip, port) or None)]: the result
    and each sent entry's msg_len."""
    bufs = [ctypes.create_string_buffer(d, max(1, len(d))) for d, _ in datagrams]
    names = [None if to is None else sockaddr(to) for _, to in datagrams]
    mm, _ = mmsg_array(bufs, names)
    for i, (d, _) in enumerate(datagrams):
        mm[i].msg_hdr.msg_iov[0].iov_len = len(d)
    r = checked(LIBC.sendmmsg(sock.fileno(), mm, len(datagrams), flags))
    return r, [{"msg_len": mm[i].msg_len} for i in range(r)]


def recvmmsg(sock, vlen, size, named, flags):
    """One recvmmsg of vlen entries of size bytes (named: each with a
    sockaddr_storage): the result and each filled entry's fields."""
    bufs = [ctypes.create_string_buffer(size) for _ in range(vlen)]
    names = [ctypes.create_string_buffer(128) if named else None for _ in range(vlen)]
    mm, _ = mmsg_array(bufs, names)
    r = checked(LIBC.recvmmsg(sock.fileno(), mm, vlen, flags, None))
    got = []
    for i in range(r):
        h = mm[i].msg_hdr
        got.append({"data": bufs[i].raw[:mm[i].msg_len], "msg_namelen": h.msg_namelen,
                    "msg_name": address(names[i].raw) if named else None,
                    "msg_flags": h.msg_flags, "msg_controllen": h.msg_controllen,
                    "msg_len": mm[i].msg_len})
    return r, got


def entry_is(line, got, i, **expected):
    """The fields of entry i the line writes, if the call filled it."""
    if i >= len(got):
        return
    for what, want in expected.items():
        if what == "data":
            data_is(line, got[i]["data"], *want)
        elif what == "msg_name":
            addr_is(line, got[i]["msg_name"], *want)
        elif got[i][what] != want:
            fail(line, what, want, got[i][what])


def count_is(line, what, got, expected):
    if got != expected:
        fail(line, what, expected, got)
