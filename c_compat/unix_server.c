/* unix_server: the C twin of `socklab unix server` (src/programs/unix.rs), stream
 * or --dgram, on a path or an abstract @NAME.
 *
 * For a pathname address (DIR is the path's directory, NAME its last
 * component):
 * 0. each directory on the path: newfstatat(dir); a symbolic link ->
 *    refuse (unless --follow-symlinks)
 * 1. newfstatat(path) (glibc's lstat): nothing there -> go on; not a
 *    socket -> refuse; a socket -> with --unlink-stale, unlink(path);
 *    otherwise probe it: socket(AF_UNIX, type|SOCK_NONBLOCK) +
 *    connect(path): ECONNREFUSED means no one answers (stale) -> close,
 *    unlink(path); connected, or EAGAIN (a live server, backlog full) ->
 *    close, refuse. The probe never waits.
 * 2. umask(0777 & ~MODE) with --mode (else umask(0) -> OLD, umask(OLD):
 *    the mask, read), socket(AF_UNIX, type), [setsockopt(SO_REUSEADDR)],
 *    openat(AT_FDCWD, DIR, O_PATH|O_NOFOLLOW|O_DIRECTORY) -> DIRFD (no
 *    O_NOFOLLOW with --follow-symlinks), bind(path),
 *    openat(DIRFD, NAME, O_PATH|O_NOFOLLOW) -> PIN (holds the socket
 *    file: its inode number cannot pass to another file),
 *    newfstatat(DIRFD, NAME) (the socket file's device and inode),
 *    umask(OLD); after `listening on PATH`, print
 *    `socket file mode MODE (...)`
 * 3. the stream server (stream.c: listen, getsockname, the model's loop;
 *    --lines, --names as tcp_server) or the datagram one (dgram.c:
 *    getsockname, the recvfrom/sendto loop)
 * 4. on every exit, after SIGINT, SIGTERM and SIGHUP too (the handlers
 *    only record the signal; then the program dies by it):
 *    newfstatat(DIRFD, NAME); still the inode bound in 2 ->
 *    unlinkat(DIRFD, NAME, 0); anything else is left alone, with a line
 *    saying why; close(PIN), close(DIRFD).
 * Abstract addresses (@NAME) have no file: steps 1 and 4, and the
 * directory fd of 2, do not happen.
 *
 * Usage: unix_server [PATH|@NAME] [--dgram] [--unlink-stale] [--mode OCTAL]
 *        [--follow-symlinks] [--once]
 *        [--max-conns N] [--backlog N] [--bufsize N] [--reuseaddr]
 *        [--naive] [--naive-limit N] [-q] [--lines] [--names]
 *        [--timeout SECS | --nonblocking]
 *        [--sockopt NAME=VALUE[@PHASE]]... [--rcvtimeo SECS] [--sndtimeo SECS] */
#define _GNU_SOURCE
#include "args.h"
#include "dgram.h"
#include "print.h"
#include "settings.h"
#include "stream.h"
#include "unp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char bound_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int dir_fd = -1;         /* DIR, opened before bind */
static int pin_fd = -1;         /* the socket file, held (O_PATH) from bind on */
static const char *bound_name;  /* NAME, in bound_path */
static char bound_dir[sizeof bound_path]; /* DIR */
static struct stat bound_st;    /* the socket file right after bind */
static bool bound_known;        /* a socket was at NAME in DIR then */

/* Step 4, on every exit from bind on: unlinkat only if NAME in DIR is
 * still the inode bound. */
static void remove_socket_file(void) {
    struct stat now;
    int r = Fstatat(dir_fd, bound_name, &now);
    if (!bound_known)
        say("leaving %s alone: bind put no socket file in its directory "
            "(was the path redirected?)", bound_path);
    else if (r < 0)
        say("leaving %s alone: the socket this server bound (inode %ju) is "
            "gone from its directory", bound_path, (uintmax_t)bound_st.st_ino);
    else if (now.st_dev != bound_st.st_dev || now.st_ino != bound_st.st_ino)
        say("leaving %s alone: it is no longer the socket this server bound "
            "(inode %ju -> %ju)", bound_path, (uintmax_t)bound_st.st_ino,
            (uintmax_t)now.st_ino);
    else
        Unlinkat(dir_fd, bound_name, 0);
    if (pin_fd >= 0)
        Close(pin_fd);
    Close(dir_fd);
}

/* Step 2, before socket: DIR and NAME of the path (bound_path). */
static void split_path(const char *path) {
    strcpy(bound_path, path);
    char *slash = strrchr(bound_path, '/');
    bound_name = slash ? slash + 1 : bound_path;
    if (!*bound_name)
        err_quit(1, "%s does not end in a file name (it ends in '..' or '/')", path);
    if (!slash)
        strcpy(bound_dir, ".");
    else if (slash == bound_path)
        strcpy(bound_dir, "/");
    else {
        memcpy(bound_dir, bound_path, (size_t)(slash - bound_path));
        bound_dir[slash - bound_path] = 0;
    }
}

/* Step 2, after bind: hold the socket file (openat(DIRFD, NAME,
 * O_PATH|O_NOFOLLOW) -> PIN: its inode number cannot pass to another file
 * while it is open), and note its device and inode (newfstatat(DIRFD,
 * NAME)). ENOENT or ELOOP: the path led elsewhere than DIR. */
static void pin_socket_file(void) {
    pin_fd = r_openat(dir_fd, bound_name, O_PATH | O_NOFOLLOW);
    if (pin_fd < 0 && errno != ENOENT && errno != ELOOP)
        err_sys("openat", errno);
    bound_known = Fstatat(dir_fd, bound_name, &bound_st) == 0 &&
                  S_ISSOCK(bound_st.st_mode) && pin_fd >= 0;
}

/* Step 0: a symbolic link among the path's directories is refused. */
static void refuse_linked_directories(const char *path) {
    char dir[sizeof bound_path];
    struct stat st;
    for (const char *slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        size_t n = (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = 0;
        if (Lstat(dir, &st) < 0)
            return; /* not there: bind will say ENOENT */
        if (S_ISLNK(st.st_mode))
            err_quit(1, "%s is a symbolic link: refusing to bind %s through it "
                        "(use the real path, or --follow-symlinks)", dir, path);
    }
}

/* Step 2, the file's mode set race-free with umask around socket and
 * bind: with --mode, umask(0777 & ~MODE) -> OLD (umask_after_bind puts OLD
 * back); without, umask(0) -> OLD, umask(OLD): the mask, read. */
static mode_t umask_before_bind(const struct opts *o) {
    if (o->mode >= 0)
        return umask(0777 & ~o->mode);
    mode_t old = umask(0);
    umask(old);
    return old;
}

/* Step 2's umask(OLD) with --mode; the `socket file mode` line printed
 * after `listening on PATH`. */
static void umask_after_bind(const struct opts *o, mode_t old) {
    if (o->mode >= 0) {
        umask(old);
        snprintf(after_listening, sizeof after_listening,
                 "socket file mode %04o (--mode %04o)", o->mode, o->mode);
    } else {
        snprintf(after_listening, sizeof after_listening,
                 "socket file mode %04o (from umask %03o)", 0777 & ~old, old);
    }
}

/* Step 1: make sure binding removes nothing but a dead socket file. */
static void clear_path(const struct opts *o, const char *path, int type) {
    struct stat st;
    if (Lstat(path, &st) < 0)
        return;
    if (S_ISLNK(st.st_mode))
        err_quit(1, "%s is a symbolic link; refusing to remove or follow it "
                    "(bind never follows a link there: choose another path)", path);
    if (!S_ISSOCK(st.st_mode))
        err_quit(1, "%s exists and is not a socket; refusing to remove it "
                    "(choose another path)", path);
    if (o->unlink_stale) {
        Unlink(path);
        return;
    }
    /* Non-blocking: a live server whose backlog is full would make a
     * blocking connect wait forever; here it says EAGAIN. */
    int probe = Socket(AF_UNIX, type | SOCK_NONBLOCK);
    int r = r_connect(probe, SA(&o->addr), o->addr.len);
    if (r == 0 || errno == EAGAIN) {
        Close(probe);
        err_quit(1, "%s is in use: %s (stop it, or choose another path)", path,
                 r == 0 ? "a server answers on it"
                        : "a server listens on it, its backlog full");
    }
    if (errno != ECONNREFUSED)
        err_sys("connect", errno);
    Close(probe);
    say("removing stale socket file %s (no one answers on it)", path);
    Unlink(path);
}

int main(int argc, char **argv) {
    struct opts o;
    struct addr me;
    mode_t old_mask = 0;

    twin_init("unix_server");
    parse_args(argc, argv,
               OPT_SERVER | OPT_STREAM_SERVER | OPT_UNIX | OPT_UNIX_SERVER | OPT_DGRAM_SERVER, true, "/tmp/socklab.sock", &o);
    int type = o.dgram ? SOCK_DGRAM : SOCK_STREAM;
    const char *path = addr_unix_path(&o.addr);
    if (!path && o.mode >= 0)
        err_quit(2, "--mode is for a socket file; %s has none (an abstract or "
                    "unnamed address)", addr_str(&o.addr));
    if (path) {
        if (!o.follow_symlinks)
            refuse_linked_directories(path);                   /* 0 */
        clear_path(&o, path, type);                            /* 1 */
        catch_stop_signals();
        old_mask = umask_before_bind(&o);                      /* 2 */
        split_path(path);
    }

    int listenfd = Socket(AF_UNIX, type);
    if (o.reuseaddr)
        Setsockopt_int(listenfd, SOL_SOCKET, SO_REUSEADDR, 1);
    apply_sockopts(listenfd, &o, PH_CREATED);
    if (path) /* --follow-symlinks: DIR may be a link (step 0 allowed it) */
        dir_fd = Openat_dir(AT_FDCWD, bound_dir,
                            O_PATH | (o.follow_symlinks ? 0 : O_NOFOLLOW));
    Bind(listenfd, SA(&o.addr), o.addr.len);
    if (path) {
        pin_socket_file();
        umask_after_bind(&o, old_mask);
        on_exit_cleanup(remove_socket_file);                   /* 4, on failure */
    }

    if (o.dgram) {                                             /* 3 */
        Getsockname(listenfd, &me.ss, &me.len);
        dgram_serve(listenfd, &me, &o);
    } else {
        Listen(listenfd, o.backlog);
        Getsockname(listenfd, &me.ss, &me.len);
        stream_serve(listenfd, &me, &o);
    }

    on_exit_cleanup(NULL);
    if (path)
        remove_socket_file();                                  /* 4 */
    return 0;
}
