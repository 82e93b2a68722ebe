/*
 * store_auth.c: orgs, users and tokens.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "store/store_int.h"

/* ---- orgs ---- */

int store_org_create(struct store_tx *tx, const char *name, int64_t now, int64_t *ret_id)
{
    STMT_OR_FAIL(s, tx, ST_ORG_CREATE, "INSERT INTO orgs (name, created_at) VALUES (?, ?) RETURNING id");
    db_bind_text(tx, s, 1, name);
    db_bind_int64(tx, s, 2, now);
    int r = db_step(tx, s);
    if (r == 1)
        *ret_id = db_int64(tx, s, 0);
    db_reset(tx, s);
    return r < 0 ? r : 0;
}

static int org_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_org *o = item;
    o->id = db_int64(tx, s, 0);
    o->name = db_text(tx, s, 1, a);
    o->created_at = db_int64(tx, s, 2);
    return 0;
}

int store_org_get(struct store_tx *tx, int64_t id, struct arena *a, struct store_org *ret)
{
    STMT_OR_FAIL(s, tx, ST_ORG_GET, "SELECT id, name, created_at FROM orgs WHERE id = ?");
    db_bind_int64(tx, s, 1, id);
    int r = db_step(tx, s);
    if (r == 1)
        org_row(tx, s, a, ret);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_org_list(struct store_tx *tx,
                   int64_t after,
                   int limit,
                   struct arena *a,
                   struct store_org **ret,
                   int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_ORG_LIST,
                 "SELECT id, name, created_at FROM orgs WHERE id > ? ORDER BY id LIMIT ?");
    db_bind_int64(tx, s, 1, after);
    db_bind_int64(tx, s, 2, limit);
    return db_collect(tx, s, limit, a, sizeof(**ret), org_row, ret, ret_n);
}

/* ---- users ---- */

int store_user_count(struct store_tx *tx, int64_t *ret)
{
    STMT_OR_FAIL(s, tx, ST_USER_COUNT, "SELECT COUNT(*) FROM users");
    int r = db_step(tx, s);
    if (r == 1)
        *ret = db_int64(tx, s, 0);
    db_reset(tx, s);
    return r < 0 ? r : 0;
}

int store_user_create(struct store_tx *tx, const struct store_user *u, int64_t *ret_id)
{
    STMT_OR_FAIL(s, tx, ST_USER_CREATE,
                 "INSERT INTO users (org_id, login, name, role, is_admin, password_hash, created_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id");
    db_bind_int64(tx, s, 1, u->org_id);
    db_bind_text(tx, s, 2, u->login);
    db_bind_text(tx, s, 3, u->name);
    db_bind_text(tx, s, 4, u->role);
    db_bind_int64(tx, s, 5, u->is_admin);
    db_bind_text(tx, s, 6, u->password_hash);
    db_bind_int64(tx, s, 7, u->created_at);
    int r = db_step(tx, s);
    if (r == 1)
        *ret_id = db_int64(tx, s, 0);
    db_reset(tx, s);
    return r < 0 ? r : 0;
}

#define USER_COLS                                                                                  \
    "u.id, u.org_id, o.name, u.login, u.name, u.role, u.is_admin, u.password_hash,"                \
    " u.failed_logins, u.locked_until, u.created_at"
#define USER_FROM " FROM users u JOIN orgs o ON o.id = u.org_id"

static void user_row(struct store_tx *tx, struct db_stmt *s, int col, struct arena *a,
                     struct store_user *u)
{
    u->id = db_int64(tx, s, col + 0);
    u->org_id = db_int64(tx, s, col + 1);
    u->org_name = db_text(tx, s, col + 2, a);
    u->login = db_text(tx, s, col + 3, a);
    u->name = db_text(tx, s, col + 4, a);
    u->role = db_text(tx, s, col + 5, a);
    u->is_admin = db_int64(tx, s, col + 6) != 0;
    u->password_hash = db_text(tx, s, col + 7, a);
    u->failed_logins = (int)db_int64(tx, s, col + 8);
    u->locked_until = db_int64(tx, s, col + 9);
    u->created_at = db_int64(tx, s, col + 10);
}

/* user_row() as a db_row_fn, for lists. */
static int user_list_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    user_row(tx, s, 0, a, item);
    return 0;
}

static int user_one(struct store_tx *tx, struct db_stmt *s, struct arena *a, struct store_user *ret)
{
    int r = db_step(tx, s);
    if (r == 1)
        user_row(tx, s, 0, a, ret);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_user_get(struct store_tx *tx,
                   int64_t org_id,
                   int64_t id,
                   struct arena *a,
                   struct store_user *ret)
{
    if (org_id) {
        STMT_OR_FAIL(s, tx, ST_USER_GET_ORG,
                     "SELECT " USER_COLS USER_FROM " WHERE u.id = ? AND u.org_id = ?");
        db_bind_int64(tx, s, 1, id);
        db_bind_int64(tx, s, 2, org_id);
        return user_one(tx, s, a, ret);
    }
    STMT_OR_FAIL(s, tx, ST_USER_GET, "SELECT " USER_COLS USER_FROM " WHERE u.id = ?");
    db_bind_int64(tx, s, 1, id);
    return user_one(tx, s, a, ret);
}

int store_user_by_login(struct store_tx *tx, const char *login, struct arena *a, struct store_user *ret)
{
    STMT_OR_FAIL(s, tx, ST_USER_BY_LOGIN, "SELECT " USER_COLS USER_FROM " WHERE u.login = ?");
    db_bind_text(tx, s, 1, login);
    return user_one(tx, s, a, ret);
}

int store_user_list(struct store_tx *tx,
                    int64_t org_id,
                    int64_t after,
                    int limit,
                    struct arena *a,
                    struct store_user **ret,
                    int *ret_n)
{
    STMT_OR_FAIL(s, tx, ST_USER_LIST,
                 "SELECT " USER_COLS USER_FROM " WHERE u.org_id = ? AND u.id > ? ORDER BY u.id LIMIT ?");
    db_bind_int64(tx, s, 1, org_id);
    db_bind_int64(tx, s, 2, after);
    db_bind_int64(tx, s, 3, limit);
    return db_collect(tx, s, limit, a, sizeof(**ret), user_list_row, ret, ret_n);
}

int store_user_admin(struct store_tx *tx, struct arena *a, struct store_user *ret)
{
    STMT_OR_FAIL(s, tx, ST_USER_ADMIN,
                 "SELECT " USER_COLS USER_FROM " WHERE u.is_admin = 1 ORDER BY u.id LIMIT 1");
    return user_one(tx, s, a, ret);
}

int store_user_set_login_state(struct store_tx *tx, int64_t id, int failed, int64_t locked_until)
{
    STMT_OR_FAIL(s, tx, ST_USER_LOGIN_STATE,
                 "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?");
    db_bind_int64(tx, s, 1, failed);
    db_bind_int64(tx, s, 2, locked_until);
    db_bind_int64(tx, s, 3, id);
    return db_run(tx, s);
}

int store_user_update(struct store_tx *tx,
                      int64_t org_id,
                      int64_t id,
                      const char *seen_role,
                      const char *role,
                      const char *name,
                      int64_t by_user,
                      int64_t now)
{
    /* PostgreSQL: one role change of the org at a time, so two owners
     * demoting each other at once cannot leave the org without one */
    struct db_stmt *l = stmt_get_dialect(tx, ST_PA_ORG_LOCK, "SELECT id FROM orgs WHERE id = ?",
                                         "SELECT id FROM orgs WHERE id = ? FOR NO KEY UPDATE");
    if (!l)
        return -ERR_STORE;
    db_bind_int64(tx, l, 1, org_id);
    int r = db_run(tx, l);
    if (r < 0)
        return r;

    /* the user's role now, and the org's owners besides the user */
    STMT_OR_FAIL(o, tx, ST_PA_OWNERS,
                 "SELECT u.role, (SELECT COUNT(*) FROM users w WHERE w.org_id = u.org_id"
                 " AND w.role = 'owner' AND w.id <> u.id) FROM users u"
                 " WHERE u.id = ? AND u.org_id = ?");
    db_bind_int64(tx, o, 1, id);
    db_bind_int64(tx, o, 2, org_id);
    r = db_step(tx, o);
    bool same = r == 1 && strcmp(db_text_ref(tx, o, 0, NULL), seen_role) == 0;
    bool was_owner = r == 1 && strcmp(db_text_ref(tx, o, 0, NULL), "owner") == 0;
    int64_t other_owners = r == 1 ? db_int64(tx, o, 1) : 0;
    db_reset(tx, o);
    if (r <= 0)
        return r < 0 ? r : -ERR_NOT_FOUND;
    if (!same)
        return -ERR_CONFLICT;
    if (role && was_owner && strcmp(role, "owner") != 0 && other_owners == 0)
        return -ERR_CONFLICT;

    STMT_OR_FAIL(u, tx, ST_PA_USER_SET,
                 "UPDATE users SET role = COALESCE(?, role), name = COALESCE(?, name) WHERE id = ?");
    db_bind_text(tx, u, 1, role);
    db_bind_text(tx, u, 2, name);
    db_bind_int64(tx, u, 3, id);
    r = db_run(tx, u);
    if (r < 0)
        return r;
    char detail[320];
    snprintf(detail, sizeof(detail), "%s%s%s%s", role ? "role " : "", role ? seen_role : "",
             role ? "->" : "", role ? role : "");
    if (name) {
        size_t n = strlen(detail);
        snprintf(detail + n, sizeof(detail) - n, "%sname", n ? ", " : "");
    }
    return store_audit(tx, org_id, by_user, "user.update", "user", id, detail, now);
}

/* ---- tokens ---- */

int store_token_create(struct store_tx *tx, const struct store_token *t, const char *hash, int64_t *ret_id)
{
    STMT_OR_FAIL(s, tx, ST_TOKEN_CREATE,
                 "INSERT INTO tokens (user_id, hash, kind, name, csrf_hash, created_at, expires_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id");
    db_bind_int64(tx, s, 1, t->user_id);
    db_bind_text(tx, s, 2, hash);
    db_bind_text(tx, s, 3, t->kind);
    db_bind_text(tx, s, 4, t->name ? t->name : "");
    db_bind_text(tx, s, 5, t->csrf_hash ? t->csrf_hash : "");
    db_bind_int64(tx, s, 6, t->created_at);
    db_bind_int64(tx, s, 7, t->expires_at);
    int r = db_step(tx, s);
    if (r == 1)
        *ret_id = db_int64(tx, s, 0);
    db_reset(tx, s);
    return r < 0 ? r : 0;
}

#define TOKEN_COLS "t.id, t.user_id, t.kind, t.name, t.csrf_hash, t.created_at, t.expires_at"

static int token_row(struct store_tx *tx, struct db_stmt *s, struct arena *a, void *item)
{
    struct store_token *t = item;
    t->id = db_int64(tx, s, 0);
    t->user_id = db_int64(tx, s, 1);
    t->kind = db_text(tx, s, 2, a);
    t->name = db_text(tx, s, 3, a);
    t->csrf_hash = db_text(tx, s, 4, a);
    t->created_at = db_int64(tx, s, 5);
    t->expires_at = db_int64(tx, s, 6);
    return 0;
}

int store_token_lookup(struct store_tx *tx,
                       const char *hash,
                       int64_t now,
                       struct arena *a,
                       struct store_token *ret_token,
                       struct store_user *ret_user)
{
    STMT_OR_FAIL(s, tx, ST_TOKEN_LOOKUP,
                 "SELECT " TOKEN_COLS ", " USER_COLS " FROM tokens t JOIN users u ON u.id = t.user_id"
                 " JOIN orgs o ON o.id = u.org_id"
                 " WHERE t.hash = ? AND (t.expires_at = 0 OR t.expires_at > ?)");
    db_bind_text(tx, s, 1, hash);
    db_bind_int64(tx, s, 2, now);
    int r = db_step(tx, s);
    if (r == 1) {
        token_row(tx, s, a, ret_token);
        user_row(tx, s, 7, a, ret_user);
    }
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

static int changed_one(struct store_tx *tx, struct db_stmt *s)
{
    int r = db_step(tx, s);
    db_reset(tx, s);
    return r < 0 ? r : r == 1 ? 0 : -ERR_NOT_FOUND;
}

int store_token_delete(struct store_tx *tx, int64_t user_id, int64_t id)
{
    if (user_id) {
        STMT_OR_FAIL(s, tx, ST_TOKEN_DELETE,
                     "DELETE FROM tokens WHERE id = ? AND user_id = ? RETURNING id");
        db_bind_int64(tx, s, 1, id);
        db_bind_int64(tx, s, 2, user_id);
        return changed_one(tx, s);
    }
    STMT_OR_FAIL(s, tx, ST_TOKEN_DELETE_ANY, "DELETE FROM tokens WHERE id = ? RETURNING id");
    db_bind_int64(tx, s, 1, id);
    return changed_one(tx, s);
}

int store_token_delete_named(struct store_tx *tx, const char *kind, const char *name)
{
    STMT_OR_FAIL(s, tx, ST_TOKEN_DELETE_KIND, "DELETE FROM tokens WHERE kind = ? AND name = ?");
    db_bind_text(tx, s, 1, kind);
    db_bind_text(tx, s, 2, name);
    return db_run(tx, s);
}

int store_token_list(struct store_tx *tx,
                     int64_t user_id,
                     const char *kind,
                     struct arena *a,
                     struct store_token **ret,
                     int *ret_n)
{
    enum { MAX_TOKENS = 1000 }; /* the LIMIT below */
    STMT_OR_FAIL(s, tx, ST_TOKEN_LIST,
                 "SELECT " TOKEN_COLS " FROM tokens t WHERE t.user_id = ? AND t.kind = ?"
                 " ORDER BY t.id LIMIT 1000");
    db_bind_int64(tx, s, 1, user_id);
    db_bind_text(tx, s, 2, kind);
    return db_collect(tx, s, MAX_TOKENS, a, sizeof(**ret), token_row, ret, ret_n);
}

int store_token_purge(struct store_tx *tx, int64_t now)
{
    STMT_OR_FAIL(s, tx, ST_TOKEN_PURGE, "DELETE FROM tokens WHERE expires_at <> 0 AND expires_at <= ?");
    db_bind_int64(tx, s, 1, now);
    return db_run(tx, s);
}
