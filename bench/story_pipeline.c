/*
 * story_pipeline: the novel -> storyboard benchmark (issue 5).
 *
 *   story_pipeline FILE [--t2s]
 *       ingest + chapters + scenes/utterances of every chapter + the
 *       rule-based draft of every scene, in process (no database): wall
 *       time per stage, shots drafted, peak RSS. Target: < 2 s, < 200 MB.
 *   story_pipeline FILE --sync N
 *       on a fresh SQLite store: import the novel's first N chapters, then
 *       time the sync that appends chapter N+1 (the whole novel up to it is
 *       uploaded again, as a site export would be). Target: < 200 ms.
 *
 * Prints one JSON document. See bench/README.md.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "project/project.h"
#include "story/story.h"
#include "storyboard/storyboard.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p)
        p[n] = '\0';
    *len = p ? (size_t)n : 0;
    return p;
}

static void id_gen(void *ctx, char *out, size_t cap)
{
    unsigned long *n = ctx;
    snprintf(out, cap, "b%06lu", ++*n);
}

static int pipeline(const char *p, size_t len, bool t2s)
{
    double t0 = now_ms();
    struct story_text t;
    struct story_error e;
    struct story_ingest_opts io = { .t2s = t2s, .max_bytes = (size_t)64 << 20 };
    if (story_ingest(p, len, &io, &t, &e) < 0) {
        fprintf(stderr, "ingest: %s\n", e.message);
        return 1;
    }
    double t1 = now_ms();
    struct story_chapters ch;
    if (story_chapters(&t, &ch) < 0)
        return 1;
    double t2 = now_ms();
    size_t scenes = 0, utterances = 0, shots = 0;
    double split_ms = 0, draft_ms = 0;
    unsigned long ids = 0;
    struct story_draft_opts d = { .next_id = id_gen, .id_ctx = &ids };
    for (size_t i = 0; i < ch.n; i++) {
        double a = now_ms();
        struct story_chapter_parts parts;
        if (story_chapter_split(&t, &ch.v[i], NULL, NULL, &parts) < 0)
            return 1;
        double b = now_ms();
        for (size_t k = 0; k < parts.n_scenes; k++) {
            json_t *r = story_draft_scene(&parts, &parts.scenes[k], &d);
            shots += json_array_size(json_object_get(r, "shots"));
            json_decref(r);
        }
        draft_ms += now_ms() - b;
        split_ms += b - a;
        scenes += parts.n_scenes;
        utterances += parts.n_utterances;
        story_parts_release(&parts);
    }
    double t3 = now_ms();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"bytes\":%zu,\"encoding\":\"%s\",\"chapters\":%zu,\"scenes\":%zu,\"utterances\":%zu,"
           "\"shots\":%zu,\"ms\":{\"ingest\":%.1f,\"chapters\":%.1f,\"split\":%.1f,\"draft\":%.1f,"
           "\"total\":%.1f},\"peak_rss_mb\":%.1f}\n",
           len, t.encoding, ch.n, scenes, utterances, shots, t1 - t0, t2 - t1, split_ms, draft_ms, t3 - t0,
           (double)ru.ru_maxrss / 1024.0);
    story_chapters_release(&ch);
    story_text_release(&t);
    return 0;
}

static int mk_org(struct store_tx *tx, void *ctx)
{
    return store_org_create(tx, "bench", clock_now_ms(), ctx);
}

static int sync_bench(const char *p, size_t len, int n)
{
    /* the normalised text, cut before chapter n+1 and n+2 */
    struct story_text t;
    struct story_error e;
    struct story_chapters ch;
    if (story_ingest(p, len, NULL, &t, &e) < 0 || story_chapters(&t, &ch) < 0 || ch.n < (size_t)n + 2) {
        fprintf(stderr, "the novel needs at least %d chapters\n", n + 2);
        return 1;
    }
    /* a chapter's heading starts its line; cut at the start of that line */
    size_t cut1 = ch.v[n].byte_begin, cut2 = ch.v[n + 1].byte_begin;
    const char *s = t.text.p;
    for (int k = 0; k < 2; k++) {
        size_t *c = k ? &cut2 : &cut1;
        size_t line = ch.v[n + k].heading_line, at = 0;
        for (size_t l = 1; l < line && at < t.text.len; l++)
            at = (size_t)(strchr(s + at, '\n') - s) + 1;
        *c = at;
    }
    char dir[] = "/tmp/annotd-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char url[128];
    snprintf(url, sizeof(url), "%s/bench.db", dir);
    struct store *st;
    struct store_options so = { .url = url };
    if (store_open(&so, &st) < 0)
        return 1;
    int64_t org = 0, pid = 0;
    store_write(st, mk_org, &org);
    json_t *cfg = json_object();
    struct project_spec spec = { .name = "bench", .kind = "storyboard", .config = cfg, .overlap = 1,
                                 .lease_seconds = 3600 };
    if (project_create(st, org, 0, &spec, &pid) < 0)
        return 1;
    struct arena a;
    arena_init(&a, 0);
    struct store_project pr;
    project_get(st, 0, pid, &a, &pr);
    struct storyboard_import_opts o = { 0 };
    struct storyboard_error err = { 0 };
    struct buf out;
    buf_init(&out, 0);
    double t0 = now_ms();
    int r = storyboard_import(st, &pr, s, cut1, &o, &out, &err);
    double t1 = now_ms();
    buf_clear(&out);
    double t2 = now_ms();
    if (r == 0)
        r = storyboard_import(st, &pr, s, cut2, &o, &out, &err);
    double t3 = now_ms();
    if (r < 0) {
        fprintf(stderr, "import: %d %s\n", r, err.message);
        return 1;
    }
    json_t *sum = json_loadb(out.p, out.len, 0, NULL);
    char *sync = json_dumps(json_object_get(sum, "sync"), JSON_COMPACT);
    printf("{\"chapters_before\":%d,\"first_import_ms\":%.1f,\"append_one_chapter_ms\":%.1f,\"sync\":%s}\n", n,
           t1 - t0, t3 - t2, sync ? sync : "null");
    free(sync);
    json_decref(sum);
    json_decref(cfg);
    buf_release(&out);
    arena_free(&a);
    store_close(st);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    story_chapters_release(&ch);
    story_text_release(&t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: story_pipeline FILE [--t2s | --sync N]\n");
        return 2;
    }
    size_t len;
    char *p = slurp(argv[1], &len);
    if (!p) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    int rc;
    if (argc > 3 && strcmp(argv[2], "--sync") == 0)
        rc = sync_bench(p, len, atoi(argv[3]));
    else
        rc = pipeline(p, len, argc > 2 && strcmp(argv[2], "--t2s") == 0);
    free(p);
    return rc;
}
