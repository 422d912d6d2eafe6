/* models.c: the server models of socklab's src/programs/model/ (UNP chapter 30):
 * fork, thread, prefork:N, prethread:N, poll and epoll; the iterative
 * server is stream.c's. Each starts after listen and getsockname, with
 * model_serve.
 *
 * The models themselves: fork, thread, prefork:N, prethread:N in workers.c
 * (out of fds: pause.c), poll and epoll in event.c; each file's head
 * lists its calls. */
#define _GNU_SOURCE
#include "models.h"
#include "print.h"
#include "unp.h"

unsigned long long model_limit(const struct opts *o) {
    return o->once ? 1 : o->max_conns; /* 0: none */
}

void model_serve(int listener, const struct addr *me, const struct opts *o) {
    if (o->model == MODEL_FORK || o->model == MODEL_THREAD)
        say_listening(me);
    switch (o->model) {
    case MODEL_FORK: model_fork(listener, o); break;
    case MODEL_THREAD: model_thread(listener, o); break;
    case MODEL_EPOLL:
    case MODEL_POLL: model_event_loop(listener, me, o, o->model); break;
    case MODEL_URING: model_uring(listener, me, o); break;
    case MODEL_PREFORK: model_prefork(listener, me, o); break;
    case MODEL_PRETHREAD: model_prethread(listener, me, o); break;
    default: err_quit(2, "no such model in the C twins");
    }
}
