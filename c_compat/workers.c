/* workers.c: the models that give each connection its own process or
 * thread, and the pools (socklab's src/programs/model/workers.rs and children.rs).
 * Each connection is served by stream.c's serve_conn, unchanged from the
 * iterative server.
 *
 * fork: SIGCHLD caught without SA_RESTART, so a child's exit interrupts
 * accept4 and the parent reaps it at once.
 * 1. [wait4(-1, WNOHANG) while children have ended]; 2. accept4;
 * 3. fork (clone); the child: close(listener), serve_conn, exit; the
 * parent: close(conn); back to 1 until --once/--max-conns;
 * 4. wait4(pid, 0) for each child left; close(listener).
 * A stop signal (SIGINT, SIGTERM, SIGHUP): stop_children, then die by it.
 *
 * stop_children (fork, prefork): 1. rt_sigprocmask(SIG_BLOCK, [CHLD]);
 * 2. kill(pid, SIGTERM) each; 3. until none is left or 2 s have passed:
 * wait4(-1, WNOHANG) for the ended, rt_sigtimedwait([CHLD], time left);
 * 4. kill(pid, SIGKILL) each left, wait4(pid, 0) each.
 *
 * thread: 1. accept4; 2. a thread runs serve_conn (pthread_create fails:
 * reported, close(conn)); back to 1 until --once/--max-conns; 3. join the
 * threads; close(listener).
 *
 * prefork:N: 1. getpid; N times clone (fork); each child:
 * prctl(PR_SET_PDEATHSIG, SIGTERM), getppid (the parent already gone: die
 * by SIGTERM), then loops: accept4 on the shared listener, serve_conn;
 * 2. `listening on`; the parent waits: wait4(-1, 0) per child, a worker
 * that ends badly is reported; none left after a bad end: exit 1;
 * 3. close(listener).
 *
 * prethread:N: N-1 threads, then `listening on`; the N threads (the main
 * thread is one) loop: accept4, serve_conn; then join, close(listener). */
#define _GNU_SOURCE
#include "models.h"
#include "modes.h"
#include "pause.h"
#include "print.h"
#include "stream.h"
#include "unp.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fork ---- */

#define GRACE_SECS 2

/* After a stop signal: SIGTERM, a bounded wait, SIGKILL (the header's
 * stop_children). kids[i] == 0: reaped already. */
static void stop_children(pid_t *kids, size_t n) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);                       /* 1 */
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        if (kids[i] > 0) {
            kill(kids[i], SIGTERM);                            /* 2 */
            left++;
        }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += GRACE_SECS;
    while (left > 0) {                                         /* 3 */
        pid_t p;
        int st; /* &st, not NULL: strace then shows how each ended */
        while (left > 0 && (p = wait4(-1, &st, WNOHANG, NULL)) > 0)
            for (size_t i = 0; i < n; i++)
                if (kids[i] == p) {
                    kids[i] = 0;
                    left--;
                }
        if (left == 0)
            break;
        struct timespec now, rest;
        clock_gettime(CLOCK_MONOTONIC, &now);
        rest.tv_sec = deadline.tv_sec - now.tv_sec;
        rest.tv_nsec = deadline.tv_nsec - now.tv_nsec;
        if (rest.tv_nsec < 0) {
            rest.tv_nsec += 1000000000L;
            rest.tv_sec--;
        }
        if (rest.tv_sec < 0)
            rest.tv_sec = rest.tv_nsec = 0;
        /* EAGAIN: the time is up; EINTR: a second stop signal. */
        if (sigtimedwait(&chld, NULL, &rest) < 0)
            break;
    }
    for (size_t i = 0; i < n; i++)                             /* 4 */
        if (kids[i] > 0) {
            kill(kids[i], SIGKILL);
            int st;
            while (wait4(kids[i], &st, 0, NULL) < 0 && errno == EINTR)
                ;
            kids[i] = 0;
        }
}

static volatile sig_atomic_t child_exited;
/* SA_SIGINFO, as socklab's handler (which keeps the siginfo for its
 * trace's `--- SIGCHLD {...} ---` line). */
static void on_child(int sig, siginfo_t *info, void *ctx) {
    (void)sig;
    (void)info;
    (void)ctx;
    child_exited = 1;
}

void model_fork(int listener, const struct opts *o) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_child;
    sa.sa_flags = SA_NOCLDSTOP | SA_SIGINFO; /* no SA_RESTART: accept4 returns EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) < 0)
        err_sys("sigaction", errno);
    catch_stop_signals();
    set_wait(listener, o->wait);
    pid_t *children = NULL;
    size_t n = 0, cap = 0;
    unsigned long long accepted = 0, limit = model_limit(o);
    for (;;) {
        while (n > 0) {                                        /* 1 */
            int st;
            pid_t p = wait4(-1, &st, WNOHANG, NULL);
            if (p <= 0)
                break;
            for (size_t i = 0; i < n; i++)
                if (children[i] == p) {
                    memmove(&children[i], &children[i + 1], (n - i - 1) * sizeof *children);
                    n--;
                    break;
                }
        }
        struct addr peer;
        check_stop();
        socklen_t len = sizeof peer.ss;                        /* 2 */
        int conn = accept4(listener, (struct sockaddr *)&peer.ss, &len, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno == EINTR) {
                if (stop_pending()) {
                    stop_children(children, n);
                    check_stop();
                }
                child_exited = 0;
                continue;
            }
            err_sys("accept4", errno);
        }
        peer.len = len;
        accepted++;
        pid_t pid = fork();                                    /* 3 */
        if (pid == 0) {
            Close(listener);
            unsigned char *buf = malloc(o->bufsize);
            serve_conn(conn, &peer, buf, o);
            exit(0);
        }
        if (pid < 0)
            warn_sys("fork", errno);
        else {
            if (n == cap)
                children = realloc(children, (cap = cap ? 2 * cap : 16) * sizeof *children);
            children[n++] = pid;
        }
        Close(conn);
        if (limit && accepted >= limit)
            break;
    }
    for (size_t i = 0; i < n; i++) {                           /* 4 */
        int st;
        while (wait4(children[i], &st, 0, NULL) < 0 && errno == EINTR)
            if (stop_pending()) {
                stop_children(children + i, n - i);
                check_stop();
            }
    }
    free(children);
    Close(listener);
}

/* ---- thread ---- */

struct job {
    int conn;
    struct addr peer;
    const struct opts *o;
    struct conns *conns;
    atomic_bool done; /* set by the thread as it ends */
};

static void *run_conn(void *arg) {
    struct job *j = arg;
    unsigned char *buf = malloc(j->o->bufsize);
    serve_conn(j->conn, &j->peer, buf, j->o);
    free(buf);
    conns_closed(j->conns);
    atomic_store(&j->done, true);
    return NULL;
}

struct worker {
    pthread_t thread;
    struct job *job;
};

/* Join the threads that have ended (no wait: they are gone) and keep the
 * others, as the Rust twin drops its finished handles before each spawn:
 * without it ended threads pile up until pthread_create fails. */
static size_t join_ended(struct worker *w, size_t n) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (atomic_load(&w[i].job->done)) {
            pthread_join(w[i].thread, NULL);
            free(w[i].job);
        } else {
            w[kept++] = w[i];
        }
    }
    return kept;
}

void model_thread(int listener, const struct opts *o) {
    set_wait(listener, o->wait);
    struct worker *workers = NULL;
    size_t n = 0, cap = 0;
    unsigned long long accepted = 0, limit = model_limit(o);
    static struct conns conns = CONNS_INIT;
    for (;;) {
        struct job *j = malloc(sizeof *j);
        j->o = o;
        j->conns = &conns;
        atomic_init(&j->done, false);
        j->conn = pause_accept(listener, &j->peer, o, &conns, false); /* 1 */
        if (j->conn < 0) {
            free(j);
            continue;
        }
        accepted++;
        n = join_ended(workers, n);
        if (n == cap)
            workers = realloc(workers, (cap = cap ? 2 * cap : 16) * sizeof *workers);
        workers[n].job = j;
        int e = pthread_create(&workers[n].thread, NULL, run_conn, j); /* 2 */
        if (e != 0) { /* that connection alone fails */
            warn_sys("pthread_create", e);
            Close(j->conn);
            conns_closed(&conns);
            free(j);
        } else
            n++;
        if (limit && accepted >= limit)
            break;
    }
    for (size_t i = 0; i < n; i++) {                          /* 3 */
        pthread_join(workers[i].thread, NULL);
        free(workers[i].job);
    }
    free(workers);
    Close(listener);
}

/* ---- prefork:N and prethread:N ---- */

/* A pool worker: take a ticket, accept4, serve; until the tickets run out
 * (--max-conns across the workers). */
static void pool_worker(int listener, const struct opts *o, unsigned long long *tickets,
                        struct conns *conns) {
    unsigned long long limit = model_limit(o);
    unsigned char *buf = malloc(o->bufsize);
    for (;;) {
        unsigned long long t = __atomic_fetch_add(tickets, 1, __ATOMIC_SEQ_CST);
        if (limit && t >= limit)
            break;
        struct addr peer;
        int conn = pause_accept(listener, &peer, o, conns, true);
        if (conn < 0)
            continue;
        serve_conn(conn, &peer, buf, o);
        conns_closed(conns);
    }
    free(buf);
}

void model_prefork(int listener, const struct addr *me, const struct opts *o) {
    catch_stop_signals();
    unsigned long long *tickets = mmap(NULL, sizeof *tickets, PROT_READ | PROT_WRITE,
                                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (tickets == MAP_FAILED)
        err_sys("mmap", errno);
    pid_t *kids = calloc(o->pool, sizeof *kids);
    size_t n = 0;
    pid_t parent = getpid();                                   /* 1 */
    for (unsigned i = 0; i < o->pool; i++) {
        pid_t pid = fork();
        if (pid < 0)
            err_sys("fork", errno);
        if (pid == 0) {
            if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
                err_sys("prctl", errno);
            if (getppid() != parent) /* it ended before prctl */
                die_by(SIGTERM);
            static struct conns conns = CONNS_INIT;
            pool_worker(listener, o, tickets, &conns);
            exit(0);
        }
        kids[n++] = pid;
    }
    say_listening(me);                                         /* 2 */
    set_wait(listener, o->wait);
    unsigned failed = 0;
    for (size_t left = n; left > 0;) {
        int st;
        /* A stop signal that came before this wait4 (after `listening on`,
         * say) would not interrupt it: the parent would wait forever with
         * its workers. Checked first, as socklab's sys checks before each
         * blocking call. */
        if (stop_pending()) {
            stop_children(kids, n);
            check_stop();
        }
        pid_t p = wait4(-1, &st, 0, NULL);
        if (p < 0 && errno == EINTR) { /* a stop signal */
            if (stop_pending()) {
                stop_children(kids, n);
                check_stop();
            }
            continue;
        }
        if (p < 0)
            err_sys("wait4", errno);
        for (size_t i = 0; i < n; i++)
            if (kids[i] == p)
                kids[i] = 0;
        left--;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            continue;
        failed++;
        if (WIFEXITED(st))
            fprintf(stderr, "%s: prefork worker %d exited with status %d (%zu of %u left)\n",
                    prog, (int)p, WEXITSTATUS(st), left, o->pool);
        else
            fprintf(stderr, "%s: prefork worker %d was killed by SIG%s (%zu of %u left)\n",
                    prog, (int)p, sigabbrev_np(WTERMSIG(st)), left, o->pool);
    }
    free(kids);
    if (failed)
        err_quit(1, "all %u prefork workers have ended (%u of them badly): "
                    "none is left to accept connections", o->pool, failed);
    Close(listener);                                           /* 3 */
}

struct pool_args {
    int listener;
    const struct opts *o;
    unsigned long long *tickets;
    struct conns *conns;
};

static void *run_pool_worker(void *arg) {
    struct pool_args *a = arg;
    pool_worker(a->listener, a->o, a->tickets, a->conns);
    return NULL;
}

void model_prethread(int listener, const struct addr *me, const struct opts *o) {
    set_wait(listener, o->wait);
    static unsigned long long tickets;
    static struct conns conns = CONNS_INIT;
    struct pool_args a = {listener, o, &tickets, &conns};
    pthread_t *threads = calloc(o->pool, sizeof *threads);
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &old); /* the main thread takes them */
    for (unsigned i = 1; i < o->pool; i++) {
        int e = pthread_create(&threads[i], NULL, run_pool_worker, &a);
        if (e != 0)
            err_sys("pthread_create", e);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    say_listening(me); /* the pool is ready */
    pool_worker(listener, o, &tickets, &conns);
    for (unsigned i = 1; i < o->pool; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    Close(listener);
}
