/*
 * story roster: candidate character names of a novel, and the small name
 * set the dialogue stage shares. See story.h for the contract.
 *
 * DESIGN
 *
 * Names come from the speakers that dialogue.c attributed (speaks: how many
 * utterances each got). Junk is dropped: pronouns, group words and bare
 * titles (他, 众人, 太尉, 老爷 ...), and one-character names (公, 女) unless
 * they speak at least SINGLE_MIN_SPEAKS times. Mentions are substring
 * counts over every chapter body, found in one pass per body: at each code
 * point the set is probed for each name length present (at most a few),
 * so the cost is body length x distinct name lengths, never names x text.
 * Sorted by mentions, then speaks, then bytes, so the order is stable.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "story/story.h"
#include "story/story_int.h"

#define SINGLE_MIN_SPEAKS 10
#define SINGLE_TAG_SHARE  20 /* one mention in 20 at least is a speech tag */
#define NAME_MAX_BYTES    (8 * 4)

/* ---- name set ----------------------------------------------------------- */

static uint64_t hash_bytes(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static struct story_name_slot *probe(const struct story_nameset *s, const char *p, size_t len)
{
    size_t mask = s->cap - 1;
    for (size_t i = (size_t)hash_bytes(p, len) & mask;; i = (i + 1) & mask) {
        struct story_name_slot *slot = &s->slots[i];
        if (!slot->p || (slot->len == len && memcmp(slot->p, p, len) == 0))
            return slot;
    }
}

static int grow(struct story_nameset *s)
{
    size_t ncap = s->cap ? s->cap * 2 : 64;
    struct story_name_slot *old = s->slots;
    size_t ocap = s->cap;
    s->slots = calloc(ncap, sizeof(*s->slots));
    if (!s->slots) {
        s->slots = old;
        return -ENOMEM;
    }
    s->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].p)
            *probe(s, old[i].p, old[i].len) = old[i];
    free(old);
    return 0;
}

int story_nameset_add(struct story_nameset *s,
                      const char *p,
                      size_t len,
                      struct story_name_slot **ret_slot)
{
    if ((s->n + 1) * 2 > s->cap) {
        int r = grow(s);
        if (r < 0)
            return r;
    }
    struct story_name_slot *slot = probe(s, p, len);
    int added = slot->p == NULL;
    if (added) {
        *slot = (struct story_name_slot){ .p = p, .len = len };
        s->n++;
        if (len > s->max_len)
            s->max_len = len;
    }
    if (ret_slot)
        *ret_slot = slot;
    return added;
}

struct story_name_slot *story_nameset_find(const struct story_nameset *s, const char *p, size_t len)
{
    if (s->n == 0 || len == 0 || len > s->max_len)
        return NULL;
    struct story_name_slot *slot = probe(s, p, len);
    return slot->p ? slot : NULL;
}

void story_nameset_release(struct story_nameset *s)
{
    if (!s)
        return;
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

/* ---- roster ----------------------------------------------------------- */

/* Not character names on their own. */
static const char *const junk[] = {
    "他",   "她",   "我",   "你",   "它",   "其",   "伊",     "他们", "她们", "我们",
    "你们", "咱们", "那人", "此人", "这人", "众人", "众",     "大家", "有人", "人",
    "二人", "两人", "两个", "三人", "自己", "对方", "太尉",   "老爷", "大人", "先生",
    "夫人", "小姐", "公子", "相公", "官人", "娘子", "员外",   "太公", "和尚", "道人",
    "长老", "大王", "将军", "丞相", "皇帝", "天子", "陛下",   "殿下", "小人", "小的",
    "老身", "奴家", "妾",   "臣",   "朕",   "孤",   "贫道",   "洒家", "俺",   "哥哥",
    "兄弟", "大哥", "姐姐", "妹妹", "父亲", "母亲", "孩儿",   "儿",   "那厮", "这厮",
    "贼",   "汉",   "那汉", "大汉", "军士", "庄客", "店小二", "小二",
};

static bool is_junk(const char *name)
{
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        if (strcmp(name, junk[i]) == 0)
            return true;
    return false;
}

static size_t cps(const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)p[i] & 0xC0) != 0x80;
    return n;
}

static int by_frequency(const void *a, const void *b)
{
    const struct story_name *x = a, *y = b;
    if (x->mentions != y->mentions)
        return x->mentions > y->mentions ? -1 : 1;
    if (x->speaks != y->speaks)
        return x->speaks > y->speaks ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* First code points of the names (BMP), so that most positions cost one bit test. */
struct first_cps {
    uint8_t bits[0x10000 / 8];
};

static uint32_t first_cp(const char *p, size_t len)
{
    size_t i = 0;
    return story_u8_next(p, len, &i);
}

/* Add every occurrence of a set name in body[0..len) to its mentions. */
static void count_mentions(struct story_nameset *set,
                           struct story_name *v,
                           const char *body,
                           size_t len,
                           const bool *has_len,
                           const struct first_cps *first)
{
    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)body[i] & 0xC0) == 0x80)
            continue; /* names start on a code point */
        uint32_t c = first_cp(body + i, len - i);
        if (c < 0x10000 && !(first->bits[c >> 3] & (1u << (c & 7))))
            continue;
        for (size_t n = 1; n <= set->max_len && i + n <= len; n++) {
            if (!has_len[n])
                continue;
            struct story_name_slot *s = story_nameset_find(set, body + i, n);
            if (s)
                v[s->value].mentions++;
        }
    }
}

int story_roster_collect(const struct story_chapter_parts *parts,
                         size_t n,
                         size_t min_mentions,
                         struct story_roster *ret)
{
    struct story_roster out = { 0 };
    struct story_nameset set = { 0 };
    struct story_name *v = NULL;
    size_t nv = 0, alloc = 0;
    int r = 0;

    arena_init(&out.arena, 0);
    for (size_t c = 0; c < n && r == 0; c++) {
        for (size_t k = 0; k < parts[c].n_utterances && r == 0; k++) {
            const char *name = parts[c].utterances[k].speaker;
            if (!name || !*name || strlen(name) > NAME_MAX_BYTES)
                continue;
            struct story_name_slot *slot;
            r = story_nameset_add(&set, name, strlen(name), &slot);
            if (r == 1) {
                if (nv == alloc) {
                    size_t na = alloc ? alloc * 2 : 64;
                    struct story_name *nn = realloc(v, na * sizeof(*nn));
                    if (!nn) {
                        r = -ENOMEM;
                        break;
                    }
                    v = nn;
                    alloc = na;
                }
                slot->value = nv;
                v[nv++] = (struct story_name){ .name = name };
                r = 0;
            }
            if (r == 0)
                v[slot->value].speaks++;
        }
    }
    if (r == 0 && nv > 0) {
        bool has_len[NAME_MAX_BYTES + 1] = { false };
        struct first_cps *first = calloc(1, sizeof(*first));
        if (!first) {
            r = -ENOMEM;
        } else {
            for (size_t i = 0; i < nv; i++) {
                uint32_t c = first_cp(v[i].name, strlen(v[i].name));
                has_len[strlen(v[i].name)] = true;
                if (c < 0x10000)
                    first->bits[c >> 3] |= (uint8_t)(1u << (c & 7));
            }
            for (size_t c = 0; c < n; c++)
                count_mentions(&set, v, parts[c].body, parts[c].body_bytes, has_len, first);
            free(first);
        }
    }

    size_t w = 0;
    for (size_t i = 0; r == 0 && i < nv; i++) {
        struct story_name x = v[i];
        if (is_junk(x.name))
            continue;
        /* one character: only a frequent speaker whose mentions are often tags (公 in 聊斋) */
        if (cps(x.name, strlen(x.name)) == 1 &&
            (x.speaks < SINGLE_MIN_SPEAKS || x.speaks * SINGLE_TAG_SHARE < x.mentions))
            continue;
        if (x.speaks == 0 && x.mentions < min_mentions)
            continue;
        x.name = arena_strdup(&out.arena, x.name);
        if (!x.name) {
            r = -ENOMEM;
            break;
        }
        v[w++] = x;
    }
    story_nameset_release(&set);
    if (r == 0 && w > 0) {
        qsort(v, w, sizeof(*v), by_frequency);
        out.v = arena_calloc(&out.arena, w, sizeof(*out.v));
        if (!out.v)
            r = -ENOMEM;
        else
            memcpy(out.v, v, w * sizeof(*v));
        out.n = w;
    }
    if (r == 0 && out.arena.err)
        r = out.arena.err;
    free(v);
    if (r < 0) {
        arena_free(&out.arena);
        return r;
    }
    *ret = out;
    return 0;
}

void story_roster_release(struct story_roster *r)
{
    if (!r)
        return;
    arena_free(&r->arena);
    r->v = NULL;
    r->n = 0;
}
