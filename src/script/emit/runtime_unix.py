

# AF_UNIX addresses, SCM_CREDENTIALS, the file calls' fds, and the socket
# files the script's binds made (removed at the end, as socklab removes them).
#@ abstract
abstract = {}  # abstract names are labels, as ports are: as written -> this run's
#@ socket_files
socket_files = []  # (path, st_dev, st_ino) of each socket file a bind made
#@ dirs
dirs = []  # (absolute path, st_dev, st_ino) of each directory a mkdirat made


#@ sun
def sun(kind, p):
    """An AF_UNIX address as written: 0 a path, 1 an abstract name, 2 unnamed."""
    if kind == 2:
        return ""
    if kind == 1:
        return b"\0" + abstract.get(p, p)
    return os.fsdecode(p)


#@ sun_is
def sun_is(line, got, kind, p):
    """An AF_UNIX address the kernel wrote, against the line's."""
    got = os.fsencode(got) if isinstance(got, str) else got
    if kind == 1 and got[:1] == b"\0":
        if abstract.setdefault(p, got[1:]) == got[1:]:
            return
    elif kind == 0 and got == p or kind == 2 and got == b"":
        return
    fail(line, "address", repr(p), repr(got))


#@ cred_is
def cred_is(line, anc, pid, uid, gid):
    """SCM_CREDENTIALS' fields as written (None: `...`, not checked)."""
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            got = struct.unpack("iII", data[:12])
            for name, w, g in zip(("pid", "uid", "gid"), (pid, uid, gid), got):
                if w is not None and w != g:
                    fail(line, name, w, g)
            return
    fail(line, "msg_control", "SCM_CREDENTIALS", "none")


#@ File
class File:
    """An fd os.open returned, closed at the end like the sockets."""

    def __init__(self, fd):
        self.fd = fd

    def fileno(self):
        return self.fd

    def close(self):
        os.close(self.fd)


#@ socket_file
def socket_file(p):
    """A bind on a path made a socket file: the end removes it (lstat)."""
    try:
        st = os.stat(p, follow_symlinks=False)
    except OSError:
        return
    socket_files.append((p, st.st_dev, st.st_ino))


#@ socket_file_gone
def socket_file_gone(p):
    """A script's own unlink of a socket file: the end leaves it alone."""
    socket_files[:] = [f for f in socket_files if f[0] != p]


#@ remove_socket_files
def remove_socket_files():
    for p, dev, ino in socket_files:
        try:
            st = os.stat(p, follow_symlinks=False)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (dev, ino):
            os.unlink(p)


#@ absolute
def absolute(fd, p):
    """The path a mkdirat or unlinkat names, from the working directory
    (fd None) or from the directory fd."""
    p = os.fsdecode(p)
    if p.startswith("/"):
        return p
    base = os.getcwd() if fd is None else os.readlink(f"/proc/self/fd/{fd}")
    return os.path.join(base, p)


#@ dir_made
def dir_made(fd, p):
    """A mkdirat made a directory: the end removes it (as socklab, by inode)."""
    a = absolute(fd, p)
    try:
        st = os.stat(a, follow_symlinks=False)
    except OSError:
        return
    dirs.append((a, st.st_dev, st.st_ino))


#@ dir_gone
def dir_gone(fd, p):
    """A script's own unlinkat(..., AT_REMOVEDIR): the end leaves it alone."""
    a = absolute(fd, p)
    dirs[:] = [d for d in dirs if d[0] != a]


#@ remove_dirs
def remove_dirs():
    for a, dev, ino in sorted(dirs, key=lambda d: -d[0].count("/")):
        try:
            st = os.stat(a, follow_symlinks=False)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (dev, ino):
            os.rmdir(a)
