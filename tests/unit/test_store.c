/*
 * Unit tests for src/store against the SQLite backend.
 *
 * Every test opens a fresh store in its own mkdtemp() directory. Units of
 * work are small `fn(tx, ctx)` callbacks; what they found is left in their
 * ctx for the test to check afterwards.
 *
 * The public API has no call to change a task's state or to add an
 * annotation yet (the queue module will); the few tests that need them use
 * the backend's exec() through store_int.h, marked "test-only SQL".
 */
/* cmocka needs these before it, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "store/store.h"
#include "store/store_int.h"

#define T0 1795896000000LL /* 2026-11-28T20:00:00.000Z */

/* ------------------------------------------------------------------------ */
/* Fixture                                                                  */
/* ------------------------------------------------------------------------ */

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
};

static struct store *open_path(const char *path)
{
    struct store_options opt = { .url = path };
    struct store *st = NULL;

    int r = store_open(&opt, &st);
    if (r < 0)
        fail_msg("store_open('%s'): %d", path, r);
    assert_non_null(st);
    return st;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    strcpy(f->dir, "/tmp/annotd-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/annotd.db", f->dir);
    f->st = open_path(f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[512];

    store_close(f->st);
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* test-only SQL: run statements on the tx's connection */
static int exec_sql(struct store_tx *tx, void *ctx)
{
    const char *const *sql = ctx;
    return tx->conn->ops->exec(tx->conn, *sql);
}

static int write_sql(struct store *st, const char *sql)
{
    return store_write(st, exec_sql, &sql);
}

struct scalar {
    const char *sql;
    int64_t value;
};

/* test-only SQL: one integer from a query */
static int scalar_fn(struct store_tx *tx, void *ctx)
{
    struct scalar *q = ctx;
    struct db_stmt *s;
    int r = tx->conn->ops->prepare(tx->conn, q->sql, &s);
    if (r < 0)
        return r;
    r = tx->conn->ops->step(s);
    if (r == 1)
        q->value = tx->conn->ops->col_int64(s, 0);
    tx->conn->ops->finalize(s);
    return r == 1 ? 0 : r < 0 ? r : -ENOENT;
}

static int64_t query_int(struct store *st, const char *sql)
{
    struct scalar q = { .sql = sql, .value = -1 };
    int r = store_read(st, scalar_fn, &q);
    if (r < 0)
        fail_msg("query '%s': %d", sql, r);
    return q.value;
}

/* The world most tests start from: two orgs, a user and a project in each. */
struct world {
    int64_t org_a, org_b;
    int64_t user_a, user_b;
    int64_t project_a, project_b;
};

static int world_fn(struct store_tx *tx, void *ctx)
{
    struct world *w = ctx;
    int r;

    if ((r = store_org_create(tx, "acme", T0, &w->org_a)) < 0)
        return r;
    if ((r = store_org_create(tx, "globex", T0 + 1, &w->org_b)) < 0)
        return r;
    struct store_user u = { .org_id = w->org_a,
                            .login = "alice",
                            .name = "Alice A.",
                            .role = "owner",
                            .is_admin = true,
                            .password_hash = "$argon2id$alice",
                            .created_at = T0 + 2 };
    if ((r = store_user_create(tx, &u, &w->user_a)) < 0)
        return r;
    u = (struct store_user){ .org_id = w->org_b,
                             .login = "bob",
                             .name = "Bob B.",
                             .role = "annotator",
                             .password_hash = "$argon2id$bob",
                             .created_at = T0 + 3 };
    if ((r = store_user_create(tx, &u, &w->user_b)) < 0)
        return r;
    struct store_project p = { .org_id = w->org_a,
                               .name = "cats",
                               .kind = "image",
                               .config = "{\"labels\":[\"cat\"]}",
                               .overlap = 2,
                               .lease_seconds = 600,
                               .created_by = w->user_a,
                               .created_at = T0 + 4 };
    if ((r = store_project_create(tx, &p, &w->project_a)) < 0)
        return r;
    p = (struct store_project){ .org_id = w->org_b,
                                .name = "dogs",
                                .kind = "text",
                                .config = "{}",
                                .overlap = 1,
                                .lease_seconds = 60,
                                .created_by = 0, /* none: SQL NULL */
                                .created_at = T0 + 5 };
    return store_project_create(tx, &p, &w->project_b);
}

static void make_world(struct store *st, struct world *w)
{
    memset(w, 0, sizeof(*w));
    assert_int_equal(store_write(st, world_fn, w), 0);
    assert_true(w->org_a > 0 && w->org_b > 0 && w->org_a != w->org_b);
    assert_true(w->user_a > 0 && w->user_b > 0);
    assert_true(w->project_a > 0 && w->project_b > 0);
}

/* Insert tasks "<prefix><i>" for i in [from, to) with data {"i":i}. */
struct insert_tasks {
    int64_t project;
    const char *prefix; /* NULL: no key */
    int from, to;
    int created;
};

static int insert_tasks_fn(struct store_tx *tx, void *ctx)
{
    struct insert_tasks *it = ctx;
    char key[64], data[64];

    it->created = 0;
    int64_t last = 0;
    for (int i = it->from; i < it->to; i++) {
        int64_t id = 0;
        snprintf(key, sizeof(key), "%s%d", it->prefix ? it->prefix : "", i);
        int n = snprintf(data, sizeof(data), "{\"i\":%d}", i);
        int r = store_task_insert(tx, it->project, 1, it->prefix ? key : NULL,
                                  (struct str){ .p = data, .len = (size_t)n }, i % 5, T0 + i, &id);
        if (r < 0)
            return r;
        it->created += r;
        last = id;
    }
    return store_project_add_tasks(tx, it->project, last, it->created);
}

static void insert_tasks(struct store *st, int64_t project, const char *prefix, int from, int to)
{
    struct insert_tasks it = { .project = project, .prefix = prefix, .from = from, .to = to };
    assert_int_equal(store_write(st, insert_tasks_fn, &it), 0);
    assert_int_equal(it.created, to - from);
}

/* ------------------------------------------------------------------------ */
/* open, migrate, transactions                                              */
/* ------------------------------------------------------------------------ */

static int count_users_fn(struct store_tx *tx, void *ctx)
{
    return store_user_count(tx, ctx);
}

static void test_open_and_migrate(void **state)
{
    struct fixture *f = *state;
    int64_t n = -1;

    assert_string_equal(store_backend(f->st), "sqlite");
    assert_int_equal(store_read(f->st, count_users_fn, &n), 0);
    assert_int_equal(n, 0);
    /* every migration recorded once */
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM schema_version"),
                     (int64_t)store_migrations_count);
    assert_int_equal(query_int(f->st, "SELECT MAX(version) FROM schema_version"),
                     store_migrations[store_migrations_count - 1].version);

    /* re-open: idempotent, data kept */
    struct world w;
    make_world(f->st, &w);
    for (int i = 0; i < 2; i++) {
        store_close(f->st);
        f->st = open_path(f->path);
        assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM schema_version"),
                         (int64_t)store_migrations_count);
        assert_int_equal(store_read(f->st, count_users_fn, &n), 0);
        assert_int_equal(n, 2);
    }

    /* the "sqlite:" prefix names the same file */
    char url[160];
    snprintf(url, sizeof(url), "sqlite:%s", f->path);
    store_close(f->st);
    f->st = open_path(url);
    assert_int_equal(store_read(f->st, count_users_fn, &n), 0);
    assert_int_equal(n, 2);
}

static void test_open_errors(void **state)
{
    struct fixture *f = *state;
    struct store *st = (struct store *)0x1;
    struct store_options opt = { .url = "" };
    char path[256];

    assert_int_equal(store_open(&opt, &st), -EINVAL);
    opt.url = NULL;
    assert_int_equal(store_open(&opt, &st), -EINVAL);
    snprintf(path, sizeof(path), "%s/no/such/dir/x.db", f->dir);
    opt.url = path;
    assert_int_equal(store_open(&opt, &st), -ERR_UNAVAILABLE);
#ifndef HAVE_LIBPQ
    opt.url = "postgresql://localhost/annotd";
    assert_int_equal(store_open(&opt, &st), -ENOTSUP);
#endif
    assert_ptr_equal(st, (struct store *)0x1); /* untouched on failure */
    store_close(NULL);                         /* NULL is fine */
}

static int return_ctx_fn(struct store_tx *tx, void *ctx)
{
    (void)tx;
    return (int)(intptr_t)ctx;
}

static int create_org_fn(struct store_tx *tx, void *ctx)
{
    int64_t id;
    return store_org_create(tx, ctx, T0, &id);
}

static void test_results_pass_through(void **state)
{
    struct fixture *f = *state;

    /* fn's value comes back from both kinds of transaction */
    assert_int_equal(store_read(f->st, return_ctx_fn, (void *)(intptr_t)7), 7);
    assert_int_equal(store_read(f->st, return_ctx_fn, (void *)(intptr_t)-ENOENT), -ENOENT);
    assert_int_equal(store_write(f->st, return_ctx_fn, (void *)(intptr_t)5), 5);
    assert_int_equal(store_write(f->st, return_ctx_fn, (void *)(intptr_t)-EPERM), -EPERM);

    /* a read transaction cannot write */
    assert_true(store_read(f->st, create_org_fn, (char[]){ "sneaky" }) < 0);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM orgs"), 0);
}

/* ------------------------------------------------------------------------ */
/* orgs and users                                                           */
/* ------------------------------------------------------------------------ */

struct org_check {
    struct world *w;
    struct arena a;
};

static int org_check_fn(struct store_tx *tx, void *ctx)
{
    struct org_check *c = ctx;
    struct store_org o = { .id = -1 };
    struct store_org *list;
    int n;

    assert_int_equal(store_org_get(tx, c->w->org_a, &c->a, &o), 0);
    assert_int_equal(o.id, c->w->org_a);
    assert_string_equal(o.name, "acme");
    assert_int_equal(o.created_at, T0);
    o.id = -1;
    assert_int_equal(store_org_get(tx, 999999, &c->a, &o), -ERR_NOT_FOUND);
    assert_int_equal(o.id, -1);

    assert_int_equal(store_org_list(tx, 0, 10, &c->a, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "acme");
    assert_string_equal(list[1].name, "globex");
    assert_int_equal(store_org_list(tx, 0, 1, &c->a, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_org_list(tx, list[0].id, 1, &c->a, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "globex");
    assert_int_equal(store_org_list(tx, list[0].id, 10, &c->a, &list, &n), 0);
    assert_int_equal(n, 0);
    return 0;
}

static void test_orgs(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct org_check c = { .w = &w };

    make_world(f->st, &w);
    /* names are unique */
    assert_int_equal(store_write(f->st, create_org_fn, (char[]){ "acme" }), -ERR_CONFLICT);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM orgs"), 2);
    arena_init(&c.a, 0);
    assert_int_equal(store_read(f->st, org_check_fn, &c), 0);
    arena_free(&c.a);
}

struct user_check {
    struct world *w;
    struct arena a;
};

static int user_dup_fn(struct store_tx *tx, void *ctx)
{
    struct world *w = ctx;
    struct store_user u = { .org_id = w->org_b,
                            .login = "alice", /* taken in org a: logins are global */
                            .name = "Other Alice",
                            .role = "annotator",
                            .password_hash = "x",
                            .created_at = T0 };
    int64_t id = -1;
    int r = store_user_create(tx, &u, &id);
    assert_int_equal(id, -1);
    return r;
}

static int user_bad_org_fn(struct store_tx *tx, void *ctx)
{
    struct store_user u = {
        .org_id = 424242, .login = "ghost", .name = "G", .role = "owner", .password_hash = "x"
    };
    int64_t id;
    (void)ctx;
    return store_user_create(tx, &u, &id);
}

static int user_more_fn(struct store_tx *tx, void *ctx)
{
    struct world *w = ctx;
    char login[32];

    for (int i = 0; i < 5; i++) {
        snprintf(login, sizeof(login), "user%d", i);
        struct store_user u = { .org_id = w->org_a,
                                .login = login,
                                .name = "Someone",
                                .role = "annotator",
                                .password_hash = "h",
                                .created_at = T0 + 10 + i };
        int64_t id;
        int r = store_user_create(tx, &u, &id);
        if (r < 0)
            return r;
    }
    return store_user_set_login_state(tx, w->user_b, 3, T0 + 60000);
}

static int user_check_fn(struct store_tx *tx, void *ctx)
{
    struct user_check *c = ctx;
    struct world *w = c->w;
    struct store_user u = { .id = -1 };
    struct store_user *list;
    int n;

    /* by id, scoped */
    assert_int_equal(store_user_get(tx, w->org_a, w->user_a, &c->a, &u), 0);
    assert_int_equal(u.id, w->user_a);
    assert_int_equal(u.org_id, w->org_a);
    assert_string_equal(u.org_name, "acme");
    assert_string_equal(u.login, "alice");
    assert_string_equal(u.name, "Alice A.");
    assert_string_equal(u.role, "owner");
    assert_true(u.is_admin);
    assert_string_equal(u.password_hash, "$argon2id$alice");
    assert_int_equal(u.failed_logins, 0);
    assert_int_equal(u.locked_until, 0);
    assert_int_equal(u.created_at, T0 + 2);
    u.id = -1;
    assert_int_equal(store_user_get(tx, w->org_b, w->user_a, &c->a, &u), -ERR_NOT_FOUND);
    assert_int_equal(u.id, -1);
    assert_int_equal(store_user_get(tx, 0, w->user_b, &c->a, &u), 0);
    assert_string_equal(u.login, "bob");
    assert_false(u.is_admin);
    assert_int_equal(u.failed_logins, 3);
    assert_int_equal(u.locked_until, T0 + 60000);
    assert_int_equal(store_user_get(tx, 0, 999999, &c->a, &u), -ERR_NOT_FOUND);

    /* by login */
    assert_int_equal(store_user_by_login(tx, "bob", &c->a, &u), 0);
    assert_int_equal(u.id, w->user_b);
    assert_string_equal(u.org_name, "globex");
    assert_int_equal(store_user_by_login(tx, "Bob", &c->a, &u), -ERR_NOT_FOUND);
    assert_int_equal(store_user_by_login(tx, "nobody", &c->a, &u), -ERR_NOT_FOUND);

    /* the admin */
    assert_int_equal(store_user_admin(tx, &c->a, &u), 0);
    assert_int_equal(u.id, w->user_a);

    /* lists are per org, in id order, paged by `after` */
    assert_int_equal(store_user_list(tx, w->org_a, 0, 100, &c->a, &list, &n), 0);
    assert_int_equal(n, 6);
    for (int i = 1; i < n; i++) {
        assert_true(list[i].id > list[i - 1].id);
        assert_int_equal(list[i].org_id, w->org_a);
    }
    int64_t after = 0;
    int total = 0, pages = 0;
    do {
        assert_int_equal(store_user_list(tx, w->org_a, after, 4, &c->a, &list, &n), 0);
        assert_true(n <= 4);
        if (n)
            after = list[n - 1].id;
        total += n;
        pages++;
    } while (n == 4);
    assert_int_equal(total, 6);
    assert_int_equal(pages, 2);
    assert_int_equal(store_user_list(tx, w->org_b, 0, 100, &c->a, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].login, "bob");

    int64_t count = 0;
    assert_int_equal(store_user_count(tx, &count), 0);
    assert_int_equal(count, 7);
    return 0;
}

static void test_users(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct user_check c = { .w = &w };

    make_world(f->st, &w);
    assert_int_equal(store_write(f->st, user_dup_fn, &w), -ERR_CONFLICT);
    assert_true(store_write(f->st, user_bad_org_fn, NULL) < 0); /* foreign key */
    assert_int_equal(store_write(f->st, user_more_fn, &w), 0);
    arena_init(&c.a, 0);
    assert_int_equal(store_read(f->st, user_check_fn, &c), 0);
    arena_free(&c.a);
}

static int no_admin_fn(struct store_tx *tx, void *ctx)
{
    struct store_user u;
    return store_user_admin(tx, ctx, &u);
}

static void test_user_admin_absent(void **state)
{
    struct fixture *f = *state;
    struct arena a;

    arena_init(&a, 0);
    assert_int_equal(store_read(f->st, no_admin_fn, &a), -ERR_NOT_FOUND);
    arena_free(&a);
}

/* ------------------------------------------------------------------------ */
/* tokens                                                                   */
/* ------------------------------------------------------------------------ */

struct tokens {
    struct world *w;
    int64_t forever, later, expired, api, other_user;
    struct arena a;
};

static int token_make_fn(struct store_tx *tx, void *ctx)
{
    struct tokens *t = ctx;
    struct store_token tok = { .user_id = t->w->user_a,
                               .kind = "session",
                               .csrf_hash = "csrf-a",
                               .created_at = T0,
                               .expires_at = 0 };
    int r;

    if ((r = store_token_create(tx, &tok, "hash-forever", &t->forever)) < 0)
        return r;
    tok.expires_at = T0 + 1000;
    if ((r = store_token_create(tx, &tok, "hash-later", &t->later)) < 0)
        return r;
    tok.expires_at = T0 - 1;
    if ((r = store_token_create(tx, &tok, "hash-expired", &t->expired)) < 0)
        return r;
    tok = (struct store_token){
        .user_id = t->w->user_a, .kind = "api", .name = "ci", .created_at = T0 + 1
    };
    if ((r = store_token_create(tx, &tok, "hash-api", &t->api)) < 0)
        return r;
    tok = (struct store_token){ .user_id = t->w->user_b, .kind = "session", .created_at = T0 };
    return store_token_create(tx, &tok, "hash-bob", &t->other_user);
}

static int token_dup_fn(struct store_tx *tx, void *ctx)
{
    struct tokens *t = ctx;
    struct store_token tok = { .user_id = t->w->user_b, .kind = "api", .created_at = T0 };
    int64_t id;
    return store_token_create(tx, &tok, "hash-api", &id);
}

static int token_lookup_fn(struct store_tx *tx, void *ctx)
{
    struct tokens *t = ctx;
    struct store_token tok = { .id = -1 };
    struct store_user u = { .id = -1 };

    assert_int_equal(store_token_lookup(tx, "hash-forever", T0 + 999999999, &t->a, &tok, &u), 0);
    assert_int_equal(tok.id, t->forever);
    assert_int_equal(tok.user_id, t->w->user_a);
    assert_string_equal(tok.kind, "session");
    assert_string_equal(tok.name, "");
    assert_string_equal(tok.csrf_hash, "csrf-a");
    assert_int_equal(tok.created_at, T0);
    assert_int_equal(tok.expires_at, 0);
    assert_int_equal(u.id, t->w->user_a);
    assert_string_equal(u.login, "alice");
    assert_string_equal(u.org_name, "acme");
    assert_string_equal(u.role, "owner");
    assert_true(u.is_admin);

    /* expiry is exclusive: live strictly before expires_at */
    assert_int_equal(store_token_lookup(tx, "hash-later", T0, &t->a, &tok, &u), 0);
    assert_int_equal(tok.id, t->later);
    assert_int_equal(tok.expires_at, T0 + 1000);
    assert_int_equal(store_token_lookup(tx, "hash-later", T0 + 999, &t->a, &tok, &u), 0);
    tok.id = u.id = -1;
    assert_int_equal(store_token_lookup(tx, "hash-later", T0 + 1000, &t->a, &tok, &u),
                     -ERR_NOT_FOUND);
    assert_int_equal(store_token_lookup(tx, "hash-expired", T0, &t->a, &tok, &u), -ERR_NOT_FOUND);
    assert_int_equal(store_token_lookup(tx, "hash-expired", T0 - 2, &t->a, &tok, &u), 0);
    tok.id = u.id = -1;
    assert_int_equal(store_token_lookup(tx, "nope", T0, &t->a, &tok, &u), -ERR_NOT_FOUND);
    assert_int_equal(tok.id, -1);
    assert_int_equal(u.id, -1);

    assert_int_equal(store_token_lookup(tx, "hash-api", T0, &t->a, &tok, &u), 0);
    assert_string_equal(tok.kind, "api");
    assert_string_equal(tok.name, "ci");
    assert_int_equal(store_token_lookup(tx, "hash-bob", T0, &t->a, &tok, &u), 0);
    assert_string_equal(u.login, "bob");
    assert_string_equal(u.org_name, "globex");

    struct store_token *list;
    int n;
    assert_int_equal(store_token_list(tx, t->w->user_a, "session", &t->a, &list, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].id, t->forever);
    assert_int_equal(list[1].id, t->later);
    assert_int_equal(list[2].id, t->expired);
    assert_int_equal(store_token_list(tx, t->w->user_a, "api", &t->a, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "ci");
    assert_int_equal(store_token_list(tx, t->w->user_b, "api", &t->a, &list, &n), 0);
    assert_int_equal(n, 0);
    return 0;
}

static int token_delete_fn(struct store_tx *tx, void *ctx)
{
    struct tokens *t = ctx;

    /* not bob's token: refused, kept */
    assert_int_equal(store_token_delete(tx, t->w->user_b, t->api), -ERR_NOT_FOUND);
    assert_int_equal(store_token_delete(tx, t->w->user_a, t->api), 0);
    assert_int_equal(store_token_delete(tx, t->w->user_a, t->api), -ERR_NOT_FOUND);
    /* user 0: any user */
    assert_int_equal(store_token_delete(tx, 0, t->other_user), 0);
    assert_int_equal(store_token_delete(tx, 0, 999999), -ERR_NOT_FOUND);
    /* purge removes what expired by `now` and keeps the rest */
    assert_int_equal(store_token_purge(tx, T0), 0);
    return 0;
}

static int token_delete_named_fn(struct store_tx *tx, void *ctx)
{
    const char *const *kind_name = ctx;
    return store_token_delete_named(tx, kind_name[0], kind_name[1]);
}

static void test_tokens(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct tokens t = { .w = &w };

    make_world(f->st, &w);
    arena_init(&t.a, 0);
    assert_int_equal(store_write(f->st, token_make_fn, &t), 0);
    assert_int_equal(store_write(f->st, token_dup_fn, &t), -ERR_CONFLICT);
    assert_int_equal(store_read(f->st, token_lookup_fn, &t), 0);
    assert_int_equal(store_write(f->st, token_delete_fn, &t), 0);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tokens"), 2);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tokens WHERE hash = 'hash-expired'"),
                     0);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tokens WHERE hash = 'hash-later'"), 1);
    /* delete by kind and name: the api token "ci" is neither */
    struct tokens t2 = { .w = &w };
    assert_int_equal(write_sql(f->st, "DELETE FROM tokens"), 0);
    assert_int_equal(store_write(f->st, token_make_fn, &t2), 0);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tokens"), 5);
    const char *api_other[] = { "api", "other" };
    assert_int_equal(store_write(f->st, token_delete_named_fn, api_other), 0);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tokens"), 5);
    const char *sessions[] = { "session", "" };
    assert_int_equal(store_write(f->st, token_delete_named_fn, sessions), 0);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tokens"), 1);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tokens WHERE kind = 'api'"), 1);
    arena_free(&t.a);
}

/* ------------------------------------------------------------------------ */
/* projects and tasks                                                       */
/* ------------------------------------------------------------------------ */

struct proj_check {
    struct world *w;
    struct arena a;
};

static int project_check_fn(struct store_tx *tx, void *ctx)
{
    struct proj_check *c = ctx;
    struct world *w = c->w;
    struct store_project p = { .id = -1 };
    struct store_project *list;
    int n;

    assert_int_equal(store_project_get(tx, w->org_a, w->project_a, &c->a, &p), 0);
    assert_int_equal(p.id, w->project_a);
    assert_int_equal(p.org_id, w->org_a);
    assert_string_equal(p.name, "cats");
    assert_string_equal(p.kind, "image");
    assert_string_equal(p.config, "{\"labels\":[\"cat\"]}");
    assert_int_equal(p.overlap, 2);
    assert_int_equal(p.lease_seconds, 600);
    assert_int_equal(p.created_by, w->user_a);
    assert_int_equal(p.created_at, T0 + 4);
    assert_int_equal(p.n_tasks, 3);
    assert_int_equal(p.n_in_progress, 0);
    assert_int_equal(p.n_done, 0);

    /* another org's project does not exist for us */
    p.id = -1;
    assert_int_equal(store_project_get(tx, w->org_b, w->project_a, &c->a, &p), -ERR_NOT_FOUND);
    assert_int_equal(p.id, -1);
    assert_int_equal(store_project_get(tx, w->org_a, w->project_b, &c->a, &p), -ERR_NOT_FOUND);
    assert_int_equal(store_project_get(tx, w->org_a, 999999, &c->a, &p), -ERR_NOT_FOUND);
    /* org 0: any */
    assert_int_equal(store_project_get(tx, 0, w->project_b, &c->a, &p), 0);
    assert_string_equal(p.name, "dogs");
    assert_int_equal(p.created_by, 0); /* NULL reads as 0 */
    assert_int_equal(p.n_tasks, 0);

    assert_int_equal(store_project_list(tx, w->org_a, 0, 10, &c->a, &list, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(list[0].name, "cats");
    for (int i = 0; i < n; i++)
        assert_int_equal(list[i].org_id, w->org_a);
    assert_int_equal(store_project_list(tx, w->org_a, list[1].id, 2, &c->a, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "p1");
    assert_string_equal(list[1].name, "p2");
    assert_int_equal(store_project_list(tx, w->org_a, list[1].id, 2, &c->a, &list, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_project_list(tx, w->org_b, 0, 10, &c->a, &list, &n), 0);
    assert_int_equal(n, 1);
    return 0;
}

static int more_projects_fn(struct store_tx *tx, void *ctx)
{
    struct world *w = ctx;
    char name[16];

    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "p%d", i);
        struct store_project p = { .org_id = w->org_a,
                                   .name = name,
                                   .kind = "image",
                                   .config = "{}",
                                   .overlap = 1,
                                   .lease_seconds = 1,
                                   .created_at = T0 };
        int64_t id;
        int r = store_project_create(tx, &p, &id);
        if (r < 0)
            return r;
    }
    return 0;
}

static void test_projects(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct proj_check c = { .w = &w };

    make_world(f->st, &w);
    assert_int_equal(store_write(f->st, more_projects_fn, &w), 0);
    insert_tasks(f->st, w.project_a, "k", 0, 3);
    arena_init(&c.a, 0);
    assert_int_equal(store_read(f->st, project_check_fn, &c), 0);
    arena_free(&c.a);
}

struct task_ins {
    struct world *w;
    int64_t id1, id1_again, nokey1, nokey2, other_project;
    int r1, r1_again, r_nokey1, r_nokey2, r_other;
};

static int task_insert_fn(struct store_tx *tx, void *ctx)
{
    struct task_ins *t = ctx;
    struct str data = STR_LIT("{\"image\":\"a.jpg\"}");
    struct str data2 = STR_LIT("{\"image\":\"CHANGED.jpg\"}");

    t->r1 = store_task_insert(tx, t->w->project_a, 2, "k1", data, 7, T0, &t->id1);
    t->id1_again = -1;
    t->r1_again = store_task_insert(tx, t->w->project_a, 2, "k1", data2, 9, T0 + 1, &t->id1_again);
    t->r_nokey1 = store_task_insert(tx, t->w->project_a, 2, NULL, data, 0, T0, &t->nokey1);
    t->r_nokey2 = store_task_insert(tx, t->w->project_a, 2, NULL, data, 0, T0, &t->nokey2);
    t->r_other = store_task_insert(tx, t->w->project_b, 1, "k1", data, 0, T0, &t->other_project);
    return 0;
}

static int task_insert_again_fn(struct store_tx *tx, void *ctx)
{
    struct task_ins *t = ctx;
    int64_t id = -1;
    int r = store_task_insert(tx, t->w->project_a, 2, "k1", STR_LIT("{}"), 0, T0, &id);
    assert_int_equal(id, t->id1);
    return r;
}

struct task_get {
    struct task_ins *ins;
    struct arena a;
};

static int task_get_fn(struct store_tx *tx, void *ctx)
{
    struct task_get *g = ctx;
    struct task_ins *t = g->ins;
    struct store_task task = { .id = -1 };

    assert_int_equal(store_task_get(tx, t->w->org_a, t->id1, &g->a, &task), 0);
    assert_int_equal(task.id, t->id1);
    assert_int_equal(task.project_id, t->w->project_a);
    assert_string_equal(task.key, "k1");
    assert_string_equal(task.data, "{\"image\":\"a.jpg\"}"); /* the first insert wins */
    assert_int_equal(task.priority, 7);
    assert_int_equal(task.state, TASK_OPEN);
    assert_int_equal(task.n_leased, 0);
    assert_int_equal(task.n_submitted, 0);
    assert_int_equal(task.created_at, T0);

    assert_int_equal(store_task_get(tx, 0, t->nokey1, &g->a, &task), 0);
    assert_null(task.key);

    /* org scoping through the project */
    task.id = -1;
    assert_int_equal(store_task_get(tx, t->w->org_b, t->id1, &g->a, &task), -ERR_NOT_FOUND);
    assert_int_equal(task.id, -1);
    assert_int_equal(store_task_get(tx, t->w->org_a, t->other_project, &g->a, &task),
                     -ERR_NOT_FOUND);
    assert_int_equal(store_task_get(tx, t->w->org_b, t->other_project, &g->a, &task), 0);
    assert_int_equal(store_task_get(tx, 0, 999999, &g->a, &task), -ERR_NOT_FOUND);
    return 0;
}

static void test_task_insert_idempotent(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct task_ins t = { .w = &w };
    struct task_get g = { .ins = &t };

    make_world(f->st, &w);
    assert_int_equal(store_write(f->st, task_insert_fn, &t), 0);
    assert_int_equal(t.r1, 1);
    assert_true(t.id1 > 0);
    assert_int_equal(t.r1_again, 0);
    assert_int_equal(t.id1_again, t.id1);
    /* tasks without a key never collide */
    assert_int_equal(t.r_nokey1, 1);
    assert_int_equal(t.r_nokey2, 1);
    assert_true(t.nokey1 != t.nokey2);
    /* keys are per project */
    assert_int_equal(t.r_other, 1);
    assert_true(t.other_project != t.id1);
    /* and across transactions */
    assert_int_equal(store_write(f->st, task_insert_again_fn, &t), 0);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tasks"), 4);
    /* open_slots starts at the overlap */
    assert_int_equal(query_int(f->st, "SELECT open_slots FROM tasks WHERE key = 'k1' AND "
                                      "project_id = (SELECT MIN(id) FROM projects)"),
                     2);

    arena_init(&g.a, 0);
    assert_int_equal(store_read(f->st, task_get_fn, &g), 0);
    arena_free(&g.a);
}

struct task_page {
    int64_t project;
    int state;
    int64_t after;
    int limit;
    struct store_task *items;
    int n;
    struct arena a;
};

static int task_page_fn(struct store_tx *tx, void *ctx)
{
    struct task_page *p = ctx;
    return store_task_list(tx, p->project, p->state, p->after, p->limit, &p->a, &p->items, &p->n);
}

/* Page through every task of `state` and check ids ascend; returns the count. */
static int list_all(struct store *st, int64_t project, int state, int limit, int *ret_pages)
{
    struct task_page p = { .project = project, .state = state, .limit = limit };
    int total = 0, pages = 0;
    int64_t last = 0;

    arena_init(&p.a, 0);
    for (;;) {
        assert_int_equal(store_read(st, task_page_fn, &p), 0);
        assert_true(p.n <= limit);
        for (int i = 0; i < p.n; i++) {
            assert_true(p.items[i].id > last);
            assert_int_equal(p.items[i].project_id, project);
            if (state >= 0)
                assert_int_equal(p.items[i].state, state);
            last = p.items[i].id;
        }
        total += p.n;
        pages++;
        if (p.n < limit)
            break;
        p.after = last;
        arena_free(&p.a);
    }
    arena_free(&p.a);
    if (ret_pages)
        *ret_pages = pages;
    return total;
}

static void test_task_list(void **state)
{
    struct fixture *f = *state;
    struct world w;
    int pages;

    make_world(f->st, &w);
    insert_tasks(f->st, w.project_a, "t", 0, 25);
    insert_tasks(f->st, w.project_b, "t", 0, 4);

    assert_int_equal(list_all(f->st, w.project_a, -1, 10, &pages), 25);
    assert_int_equal(pages, 3);
    assert_int_equal(list_all(f->st, w.project_a, -1, 25, &pages), 25);
    assert_int_equal(pages, 2); /* a full page, then an empty one */
    assert_int_equal(list_all(f->st, w.project_a, -1, 1, NULL), 25);
    assert_int_equal(list_all(f->st, w.project_b, -1, 10, NULL), 4);

    /* test-only SQL: move some tasks on (the queue module will do this) */
    assert_int_equal(write_sql(f->st,
                               "UPDATE tasks SET state = 2 WHERE key IN ('t0','t3','t6','t9')"
                               " AND project_id = (SELECT MIN(id) FROM projects)"),
                     0);
    assert_int_equal(write_sql(f->st, "UPDATE tasks SET state = 1 WHERE key = 't1'"
                                      " AND project_id = (SELECT MIN(id) FROM projects)"),
                     0);
    assert_int_equal(list_all(f->st, w.project_a, TASK_DONE, 3, NULL), 4);
    assert_int_equal(list_all(f->st, w.project_a, TASK_IN_PROGRESS, 3, NULL), 1);
    assert_int_equal(list_all(f->st, w.project_a, TASK_OPEN, 3, NULL), 20);
    assert_int_equal(list_all(f->st, w.project_b, TASK_OPEN, 3, NULL), 4);
    assert_int_equal(list_all(f->st, w.project_a, -1, 7, NULL), 25);

    /* the first page of a list reads its fields */
    struct task_page p = { .project = w.project_a, .state = -1, .limit = 2 };
    arena_init(&p.a, 0);
    assert_int_equal(store_read(f->st, task_page_fn, &p), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.items[0].key, "t0");
    assert_string_equal(p.items[0].data, "{\"i\":0}");
    assert_int_equal(p.items[0].state, TASK_DONE);
    assert_string_equal(p.items[1].key, "t1");
    assert_int_equal(p.items[1].priority, 1);
    assert_int_equal(p.items[1].created_at, T0 + 1);
    arena_free(&p.a);

    /* an unknown project has no tasks */
    assert_int_equal(list_all(f->st, 999999, -1, 10, NULL), 0);
}

/* ------------------------------------------------------------------------ */
/* group commit                                                             */
/* ------------------------------------------------------------------------ */

#define GC_THREADS 8
#define GC_OPS     200

struct gc_shared {
    struct store *st;
    int64_t project;
    pthread_mutex_t lock;
    pthread_cond_t all_done;
    int finished;
    atomic_int calls[GC_THREADS][GC_OPS];
    int results[GC_THREADS][GC_OPS];
};

struct gc_op {
    struct gc_shared *sh;
    int thread, i;
};

static int gc_fn(struct store_tx *tx, void *ctx)
{
    struct gc_op *op = ctx;
    char key[32], data[48];
    int64_t id;

    snprintf(key, sizeof(key), "g%d-%d", op->thread, op->i);
    int n = snprintf(data, sizeof(data), "{\"t\":%d,\"i\":%d}", op->thread, op->i);
    int r = store_task_insert(tx, op->sh->project, 1, key,
                              (struct str){ .p = data, .len = (size_t)n }, 0, T0, &id);
    if (r < 0)
        return r;
    int r2 = store_project_add_tasks(tx, op->sh->project, id, r);
    return r2 < 0 ? r2 : r;
}

static void gc_done(void *ctx, int result)
{
    struct gc_op *op = ctx;
    struct gc_shared *sh = op->sh;

    atomic_fetch_add(&sh->calls[op->thread][op->i], 1);
    sh->results[op->thread][op->i] = result;
    pthread_mutex_lock(&sh->lock);
    sh->finished++;
    pthread_cond_signal(&sh->all_done);
    pthread_mutex_unlock(&sh->lock);
}

struct gc_thread {
    struct gc_shared *sh;
    int thread;
    struct gc_op ops[GC_OPS];
    int submit_errors;
};

static void *gc_thread_main(void *arg)
{
    struct gc_thread *t = arg;

    for (int i = 0; i < GC_OPS; i++) {
        t->ops[i] = (struct gc_op){ .sh = t->sh, .thread = t->thread, .i = i };
        if (store_write_async(t->sh->st, gc_fn, &t->ops[i], gc_done) < 0)
            t->submit_errors++;
    }
    return NULL;
}

static void test_group_commit(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct gc_shared *sh = calloc(1, sizeof(*sh));
    struct gc_thread *threads = calloc(GC_THREADS, sizeof(*threads));
    pthread_t tids[GC_THREADS];

    assert_non_null(sh);
    assert_non_null(threads);
    make_world(f->st, &w);
    sh->st = f->st;
    sh->project = w.project_a;
    pthread_mutex_init(&sh->lock, NULL);
    pthread_cond_init(&sh->all_done, NULL);

    for (int t = 0; t < GC_THREADS; t++) {
        threads[t].sh = sh;
        threads[t].thread = t;
        assert_int_equal(pthread_create(&tids[t], NULL, gc_thread_main, &threads[t]), 0);
    }
    for (int t = 0; t < GC_THREADS; t++) {
        pthread_join(tids[t], NULL);
        assert_int_equal(threads[t].submit_errors, 0);
    }
    pthread_mutex_lock(&sh->lock);
    while (sh->finished < GC_THREADS * GC_OPS)
        pthread_cond_wait(&sh->all_done, &sh->lock);
    pthread_mutex_unlock(&sh->lock);

    /* every completion exactly once, each op created its task */
    for (int t = 0; t < GC_THREADS; t++) {
        for (int i = 0; i < GC_OPS; i++) {
            if (atomic_load(&sh->calls[t][i]) != 1)
                fail_msg("op %d/%d completed %d times", t, i, atomic_load(&sh->calls[t][i]));
            if (sh->results[t][i] != 1)
                fail_msg("op %d/%d result %d", t, i, sh->results[t][i]);
        }
    }
    assert_int_equal(sh->finished, GC_THREADS * GC_OPS);

    /* all rows present, durable across a re-open */
    store_close(f->st);
    f->st = open_path(f->path);
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(DISTINCT key) FROM tasks WHERE project_id = %lld",
             (long long)w.project_a);
    assert_int_equal(query_int(f->st, sql), GC_THREADS * GC_OPS);
    snprintf(sql, sizeof(sql), "SELECT COALESCE(SUM(n_tasks), 0) FROM project_counts WHERE project_id = %lld",
             (long long)w.project_a);
    assert_int_equal(query_int(f->st, sql), GC_THREADS * GC_OPS);
    assert_int_equal(list_all(f->st, w.project_a, -1, 256, NULL), GC_THREADS * GC_OPS);

    pthread_mutex_destroy(&sh->lock);
    pthread_cond_destroy(&sh->all_done);
    free(threads);
    free(sh);
}

/* ---- a failing op rolls back alone ---- */

struct batch {
    struct world *w;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool blocker_running, release_blocker;
    int done_count;
    atomic_bool a_done;
    bool c_saw_a_pending; /* C ran before A's completion: same batch */
    int insert_in_b;
    int result[5];
};

struct batch_op {
    struct batch *b;
    int which; /* 0 blocker, 1 A, 2 B, 3 C, 4 D */
};

static int batch_fn(struct store_tx *tx, void *ctx)
{
    struct batch_op *op = ctx;
    struct batch *b = op->b;
    int64_t id;
    int r;

    switch (op->which) {
    case 0: /* hold the writer until A..D are queued */
        pthread_mutex_lock(&b->lock);
        b->blocker_running = true;
        pthread_cond_broadcast(&b->cond);
        while (!b->release_blocker)
            pthread_cond_wait(&b->cond, &b->lock);
        pthread_mutex_unlock(&b->lock);
        return 0;
    case 1:
        return store_task_insert(tx, b->w->project_a, 1, "a", STR_LIT("{}"), 0, T0, &id);
    case 2:
        /* does its work, then fails: the row must go */
        b->insert_in_b = store_task_insert(tx, b->w->project_a, 1, "b", STR_LIT("{}"), 0, T0, &id);
        store_project_add_tasks(tx, b->w->project_a, id, 100);
        return -EINVAL;
    case 3:
        b->c_saw_a_pending = !atomic_load(&b->a_done);
        return store_task_insert(tx, b->w->project_a, 1, "c", STR_LIT("{}"), 0, T0, &id);
    case 4:
        /* a statement-level failure (unique name) after a good insert */
        r = store_task_insert(tx, b->w->project_a, 1, "d", STR_LIT("{}"), 0, T0, &id);
        if (r < 0)
            return r;
        return store_org_create(tx, "acme", T0, &id);
    }
    return -EINVAL;
}

static void batch_done(void *ctx, int result)
{
    struct batch_op *op = ctx;
    struct batch *b = op->b;

    if (op->which == 1)
        atomic_store(&b->a_done, true);
    pthread_mutex_lock(&b->lock);
    b->result[op->which] = result;
    b->done_count++;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static void test_failing_op_rolls_back_alone(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct batch b = { .w = &w };
    struct batch_op ops[5];

    make_world(f->st, &w);
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.cond, NULL);
    for (int i = 0; i < 5; i++)
        ops[i] = (struct batch_op){ .b = &b, .which = i };

    assert_int_equal(store_write_async(f->st, batch_fn, &ops[0], batch_done), 0);
    pthread_mutex_lock(&b.lock);
    while (!b.blocker_running)
        pthread_cond_wait(&b.cond, &b.lock);
    pthread_mutex_unlock(&b.lock);
    /* the writer is busy: these four queue up and form the next batch */
    for (int i = 1; i < 5; i++)
        assert_int_equal(store_write_async(f->st, batch_fn, &ops[i], batch_done), 0);
    pthread_mutex_lock(&b.lock);
    b.release_blocker = true;
    pthread_cond_broadcast(&b.cond);
    while (b.done_count < 5)
        pthread_cond_wait(&b.cond, &b.lock);
    pthread_mutex_unlock(&b.lock);

    assert_true(b.c_saw_a_pending); /* A and C shared a transaction */
    assert_int_equal(b.result[0], 0);
    assert_int_equal(b.result[1], 1);
    assert_int_equal(b.insert_in_b, 1); /* B did insert before failing */
    assert_int_equal(b.result[2], -EINVAL);
    assert_int_equal(b.result[3], 1);
    assert_int_equal(b.result[4], -ERR_CONFLICT);

    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tasks WHERE key = 'a'"), 1);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tasks WHERE key = 'b'"), 0);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tasks WHERE key = 'c'"), 1);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tasks WHERE key = 'd'"), 0);
    assert_int_equal(query_int(f->st, "SELECT COALESCE(SUM(n_tasks), 0) FROM project_counts"), 0);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM orgs"), 2);

    /* the writer is healthy afterwards */
    insert_tasks(f->st, w.project_a, "after", 0, 3);
    pthread_mutex_destroy(&b.lock);
    pthread_cond_destroy(&b.cond);
}

/* Synchronous writes and reads from many threads at once. */
struct mixed {
    struct store *st;
    int64_t project;
    int thread;
    int errors;
};

static int mixed_read_fn(struct store_tx *tx, void *ctx)
{
    int64_t n;
    (void)ctx;
    return store_user_count(tx, &n);
}

static void *mixed_main(void *arg)
{
    struct mixed *m = arg;
    char prefix[16];

    snprintf(prefix, sizeof(prefix), "m%d-", m->thread);
    for (int i = 0; i < 25; i++) {
        struct insert_tasks it = {
            .project = m->project, .prefix = prefix, .from = i, .to = i + 1
        };
        if (store_write(m->st, insert_tasks_fn, &it) != 0 || it.created != 1)
            m->errors++;
        if (store_read(m->st, mixed_read_fn, NULL) != 0)
            m->errors++;
    }
    return NULL;
}

static void test_concurrent_sync_writes(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct mixed m[6];
    pthread_t tids[6];

    make_world(f->st, &w);
    for (int t = 0; t < 6; t++) {
        m[t] = (struct mixed){ .st = f->st, .project = w.project_b, .thread = t };
        assert_int_equal(pthread_create(&tids[t], NULL, mixed_main, &m[t]), 0);
    }
    for (int t = 0; t < 6; t++) {
        pthread_join(tids[t], NULL);
        assert_int_equal(m[t].errors, 0);
    }
    assert_int_equal(list_all(f->st, w.project_b, -1, 50, NULL), 150);
    assert_int_equal(query_int(f->st, "SELECT SUM(c.n_tasks) FROM project_counts c JOIN projects p ON p.id = c.project_id WHERE p.name = 'dogs'"), 150);
}

/* ------------------------------------------------------------------------ */
/* export                                                                   */
/* ------------------------------------------------------------------------ */

static int add_annotations_fn(struct store_tx *tx, void *ctx)
{
    struct world *w = ctx;
    char sql[1024];

    /* test-only SQL: two versions on the first task, a model one on the third */
    snprintf(sql, sizeof(sql),
             "INSERT INTO annotations (task_id, project_id, user_id, version, source, result,"
             " created_at) SELECT id, project_id, %lld, 1, 'human', '{\"v\":1}', %lld FROM tasks"
             " WHERE key = 'e0' AND project_id = %lld;"
             "INSERT INTO annotations (task_id, project_id, user_id, version, source, result,"
             " created_at) SELECT id, project_id, %lld, 2, 'human', '{\"v\":[2,\"<&>\"]}', %lld"
             " FROM tasks WHERE key = 'e0' AND project_id = %lld;"
             "INSERT INTO annotations (task_id, project_id, user_id, version, source, result,"
             " created_at) SELECT id, project_id, NULL, 1, 'model', '{}', 0 FROM tasks"
             " WHERE key = 'e2' AND project_id = %lld;",
             (long long)w->user_a, T0, (long long)w->project_a, (long long)w->user_a, T0 + 1,
             (long long)w->project_a, (long long)w->project_a);
    return tx->conn->ops->exec(tx->conn, sql);
}

static int late_annotation_fn(struct store_tx *tx, void *ctx)
{
    struct world *w = ctx;
    char sql[512];

    /* on the last task of the snapshot: the open export must not see it */
    snprintf(sql, sizeof(sql),
             "INSERT INTO annotations (task_id, project_id, version, source, result, created_at)"
             " SELECT MAX(id), project_id, 9, 'human', '{\"late\":true}', %lld FROM tasks"
             " WHERE project_id = %lld",
             T0, (long long)w->project_a);
    return tx->conn->ops->exec(tx->conn, sql);
}

struct export_seen {
    int64_t ids[128];
    int n;
    int annotations;
};

/* Check each line of `out` and record task ids. */
static void check_export_lines(const struct buf *out, struct export_seen *seen)
{
    const char *p = out->p, *end = out->p + out->len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_non_null(nl); /* every line ends with \n */
        json_error_t e;
        json_t *line = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &e);
        if (!line)
            fail_msg("export line is not JSON (%s): %.*s", e.text, (int)(nl - p), p);
        json_t *task = json_object_get(line, "task");
        json_t *anns = json_object_get(line, "annotations");
        assert_true(json_is_object(task));
        assert_true(json_is_array(anns));
        assert_int_equal(json_object_size(line), 2);
        json_int_t id = json_integer_value(json_object_get(task, "id"));
        assert_true(id > 0);
        json_t *key = json_object_get(task, "key");
        json_t *data = json_object_get(task, "data");
        assert_true(json_is_object(data));
        json_int_t i = json_integer_value(json_object_get(data, "i"));
        if (json_is_string(key)) {
            char want[16];
            snprintf(want, sizeof(want), "e%lld", (long long)i);
            assert_string_equal(json_string_value(key), want);
        } else {
            assert_true(json_is_null(key));
        }
        if (json_is_string(key) && strcmp(json_string_value(key), "e0") == 0) {
            /* {"id":..,"user":..,"version":1,"result":{..},"created_at":"..","source":".."} */
            assert_int_equal(json_array_size(anns), 2);
            json_t *a1 = json_array_get(anns, 1);
            assert_int_equal(json_integer_value(json_object_get(a1, "version")), 2);
            assert_true(json_is_integer(json_object_get(a1, "user")));
            assert_string_equal(json_string_value(json_object_get(a1, "created_at")),
                                "2026-11-28T20:00:00.001Z");
            assert_string_equal(json_string_value(json_object_get(a1, "source")), "human");
            json_t *v = json_object_get(json_object_get(a1, "result"), "v");
            assert_string_equal(json_string_value(json_array_get(v, 1)), "<&>");
        } else if (json_is_string(key) && strcmp(json_string_value(key), "e2") == 0) {
            assert_int_equal(json_array_size(anns), 1);
            json_t *a0 = json_array_get(anns, 0);
            assert_true(json_is_null(json_object_get(a0, "user")));
            assert_string_equal(json_string_value(json_object_get(a0, "source")), "model");
            assert_string_equal(json_string_value(json_object_get(a0, "created_at")),
                                "1970-01-01T00:00:00.000Z");
        } else {
            assert_int_equal(json_array_size(anns), 0);
        }
        seen->annotations += (int)json_array_size(anns);
        assert_true(seen->n < 128);
        seen->ids[seen->n++] = id;
        json_decref(line);
        p = nl + 1;
    }
}

static void test_export_snapshot(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct store_tx *tx = NULL;
    struct export_seen seen = { .n = 0 };
    struct buf out;
    int64_t cursor = 0;
    int r, pages = 0;

    make_world(f->st, &w);
    insert_tasks(f->st, w.project_a, "e", 0, 20);
    insert_tasks(f->st, w.project_a, NULL, 20, 30); /* no keys */
    insert_tasks(f->st, w.project_b, "e", 0, 5);    /* another project */
    assert_int_equal(store_write(f->st, add_annotations_fn, &w), 0);

    assert_int_equal(store_read_begin(f->st, &tx), 0);
    assert_non_null(tx);
    buf_init(&out, 0);
    do {
        int64_t before = cursor;
        buf_clear(&out);
        r = store_export_jsonl(tx, w.project_a, &cursor, 7, &out);
        assert_true(r == 0 || r == 1);
        if (out.len)
            assert_true(cursor > before);
        check_export_lines(&out, &seen);
        if (pages++ == 0) {
            /* writes go on while the snapshot is open ... */
            assert_int_equal(store_write(f->st, late_annotation_fn, &w), 0);
            insert_tasks(f->st, w.project_a, "late", 0, 5);
        }
    } while (r == 1);
    store_read_end(tx);
    buf_release(&out);

    /* ... and it does not see them: every task once, in id order */
    assert_int_equal(seen.n, 30);
    for (int i = 1; i < seen.n; i++)
        assert_true(seen.ids[i] > seen.ids[i - 1]);
    assert_int_equal(seen.annotations, 3);
    assert_int_equal(pages, 5); /* 7+7+7+7+2 */

    /* a new snapshot sees the later rows */
    cursor = 0;
    buf_init(&out, 0);
    assert_int_equal(store_read_begin(f->st, &tx), 0);
    while ((r = store_export_jsonl(tx, w.project_a, &cursor, 100, &out)) == 1)
        ;
    assert_int_equal(r, 0);
    store_read_end(tx);
    /* (check_export_lines expects no annotation on the last task: count lines) */
    int lines = 0;
    for (size_t i = 0; i < out.len; i++)
        lines += out.p[i] == '\n';
    assert_int_equal(lines, 35);
    buf_release(&out);
}

/*
 * store_read_begin() starts "a read transaction held open across calls":
 * its snapshot is the state at the call, so a row committed after it is
 * not seen, even when nothing was read in between.
 */
static void test_read_begin_pins_snapshot(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct store_tx *tx;
    struct buf out;
    int64_t cursor = 0;
    int lines = 0;

    make_world(f->st, &w);
    insert_tasks(f->st, w.project_a, "s", 0, 1);
    assert_int_equal(store_read_begin(f->st, &tx), 0);
    insert_tasks(f->st, w.project_a, "s", 1, 2); /* committed after begin */
    buf_init(&out, 0);
    assert_int_equal(store_export_jsonl(tx, w.project_a, &cursor, 100, &out), 0);
    store_read_end(tx);
    for (size_t i = 0; i < out.len; i++)
        lines += out.p[i] == '\n';
    buf_release(&out);
    if (lines != 1)
        fail_msg("a transaction from store_read_begin() saw a row committed after it began "
                 "(%d tasks exported, want 1)",
                 lines);
}

static void test_export_empty_and_exact(void **state)
{
    struct fixture *f = *state;
    struct world w;
    struct store_tx *tx;
    struct buf out;
    int64_t cursor = 0;

    make_world(f->st, &w);
    buf_init(&out, 0);
    assert_int_equal(store_read_begin(f->st, &tx), 0);
    assert_int_equal(store_export_jsonl(tx, w.project_b, &cursor, 10, &out), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(cursor, 0);
    store_read_end(tx);

    /* exactly one full page: 1 (more may follow), then 0 with nothing */
    insert_tasks(f->st, w.project_b, "x", 0, 4);
    assert_int_equal(store_read_begin(f->st, &tx), 0);
    assert_int_equal(store_export_jsonl(tx, w.project_b, &cursor, 4, &out), 1);
    size_t len = out.len;
    assert_int_equal(store_export_jsonl(tx, w.project_b, &cursor, 4, &out), 0);
    assert_int_equal(out.len, len);
    store_read_end(tx);
    assert_string_equal(out.p + len - 1, "\n");
    buf_release(&out);

    /* an output cap is reported, not overrun */
    buf_init(&out, 64);
    cursor = 0;
    assert_int_equal(store_read_begin(f->st, &tx), 0);
    assert_int_equal(store_export_jsonl(tx, w.project_b, &cursor, 4, &out), -E2BIG);
    store_read_end(tx);
    buf_release(&out);
}

/* ------------------------------------------------------------------------ */
/* db_collect(): the list functions' row collector                          */
/* ------------------------------------------------------------------------ */

struct counted {
    int64_t x;
};

static int counted_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct counted *c = item;
    (void)a;
    c->x = db_int64(tx, s, 0);
    return c->x == 3 ? -EIO : 0;
}

static int counted_row_ok(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct counted *c = item;
    (void)a;
    c->x = db_int64(tx, s, 0);
    return 0;
}

/* Collect from test-only SQL counting 1..upto; *ret and *ret_n as db_collect() left them. */
static int collect(struct store_tx *tx,
                   int upto,
                   int limit,
                   struct arena *a,
                   db_row_fn *row,
                   struct counted **ret,
                   int *ret_n)
{
    struct db_stmt *s;
    int r = tx->conn->ops->prepare(tx->conn,
                                   "WITH RECURSIVE c(x) AS (SELECT 1 WHERE ? > 0"
                                   " UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x FROM c",
                                   &s);
    assert_int_equal(r, 0);
    db_bind_int64(tx, s, 1, upto);
    db_bind_int64(tx, s, 2, upto);
    r = db_collect(tx, s, limit, a, sizeof(**ret), row, ret, ret_n);
    /* reset either way (bindings too): bound again, it starts from its first row */
    db_bind_int64(tx, s, 1, 1);
    db_bind_int64(tx, s, 2, 1);
    assert_int_equal(db_step(tx, s), 1);
    assert_int_equal(db_int64(tx, s, 0), 1);
    tx->conn->ops->finalize(s);
    return r;
}

static void test_collect(void **state)
{
    struct fixture *f = *state;
    struct store_tx *tx;
    struct arena a, tiny;
    static struct counted sentinel;
    struct counted *items, *const untouched = &sentinel;
    const int limits[] = { -1, 5 };
    int n;

    arena_init(&a, 0);
    arena_init(&tiny, 1);
    assert_int_equal(store_read_begin(f->st, &tx), 0);

    /* unbounded: every row in order, growing past 16 and 32 */
    assert_int_equal(collect(tx, 40, -1, &a, counted_row_ok, &items, &n), 0);
    assert_int_equal(n, 40);
    for (int i = 0; i < n; i++)
        assert_int_equal(items[i].x, i + 1);
    /* unbounded and empty: NULL */
    items = untouched;
    assert_int_equal(collect(tx, 0, -1, &a, counted_row_ok, &items, &n), 0);
    assert_null(items);
    assert_int_equal(n, 0);

    /* bounded: at most limit, in limit + 1 zeroed items */
    assert_int_equal(collect(tx, 40, 2, &a, counted_row_ok, &items, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(items[1].x, 2);
    assert_int_equal(items[2].x, 0);
    assert_int_equal(collect(tx, 40, 0, &a, counted_row_ok, &items, &n), 0);
    assert_non_null(items);
    assert_int_equal(n, 0);

    /* a row's error stops it; out-params are left alone on every error */
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        items = untouched;
        n = -1;
        assert_int_equal(collect(tx, 40, limits[i], &a, counted_row, &items, &n), -EIO);
        assert_int_equal(collect(tx, 40, limits[i], &tiny, counted_row_ok, &items, &n), -ENOMEM);
        assert_ptr_equal(items, untouched);
        assert_int_equal(n, -1);
    }
    /* ... but not a row's error beyond the limit */
    assert_int_equal(collect(tx, 40, 2, &a, counted_row, &items, &n), 0);
    assert_int_equal(n, 2);

    store_read_end(tx);
    arena_free(&tiny);
    arena_free(&a);
}

/* ------------------------------------------------------------------------ */
/* backup                                                                   */
/* ------------------------------------------------------------------------ */

static void test_backup(void **state)
{
    struct fixture *f = *state;
    struct world w;
    char out[256], bad[256];

    make_world(f->st, &w);
    insert_tasks(f->st, w.project_a, "b", 0, 50);
    snprintf(out, sizeof(out), "%s/backup.db", f->dir);
    assert_int_equal(store_backup(f->st, out), 0);
    assert_int_equal(access(out, F_OK), 0);

    /* an existing file is never overwritten */
    assert_int_equal(store_backup(f->st, out), -EEXIST);
    snprintf(bad, sizeof(bad), "%s/no/such/dir/backup.db", f->dir);
    assert_true(store_backup(f->st, bad) < 0);
    assert_int_equal(access(bad, F_OK), -1);

    /* rows written after the backup are only in the original */
    insert_tasks(f->st, w.project_a, "after", 0, 3);

    struct store *copy = open_path(out);
    assert_int_equal(query_int(copy, "SELECT COUNT(*) FROM tasks"), 50);
    assert_int_equal(query_int(copy, "SELECT COUNT(*) FROM orgs"), 2);
    assert_int_equal(query_int(copy, "SELECT COUNT(*) FROM users"), 2);
    assert_int_equal(query_int(copy, "SELECT COUNT(*) FROM projects"), 2);
    assert_int_equal(query_int(copy, "SELECT SUM(c.n_tasks) FROM project_counts c JOIN projects p ON p.id = c.project_id WHERE p.name = 'cats'"), 50);
    assert_int_equal(query_int(copy, "SELECT COUNT(*) FROM schema_version"),
                     (int64_t)store_migrations_count);
    assert_int_equal(list_all(copy, w.project_a, -1, 16, NULL), 50);
    /* the copy is a working store */
    insert_tasks(copy, w.project_a, "copy", 0, 2);
    store_close(copy);
    assert_int_equal(query_int(f->st, "SELECT COUNT(*) FROM tasks"), 53);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_and_migrate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_pass_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orgs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_admin_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_projects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_insert_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_op_rolls_back_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_sync_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_begin_pins_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_empty_and_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
