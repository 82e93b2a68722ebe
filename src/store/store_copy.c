/*
 * store_copy.c: copy a whole store into another (`annotd migrate`).
 *
 * DESIGN
 * - The tables, parents before children, are one array (copy_tables).
 *   Each is copied generically: its columns come from the source
 *   (SELECT * ... WHERE 1 = 0), every value travels as text (SQL NULL as
 *   NULL) and the target converts it to the column's type, so a column a
 *   migration adds needs no code here. A table a migration adds must be
 *   added to the array: store_copy() refuses a source with a table the
 *   array lacks rather than leave its rows behind.
 * - Every table is paged by its key, an integer column: a page is the key
 *   range (after, upper], upper the key of the page_rows-th row past
 *   `after`, so the rows of one key (labels of one annotation) never
 *   straddle two pages. The source is read in one read transaction
 *   (store_read_begin: one snapshot for all tables); each page is one
 *   store_write() on the target, which first reads the target's rows of
 *   the same range and compares them key by key: a key the target lacks
 *   is inserted, a key it holds with the same rows is skipped, and a key
 *   it holds with other rows, or one only the target has, refuses the
 *   copy (-ERR_CONFLICT) with nothing of that page written. A re-run thus
 *   skips what is there and completes what is not; a target with other
 *   content is never merged into.
 * - Checksums: each row hashes (BLAKE2b-256, sodium's crypto_generichash)
 *   its values in the source's column order, each as "S<len>:<bytes>" or
 *   "N" for NULL; a table's checksum is the sum of its rows' hashes modulo
 *   2^256. The sum does not depend on row order (so not on either
 *   database's collation) and counts duplicate rows. Verification reads
 *   the target in one snapshot after the copy and compares counts and
 *   checksums table by table.
 * - A PostgreSQL target's identity sequences are set to max(key) after the
 *   copy, so new rows continue after the copied ids.
 * - Values are compared as the two databases print them: integers and text
 *   print alike; a REAL or BLOB column (none yet) would need a canonical
 *   form here first.
 */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/store_int.h"

struct copy_table {
    const char *name;
    const char *key;    /* a NOT NULL integer column to page by; unique or not */
    const char *ignore; /* a column left out of comparisons and checksums, or NULL */
};

/*
 * Every table of the schema, parents before children (foreign-key order).
 * Every issue whose migration adds a table adds it here too, with its key;
 * store_copy() refuses a source that has a table this list lacks.
 */
static const struct copy_table copy_tables[] = {
    /* filled by each side's own migrations: applied_at says when that side migrated */
    { "schema_version", "version", "applied_at" },
    { "orgs", "id", NULL },
    { "users", "id", NULL },
    { "tokens", "id", NULL },
    { "projects", "id", NULL },
    { "project_counts", "project_id", NULL }, /* a project's shards go together */
    { "tasks", "id", NULL },
    { "assignments", "id", NULL },
    { "annotations", "id", NULL },
    { "labels", "annotation_id", NULL }, /* no id: the rows of one annotation go together */
    { "audit", "id", NULL },
    /* no integer id (keyed by sha256 / (org, sha256)): paged by created_at */
    { "media", "created_at", NULL },
    { "org_media", "created_at", NULL },
    { "review_queue", "annotation_id", NULL }, /* review (0003) */
    { "reviews", "id", NULL },
    { "novels", "id", NULL }, /* novel -> storyboard (0004) */
    { "novel_chapters", "novel_id", NULL }, /* a novel's chapters go together */
    { "novel_scenes", "task_id", NULL },
    { "predictions", "id", NULL },
    { "characters", "id", NULL },
    { "story_flags", "id", NULL },
    { "jobs", "id", NULL }, /* background jobs (0006) */
    { "shot_media", "id", NULL }, /* generated media per shot (0007) */
};

#define NTABLES           (sizeof(copy_tables) / sizeof(copy_tables[0]))
#define PAGE_ROWS_DEFAULT 1000
#define PAGE_BYTES_CAP    ((size_t)1 << 30) /* one page of rows held in memory */
#define HASH_BYTES        32

/* ------------------------------------------------------------------ */
/* rows                                                                */

struct row {
    int64_t key;
    size_t off, len; /* the encoded values, in page->data */
    unsigned char hash[HASH_BYTES];
};

struct page {
    struct buf data;
    struct row *rows;
    size_t n, alloc;
};

static void page_init(struct page *pg)
{
    buf_init(&pg->data, PAGE_BYTES_CAP);
    pg->rows = NULL;
    pg->n = pg->alloc = 0;
}

static void page_clear(struct page *pg)
{
    buf_clear(&pg->data);
    pg->n = 0;
}

static void page_release(struct page *pg)
{
    buf_release(&pg->data);
    free(pg->rows);
    pg->rows = NULL;
    pg->n = pg->alloc = 0;
}

/* A table's columns as the source has them, and its SQL. */
struct table_plan {
    const struct copy_table *t;
    int ncols;
    int key_col;      /* index of t->key */
    int ignore_col;   /* index of t->ignore, or -1 */
    char *sql_upper;  /* the key of the page_rows-th row past `after` */
    char *sql_rows;   /* the rows of (after, upper], by key */
    char *sql_insert; /* one row */
    char *sql_stats;  /* COUNT(*), MAX(key) */
    int64_t src_rows, src_max;
    unsigned char sum[HASH_BYTES]; /* the source's checksum, built while copying */
};

static void plan_release(struct table_plan *p)
{
    free(p->sql_upper);
    free(p->sql_rows);
    free(p->sql_insert);
    free(p->sql_stats);
    memset(p, 0, sizeof(*p));
}

/* Append one value to the encoding: "N" for NULL, else "S<len>:<bytes>". */
static void encode_value(struct buf *b, const char *p, size_t len)
{
    if (!p) {
        buf_addch(b, 'N');
        return;
    }
    buf_addf(b, "S%zu:", len);
    buf_add(b, p, len);
}

/* The next value of an encoding at *cur; p NULL for NULL. Returns -EPROTO on junk. */
static int decode_value(const char **cur, const char *end, const char **ret_p, size_t *ret_len)
{
    const char *c = *cur;
    if (c >= end)
        return -EPROTO;
    if (*c == 'N') {
        *ret_p = NULL;
        *ret_len = 0;
        *cur = c + 1;
        return 0;
    }
    if (*c != 'S')
        return -EPROTO;
    size_t len = 0;
    for (c++; c < end && *c >= '0' && *c <= '9'; c++)
        len = len * 10 + (size_t)(*c - '0');
    if (c >= end || *c != ':' || (size_t)(end - c - 1) < len)
        return -EPROTO;
    *ret_p = c + 1;
    *ret_len = len;
    *cur = c + 1 + len;
    return 0;
}

/* The row's hash: its encoded values without the ignored column. */
static int row_hash(const struct table_plan *p, const char *enc, size_t len, unsigned char *out)
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, HASH_BYTES);
    const char *cur = enc, *end = enc + len;
    for (int i = 0; i < p->ncols; i++) {
        const char *start = cur, *v;
        size_t n;
        if (decode_value(&cur, end, &v, &n) < 0)
            return -EPROTO;
        if (i != p->ignore_col)
            crypto_generichash_update(&h, (const unsigned char *)start, (size_t)(cur - start));
    }
    crypto_generichash_final(&h, out, HASH_BYTES);
    return 0;
}

/* sum += h, both little-endian 256-bit numbers, modulo 2^256 */
static void sum_add(unsigned char *sum, const unsigned char *h)
{
    unsigned carry = 0;
    for (int i = 0; i < HASH_BYTES; i++) {
        unsigned v = (unsigned)sum[i] + h[i] + carry;
        sum[i] = (unsigned char)v;
        carry = v >> 8;
    }
}

static void sum_hex(const unsigned char *sum, char *out /* 65 */)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < HASH_BYTES; i++) {
        /* most significant byte first, as a number is written */
        out[2 * i] = hex[sum[HASH_BYTES - 1 - i] >> 4];
        out[2 * i + 1] = hex[sum[HASH_BYTES - 1 - i] & 15];
    }
    out[2 * HASH_BYTES] = '\0';
}

/* ------------------------------------------------------------------ */
/* reading                                                             */

static int prepare(struct store_tx *tx, const char *sql, struct db_stmt **ret)
{
    return tx->conn->ops->prepare(tx->conn, sql, ret);
}

static void finalize(struct store_tx *tx, struct db_stmt *s)
{
    tx->conn->ops->finalize(s);
}

/* The key of the page_rows-th row past `after`; 0 with *ret_upper = INT64_MAX when fewer remain. */
static int read_upper(struct store_tx *tx,
                      const struct table_plan *p,
                      int64_t after,
                      unsigned page_rows,
                      int64_t *ret_upper)
{
    struct db_stmt *s;
    int r = prepare(tx, p->sql_upper, &s);
    if (r < 0)
        return r;
    db_bind_int64(tx, s, 1, after);
    db_bind_int64(tx, s, 2, (int64_t)page_rows - 1);
    r = db_step(tx, s);
    if (r >= 0)
        *ret_upper = r == 1 ? db_int64(tx, s, 0) : INT64_MAX;
    finalize(tx, s);
    return r < 0 ? r : 0;
}

/* Append the rows of (after, upper] to pg, by key. */
static int read_rows(struct store_tx *tx,
                     const struct table_plan *p,
                     int64_t after,
                     int64_t upper,
                     struct page *pg)
{
    struct db_stmt *s;
    int r = prepare(tx, p->sql_rows, &s);
    if (r < 0)
        return r;
    db_bind_int64(tx, s, 1, after);
    db_bind_int64(tx, s, 2, upper);
    while ((r = db_step(tx, s)) == 1) {
        if (tx->conn->ops->col_count(s) != p->ncols) {
            r = -EPROTO;
            break;
        }
        if (pg->n == pg->alloc) {
            size_t na = pg->alloc ? pg->alloc * 2 : 256;
            struct row *nr = realloc(pg->rows, na * sizeof(*nr));
            if (!nr) {
                r = -ENOMEM;
                break;
            }
            pg->rows = nr;
            pg->alloc = na;
        }
        struct row *row = &pg->rows[pg->n];
        row->key = db_int64(tx, s, p->key_col);
        row->off = pg->data.len;
        for (int i = 0; i < p->ncols; i++) {
            size_t len;
            const char *v = db_text_ref(tx, s, i, &len);
            encode_value(&pg->data, v, len);
        }
        if (pg->data.err) {
            r = pg->data.err;
            break;
        }
        row->len = pg->data.len - row->off;
        r = row_hash(p, pg->data.p + row->off, row->len, row->hash);
        if (r < 0)
            break;
        pg->n++;
    }
    finalize(tx, s);
    return r < 0 ? r : 0;
}

/* Read (after, upper] of the whole table page by page, summing (count, checksum). */
static int table_digest(struct store_tx *tx,
                        const struct table_plan *p,
                        unsigned page_rows,
                        int64_t *ret_rows,
                        unsigned char *ret_sum)
{
    struct page pg;
    page_init(&pg);
    unsigned char sum[HASH_BYTES] = { 0 };
    int64_t rows = 0, after = INT64_MIN, upper = INT64_MIN;
    int r = 0;
    while (upper != INT64_MAX) {
        page_clear(&pg);
        if ((r = read_upper(tx, p, after, page_rows, &upper)) < 0 ||
            (r = read_rows(tx, p, after, upper, &pg)) < 0)
            break;
        for (size_t i = 0; i < pg.n; i++)
            sum_add(sum, pg.rows[i].hash);
        rows += (int64_t)pg.n;
        after = upper;
    }
    page_release(&pg);
    if (r < 0)
        return r;
    *ret_rows = rows;
    memcpy(ret_sum, sum, HASH_BYTES);
    return 0;
}

static int
read_stats(struct store_tx *tx, const struct table_plan *p, int64_t *ret_rows, int64_t *ret_max)
{
    struct db_stmt *s;
    int r = prepare(tx, p->sql_stats, &s);
    if (r < 0)
        return r;
    r = db_step(tx, s);
    if (r == 1) {
        *ret_rows = db_int64(tx, s, 0);
        *ret_max = db_int64(tx, s, 1);
    }
    finalize(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_STORE;
}

/* ------------------------------------------------------------------ */
/* plans                                                               */

static void add_quoted(struct buf *b, const char *ident)
{
    buf_addch(b, '"');
    buf_adds(b, ident);
    buf_addch(b, '"');
}

static char *sqlf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sqlf(const char *fmt, ...)
{
    struct buf b;
    buf_init(&b, 0);
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    if (b.err) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

/*
 * The table's columns from the source and the SQL over them. Names come
 * from copy_tables and the source's own schema, never from input; they are
 * quoted all the same.
 */
static int plan_make(struct store_tx *src, const struct copy_table *t, struct table_plan *ret)
{
    struct table_plan p = { .t = t, .key_col = -1, .ignore_col = -1 };
    char *probe = sqlf("SELECT * FROM \"%s\" WHERE 1 = 0", t->name);
    if (!probe)
        return -ENOMEM;
    struct db_stmt *s;
    int r = prepare(src, probe, &s);
    free(probe);
    if (r < 0)
        return r;
    r = db_step(src, s);
    struct buf cols, marks;
    buf_init(&cols, 0);
    buf_init(&marks, 0);
    if (r >= 0) {
        r = 0;
        p.ncols = src->conn->ops->col_count(s);
        for (int i = 0; i < p.ncols; i++) {
            const char *name = src->conn->ops->col_name(s, i);
            if (!name) {
                r = -ERR_STORE;
                break;
            }
            if (strcmp(name, t->key) == 0)
                p.key_col = i;
            if (t->ignore && strcmp(name, t->ignore) == 0)
                p.ignore_col = i;
            if (i) {
                buf_adds(&cols, ", ");
                buf_adds(&marks, ", ");
            }
            add_quoted(&cols, name);
            buf_addch(&marks, '?');
        }
    }
    finalize(src, s);
    if (r >= 0 && (p.key_col < 0 || cols.err || marks.err))
        r = p.key_col < 0 ? -EPROTO : -ENOMEM;
    if (r >= 0) {
        /* CAST: the key may be a 32-bit column, the bounds are 64-bit */
        p.sql_upper = sqlf("SELECT \"%s\" FROM \"%s\" WHERE \"%s\" > CAST(? AS BIGINT)"
                           " ORDER BY \"%s\" LIMIT 1 OFFSET ?",
                           t->key, t->name, t->key, t->key);
        p.sql_rows = sqlf("SELECT %s FROM \"%s\" WHERE \"%s\" > CAST(? AS BIGINT)"
                          " AND \"%s\" <= CAST(? AS BIGINT) ORDER BY \"%s\"",
                          cols.p, t->name, t->key, t->key, t->key);
        p.sql_insert = sqlf("INSERT INTO \"%s\" (%s) VALUES (%s)", t->name, cols.p, marks.p);
        p.sql_stats =
            sqlf("SELECT COUNT(*), COALESCE(MAX(\"%s\"), 0) FROM \"%s\"", t->key, t->name);
        if (!p.sql_upper || !p.sql_rows || !p.sql_insert || !p.sql_stats)
            r = -ENOMEM;
    }
    buf_release(&cols);
    buf_release(&marks);
    if (r < 0) {
        plan_release(&p);
        return r;
    }
    *ret = p;
    return 0;
}

static const struct copy_table *copy_table_find(const char *name)
{
    for (size_t i = 0; i < NTABLES; i++)
        if (strcmp(copy_tables[i].name, name) == 0)
            return &copy_tables[i];
    return NULL;
}

/* -ERR_CONFLICT when the source has a table copy_tables lacks. */
static int check_source_tables(struct store_tx *src, struct store_copy_report *report)
{
    struct db_stmt *s;
    int r = prepare(src,
                    src->conn->ops->postgres
                        ? "SELECT table_name FROM information_schema.tables"
                          " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                        : "SELECT name FROM sqlite_master"
                          " WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_'",
                    &s);
    if (r < 0)
        return r;
    while ((r = db_step(src, s)) == 1) {
        size_t len;
        const char *name = db_text_ref(src, s, 0, &len);
        if (name && !copy_table_find(name)) {
            snprintf(report->detail, sizeof(report->detail),
                     "the source has a table '%.*s' that the copy does not know"
                     " (add it to copy_tables in src/store/store_copy.c)",
                     (int)(len > 128 ? 128 : len), name);
            r = -ERR_CONFLICT;
            break;
        }
    }
    finalize(src, s);
    return r < 0 ? r : 0;
}

/* ------------------------------------------------------------------ */
/* one page into the target                                           */

struct page_copy {
    const struct table_plan *plan;
    const struct page *src; /* the source's rows of (after, upper] */
    int64_t after, upper;
    struct page dst; /* scratch: the target's rows of the same range */
    int64_t copied, skipped;
    char *detail;
    size_t detail_size;
};

static int hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, HASH_BYTES);
}

/* Whether rows [a, a+n) and [b, b+n) hold the same multiset of rows. */
static bool same_rows(const struct row *a, const struct row *b, size_t n)
{
    if (n == 1)
        return memcmp(a->hash, b->hash, HASH_BYTES) == 0;
    unsigned char(*ha)[HASH_BYTES] = malloc(n * 2 * HASH_BYTES);
    if (!ha)
        return false;
    unsigned char(*hb)[HASH_BYTES] = ha + n;
    for (size_t i = 0; i < n; i++) {
        memcpy(ha[i], a[i].hash, HASH_BYTES);
        memcpy(hb[i], b[i].hash, HASH_BYTES);
    }
    qsort(ha, n, HASH_BYTES, hash_cmp);
    qsort(hb, n, HASH_BYTES, hash_cmp);
    bool same = memcmp(ha, hb, n * HASH_BYTES) == 0;
    free(ha);
    return same;
}

/* The end of the run of rows with the key of rows[i]. */
static size_t group_end(const struct page *pg, size_t i)
{
    size_t j = i + 1;
    while (j < pg->n && pg->rows[j].key == pg->rows[i].key)
        j++;
    return j;
}

static int
insert_rows(struct store_tx *tx, struct page_copy *pc, struct db_stmt *ins, size_t from, size_t to)
{
    const struct page *src = pc->src;
    for (size_t i = from; i < to; i++) {
        const struct row *row = &src->rows[i];
        const char *cur = src->data.p + row->off, *end = cur + row->len;
        for (int c = 0; c < pc->plan->ncols; c++) {
            const char *v;
            size_t n;
            if (decode_value(&cur, end, &v, &n) < 0)
                return -EPROTO;
            int r = db_bind_textn(tx, ins, c + 1, v, n);
            if (r < 0)
                return r;
        }
        int r = db_run(tx, ins);
        if (r == -ERR_CONFLICT)
            snprintf(pc->detail, pc->detail_size,
                     "table '%s': the row with %s %" PRId64
                     " collides with another row of the target (a unique column)",
                     pc->plan->t->name, pc->plan->t->key, row->key);
        if (r < 0)
            return r;
    }
    pc->copied += (int64_t)(to - from);
    return 0;
}

static int page_copy_fn(struct store_tx *tx, void *ctx)
{
    struct page_copy *pc = ctx;
    const struct table_plan *p = pc->plan;
    const char *t = p->t->name, *key = p->t->key;
    /* runs again after a serialization failure: outputs afresh */
    pc->copied = pc->skipped = 0;
    page_clear(&pc->dst);
    int r = read_rows(tx, p, pc->after, pc->upper, &pc->dst);
    if (r < 0)
        return r;
    struct db_stmt *ins = NULL;
    r = prepare(tx, p->sql_insert, &ins);
    if (r < 0)
        return r;
    const struct page *src = pc->src, *dst = &pc->dst;
    size_t i = 0, j = 0;
    while (r >= 0 && (i < src->n || j < dst->n)) {
        if (i == src->n || (j < dst->n && dst->rows[j].key < src->rows[i].key)) {
            snprintf(pc->detail, pc->detail_size,
                     "table '%s': the target has a row with %s %" PRId64
                     " that the source does not",
                     t, key, dst->rows[j].key);
            r = -ERR_CONFLICT;
            break;
        }
        size_t ie = group_end(src, i);
        if (j == dst->n || src->rows[i].key < dst->rows[j].key) {
            r = insert_rows(tx, pc, ins, i, ie);
            i = ie;
            continue;
        }
        size_t je = group_end(dst, j);
        if (ie - i != je - j || !same_rows(&src->rows[i], &dst->rows[j], ie - i)) {
            snprintf(pc->detail, pc->detail_size,
                     "table '%s': the row with %s %" PRId64
                     " differs between the source and the target",
                     t, key, src->rows[i].key);
            r = -ERR_CONFLICT;
            break;
        }
        pc->skipped += (int64_t)(ie - i);
        i = ie;
        j = je;
    }
    finalize(tx, ins);
    return r < 0 ? r : 0;
}

/* ------------------------------------------------------------------ */
/* the whole copy                                                      */

struct copy {
    const struct store_copy_options *opt;
    unsigned page_rows;
    struct store_tx *src;
    struct table_plan plans[NTABLES];
    size_t nplans;
    struct store_copy_report *report;
};

static void detail(struct store_copy_report *report, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void detail(struct store_copy_report *report, const char *fmt, ...)
{
    if (report->detail[0])
        return; /* the first, most precise reason stays */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(report->detail, sizeof(report->detail), fmt, ap);
    va_end(ap);
}

/* Before writing anything: refuse a target that has rows past the source's keys. */
static int preflight_fn(struct store_tx *tx, void *ctx)
{
    struct copy *cp = ctx;
    for (size_t i = 0; i < cp->nplans; i++) {
        const struct table_plan *p = &cp->plans[i];
        int64_t rows, max;
        int r = read_stats(tx, p, &rows, &max);
        if (r < 0) {
            detail(cp->report, "failed to read the target's table '%s': %s", p->t->name,
                   err_str(r));
            return r;
        }
        if (rows > 0 && (p->src_rows == 0 || max > p->src_max)) {
            detail(cp->report,
                   "table '%s': the target has rows the source does not (%s up to %" PRId64
                   ", the source's up to %" PRId64 "): refusing to merge into another database",
                   p->t->name, p->t->key, max, p->src_max);
            return -ERR_CONFLICT;
        }
    }
    return 0;
}

static int
copy_table(struct store *to, struct copy *cp, struct table_plan *p, struct store_copy_table *out)
{
    struct page src;
    page_init(&src);
    struct page_copy pc = {
        .plan = p,
        .src = &src,
        .detail = cp->report->detail,
        .detail_size = sizeof(cp->report->detail),
    };
    page_init(&pc.dst);
    int64_t after = INT64_MIN, upper = INT64_MIN, done = 0;
    int r = 0;
    while (upper != INT64_MAX) {
        page_clear(&src);
        if ((r = read_upper(cp->src, p, after, cp->page_rows, &upper)) < 0 ||
            (r = read_rows(cp->src, p, after, upper, &src)) < 0) {
            detail(cp->report, "failed to read the source's table '%s': %s", p->t->name,
                   err_str(r));
            break;
        }
        if (src.n == 0)
            break;
        for (size_t i = 0; i < src.n; i++)
            sum_add(p->sum, src.rows[i].hash);
        pc.after = after;
        pc.upper = upper;
        r = store_write(to, page_copy_fn, &pc);
        if (r < 0) {
            detail(cp->report, "failed to write table '%s' into the target: %s", p->t->name,
                   err_str(r));
            break;
        }
        out->copied += pc.copied;
        out->skipped += pc.skipped;
        done += (int64_t)src.n;
        if (cp->opt && cp->opt->progress)
            cp->opt->progress(cp->opt->progress_ctx, p->t->name, done, p->src_rows);
        after = upper;
    }
    page_release(&src);
    page_release(&pc.dst);
    if (r < 0)
        return r;
    if (done != p->src_rows) {
        detail(cp->report, "table '%s': read %" PRId64 " rows of %" PRId64, p->t->name, done,
               p->src_rows);
        return -ERR_STORE;
    }
    out->rows = done;
    sum_hex(p->sum, out->checksum);
    return 0;
}

static int sequences_fn(struct store_tx *tx, void *ctx)
{
    struct copy *cp = ctx;
    if (!tx->conn->ops->postgres)
        return 0; /* SQLite's INTEGER PRIMARY KEY continues after max(rowid) by itself */
    for (size_t i = 0; i < cp->nplans; i++) {
        const struct copy_table *t = cp->plans[i].t;
        /* NULL for a column without a sequence: setval() is strict, nothing happens */
        char *sql = sqlf("SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX(\"%s\"), 1),"
                         " MAX(\"%s\") IS NOT NULL) FROM \"%s\"",
                         t->key, t->key, t->name);
        if (!sql)
            return -ENOMEM;
        struct db_stmt *s;
        int r = prepare(tx, sql, &s);
        free(sql);
        if (r < 0)
            return r;
        db_bind_text(tx, s, 1, t->name);
        db_bind_text(tx, s, 2, t->key);
        r = db_step(tx, s);
        finalize(tx, s);
        if (r < 0) {
            detail(cp->report, "failed to reset the target's sequence of '%s': %s", t->name,
                   err_str(r));
            return r;
        }
    }
    return 0;
}

static int verify(struct store *to, struct copy *cp)
{
    struct store_tx *tx;
    int r = store_read_begin(to, &tx);
    if (r < 0) {
        detail(cp->report, "failed to read the target: %s", err_str(r));
        return r;
    }
    cp->report->verified = true;
    for (size_t i = 0; i < cp->nplans; i++) {
        const struct table_plan *p = &cp->plans[i];
        int64_t rows;
        unsigned char sum[HASH_BYTES];
        r = table_digest(tx, p, cp->page_rows, &rows, sum);
        if (r < 0) {
            detail(cp->report, "failed to read the target's table '%s': %s", p->t->name,
                   err_str(r));
            break;
        }
        if (rows != p->src_rows || memcmp(sum, p->sum, HASH_BYTES) != 0) {
            char hex[2 * HASH_BYTES + 1];
            sum_hex(sum, hex);
            detail(cp->report,
                   "table '%s': the source has %" PRId64 " rows (checksum %s), the target %" PRId64
                   " (checksum %s)",
                   p->t->name, p->src_rows, cp->report->tables[i].checksum, rows, hex);
            cp->report->verified = false;
        }
    }
    store_read_end(tx);
    if (r < 0)
        cp->report->verified = false;
    return r;
}

int store_copy(struct store *from,
               struct store *to,
               const struct store_copy_options *opt,
               struct store_copy_report *report)
{
    memset(report, 0, sizeof(*report));
    if (sodium_init() < 0)
        return -ENOMEM;
    struct copy cp = {
        .opt = opt,
        .page_rows = opt && opt->page_rows ? opt->page_rows : PAGE_ROWS_DEFAULT,
        .report = report,
    };
    _Static_assert(NTABLES <= STORE_COPY_MAX_TABLES, "STORE_COPY_MAX_TABLES too small");

    /* one snapshot of the source for everything */
    int r = store_read_begin(from, &cp.src);
    if (r < 0) {
        detail(report, "failed to read the source: %s", err_str(r));
        return r;
    }
    r = check_source_tables(cp.src, report);
    for (size_t i = 0; r >= 0 && i < NTABLES; i++) {
        struct table_plan *p = &cp.plans[i];
        r = plan_make(cp.src, &copy_tables[i], p);
        if (r >= 0) {
            cp.nplans++;
            r = read_stats(cp.src, p, &p->src_rows, &p->src_max);
        }
        if (r < 0)
            detail(report, "failed to read the source's table '%s': %s", copy_tables[i].name,
                   err_str(r));
        report->tables[i].name = copy_tables[i].name;
        report->ntables = i + 1;
    }
    if (r >= 0) {
        r = store_read(to, preflight_fn, &cp);
        if (r < 0)
            detail(report, "failed to read the target: %s", err_str(r));
    }
    for (size_t i = 0; r >= 0 && i < cp.nplans; i++)
        r = copy_table(to, &cp, &cp.plans[i], &report->tables[i]);
    store_read_end(cp.src);
    if (r >= 0) {
        r = store_write(to, sequences_fn, &cp);
        if (r < 0)
            detail(report, "failed to reset the target's sequences: %s", err_str(r));
    }
    if (r >= 0)
        r = verify(to, &cp);
    for (size_t i = 0; i < cp.nplans; i++)
        plan_release(&cp.plans[i]);
    return r < 0 ? r : 0;
}
