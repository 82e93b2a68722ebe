/*
 * Unit tests for src/story roster (roster.c): speaks and mentions, junk
 * names left out, the order, and the roster of the whole 水浒传 from
 * /work/shared/testdata/novels (or $ANNOTD_STORY_NOVELS), whose leading
 * characters must be among the first names.
 */
/* cmocka needs these before it, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "story/story.h"
#include "story/story_int.h"

static const struct story_name *find(const struct story_roster *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].name, name) == 0)
            return &r->v[i];
    return NULL;
}

static void test_nameset(void **state)
{
    struct story_nameset s = { 0 };
    char names[200][8];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "n%d", i);
        assert_int_equal(story_nameset_add(&s, names[i], strlen(names[i]), NULL), 1);
    }
    struct story_name_slot *slot;
    assert_int_equal(story_nameset_add(&s, "n7", 2, &slot), 0);
    assert_ptr_equal(slot->p, names[7]);
    assert_non_null(story_nameset_find(&s, "n199", 4));
    assert_null(story_nameset_find(&s, "n200", 4));
    assert_null(story_nameset_find(&s, "", 0));
    story_nameset_release(&s);
    story_nameset_release(&s);
    story_nameset_release(NULL);
}

static void test_collect(void **state)
{
    const char *ch1 =
        "宋江道：“兄弟。”林冲道：“哥哥。”宋江笑道：“好。”\n他说：“嗯。”众人道：“是。”\n";
    const char *ch2 = "宋江又见了林冲。李逵道：“俺来也。”太尉道：“拿下。”\n";
    struct story_chapter_parts parts[2];
    assert_int_equal(story_body_split(ch1, strlen(ch1), NULL, NULL, &parts[0]), 0);
    assert_int_equal(story_body_split(ch2, strlen(ch2), NULL, NULL, &parts[1]), 0);
    struct story_roster r;
    assert_int_equal(story_roster_collect(parts, 2, 1, &r), 0);
    const struct story_name *song = find(&r, "宋江");
    assert_non_null(song);
    assert_int_equal(song->speaks, 3);   /* 他说 resolves to the nearest name, 宋江 */
    assert_int_equal(song->mentions, 3); /* two tags and one in narration */
    assert_non_null(find(&r, "林冲"));
    assert_non_null(find(&r, "李逵"));
    assert_null(find(&r, "他"));
    assert_null(find(&r, "众人"));
    assert_null(find(&r, "太尉"));            /* a title alone */
    assert_string_equal(r.v[0].name, "宋江"); /* most mentioned first */
    for (size_t i = 1; i < r.n; i++)
        assert_true(r.v[i - 1].mentions >= r.v[i].mentions);
    story_roster_release(&r);
    story_roster_release(&r);
    story_roster_release(NULL);

    /* nothing attributed: an empty roster */
    assert_int_equal(story_roster_collect(parts, 0, 1, &r), 0);
    assert_int_equal(r.n, 0);
    story_roster_release(&r);
    story_parts_release(&parts[0]);
    story_parts_release(&parts[1]);
}

static char *slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *ret_len = (size_t)n;
    return p;
}

static void test_shuihuzhuan(void **state)
{
    const char *dir = getenv("ANNOTD_STORY_NOVELS");
    char path[1024];
    snprintf(path, sizeof(path), "%s/shuihuzhuan.utf8.txt",
             dir ? dir : "/work/shared/testdata/novels");
    size_t n = 0;
    char *raw = slurp(path, &n);
    if (!raw)
        skip();
    struct story_text t;
    struct story_error err;
    assert_int_equal(story_ingest(raw, n, NULL, &t, &err), 0);
    free(raw);
    struct story_chapters c;
    assert_int_equal(story_chapters(&t, &c), 0);
    struct story_chapter_parts *parts = calloc(c.n, sizeof(*parts));
    assert_non_null(parts);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(story_chapter_split(&t, &c.v[i], NULL, NULL, &parts[i]), 0);
    struct story_roster r;
    assert_int_equal(story_roster_collect(parts, c.n, 3, &r), 0);
    print_message("shuihuzhuan roster: %zu names; first:", r.n);
    for (size_t i = 0; i < r.n && i < 12; i++)
        print_message(" %s(%zu/%zu)", r.v[i].name, r.v[i].speaks, r.v[i].mentions);
    print_message("\n");
    static const char *const heroes[] = { "宋江", "李逵", "武松", "吴用", "林冲" };
    for (size_t h = 0; h < sizeof(heroes) / sizeof(heroes[0]); h++) {
        bool top = false;
        for (size_t i = 0; i < r.n && i < 20; i++)
            top |= strcmp(r.v[i].name, heroes[h]) == 0;
        if (!top)
            fail_msg("%s not among the first 20 names", heroes[h]);
    }
    assert_string_equal(r.v[0].name, "宋江");
    story_roster_release(&r);
    for (size_t i = 0; i < c.n; i++)
        story_parts_release(&parts[i]);
    free(parts);
    story_chapters_release(&c);
    story_text_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nameset),
        cmocka_unit_test(test_collect),
        cmocka_unit_test(test_shuihuzhuan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
