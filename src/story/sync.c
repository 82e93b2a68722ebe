/*
 * story sync: re-anchoring source ranges onto a changed text, matching
 * re-segmented scenes, snippet diffs and chapter hashes (see sync.h DESIGN).
 */
#include "story/sync.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"

#define SYNC_MAX_D           512 /* edit distance one Myers run may reach */
#define SYNC_SENTENCE_MAX    64  /* code points: longer runs are cut */
#define SYNC_DIFF_CONTEXT    10  /* code points of common text kept around a change */
#define SYNC_DIFF_CAP        1024
#define SYNC_SCENE_MIN       0.4
#define SYNC_SCENE_PAIRS     ((size_t)1000 * 1000)
#define SYNC_SCENE_WINDOW    100
#define SYNC_OCCURRENCES_MAX 256 /* occurrences of a range examined for EXACT/MOVED */

/* ---- code points ------------------------------------------------------ */

/* A text as code points. */
struct cps {
    uint32_t *v;
    size_t n;
    size_t *off; /* byte offset of each code point and of the end; NULL unless asked */
};

/* Decode p[0..len) leniently: an invalid byte reads as U+FFFD. */
static int cps_decode(const char *p, size_t len, bool offsets, struct cps *ret)
{
    uint32_t *v = malloc((len + 1) * sizeof(*v));
    size_t *off = offsets ? malloc((len + 1) * sizeof(*off)) : NULL;
    if (!v || (offsets && !off)) {
        free(v);
        free(off);
        return -ENOMEM;
    }
    const unsigned char *s = (const unsigned char *)p;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t c = s[i];
        size_t k = c < 0x80                ? 1
                   : c >= 0xC2 && c < 0xE0 ? 2
                   : c >= 0xE0 && c < 0xF0 ? 3
                   : c >= 0xF0 && c < 0xF5 ? 4
                                           : 0;
        if (off)
            off[n] = i;
        if (k == 0 || i + k > len || (k > 1 && !utf8_valid(p + i, k))) {
            v[n++] = 0xFFFD;
            i++;
            continue;
        }
        if (k == 1)
            c = s[i];
        else if (k == 2)
            c = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
        else if (k == 3)
            c = ((c & 0x0F) << 12) | ((uint32_t)(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
        else
            c = ((c & 0x07) << 18) | ((uint32_t)(s[i + 1] & 0x3F) << 12) |
                ((uint32_t)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
        v[n++] = c;
        i += k;
    }
    if (off)
        off[n] = len;
    ret->v = v;
    ret->n = n;
    ret->off = off;
    return 0;
}

static void cps_release(struct cps *c)
{
    if (!c)
        return;
    free(c->v);
    free(c->off);
    c->v = NULL;
    c->off = NULL;
    c->n = 0;
}

static void buf_add_cp(struct buf *b, uint32_t c)
{
    char u[4];
    size_t k;
    if (c < 0x80) {
        u[0] = (char)c;
        k = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xC0 | (c >> 6));
        u[1] = (char)(0x80 | (c & 0x3F));
        k = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xE0 | (c >> 12));
        u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F));
        k = 3;
    } else {
        u[0] = (char)(0xF0 | (c >> 18));
        u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[3] = (char)(0x80 | (c & 0x3F));
        k = 4;
    }
    buf_add(b, u, k);
}

/* ---- Myers diff -------------------------------------------------------- */

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/*
 * The size of the multiset intersection of x and y: an upper bound of their
 * longest common subsequence, so xn + yn - 2 * common bounds the edit
 * distance from below. Counts x's symbols in an open-addressing table, then
 * takes y's from it: O(xn + yn). Returns -ENOMEM or the count.
 */
static long common_symbols(const uint64_t *x, size_t xn, const uint64_t *y, size_t yn)
{
    size_t size = 16;
    while (size < 2 * xn)
        size *= 2;
    struct slot {
        uint64_t key;
        uint32_t used; /* 0: empty */
        uint32_t left; /* occurrences of key in x not yet paired */
    } *t = calloc(size, sizeof(*t));
    if (!t)
        return -ENOMEM;
    const size_t mask = size - 1;
    for (size_t i = 0; i < xn; i++) {
        size_t h = (size_t)((x[i] * 0x9E3779B97F4A7C15ULL) >> 20) & mask;
        while (t[h].used && t[h].key != x[i])
            h = (h + 1) & mask;
        t[h].key = x[i];
        t[h].used = 1;
        t[h].left++;
    }
    long common = 0;
    for (size_t j = 0; j < yn; j++) {
        size_t h = (size_t)((y[j] * 0x9E3779B97F4A7C15ULL) >> 20) & mask;
        while (t[h].used && t[h].key != y[j])
            h = (h + 1) & mask;
        if (t[h].used && t[h].left) {
            t[h].left--;
            common++;
        }
    }
    free(t);
    return common;
}

/*
 * Match a[0..n) against b[0..m) along a shortest edit script (Myers 1986,
 * the greedy forward algorithm of §2 with the trace kept for the path, §3).
 * Matched pairs are written as a2b[i] = j, b2a[j] = i (offset by a0/b0:
 * a[i] is the text's code point a0 + i); unmatched entries are left alone.
 * Returns 0, -E2BIG when the distance exceeds max_d (nothing written), or
 * -ENOMEM.
 */
static int myers(const uint64_t *a,
                 size_t n,
                 const uint64_t *b,
                 size_t m,
                 size_t max_d,
                 double dissimilar_below,
                 ssize_t *a2b,
                 ssize_t *b2a,
                 size_t a0,
                 size_t b0)
{
    /* the common prefix and suffix need no search */
    size_t pre = 0;
    while (pre < n && pre < m && a[pre] == b[pre])
        pre++;
    size_t suf = 0;
    while (suf < n - pre && suf < m - pre && a[n - 1 - suf] == b[m - 1 - suf])
        suf++;
    const uint64_t *x = a + pre, *y = b + pre;
    size_t xn = n - pre - suf, yn = m - pre - suf;
    size_t dlim = xn + yn < max_d ? xn + yn : max_d;
    long common = 0;
    if (xn && yn && (common = common_symbols(x, xn, y, yn)) < 0)
        return (int)common;
    /*
     * Nothing in common: an answer without a search; too far apart: none.
     * With `dissimilar_below`, texts whose similarity cannot reach it are
     * taken as replaced wholesale rather than searched for scattered pairs.
     */
    if (common == 0 || 2.0 * (double)common < dissimilar_below * (double)(xn + yn))
        xn = yn = 0;
    else if (xn + yn - 2 * (size_t)common > dlim)
        return -E2BIG;

    int32_t *trace = NULL; /* V of step d at trace[d * d + (k + d)] */
    size_t trace_alloc = 0;
    bool found = xn == 0 || yn == 0;
    size_t fd = 0;
    long fk = (long)xn - (long)yn;
    for (size_t d = 0; !found && d <= dlim; d++) {
        size_t need = (d + 1) * (d + 1);
        if (need > trace_alloc) {
            size_t na = trace_alloc ? trace_alloc * 2 : 1024;
            while (na < need)
                na *= 2;
            int32_t *t = realloc(trace, na * sizeof(*t));
            if (!t) {
                free(trace);
                return -ENOMEM;
            }
            trace = t;
            trace_alloc = na;
        }
        int32_t *v = trace + d * d + d; /* v[k], k in -d..d */
        const int32_t *pv = d ? trace + (d - 1) * (d - 1) + (d - 1) : NULL;
        long ld = (long)d;
        for (long k = -ld; k <= ld; k += 2) {
            long xi;
            if (d == 0)
                xi = 0;
            else if (k == -ld || (k != ld && pv[k - 1] < pv[k + 1]))
                xi = pv[k + 1]; /* down: an insertion */
            else
                xi = pv[k - 1] + 1; /* right: a deletion */
            long yi = xi - k;
            while (xi < (long)xn && yi < (long)yn && yi >= 0 && x[xi] == y[yi]) {
                xi++;
                yi++;
            }
            v[k] = (int32_t)xi;
            if (xi >= (long)xn && yi >= (long)yn) {
                found = true;
                fd = d;
                fk = k;
                break;
            }
        }
    }
    if (!found) {
        free(trace);
        return -E2BIG;
    }

    for (size_t i = 0; i < pre; i++) {
        a2b[a0 + i] = (ssize_t)(b0 + i);
        b2a[b0 + i] = (ssize_t)(a0 + i);
    }
    for (size_t i = 0; i < suf; i++) {
        a2b[a0 + n - 1 - i] = (ssize_t)(b0 + m - 1 - i);
        b2a[b0 + m - 1 - i] = (ssize_t)(a0 + n - 1 - i);
    }
    size_t ao = a0 + pre, bo = b0 + pre;
    if (xn == 0 || yn == 0) {
        free(trace);
        return 0;
    }
    /* walk the trace back from the end, matching each snake's diagonal */
    long k = fk;
    long xe = trace[fd * fd + fd + (size_t)k];
    for (size_t d = fd; d > 0; d--) {
        const int32_t *pv = trace + (d - 1) * (d - 1) + (d - 1);
        long ld = (long)d;
        bool down = k == -ld || (k != ld && pv[k - 1] < pv[k + 1]);
        long kp = down ? k + 1 : k - 1;
        long xp = pv[kp];
        long xs = down ? xp : xp + 1; /* where the snake of step d starts */
        for (long i = xs; i < xe; i++) {
            a2b[ao + (size_t)i] = (ssize_t)(bo + (size_t)(i - k));
            b2a[bo + (size_t)(i - k)] = (ssize_t)(ao + (size_t)i);
        }
        xe = xp;
        k = kp;
    }
    for (long i = 0; i < xe; i++) { /* the snake of step 0, on diagonal 0 */
        a2b[ao + (size_t)i] = (ssize_t)(bo + (size_t)i);
        b2a[bo + (size_t)i] = (ssize_t)(ao + (size_t)i);
    }
    free(trace);
    return 0;
}

/* ---- alignment ---------------------------------------------------------- */

static bool sentence_end(uint32_t c)
{
    switch (c) {
    case 0x3002: /* 。 */
    case 0xFF01: /* ！ */
    case 0xFF1F: /* ？ */
    case 0xFF1B: /* ； */
    case 0x2026: /* … */
    case '!':
    case '?':
    case ';':
    case '\n':
        return true;
    default:
        return false;
    }
}

static bool closing(uint32_t c)
{
    switch (c) {
    case 0x201D: /* ” */
    case 0x2019: /* ’ */
    case 0x300D: /* 」 */
    case 0x300F: /* 』 */
    case 0xFF09: /* ） */
    case '"':
    case ')':
        return true;
    default:
        return false;
    }
}

/* Sentences of t[from..to): their starts (plus `to` at the end) and hashes. */
struct sentences {
    size_t *start; /* n + 1 entries */
    uint64_t *hash;
    size_t n;
};

static int sentences_cut(const struct cps *t, size_t from, size_t to, struct sentences *ret)
{
    size_t cap = (to - from) + 1;
    ret->start = malloc((cap + 1) * sizeof(*ret->start));
    ret->hash = malloc(cap * sizeof(*ret->hash));
    ret->n = 0;
    if (!ret->start || !ret->hash)
        return -ENOMEM;
    size_t i = from;
    while (i < to) {
        size_t s = i;
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        while (i < to) {
            uint32_t c = t->v[i++];
            h = (h ^ c) * 1099511628211ULL;
            if (sentence_end(c)) {
                while (i < to && (closing(t->v[i]) || sentence_end(t->v[i]))) {
                    h = (h ^ t->v[i]) * 1099511628211ULL;
                    i++;
                }
                break;
            }
            if (i - s >= SYNC_SENTENCE_MAX)
                break;
        }
        ret->start[ret->n] = s;
        ret->hash[ret->n] = h;
        ret->n++;
    }
    ret->start[ret->n] = to;
    return 0;
}

static void sentences_release(struct sentences *s)
{
    free(s->start);
    free(s->hash);
}

struct align {
    const struct cps *a, *b;
    uint64_t *wa, *wb; /* the code points widened for myers() */
    ssize_t *a2b, *b2a;
    const struct sentences *sa, *sb;
};

/* Diff sentences [i0,i1) of a against [j0,j1) of b by characters, halving on overflow. */
static int align_block(struct align *al, size_t i0, size_t i1, size_t j0, size_t j1)
{
    size_t ca0 = al->sa->start[i0], ca1 = al->sa->start[i1];
    size_t cb0 = al->sb->start[j0], cb1 = al->sb->start[j1];
    if (ca0 == ca1 || cb0 == cb1)
        return 0;
    int r = myers(al->wa + ca0, ca1 - ca0, al->wb + cb0, cb1 - cb0, SYNC_MAX_D,
                  STORY_ANCHOR_GONE_BELOW, al->a2b, al->b2a, ca0, cb0);
    if (r != -E2BIG)
        return r;
    if (i1 - i0 < 2 || j1 - j0 < 2)
        return 0; /* replaced wholesale */
    size_t im = i0 + (i1 - i0) / 2;
    double f = (double)(al->sa->start[im] - ca0) / (double)(ca1 - ca0);
    size_t jm = j0 + 1;
    double best = 2;
    for (size_t j = j0 + 1; j < j1; j++) {
        double g = fabs((double)(al->sb->start[j] - cb0) / (double)(cb1 - cb0) - f);
        if (g < best) {
            best = g;
            jm = j;
        }
    }
    r = align_block(al, i0, im, j0, jm);
    if (r < 0)
        return r;
    return align_block(al, im, i1, jm, j1);
}

/* Fill a2b/b2a (pre-set to -1) with the alignment of a and b (sync.h DESIGN). */
static int align_texts(const struct cps *a, const struct cps *b, ssize_t *a2b, ssize_t *b2a)
{
    size_t pre = 0;
    while (pre < a->n && pre < b->n && a->v[pre] == b->v[pre]) {
        a2b[pre] = (ssize_t)pre;
        b2a[pre] = (ssize_t)pre;
        pre++;
    }
    size_t suf = 0;
    while (suf < a->n - pre && suf < b->n - pre && a->v[a->n - 1 - suf] == b->v[b->n - 1 - suf]) {
        a2b[a->n - 1 - suf] = (ssize_t)(b->n - 1 - suf);
        b2a[b->n - 1 - suf] = (ssize_t)(a->n - 1 - suf);
        suf++;
    }
    if (pre + suf == a->n || pre + suf == b->n)
        return 0;

    struct sentences sa = { 0 }, sb = { 0 };
    ssize_t *s2 = NULL, *s2b = NULL;
    struct align al = { .a = a, .b = b, .a2b = a2b, .b2a = b2a, .sa = &sa, .sb = &sb };
    int r = -ENOMEM;
    al.wa = malloc((a->n + 1) * sizeof(*al.wa));
    al.wb = malloc((b->n + 1) * sizeof(*al.wb));
    if (!al.wa || !al.wb)
        goto out;
    for (size_t i = 0; i < a->n; i++)
        al.wa[i] = a->v[i];
    for (size_t i = 0; i < b->n; i++)
        al.wb[i] = b->v[i];
    r = sentences_cut(a, pre, a->n - suf, &sa);
    if (r < 0)
        goto out;
    r = sentences_cut(b, pre, b->n - suf, &sb);
    if (r < 0)
        goto out;
    r = -ENOMEM;
    s2 = malloc((sa.n + 1) * sizeof(*s2));
    s2b = malloc((sb.n + 1) * sizeof(*s2b));
    if (!s2 || !s2b)
        goto out;
    for (size_t i = 0; i < sa.n; i++)
        s2[i] = -1;
    for (size_t j = 0; j < sb.n; j++)
        s2b[j] = -1;
    /* sentences first; without a bound worth keeping, one block */
    r = myers(sa.hash, sa.n, sb.hash, sb.n, 4 * SYNC_MAX_D, 0, s2, s2b, 0, 0);
    if (r == -E2BIG) {
        r = align_block(&al, 0, sa.n, 0, sb.n);
        goto out;
    }
    if (r < 0)
        goto out;
    size_t i = 0, j = 0;
    while (i < sa.n || j < sb.n) {
        /* the next matched sentence pair (or the end of both) */
        size_t ni = i;
        while (ni < sa.n && s2[ni] < 0)
            ni++;
        size_t nj = ni < sa.n ? (size_t)s2[ni] : sb.n;
        r = align_block(&al, i, ni, j, nj);
        if (r < 0)
            goto out;
        if (ni == sa.n)
            break;
        size_t ca = sa.start[ni], la = sa.start[ni + 1] - ca;
        size_t cb = sb.start[nj], lb = sb.start[nj + 1] - cb;
        if (la == lb && memcmp(a->v + ca, b->v + cb, la * sizeof(uint32_t)) == 0) {
            for (size_t k = 0; k < la; k++) {
                a2b[ca + k] = (ssize_t)(cb + k);
                b2a[cb + k] = (ssize_t)(ca + k);
            }
        } else {
            r = align_block(&al, ni, ni + 1, nj, nj + 1); /* a hash collision */
            if (r < 0)
                goto out;
        }
        i = ni + 1;
        j = nj + 1;
    }
    r = 0;
out:
    free(s2);
    free(s2b);
    sentences_release(&sa);
    sentences_release(&sb);
    free(al.wa);
    free(al.wb);
    return r;
}

/* ---- re-anchoring ------------------------------------------------------- */

const char *story_anchor_status_name(int status)
{
    switch (status) {
    case STORY_ANCHOR_EXACT:
        return "exact";
    case STORY_ANCHOR_MOVED:
        return "moved";
    case STORY_ANCHOR_CHANGED:
        return "changed";
    case STORY_ANCHOR_GONE:
        return "gone";
    default:
        return "unknown";
    }
}

/*
 * The occurrence of a[s..e) in b nearest `near` that is made of inserted
 * code points or of the range's own: at most a quarter of it may be the
 * image of other old text (scattered characters such as 。 or 了 that the
 * character diff paired elsewhere), so that a copy which is another range's
 * text is never taken. SIZE_MAX when there is none.
 */
static size_t free_occurrence(const char *old_text,
                              const char *new_text,
                              const struct cps *a,
                              const struct cps *b,
                              const ssize_t *b2a,
                              size_t s,
                              size_t e,
                              size_t near)
{
    size_t len = e - s, best = SIZE_MAX, best_dist = SIZE_MAX;
    if (len == 0 || len > b->n)
        return SIZE_MAX;
    /* search the bytes (glibc's memmem is linear), at most SYNC_OCCURRENCES_MAX hits */
    const char *needle = old_text + a->off[s];
    size_t nlen = a->off[e] - a->off[s], blen = b->off[b->n];
    size_t at = 0;
    for (int hits = 0; hits < SYNC_OCCURRENCES_MAX && at + nlen <= blen; hits++) {
        const char *f = memmem(new_text + at, blen - at, needle, nlen);
        if (!f)
            break;
        size_t byte = (size_t)(f - new_text);
        at = byte + 1;
        /* the code point starting at that byte (well-formed text: always one) */
        size_t lo = 0, hi = b->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (b->off[mid] < byte)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo >= b->n || b->off[lo] != byte)
            continue;
        size_t j = lo, foreign = 0;
        for (size_t k = j; k < j + len && foreign <= len / 4; k++)
            foreign += b2a[k] >= 0 && ((size_t)b2a[k] < s || (size_t)b2a[k] >= e);
        if (foreign > len / 4)
            continue;
        size_t dist = j > near ? j - near : near - j;
        if (dist < best_dist) {
            best_dist = dist;
            best = j;
        }
    }
    return best;
}

int story_reanchor(const char *old_text,
                   const char *new_text,
                   const struct story_range *in,
                   size_t n,
                   struct story_anchor *out)
{
    if (!old_text || !new_text || (n && (!in || !out)))
        return -EINVAL;
    size_t la = strlen(old_text), lb = strlen(new_text);
    if (la > STORY_SYNC_MAX_TEXT || lb > STORY_SYNC_MAX_TEXT)
        return -E2BIG;
    if (!utf8_valid(old_text, la) || !utf8_valid(new_text, lb))
        return -EILSEQ;
    size_t na = utf8_count(old_text, la);
    for (size_t i = 0; i < n; i++)
        if (in[i].start > in[i].end || in[i].end > na)
            return -EINVAL;
    if (n == 0)
        return 0;
    if (la == lb && memcmp(old_text, new_text, la) == 0) {
        for (size_t i = 0; i < n; i++)
            out[i] = (struct story_anchor){ .start = in[i].start,
                                            .end = in[i].end,
                                            .status = STORY_ANCHOR_EXACT,
                                            .similarity = 1.0 };
        return 0;
    }

    struct cps a = { 0 }, b = { 0 };
    ssize_t *a2b = NULL, *b2a = NULL;
    size_t *lo = NULL, *hi = NULL;
    int r = cps_decode(old_text, la, true, &a);
    if (r < 0)
        goto out;
    r = cps_decode(new_text, lb, true, &b);
    if (r < 0)
        goto out;
    r = -ENOMEM;
    a2b = malloc((a.n + 1) * sizeof(*a2b));
    b2a = malloc((b.n + 1) * sizeof(*b2a));
    lo = malloc((a.n + 1) * sizeof(*lo));
    hi = malloc((a.n + 1) * sizeof(*hi));
    if (!a2b || !b2a || !lo || !hi)
        goto out;
    for (size_t i = 0; i < a.n; i++)
        a2b[i] = -1;
    for (size_t j = 0; j < b.n; j++)
        b2a[j] = -1;
    r = align_texts(&a, &b, a2b, b2a);
    if (r < 0)
        goto out;

    /*
     * Boundary i of a lies between new positions lo[i] (just after the image
     * of the last matched code point before it) and hi[i] (the image of the
     * first matched one at or after it); b[lo[i]..hi[i]) is inserted text.
     */
    size_t last = 0;
    for (size_t i = 0; i <= a.n; i++) {
        lo[i] = last;
        if (i < a.n && a2b[i] >= 0)
            last = (size_t)a2b[i] + 1;
    }
    size_t next = b.n;
    for (size_t i = a.n + 1; i-- > 0;) {
        if (i < a.n && a2b[i] >= 0)
            next = (size_t)a2b[i];
        hi[i] = next;
    }

    for (size_t q = 0; q < n; q++) {
        size_t s = in[q].start, e = in[q].end;
        struct story_anchor an = { .status = STORY_ANCHOR_EXACT, .similarity = 1.0 };
        if (s == e) {
            an.start = an.end = lo[s];
            out[q] = an;
            continue;
        }
        size_t start = a2b[s] >= 0 ? (size_t)a2b[s] : lo[s];
        size_t end = a2b[e - 1] >= 0 ? (size_t)a2b[e - 1] + 1 : hi[e];
        size_t matched = 0;
        for (size_t i = s; i < e; i++)
            matched += a2b[i] >= 0;
        if (matched == e - s && end - start == e - s) {
            an.start = start;
            an.end = end;
            out[q] = an;
            continue;
        }
        size_t occ = free_occurrence(old_text, new_text, &a, &b, b2a, s, e, start);
        if (occ != SIZE_MAX) {
            bool overlaps = occ < end && occ + (e - s) > start;
            if (overlaps || e - s >= STORY_ANCHOR_MOVED_MIN) {
                an.start = occ;
                an.end = occ + (e - s);
                an.status = overlaps ? STORY_ANCHOR_EXACT : STORY_ANCHOR_MOVED;
                out[q] = an;
                continue;
            }
        }
        an.start = start;
        an.end = end;
        an.similarity = 2.0 * (double)matched / (double)((e - s) + (end - start));
        an.status =
            an.similarity < STORY_ANCHOR_GONE_BELOW ? STORY_ANCHOR_GONE : STORY_ANCHOR_CHANGED;
        out[q] = an;
    }
    r = 0;
out:
    free(lo);
    free(hi);
    free(a2b);
    free(b2a);
    cps_release(&a);
    cps_release(&b);
    return r;
}

/* ---- scene matching ----------------------------------------------------- */

/* Sorted character bigrams of a text (a single code point counts as one). */
struct bigrams {
    uint64_t *v;
    size_t n;
};

static int bigrams_of(const char *text, struct bigrams *ret)
{
    struct cps c;
    int r = cps_decode(text, strlen(text), false, &c);
    if (r < 0)
        return r;
    size_t n = c.n > 1 ? c.n - 1 : c.n;
    ret->v = malloc((n + 1) * sizeof(*ret->v));
    if (!ret->v) {
        cps_release(&c);
        return -ENOMEM;
    }
    if (c.n == 1)
        ret->v[0] = (uint64_t)c.v[0] << 21;
    for (size_t i = 0; i + 1 < c.n; i++)
        ret->v[i] = ((uint64_t)c.v[i] << 21) | c.v[i + 1];
    ret->n = n;
    qsort(ret->v, n, sizeof(*ret->v), cmp_u64);
    cps_release(&c);
    return 0;
}

/* Dice coefficient of two bigram multisets. */
static double dice(const struct bigrams *x, const struct bigrams *y)
{
    if (x->n + y->n == 0)
        return 1.0;
    size_t i = 0, j = 0, common = 0;
    while (i < x->n && j < y->n) {
        if (x->v[i] == y->v[j]) {
            common++;
            i++;
            j++;
        } else if (x->v[i] < y->v[j]) {
            i++;
        } else {
            j++;
        }
    }
    return 2.0 * (double)common / (double)(x->n + y->n);
}

struct pair {
    double sim;
    size_t i, j;
};

static int cmp_pair(const void *x, const void *y)
{
    const struct pair *a = x, *b = y;
    if (a->sim != b->sim)
        return a->sim > b->sim ? -1 : 1;
    if (a->j != b->j)
        return a->j < b->j ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Would matching old i to new j cross a match already made? */
static bool crosses(const ssize_t *match, size_t n_new, size_t i, size_t j)
{
    for (size_t k = 0; k < n_new; k++) {
        if (match[k] < 0)
            continue;
        size_t mi = (size_t)match[k];
        if ((k < j && mi > i) || (k > j && mi < i))
            return true;
    }
    return false;
}

int story_match_scenes(const char *const *old_scenes,
                       size_t n_old,
                       const char *const *new_scenes,
                       size_t n_new,
                       ssize_t *old_for_new)
{
    if ((n_old && !old_scenes) || (n_new && (!new_scenes || !old_for_new)))
        return -EINVAL;
    for (size_t i = 0; i < n_old; i++)
        if (!old_scenes[i])
            return -EINVAL;
    for (size_t j = 0; j < n_new; j++)
        if (!new_scenes[j])
            return -EINVAL;
    if (n_new == 0)
        return 0;

    int r = -ENOMEM;
    ssize_t *match = malloc(n_new * sizeof(*match));
    bool *used = calloc(n_old + 1, sizeof(*used));
    struct bigrams *bo = calloc(n_old + 1, sizeof(*bo));
    struct bigrams *bn = calloc(n_new, sizeof(*bn));
    struct pair *pairs = NULL;
    if (!match || !used || !bo || !bn)
        goto out;
    for (size_t j = 0; j < n_new; j++)
        match[j] = -1;

    /* identical texts, in order */
    size_t after = 0;
    for (size_t j = 0; j < n_new; j++) {
        ssize_t pick = -1;
        for (size_t i = 0; i < n_old; i++) {
            if (used[i] || strcmp(old_scenes[i], new_scenes[j]) != 0)
                continue;
            if (pick < 0 || (i >= after && (size_t)pick < after))
                pick = (ssize_t)i;
            if (i >= after)
                break;
        }
        if (pick >= 0 && !crosses(match, n_new, (size_t)pick, j)) {
            match[j] = pick;
            used[pick] = true;
            after = (size_t)pick + 1;
        }
    }

    /* then by similarity, best first, never crossing */
    for (size_t i = 0; i < n_old; i++)
        if (!used[i] && (r = bigrams_of(old_scenes[i], &bo[i])) < 0)
            goto out;
    for (size_t j = 0; j < n_new; j++)
        if (match[j] < 0 && (r = bigrams_of(new_scenes[j], &bn[j])) < 0)
            goto out;
    bool windowed = n_old * n_new > SYNC_SCENE_PAIRS;
    size_t np = 0, pcap = 64;
    r = -ENOMEM;
    pairs = malloc(pcap * sizeof(*pairs));
    if (!pairs)
        goto out;
    for (size_t j = 0; j < n_new; j++) {
        if (match[j] >= 0)
            continue;
        size_t diag = n_new > 1 ? j * (n_old ? n_old - 1 : 0) / (n_new - 1) : 0;
        for (size_t i = 0; i < n_old; i++) {
            if (used[i])
                continue;
            if (windowed && (i + SYNC_SCENE_WINDOW < diag || i > diag + SYNC_SCENE_WINDOW))
                continue;
            double sim = dice(&bo[i], &bn[j]);
            if (sim < SYNC_SCENE_MIN)
                continue;
            if (np == pcap) {
                struct pair *p = realloc(pairs, 2 * pcap * sizeof(*pairs));
                if (!p)
                    goto out;
                pairs = p;
                pcap *= 2;
            }
            pairs[np++] = (struct pair){ .sim = sim, .i = i, .j = j };
        }
    }
    qsort(pairs, np, sizeof(*pairs), cmp_pair);
    for (size_t k = 0; k < np; k++) {
        const struct pair *p = &pairs[k];
        if (used[p->i] || match[p->j] >= 0 || crosses(match, n_new, p->i, p->j))
            continue;
        match[p->j] = (ssize_t)p->i;
        used[p->i] = true;
    }
    memcpy(old_for_new, match, n_new * sizeof(*match));
    r = 0;
out:
    if (bo)
        for (size_t i = 0; i < n_old; i++)
            free(bo[i].v);
    if (bn)
        for (size_t j = 0; j < n_new; j++)
            free(bn[j].v);
    free(bo);
    free(bn);
    free(pairs);
    free(used);
    free(match);
    return r;
}

/* ---- snippet diff ------------------------------------------------------- */

/* A run of the edit script: common text, or a change (old part, new part). */
struct run {
    bool change;
    size_t a, na; /* in the old snippet */
    size_t b, nb; /* in the new snippet */
};

static void add_cps(struct buf *out, const struct cps *c, size_t from, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_add_cp(out, c->v[from + i]);
}

/* Render the runs with SYNC_DIFF_CONTEXT code points of context around changes. */
static void
render(struct buf *out, const struct cps *a, const struct cps *b, const struct run *runs, size_t nr)
{
    const size_t ctx = SYNC_DIFF_CONTEXT;
    for (size_t k = 0; k < nr; k++) {
        const struct run *u = &runs[k];
        if (u->change) {
            if (u->na) {
                buf_adds(out, "[-");
                add_cps(out, a, u->a, u->na);
                buf_adds(out, "-]");
            }
            if (u->nb) {
                buf_adds(out, "{+");
                add_cps(out, b, u->b, u->nb);
                buf_adds(out, "+}");
            }
            continue;
        }
        bool first = k == 0, last = k + 1 == nr;
        if (first && last) {
            add_cps(out, a, u->a, u->na);
        } else if (first) {
            if (u->na > ctx)
                buf_adds(out, "…");
            size_t keep = u->na > ctx ? ctx : u->na;
            add_cps(out, a, u->a + u->na - keep, keep);
        } else if (last) {
            size_t keep = u->na > ctx ? ctx : u->na;
            add_cps(out, a, u->a, keep);
            if (u->na > ctx)
                buf_adds(out, "…");
        } else if (u->na > 2 * ctx + 1) {
            add_cps(out, a, u->a, ctx);
            buf_adds(out, "…");
            add_cps(out, a, u->a + u->na - ctx, ctx);
        } else {
            add_cps(out, a, u->a, u->na);
        }
    }
}

/* The runs of the alignment a2b; a common run of one code point between changes joins them. */
static size_t
runs_of(const struct cps *a, const struct cps *b, const ssize_t *a2b, struct run *runs)
{
    size_t nr = 0, i = 0, j = 0;
    while (i < a->n || j < b->n) {
        struct run u = { .a = i, .b = j };
        if (i < a->n && a2b[i] == (ssize_t)j) {
            while (i < a->n && a2b[i] == (ssize_t)j) {
                i++;
                j++;
            }
        } else {
            u.change = true;
            while (i < a->n && a2b[i] < 0)
                i++;
            size_t to = i < a->n ? (size_t)a2b[i] : b->n;
            j = to;
        }
        u.na = i - u.a;
        u.nb = j - u.b;
        if (!u.change)
            u.nb = u.na;
        /* join: change + one common code point + change */
        if (u.change && nr >= 2 && runs[nr - 1].na == 1 && !runs[nr - 1].change &&
            runs[nr - 2].change) {
            runs[nr - 2].na = i - runs[nr - 2].a;
            runs[nr - 2].nb = j - runs[nr - 2].b;
            nr--;
            continue;
        }
        runs[nr++] = u;
    }
    return nr;
}

/* Cut s to at most cap - 1 bytes at a code point boundary, ending in "…" when cut. */
static void cap_text(struct buf *s, size_t cap)
{
    if (s->len < cap)
        return;
    static const char ell[] = "…";
    size_t room = cap - 1, keep = room >= sizeof(ell) - 1 ? room - (sizeof(ell) - 1) : room;
    while (keep > 0 && ((unsigned char)s->p[keep] & 0xC0) == 0x80)
        keep--;
    buf_truncate(s, keep);
    if (room >= sizeof(ell) - 1)
        buf_adds(s, ell);
}

char *story_text_diff(const char *old_snippet, const char *new_snippet, size_t cap)
{
    if (!old_snippet)
        old_snippet = "";
    if (!new_snippet)
        new_snippet = "";
    if (cap == 0)
        cap = SYNC_DIFF_CAP;
    struct cps a = { 0 }, b = { 0 };
    ssize_t *a2b = NULL, *b2a = NULL;
    uint64_t *wa = NULL, *wb = NULL;
    struct run *runs = NULL;
    struct buf out;
    buf_init(&out, 0);
    char *ret = NULL;
    if (cps_decode(old_snippet, strlen(old_snippet), false, &a) < 0 ||
        cps_decode(new_snippet, strlen(new_snippet), false, &b) < 0)
        goto done;
    a2b = malloc((a.n + 1) * sizeof(*a2b));
    b2a = malloc((b.n + 1) * sizeof(*b2a));
    wa = malloc((a.n + 1) * sizeof(*wa));
    wb = malloc((b.n + 1) * sizeof(*wb));
    runs = malloc((a.n + b.n + 1) * sizeof(*runs));
    if (!a2b || !b2a || !wa || !wb || !runs)
        goto done;
    for (size_t i = 0; i < a.n; i++) {
        a2b[i] = -1;
        wa[i] = a.v[i];
    }
    for (size_t j = 0; j < b.n; j++) {
        b2a[j] = -1;
        wb[j] = b.v[j];
    }
    int r = myers(wa, a.n, wb, b.n, 4 * SYNC_MAX_D, STORY_ANCHOR_GONE_BELOW, a2b, b2a, 0, 0);
    if (r == -ENOMEM)
        goto done;
    /* on -E2BIG nothing is matched: one change, the whole snippets */
    size_t nr = runs_of(&a, &b, a2b, runs);
    render(&out, &a, &b, runs, nr);
    if (out.err)
        goto done;
    cap_text(&out, cap);
    ret = buf_detach(&out, NULL);
done:
    buf_release(&out);
    free(runs);
    free(wa);
    free(wb);
    free(a2b);
    free(b2a);
    cps_release(&a);
    cps_release(&b);
    return ret;
}

/* ---- hashing ------------------------------------------------------------ */

void story_hash_text(const char *p, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)(len ? p : ""), len);
    for (size_t i = 0; i < sizeof(h); i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = '\0';
}
