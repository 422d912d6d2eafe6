/* checkopts: the C twin of `socklab sockopt list` (src/programs/sockopt_list.rs), after
 * UNP's sockopt/checkopts.c: every known option's default on a fresh socket
 * of each type, and whether it can be set.
 *
 * Per socket type (all six, or those named on the command line):
 * 1. socket(family, type)
 * 2. getsockopt of each option that applies to the type, in table order
 *    (sockopt.c); a failure prints the errno's name as the value
 * 3. close
 *
 * Usage: checkopts [tcp|udp|tcp6|udp6|unix|unix-dgram]... */
#define _GNU_SOURCE
#include "args.h"
#include "print.h"
#include "unp.h"

#include <stdlib.h>
#include <string.h>

static const struct kind_row {
    const char *name;
    int family, type;
    bool tcp, ipv4, ipv6;
} kinds[] = {
    {"tcp", AF_INET, SOCK_STREAM, true, true, false},
    {"udp", AF_INET, SOCK_DGRAM, false, true, false},
    {"tcp6", AF_INET6, SOCK_STREAM, true, false, true},
    {"udp6", AF_INET6, SOCK_DGRAM, false, false, true},
    {"unix", AF_UNIX, SOCK_STREAM, false, false, false},
    {"unix-dgram", AF_UNIX, SOCK_DGRAM, false, false, false},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static bool applies(const struct kind_row *k, enum scope s) {
    return s == S_ANY || (s == S_TCP && k->tcp) || (s == S_IPV4 && k->ipv4) ||
           (s == S_IPV6 && k->ipv6);
}

static void list(const struct kind_row *k) {
    int fd = Socket(k->family, k->type);                          /* 1 */
    say("%s: defaults on a fresh socket", k->name);
    for (size_t i = 0; i < sockopt_count; i++) {                  /* 2 */
        const struct sockopt *o = &sockopt_table[i];
        if (!applies(k, o->scope))
            continue;
        struct value v = {.len = value_size(o->kind)};
        socklen_t len = v.len;
        char shown[64];
        if (getsockopt(fd, o->level, o->name, v.bytes, &len) < 0) {
            const char *name = strerrorname_np(errno);
            snprintf(shown, sizeof shown, "%s", name ? name : "E?");
        } else {
            v.len = len < v.len ? len : v.len;
            value_human(&v, o->kind, shown, sizeof shown);
        }
        const char *access = sockopt_read_only(o) ? "read-only"
                             : !strcmp(o->user_name, "SO_SNDLOWAT")
                                 ? "fixed on Linux (setsockopt: ENOPROTOOPT)"
                                 : "settable";
        say("  %-20s %-14s %s", o->user_name, shown, access);
    }
    Close(fd);                                                    /* 3 */
}

int main(int argc, char **argv) {
    twin_init("checkopts");
    const struct kind_row **chosen = calloc((size_t)argc + N_KINDS, sizeof *chosen);
    size_t n = 0;
    for (int a = 1; a < argc; a++) {
        size_t k = 0;
        while (k < N_KINDS && strcmp(argv[a], kinds[k].name))
            k++;
        if (!strcmp(argv[a], "--help")) {
            printf("usage: checkopts [tcp|udp|tcp6|udp6|unix|unix-dgram]...  (the C "
                   "twin of socklab sockopt list)\n");
            return 0;
        }
        if (k == N_KINDS)
            err_quit(2, "error: invalid value '%s' for '[KINDS]...' (tcp, udp, tcp6, "
                        "udp6, unix, unix-dgram)", argv[a]);
        chosen[n++] = &kinds[k];
    }
    if (n == 0)
        for (; n < N_KINDS; n++)
            chosen[n] = &kinds[n];
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            say("%s", "");
        list(chosen[i]);
    }
    free(chosen);
    return 0;
}
