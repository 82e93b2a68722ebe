/*
 * auth: orgs, users, roles, passwords, sessions and API tokens.
 *
 * DESIGN
 * - Passwords: argon2id (libsodium crypto_pwhash_str) at a configurable
 *   cost; at most AUTH_MAX_HASHING hashes run at once, the rest wait, so a
 *   burst of logins queues instead of exhausting memory.
 * - Tokens: 32 random bytes, base64url, prefixed "at_". Only the sha256
 *   of a token is stored; lookups are by hash. Session tokens carry a CSRF
 *   secret (stored hashed too) for cookie requests.
 * - Failed logins are counted per account (never per address: a whole
 *   company shares one): AUTH_LOCK_AFTER failures lock the account for
 *   AUTH_LOCK_MS; a success resets the count.
 */
#ifndef ANNOTD_AUTH_H
#define ANNOTD_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "store/store.h"

enum {
    ROLE_OWNER = 1u << 0,
    ROLE_MANAGER = 1u << 1,
    ROLE_REVIEWER = 1u << 2,
    ROLE_ANNOTATOR = 1u << 3,
    ROLE_VIEWER = 1u << 4,
    ROLE_ADMIN = 1u << 5, /* platform admin, on top of the org role */
};
#define ROLES_ALL    (ROLE_OWNER | ROLE_MANAGER | ROLE_REVIEWER | ROLE_ANNOTATOR | ROLE_VIEWER)
#define ROLES_MANAGE (ROLE_OWNER | ROLE_MANAGER)
#define ROLES_READ   (ROLE_OWNER | ROLE_MANAGER | ROLE_REVIEWER | ROLE_VIEWER)
#define ROLES_WORK   (ROLE_OWNER | ROLE_MANAGER | ROLE_ANNOTATOR)
#define ROLES_REVIEW (ROLE_OWNER | ROLE_MANAGER | ROLE_REVIEWER)

#define AUTH_TOKEN_LEN   46 /* "at_" + 43 base64url chars */
#define AUTH_HASH_HEX    64
#define AUTH_LOCK_AFTER  10
#define AUTH_LOCK_MS     (15 * 60 * 1000)
#define AUTH_MAX_HASHING 2
#define AUTH_PASSWORD_MIN 10
#define AUTH_PASSWORD_MAX 1024

enum auth_cost { AUTH_COST_MIN, AUTH_COST_INTERACTIVE, AUTH_COST_MODERATE };

/* Must be called once before any other auth function (sodium_init). */
int auth_init(enum auth_cost cost);
/* "min", "interactive", "moderate" */
int auth_cost_parse(const char *s, enum auth_cost *ret);

/* Role name -> bit; 0 for an unknown name. */
uint32_t auth_role_bit(const char *role);
bool auth_role_valid(const char *role);

/* Checks of user input; NULL when fine, else a message. */
const char *auth_check_login(const char *login);
const char *auth_check_password(const char *password);
const char *auth_check_name(const char *name);

/* argon2id hash (crypto_pwhash_STRBYTES); blocks while AUTH_MAX_HASHING run. */
int auth_password_hash(const char *password, char *out, size_t out_size);
bool auth_password_verify(const char *hash, const char *password);

/* A new random token ("at_..."), and its sha256 hex (NUL-terminated). */
void auth_token_new(char token[AUTH_TOKEN_LEN + 1], char hash[AUTH_HASH_HEX + 1]);
void auth_token_hash(const char *token, char hash[AUTH_HASH_HEX + 1]);
/* Constant-time comparison of two NUL-terminated hex hashes. */
bool auth_hash_equal(const char *a, const char *b);

/* A generated password for init: 20 characters from an unambiguous alphabet. */
void auth_password_generate(char out[21]);

struct auth_session {
    char token[AUTH_TOKEN_LEN + 1];
    char csrf[AUTH_TOKEN_LEN + 1];
    int64_t expires_at;
    struct store_user user;
};

/*
 * Check a login and open a session of `ttl_ms`. Returns 0, -ERR_UNAUTHORIZED
 * (unknown login or wrong password, indistinguishable), -ERR_LOCKED with
 * *ret_retry_ms set, or a storage error. Strings live in `a`.
 */
int auth_login(struct store *st,
               const char *login,
               const char *password,
               int64_t ttl_ms,
               struct arena *a,
               struct auth_session *ret,
               int64_t *ret_retry_ms);

/* Resolve a presented token to its user. -ERR_UNAUTHORIZED when unknown or expired. */
int auth_check_token(struct store *st,
                     const char *token,
                     struct arena *a,
                     struct store_token *ret_token,
                     struct store_user *ret_user);

/* Create an API token for `user_id`; expires_at 0: never. */
int auth_token_create(struct store *st,
                      int64_t user_id,
                      const char *kind,
                      const char *name,
                      int64_t expires_at,
                      char token[AUTH_TOKEN_LEN + 1],
                      int64_t *ret_id);

/*
 * Create an org with its first owner (admin: platform admin too). Returns
 * 0 with the new ids, -ERR_CONFLICT when the org name or login is taken.
 */
int auth_org_create(struct store *st,
                    const char *org_name,
                    const char *login,
                    const char *password,
                    const char *name,
                    bool admin,
                    int64_t *ret_org,
                    int64_t *ret_user);

/* Create a user in `org_id`. -ERR_CONFLICT when the login is taken. */
int auth_user_create(struct store *st,
                     int64_t org_id,
                     const char *login,
                     const char *password,
                     const char *name,
                     const char *role,
                     int64_t *ret_id);

#endif
