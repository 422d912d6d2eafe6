/* print.c: the output lines of print.h, as socklab prints them. */
#define _GNU_SOURCE
#include "print.h"
#include "unp.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* strace's printstr escaping (socklab's strace::quote, never cut). */
static void quote(FILE *f, const unsigned char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\f': fputs("\\f", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\v': fputs("\\v", f); break;
        default:
            if (c >= 0x20 && c <= 0x7e)
                fputc(c, f);
            else if (i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7')
                fprintf(f, "\\%03o", c);
            else
                fprintf(f, "\\%o", c);
        }
    }
    fputc('"', f);
}

void print_shown(FILE *f, const unsigned char *msg, size_t n) {
    fprintf(f, "%zu %s ", n, n == 1 ? "byte" : "bytes");
    quote(f, msg, n);
}

/* Rust's `{:?}` of an f64: the shortest digits that read back as v, in
 * decimal notation (`2.0`, `0.3`, `0.0001`) when 1e-4 <= |v| < 1e16 or v is
 * 0, else as `1e-5`, `1.5e-5`. */
const char *rust_f64(double v, char *out, size_t n) {
    char e[40];
    for (int p = 0; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, v);
        if (strtod(e, NULL) == v)
            break;
    }
    /* e is `[-]D[.DDD]e[+-]XX`: the digits and the exponent. */
    char digits[24], *d = digits, *s = e;
    bool neg = *s == '-';
    if (neg)
        s++;
    for (; *s != 'e'; s++)
        if (*s != '.')
            *d++ = *s;
    *d = 0;
    int exp = atoi(s + 1);
    while (d > digits + 1 && d[-1] == '0')
        *--d = 0;
    int nd = (int)strlen(digits);
    double a = fabs(v);
    if (a != 0 && (a < 1e-4 || a >= 1e16)) {
        snprintf(out, n, "%s%c%s%se%d", neg ? "-" : "", digits[0],
                 nd > 1 ? "." : "", digits + 1, exp);
        return out;
    }
    /* Decimal: the point goes after digit exp + 1 (zeros fill the gap). */
    char dec[64];
    size_t k = 0;
    if (neg)
        dec[k++] = '-';
    if (a == 0 || exp < 0) {
        dec[k++] = '0';
        dec[k++] = '.';
        for (int z = 0; a != 0 && z < -exp - 1; z++)
            dec[k++] = '0';
        for (int i = 0; i < nd; i++)
            dec[k++] = digits[i];
    } else {
        for (int i = 0; i <= exp; i++)
            dec[k++] = i < nd ? digits[i] : '0';
        dec[k++] = '.';
        if (nd <= exp + 1)
            dec[k++] = '0';
        for (int i = exp + 1; i < nd; i++)
            dec[k++] = digits[i];
    }
    dec[k] = 0;
    snprintf(out, n, "%s", dec);
    return out;
}

char after_listening[80];

void say_listening(const struct addr *me) {
    say("listening on %s", addr_str(me));
    if (after_listening[0])
        say("%s", after_listening);
}

void show_names(int fd) {
    struct addr local, peer;
    Getsockname(fd, &local.ss, &local.len);
    Getpeername(fd, &peer.ss, &peer.len);
    say("fd %d: local %s, peer %s", fd, addr_str(&local), addr_str(&peer));
}
