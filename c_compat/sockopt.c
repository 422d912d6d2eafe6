/* sockopt.c: the option table and settings declared in sockopt.h, row for
 * row and message for message as socklab's src/values/sockopt.rs. */
#define _GNU_SOURCE
#include "sockopt.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define ROW(level, name, kind, scope) {level, name, #name, kind, scope}

const struct sockopt sockopt_table[] = {
    ROW(SOL_SOCKET, SO_REUSEADDR, K_BOOL, S_ANY),
    ROW(SOL_SOCKET, SO_REUSEPORT, K_BOOL, S_ANY),
    ROW(SOL_SOCKET, SO_KEEPALIVE, K_BOOL, S_ANY),
    ROW(SOL_SOCKET, SO_LINGER, K_LINGER, S_ANY),
    ROW(SOL_SOCKET, SO_RCVBUF, K_INT, S_ANY),
    ROW(SOL_SOCKET, SO_SNDBUF, K_INT, S_ANY),
    ROW(SOL_SOCKET, SO_RCVLOWAT, K_INT, S_ANY),
    ROW(SOL_SOCKET, SO_SNDLOWAT, K_INT, S_ANY),
    /* The old (struct timeval) forms, as strace names them: SO_RCVTIMEO_OLD. */
    {SOL_SOCKET, SO_RCVTIMEO_OLD, "SO_RCVTIMEO", K_TIMEVAL, S_ANY},
    {SOL_SOCKET, SO_SNDTIMEO_OLD, "SO_SNDTIMEO", K_TIMEVAL, S_ANY},
    ROW(SOL_SOCKET, SO_BROADCAST, K_BOOL, S_ANY),
    ROW(SOL_SOCKET, SO_DONTROUTE, K_BOOL, S_ANY),
    ROW(SOL_SOCKET, SO_OOBINLINE, K_BOOL, S_ANY),
    ROW(SOL_SOCKET, SO_PRIORITY, K_INT, S_ANY),
    ROW(SOL_SOCKET, SO_MARK, K_INT, S_ANY),
    ROW(SOL_SOCKET, SO_TYPE, K_INT, S_ANY),
    ROW(SOL_SOCKET, SO_ERROR, K_INT, S_ANY),
    ROW(SOL_TCP, TCP_NODELAY, K_BOOL, S_TCP),
    ROW(SOL_TCP, TCP_CORK, K_BOOL, S_TCP),
    ROW(SOL_TCP, TCP_MAXSEG, K_INT, S_TCP),
    ROW(SOL_TCP, TCP_KEEPIDLE, K_INT, S_TCP),
    ROW(SOL_TCP, TCP_KEEPINTVL, K_INT, S_TCP),
    ROW(SOL_TCP, TCP_KEEPCNT, K_INT, S_TCP),
    ROW(SOL_TCP, TCP_QUICKACK, K_BOOL, S_TCP),
    ROW(SOL_TCP, TCP_USER_TIMEOUT, K_INT, S_TCP),
    ROW(SOL_TCP, TCP_DEFER_ACCEPT, K_INT, S_TCP),
    ROW(SOL_TCP, TCP_NOTSENT_LOWAT, K_INT, S_TCP),
    ROW(SOL_TCP, TCP_FASTOPEN, K_INT, S_TCP),
    ROW(SOL_IP, IP_TTL, K_INT, S_IPV4),
    ROW(SOL_IP, IP_TOS, K_INT, S_IPV4),
    ROW(SOL_IP, IP_MTU_DISCOVER, K_INT, S_IPV4),
    ROW(SOL_IP, IP_MTU, K_INT, S_IPV4),
    ROW(SOL_IPV6, IPV6_V6ONLY, K_BOOL, S_IPV6),
    ROW(SOL_IPV6, IPV6_UNICAST_HOPS, K_INT, S_IPV6),
};
const size_t sockopt_count = sizeof sockopt_table / sizeof sockopt_table[0];

bool sockopt_read_only(const struct sockopt *o) {
    return !strcmp(o->user_name, "SO_TYPE") || !strcmp(o->user_name, "SO_ERROR")
        || !strcmp(o->user_name, "IP_MTU");
}

size_t value_size(enum kind k) {
    return k == K_LINGER ? 8 : k == K_TIMEVAL ? 16 : 4;
}

/* The int at offset off, or def when the value is too short. */
static int int_at(const struct value *v, size_t off, int def) {
    int i;
    if (v->len < off + sizeof i)
        return def;
    memcpy(&i, v->bytes + off, sizeof i);
    return i;
}

static int64_t i64_at(const struct value *v, size_t off) {
    int64_t i = 0;
    if (v->len >= off + sizeof i)
        memcpy(&i, v->bytes + off, sizeof i);
    return i;
}

/* Rust's `{}` of an f64: the shortest decimal that reads back as the same
 * number, never with an exponent. */
static void shortest(double x, char *out, size_t n) {
    for (int p = 0; p <= 30; p++) {
        snprintf(out, n, "%.*f", p, x);
        if (strtod(out, NULL) == x)
            return;
    }
}

const char *value_human(const struct value *v, enum kind k, char *out, size_t n) {
    switch (k) {
    case K_BOOL:
    case K_INT:
        if (v->len < 4)
            snprintf(out, n, "?");
        else
            snprintf(out, n, "%d", int_at(v, 0, 0));
        break;
    case K_LINGER:
        if (int_at(v, 0, 0) == 0)
            snprintf(out, n, "off");
        else
            snprintf(out, n, "on:%d", int_at(v, 4, 0));
        break;
    case K_TIMEVAL: {
        char num[64];
        shortest((double)i64_at(v, 0) + (double)i64_at(v, 8) / 1e6, num, sizeof num);
        snprintf(out, n, "%ss", num);
        break;
    }
    }
    return out;
}

static char why[600];

/* Rust's `str::parse::<i32>`: an optional sign, then digits only. */
static const char *parse_int(const char *s, int *out) {
    const char *d = (*s == '+' || *s == '-') ? s + 1 : s;
    char *end;
    if (!*d || strspn(d, "0123456789") != strlen(d))
        goto bad;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || v < INT_MIN || v > INT_MAX)
        goto bad;
    *out = (int)v;
    return NULL;
bad:
    snprintf(why, sizeof why, "'%s' is not an integer", s);
    return why;
}

static void put_ints(struct value *v, const int *ints, size_t count) {
    v->len = count * sizeof(int);
    memcpy(v->bytes, ints, v->len);
}

const char *parse_value(enum kind k, const char *s, struct value *v) {
    static const char *yes[] = {"1", "on", "true", "yes"}, *no[] = {"0", "off", "false", "no"};
    int i;
    const char *e;
    switch (k) {
    case K_BOOL:
        for (size_t j = 0; j < 4; j++) {
            if (!strcmp(s, yes[j]) || !strcmp(s, no[j])) {
                i = !strcmp(s, yes[j]);
                put_ints(v, &i, 1);
                return NULL;
            }
        }
        snprintf(why, sizeof why, "'%s' is not a boolean (1/0, on/off)", s);
        return why;
    case K_INT:
        if ((e = parse_int(s, &i)))
            return e;
        put_ints(v, &i, 1);
        return NULL;
    case K_LINGER: {
        int pair[2] = {0, 0};
        if (!strncmp(s, "on:", 3)) {
            pair[0] = 1;
            if ((e = parse_int(s + 3, &pair[1])))
                return e;
        } else if (strcmp(s, "off")) {
            snprintf(why, sizeof why, "'%s' is not a linger value (on:SECS or off)", s);
            return why;
        }
        if (pair[1] < 0) {
            snprintf(why, sizeof why, "linger seconds %d is negative", pair[1]);
            return why;
        }
        put_ints(v, pair, 2);
        return NULL;
    }
    case K_TIMEVAL: {
        char *end;
        /* Rust's f64 parse: no leading space, no hexadecimal. */
        double secs = (*s && !isspace((unsigned char)*s) && !strpbrk(s, "xX"))
                          ? strtod(s, &end) : (end = (char *)s, 0);
        if (end == s || *end) {
            snprintf(why, sizeof why, "'%s' is not a number of seconds", s);
            return why;
        }
        if (!(secs >= 0.0 && secs <= 1e9)) {
            snprintf(why, sizeof why, "%s seconds is out of range", s);
            return why;
        }
        int64_t tv[2] = {(int64_t)trunc(secs), (int64_t)round((secs - trunc(secs)) * 1e6)};
        v->len = sizeof tv;
        memcpy(v->bytes, tv, sizeof tv);
        return NULL;
    }
    }
    return "?";
}

/* LEVEL:OPTNAME, with numbers or level names, for options not in the table. */
static const char *raw_opt(const char *level, const char *optname, struct setting *out) {
    static const struct { const char *names[4]; int level; const char *name, *prefix; } levels[] = {
        {{"SOL_SOCKET", "1"}, SOL_SOCKET, "SOL_SOCKET", "SO"},
        {{"SOL_TCP", "IPPROTO_TCP", "6"}, SOL_TCP, "SOL_TCP", "TCP"},
        {{"SOL_IP", "IPPROTO_IP", "0"}, SOL_IP, "SOL_IP", "IP"},
        {{"SOL_IPV6", "IPPROTO_IPV6", "41"}, SOL_IPV6, "SOL_IPV6", "IPV6"},
    };
    int lv = -1, name;
    const char *level_name = NULL;
    for (size_t i = 0; i < 4 && !level_name; i++)
        for (size_t j = 0; j < 4 && levels[i].names[j]; j++)
            if (!strcasecmp(level, levels[i].names[j])) {
                lv = levels[i].level;
                level_name = levels[i].name;
            }
    if (!level_name) {
        char up[64];
        size_t k = 0;
        for (; level[k] && k < sizeof up - 1; k++)
            up[k] = toupper((unsigned char)level[k]);
        up[k] = 0;
        snprintf(why, sizeof why, "unknown level '%s' (SOL_SOCKET, SOL_TCP, SOL_IP, "
                 "SOL_IPV6 or their numbers)", up);
        return why;
    }
    if (parse_int(optname, &name)) {
        snprintf(why, sizeof why, "option number '%s' is not an integer", optname);
        return why;
    }
    /* A known option given by number keeps its name, as an int. */
    for (size_t i = 0; i < sockopt_count; i++) {
        const struct sockopt *o = &sockopt_table[i];
        if (o->level == lv && o->name == name && o->kind != K_TIMEVAL) {
            out->opt = *o;
            out->opt.kind = K_INT;
            return NULL;
        }
    }
    snprintf(out->raw_name, sizeof out->raw_name, "%s:%d", level_name, name);
    out->opt = (struct sockopt){lv, name, out->raw_name, K_INT, S_ANY};
    return NULL;
}

const char *parse_setting(const char *s, struct setting *out) {
    static char body[256];
    memset(out, 0, sizeof *out);
    snprintf(body, sizeof body, "%s", s);
    out->phase = PH_CREATED;
    char *at = strrchr(body, '@');
    if (at) {
        *at = 0;
        if (!strcmp(at + 1, "accepted"))
            out->phase = PH_ACCEPTED;
        else if (!strcmp(at + 1, "connected"))
            out->phase = PH_CONNECTED;
        else {
            snprintf(why, sizeof why, "unknown phase '@%s' (use @accepted or @connected)", at + 1);
            return why;
        }
    }
    char *eq = strchr(body, '=');
    if (!eq) {
        snprintf(why, sizeof why, "'%s' is not NAME=VALUE", s);
        return why;
    }
    *eq = 0;
    const char *name = body, *value = eq + 1, *e;
    char *colon = strchr(body, ':');
    if (colon) {
        *colon = 0;
        e = raw_opt(name, colon + 1, out);
        *colon = ':';
        if (e)
            return e;
    } else {
        size_t i = 0;
        while (i < sockopt_count && strcasecmp(sockopt_table[i].user_name, name))
            i++;
        if (i == sockopt_count) {
            snprintf(why, sizeof why, "unknown option '%s' (see `socklab sockopt list`)", name);
            return why;
        }
        out->opt = sockopt_table[i];
    }
    if (sockopt_read_only(&out->opt)) {
        snprintf(why, sizeof why, "%s can be read, not set", out->opt.user_name);
        return why;
    }
    if ((e = parse_value(out->opt.kind, value, &out->value))) {
        static char msg[900];
        snprintf(msg, sizeof msg, "%s: %s", name, e);
        return msg;
    }
    return NULL;
}

const char *sockopt_explain(const struct sockopt *o, const struct value *req,
                            const struct value *eff) {
    static const struct { const char *names; const char *why; } reasons[] = {
        {" SO_RCVBUF SO_SNDBUF ", "Linux doubles the value for its bookkeeping overhead and "
                                  "clamps it to net.core.rmem_max/wmem_max (socket(7))"},
        {" SO_RCVLOWAT ", "the kernel clamps it to the receive buffer size"},
        {" TCP_MAXSEG ", "before connect, the kernel keeps the user's limit but reports the "
                         "default MSS"},
        {" SO_RCVTIMEO SO_SNDTIMEO ", "the kernel rounds the timeout to its clock tick"},
        {" SO_REUSEADDR SO_REUSEPORT SO_KEEPALIVE SO_BROADCAST SO_DONTROUTE SO_OOBINLINE "
         "TCP_NODELAY TCP_CORK IPV6_V6ONLY ", "booleans read back as 0 or 1"},
        {" TCP_DEFER_ACCEPT ", "the kernel converts seconds to retransmission counts and back"},
    };
    if (req->len == eff->len && !memcmp(req->bytes, eff->bytes, req->len))
        return NULL;
    char key[64];
    snprintf(key, sizeof key, " %s ", o->user_name);
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (strstr(reasons[i].names, key))
            return reasons[i].why;
    return "the kernel adjusted the value";
}
