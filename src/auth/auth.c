/*
 * auth.c: passwords, tokens, logins, orgs and users.
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "auth/auth.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/utf8.h"

static unsigned long long pw_ops;
static size_t pw_mem;

/* a real hash at the configured cost, verified against for unknown logins */
static char dummy_hash[crypto_pwhash_STRBYTES];

static pthread_mutex_t hash_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hash_slot = PTHREAD_COND_INITIALIZER;
static int hashing;

int auth_init(enum auth_cost cost)
{
    if (sodium_init() < 0)
        return -EIO;
    switch (cost) {
    case AUTH_COST_MIN:
        pw_ops = crypto_pwhash_OPSLIMIT_MIN;
        pw_mem = crypto_pwhash_MEMLIMIT_MIN;
        break;
    case AUTH_COST_MODERATE:
        pw_ops = crypto_pwhash_OPSLIMIT_MODERATE;
        pw_mem = crypto_pwhash_MEMLIMIT_MODERATE;
        break;
    default:
        pw_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        pw_mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
        break;
    }
    char pw[21];
    auth_password_generate(pw);
    if (crypto_pwhash_str(dummy_hash, pw, strlen(pw), pw_ops, pw_mem) != 0)
        return -ENOMEM;
    return 0;
}

int auth_cost_parse(const char *s, enum auth_cost *ret)
{
    if (strcmp(s, "min") == 0)
        *ret = AUTH_COST_MIN;
    else if (strcmp(s, "interactive") == 0)
        *ret = AUTH_COST_INTERACTIVE;
    else if (strcmp(s, "moderate") == 0)
        *ret = AUTH_COST_MODERATE;
    else
        return -EINVAL;
    return 0;
}

static const struct {
    const char *name;
    uint32_t bit;
} roles[] = {
    { "owner", ROLE_OWNER },         { "manager", ROLE_MANAGER }, { "reviewer", ROLE_REVIEWER },
    { "annotator", ROLE_ANNOTATOR }, { "viewer", ROLE_VIEWER },
};

uint32_t auth_role_bit(const char *role)
{
    for (size_t i = 0; role && i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(roles[i].name, role) == 0)
            return roles[i].bit;
    return 0;
}

bool auth_role_valid(const char *role)
{
    return auth_role_bit(role) != 0;
}

const char *auth_check_login(const char *login)
{
    size_t n = login ? strlen(login) : 0;
    if (n < 1 || n > 64)
        return "must be 1 to 64 characters";
    for (size_t i = 0; i < n; i++) {
        char c = login[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '@' || c == '-';
        if (!ok)
            return "may contain only letters, digits and . _ @ -";
    }
    return NULL;
}

const char *auth_check_password(const char *password)
{
    size_t n = password ? strlen(password) : 0;
    if (n > AUTH_PASSWORD_MAX)
        return "must be at most 1024 bytes";
    if (utf8_count(password ? password : "", n) < AUTH_PASSWORD_MIN)
        return "must be at least 10 characters";
    return NULL;
}

const char *auth_check_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || utf8_count(name, n) > 200)
        return "must be 1 to 200 characters";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20)
            return "must not contain control characters";
    return NULL;
}

static void hash_enter(void)
{
    pthread_mutex_lock(&hash_lock);
    while (hashing >= AUTH_MAX_HASHING)
        pthread_cond_wait(&hash_slot, &hash_lock);
    hashing++;
    pthread_mutex_unlock(&hash_lock);
}

static void hash_leave(void)
{
    pthread_mutex_lock(&hash_lock);
    hashing--;
    pthread_cond_signal(&hash_slot);
    pthread_mutex_unlock(&hash_lock);
}

int auth_password_hash(const char *password, char *out, size_t out_size)
{
    if (out_size < crypto_pwhash_STRBYTES)
        return -EINVAL;
    hash_enter();
    int r = crypto_pwhash_str(out, password, strlen(password), pw_ops, pw_mem);
    hash_leave();
    return r == 0 ? 0 : -ENOMEM;
}

bool auth_password_verify(const char *hash, const char *password)
{
    if (!hash || !password)
        return false;
    hash_enter();
    bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    hash_leave();
    return ok;
}

static void hex(const unsigned char *p, size_t n, char *out)
{
    sodium_bin2hex(out, n * 2 + 1, p, n);
}

void auth_token_hash(const char *token, char hash[AUTH_HASH_HEX + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    hex(h, sizeof(h), hash);
}

void auth_token_new(char token[AUTH_TOKEN_LEN + 1], char hash[AUTH_HASH_HEX + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    memcpy(token, "at_", 3);
    sodium_bin2base64(token + 3, AUTH_TOKEN_LEN + 1 - 3, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    if (hash)
        auth_token_hash(token, hash);
}

bool auth_hash_equal(const char *a, const char *b)
{
    size_t n = strlen(a);
    if (n != strlen(b))
        return false;
    return sodium_memcmp(a, b, n) == 0;
}

void auth_password_generate(char out[21])
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    for (int i = 0; i < 20; i++)
        out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    out[20] = '\0';
}

/* ---- login ---- */

struct login_read {
    const char *login;
    struct arena *a;
    struct store_user *user;
};

static int login_read_fn(struct store_tx *tx, void *ctx)
{
    struct login_read *c = ctx;
    return store_user_by_login(tx, c->login, c->a, c->user);
}

struct login_write {
    int64_t user_id;
    bool ok;
    int64_t now;
    /* on success */
    const char *token_hash;
    const char *csrf_hash;
    int64_t expires_at;
    /* result */
    int64_t retry_ms;
    struct arena *a;
};

static int login_write_fn(struct store_tx *tx, void *ctx)
{
    struct login_write *c = ctx;
    struct store_user u;
    int r = store_user_get(tx, 0, c->user_id, c->a, &u);
    if (r < 0)
        return r;
    if (u.locked_until > c->now) {
        c->retry_ms = u.locked_until - c->now;
        return -ERR_LOCKED;
    }
    if (!c->ok) {
        int failed = u.failed_logins + 1;
        if (failed >= AUTH_LOCK_AFTER)
            r = store_user_set_login_state(tx, u.id, 0, c->now + AUTH_LOCK_MS);
        else
            r = store_user_set_login_state(tx, u.id, failed, 0);
        return r < 0 ? r : 0;
    }
    if (u.failed_logins || u.locked_until) {
        r = store_user_set_login_state(tx, u.id, 0, 0);
        if (r < 0)
            return r;
    }
    struct store_token t = {
        .user_id = u.id,
        .kind = "session",
        .name = "",
        .csrf_hash = c->csrf_hash,
        .created_at = c->now,
        .expires_at = c->expires_at,
    };
    int64_t id;
    return store_token_create(tx, &t, c->token_hash, &id);
}

int auth_login(struct store *st,
               const char *login,
               const char *password,
               int64_t ttl_ms,
               struct arena *a,
               struct auth_session *ret,
               int64_t *ret_retry_ms)
{
    struct store_user user;
    struct login_read rd = { .login = login, .a = a, .user = &user };
    int r = store_read(st, login_read_fn, &rd);
    if (r == -ERR_NOT_FOUND) {
        /* spend the same time as a real check, so logins cannot be probed */
        auth_password_verify(dummy_hash, password);
        return -ERR_UNAUTHORIZED;
    }
    if (r < 0)
        return r;

    int64_t now = clock_now_ms();
    if (user.locked_until > now) {
        *ret_retry_ms = user.locked_until - now;
        return -ERR_LOCKED;
    }

    bool ok = auth_password_verify(user.password_hash, password);
    char token_hash[AUTH_HASH_HEX + 1], csrf_hash[AUTH_HASH_HEX + 1];
    struct login_write wr = { .user_id = user.id, .ok = ok, .now = now, .a = a };
    if (ok) {
        auth_token_new(ret->token, token_hash);
        auth_token_new(ret->csrf, csrf_hash);
        wr.token_hash = token_hash;
        wr.csrf_hash = csrf_hash;
        wr.expires_at = now + ttl_ms;
    }
    r = store_write(st, login_write_fn, &wr);
    if (r == -ERR_LOCKED) {
        *ret_retry_ms = wr.retry_ms;
        return r;
    }
    if (r < 0)
        return r;
    if (!ok)
        return -ERR_UNAUTHORIZED;
    ret->expires_at = wr.expires_at;
    ret->user = user;
    ret->user.password_hash = NULL;
    return 0;
}

/* ---- tokens ---- */

struct token_check {
    const char *hash;
    int64_t now;
    struct arena *a;
    struct store_token *token;
    struct store_user *user;
};

static int token_check_fn(struct store_tx *tx, void *ctx)
{
    struct token_check *c = ctx;
    return store_token_lookup(tx, c->hash, c->now, c->a, c->token, c->user);
}

int auth_check_token(struct store *st,
                     const char *token,
                     struct arena *a,
                     struct store_token *ret_token,
                     struct store_user *ret_user)
{
    size_t n = strlen(token);
    if (n != AUTH_TOKEN_LEN || strncmp(token, "at_", 3) != 0)
        return -ERR_UNAUTHORIZED;
    char hash[AUTH_HASH_HEX + 1];
    auth_token_hash(token, hash);
    struct token_check c = {
        .hash = hash, .now = clock_now_ms(), .a = a, .token = ret_token, .user = ret_user
    };
    int r = store_read(st, token_check_fn, &c);
    if (r == -ERR_NOT_FOUND)
        return -ERR_UNAUTHORIZED;
    if (r >= 0)
        ret_user->password_hash = NULL;
    return r;
}

struct token_create {
    struct store_token t;
    const char *hash;
    int64_t id;
};

static int token_create_fn(struct store_tx *tx, void *ctx)
{
    struct token_create *c = ctx;
    return store_token_create(tx, &c->t, c->hash, &c->id);
}

int auth_token_create(struct store *st,
                      int64_t user_id,
                      const char *kind,
                      const char *name,
                      int64_t expires_at,
                      char token[AUTH_TOKEN_LEN + 1],
                      int64_t *ret_id)
{
    char hash[AUTH_HASH_HEX + 1];
    auth_token_new(token, hash);
    struct token_create c = {
        .t = { .user_id = user_id,
               .kind = kind,
               .name = name,
               .created_at = clock_now_ms(),
               .expires_at = expires_at },
        .hash = hash,
    };
    int r = store_write(st, token_create_fn, &c);
    if (r < 0)
        return r;
    *ret_id = c.id;
    return 0;
}

/* ---- orgs and users ---- */

struct user_create {
    const char *org_name; /* NULL: user into an existing org */
    struct store_user u;
    int64_t org_id, user_id;
};

static int user_create_fn(struct store_tx *tx, void *ctx)
{
    struct user_create *c = ctx;
    int r;
    if (c->org_name) {
        r = store_org_create(tx, c->org_name, c->u.created_at, &c->org_id);
        if (r < 0)
            return r;
        c->u.org_id = c->org_id;
    }
    r = store_user_create(tx, &c->u, &c->user_id);
    if (r < 0)
        return r;
    return store_audit(tx, c->u.org_id, 0, c->org_name ? "org.create" : "user.create", "user",
                       c->user_id, c->u.login, c->u.created_at);
}

int auth_org_create(struct store *st,
                    const char *org_name,
                    const char *login,
                    const char *password,
                    const char *name,
                    bool admin,
                    int64_t *ret_org,
                    int64_t *ret_user)
{
    char hash[crypto_pwhash_STRBYTES];
    int r = auth_password_hash(password, hash, sizeof(hash));
    if (r < 0)
        return r;
    struct user_create c = {
        .org_name = org_name,
        .u = { .login = login,
               .name = name,
               .role = "owner",
               .is_admin = admin,
               .password_hash = hash,
               .created_at = clock_now_ms() },
    };
    r = store_write(st, user_create_fn, &c);
    if (r < 0)
        return r;
    *ret_org = c.org_id;
    *ret_user = c.user_id;
    return 0;
}

int auth_user_create(struct store *st,
                     int64_t org_id,
                     const char *login,
                     const char *password,
                     const char *name,
                     const char *role,
                     int64_t *ret_id)
{
    char hash[crypto_pwhash_STRBYTES];
    int r = auth_password_hash(password, hash, sizeof(hash));
    if (r < 0)
        return r;
    struct user_create c = {
        .u = { .org_id = org_id,
               .login = login,
               .name = name,
               .role = role,
               .password_hash = hash,
               .created_at = clock_now_ms() },
    };
    r = store_write(st, user_create_fn, &c);
    if (r < 0)
        return r;
    *ret_id = c.user_id;
    return 0;
}
