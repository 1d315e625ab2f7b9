/*  bf_cli_escape - the CLI's escaping of text for a terminal and its
    one-line error messages (bf_cli.h: bf_cli_escape, bf_cli_fail), apart
    from bf_cli.c so that the lean `submit` (src/submit/main.c) words its
    errors the same way without linking the client's libraries. */
#include "bf_cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*  The length of the valid UTF-8 sequence at p (of at most n bytes) that
    is a printable character (not a C1 control, U+0080..U+009F), or 0. */
static size_t
s_utf8_printable (const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || p[0] > 0xf4 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (len == 2 && p[0] == 0xc2 && p[1] < 0xa0)
        return 0;   /* C1 controls: CSI (U+009B) and friends */
    if ((len == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (len == 3 && p[0] == 0xed && p[1] >= 0xa0)
        || (len == 4 && p[0] == 0xf0 && p[1] < 0x90) || (len == 4 && p[0] == 0xf4 && p[1] >= 0x90))
        return 0;   /* overlong, surrogates, beyond U+10FFFF */
    return len;
}

size_t
bf_cli_escape (char *dst, size_t dstlen, const char *src, size_t len, bool lines)
{
    const unsigned char *p = (const unsigned char *) src;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < dstlen;) {
        size_t u = p[i] >= 0x80 ? s_utf8_printable (p + i, len - i) : 0;
        if ((p[i] >= 0x20 && p[i] < 0x7f) || (lines && (p[i] == '\n' || p[i] == '\t'))) {
            dst[o++] = (char) p[i++];
            continue;
        }
        if (u && o + u < dstlen) {
            memcpy (dst + o, p + i, u);
            o += u;
            i += u;
            continue;
        }
        o += (size_t) snprintf (dst + o, dstlen - o, "\\x%02x", p[i++]);
    }
    if (dstlen)
        dst[o < dstlen ? o : dstlen - 1] = '\0';
    return o < dstlen ? o : dstlen - 1;
}

int
bf_cli_fail (int code, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char msg[2048], shown[4 * 2048 + 8];
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    bf_cli_escape (shown, sizeof shown, msg, strlen (msg), false);
    fprintf (stderr, "bitfarm: %s\n", shown);
    return code;
}
