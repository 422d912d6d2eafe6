/* addr.c: the socket addresses of addr.h: parsed from the command line,
 * printed as socklab prints them. */
#define _GNU_SOURCE
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s) {
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 5 || atoi(s) > 65535)
        return -1;
    return atoi(s);
}

/* HOST:PORT, [IPV6]:PORT, :PORT or localhost:PORT; numeric only (inet_pton,
 * no resolver: a resolver would add socket calls of its own). */
bool addr_parse_inet(const char *s, struct addr *a) {
    char host[INET6_ADDRSTRLEN + 2];
    memset(a, 0, sizeof *a);
    if (s[0] == '[') {
        const char *close = strstr(s, "]:");
        if (!close || (size_t)(close - s - 1) >= sizeof host)
            return false;
        memcpy(host, s + 1, close - s - 1);
        host[close - s - 1] = 0;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
        int port = parse_port(close + 2);
        if (port < 0 || inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return false;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        a->len = sizeof *sin6;
        return true;
    }
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return false;
    memcpy(host, s, colon - s);
    host[colon - s] = 0;
    struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
    int port = parse_port(colon + 1);
    if (port < 0)
        return false;
    if (!*host || !strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
        return false;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    a->len = sizeof *sin;
    return true;
}

/* /path (length SUN_LEN, no NUL) or @NAME (2 + 1 + strlen(NAME)). */
bool addr_parse_unix(const char *s, struct addr *a) {
    struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
    memset(a, 0, sizeof *a);
    if (!*s || !strcmp(s, "@") || strlen(s) > sizeof sun->sun_path - 1)
        return false;
    sun->sun_family = AF_UNIX;
    if (s[0] == '@') {
        memcpy(sun->sun_path + 1, s + 1, strlen(s + 1));
        a->len = offsetof(struct sockaddr_un, sun_path) + strlen(s);
    } else {
        memcpy(sun->sun_path, s, strlen(s));
        a->len = offsetof(struct sockaddr_un, sun_path) + strlen(s);
    }
    return true;
}

struct addr addr_autobind(void) {
    struct addr a;
    memset(&a, 0, sizeof a);
    a.ss.ss_family = AF_UNIX;
    a.len = sizeof(sa_family_t);
    return a;
}

int addr_family(const struct addr *a) { return a->ss.ss_family; }
bool addr_is_unix(const struct addr *a) { return a->ss.ss_family == AF_UNIX; }

const char *addr_unix_path(const struct addr *a) {
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
    if (!addr_is_unix(a) || a->len <= offsetof(struct sockaddr_un, sun_path) ||
        sun->sun_path[0] == 0)
        return NULL;
    return sun->sun_path; /* zero-filled storage: NUL-terminated */
}

const char *addr_str(const struct addr *a) {
    static char text[2][160];
    static int which;
    char *out = text[which ^= 1];
    char ip[INET6_ADDRSTRLEN];
    switch (a->ss.ss_family) {
    case AF_INET: {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        snprintf(out, sizeof text[0], "%s:%d", ip, ntohs(sin->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
        snprintf(out, sizeof text[0], "[%s]:%d", ip, ntohs(sin6->sin6_port));
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t n = a->len > off ? a->len - off : 0;
        if (n == 0)
            snprintf(out, sizeof text[0], "(unnamed)");
        else if (sun->sun_path[0] == 0)
            snprintf(out, sizeof text[0], "@%.*s", (int)(n - 1), sun->sun_path + 1);
        else
            snprintf(out, sizeof text[0], "%.*s", (int)strnlen(sun->sun_path, n), sun->sun_path);
        break;
    }
    default:
        snprintf(out, sizeof text[0], "{sa_family=%d}", a->ss.ss_family);
    }
    return out;
}
