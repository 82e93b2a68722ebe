/*
 * media.c: the content-addressed media dir, uploads, sniffing, and the
 * libvips work (probing and thumbnails). See media.h for the design.
 */
#include "media/media.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vips/vips.h>

#include <pthread.h>

#include "core/err.h"

#define HEAD_BYTES   64          /* kept for sniffing */
#define TMP_MAX_AGE  (24 * 3600) /* seconds before a temp file counts as a crash's leftover */
#define VIPS_THREADS 2           /* libvips worker threads per job */

struct media {
    char *dir;
    sem_t vips_slots; /* MEDIA_VIPS_JOBS at a time */
};

struct media_upload {
    struct media *m;
    int fd;
    bool finished; /* renamed into place or removed: nothing to clean */
    char tmp[PATH_MAX];
    crypto_hash_sha256_state sha;
    unsigned char head[HEAD_BYTES];
    size_t head_len;
    int64_t bytes;
};

/* ------------------------------------------------------------------ */
/* paths and files                                                     */

/* mkdir -p, mode 0750. 0 or a negative errno. */
static int mkdirs(const char *path)
{
    char p[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(p))
        return -ENAMETOOLONG;
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0750) < 0 && errno != EEXIST)
            return -errno;
        p[i] = c;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

/* DIR/<sub>ab/cd into out; 0 or -ENAMETOOLONG. sub is "" or "thumbs/". */
static int shard_dir(const struct media *m, const char *sub, const char *id, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s%.2s/%.2s", m->dir, sub, id, id + 2);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void remove_stale_tmp(const char *tmpdir)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
            now - sb.st_mtime > TMP_MAX_AGE)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

/* ------------------------------------------------------------------ */
/* libvips                                                             */

static pthread_once_t vips_once = PTHREAD_ONCE_INIT;
static int vips_init_result;

/*
 * libvips warns on stderr about the files it reads ("not enough data"):
 * user input, already answered as a refusal. The library does not log.
 */
static void vips_log_drop(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer ctx)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)ctx;
}

static void vips_setup(void)
{
    if (VIPS_INIT("annotd") != 0) {
        vips_init_result = -ENOSYS;
        return;
    }
    vips_cache_set_max(0); /* every job reads another file: nothing to reuse */
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    vips_concurrency_set(VIPS_THREADS);
    vips_block_untrusted_set(TRUE); /* no ImageMagick, Analyze, FITS ... on user files */
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO,
                      vips_log_drop, NULL);
}

static int vips_slot_take(struct media *m)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += MEDIA_VIPS_WAIT_MS / 1000;
    ts.tv_nsec += (long)(MEDIA_VIPS_WAIT_MS % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (sem_timedwait(&m->vips_slots, &ts) < 0)
        if (errno != EINTR)
            return -ERR_UNAVAILABLE;
    return 0;
}

static void vips_slot_give(struct media *m)
{
    vips_error_clear();
    vips_thread_shutdown(); /* per-thread buffers of this pool thread */
    sem_post(&m->vips_slots);
}

/* Load with the loader of the sniffed type only, header now, pixels on demand. */
static int vips_load(const char *path, const char *mime, VipsImage **out)
{
    if (strcmp(mime, "image/png") == 0)
        return vips_pngload(path, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                            VIPS_FAIL_ON_ERROR, NULL);
    if (strcmp(mime, "image/jpeg") == 0)
        return vips_jpegload(path, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                             VIPS_FAIL_ON_ERROR, NULL);
    if (strcmp(mime, "image/webp") == 0)
        return vips_webpload(path, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                             VIPS_FAIL_ON_ERROR, NULL);
    if (strcmp(mime, "image/gif") == 0)
        return vips_gifload(path, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                            VIPS_FAIL_ON_ERROR, NULL);
    if (strcmp(mime, "image/tiff") == 0)
        return vips_tiffload(path, out, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                             VIPS_FAIL_ON_ERROR, NULL);
    return -1;
}

static int check_dimensions(int64_t w, int64_t h, char *why, size_t why_size)
{
    if (w > MEDIA_MAX_SIDE || h > MEDIA_MAX_SIDE || w * h > MEDIA_MAX_PIXELS) {
        snprintf(
            why, why_size,
            "the image is %lld x %lld pixels; at most %d a side and %lld megapixels are allowed",
            (long long)w, (long long)h, MEDIA_MAX_SIDE, MEDIA_MAX_PIXELS / 1000000);
        return -EFBIG;
    }
    return 0;
}

/* Dimensions from the header, then one full decode. */
static int probe_vips(struct media *m,
                      const char *path,
                      const char *mime,
                      int *ret_w,
                      int *ret_h,
                      char *why,
                      size_t why_size)
{
    int r = vips_slot_take(m);
    if (r < 0) {
        snprintf(why, why_size, "the image decoder is busy; try again");
        return r;
    }
    VipsImage *img = NULL;
    if (vips_load(path, mime, &img) != 0) {
        snprintf(why, why_size, "the file starts like %s but its header does not decode", mime);
        r = -EBADMSG;
        goto out;
    }
    int w = vips_image_get_width(img), h = vips_image_get_height(img);
    if (w <= 0 || h <= 0) {
        snprintf(why, why_size, "the image has no pixels");
        r = -EBADMSG;
        goto out;
    }
    r = check_dimensions(w, h, why, why_size);
    if (r < 0)
        goto out;
    double avg;
    if (vips_avg(img, &avg, NULL) != 0) {
        snprintf(why, why_size, "the %s image does not decode (truncated or corrupt)", mime);
        r = -EBADMSG;
        goto out;
    }
    *ret_w = w;
    *ret_h = h;
    r = 0;
out:
    if (img)
        g_object_unref(img);
    vips_slot_give(m);
    return r;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* BMP: libvips reads it only through ImageMagick (blocked), so the header says. */
static int
probe_bmp(const struct media_upload *u, int *ret_w, int *ret_h, char *why, size_t why_size)
{
    const unsigned char *h = u->head;
    uint32_t data_off = le32(h + 10), dib = le32(h + 14);
    int64_t w, ht;
    if (dib == 12) {
        w = h[18] | h[19] << 8;
        ht = h[20] | h[21] << 8;
    } else {
        w = (int32_t)le32(h + 18);
        ht = (int32_t)le32(h + 22);
        if (ht < 0)
            ht = -ht; /* top-down */
    }
    if (w <= 0 || ht <= 0 || data_off < 14 + dib || (int64_t)data_off >= u->bytes) {
        snprintf(why, why_size, "the BMP header is inconsistent");
        return -EBADMSG;
    }
    int r = check_dimensions(w, ht, why, why_size);
    if (r < 0)
        return r;
    *ret_w = (int)w;
    *ret_h = (int)ht;
    return 0;
}

/* ------------------------------------------------------------------ */
/* types                                                               */

const char *media_sniff(const unsigned char *h, size_t n)
{
    if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF)
        return "image/jpeg";
    if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 6 && (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0))
        return "image/gif";
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0)
        return "image/webp";
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WAVE", 4) == 0)
        return "audio/wav";
    if (n >= 26 && h[0] == 'B' && h[1] == 'M') {
        uint32_t dib = le32(h + 14); /* the DIB header sizes that exist */
        if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 ||
            dib == 124)
            return "image/bmp";
        return NULL;
    }
    if (n >= 4 && (memcmp(h, "II*\0", 4) == 0 || memcmp(h, "MM\0*", 4) == 0))
        return "image/tiff";
    if (n >= 12 && memcmp(h + 4, "ftyp", 4) == 0) {
        if (memcmp(h + 8, "M4A ", 4) == 0 || memcmp(h + 8, "M4B ", 4) == 0)
            return "audio/mp4";
        if (memcmp(h + 8, "qt  ", 4) == 0 || memcmp(h + 8, "heic", 4) == 0 ||
            memcmp(h + 8, "avif", 4) == 0 || memcmp(h + 8, "mif1", 4) == 0)
            return NULL; /* QuickTime, HEIF/AVIF: not (yet) accepted */
        return "video/mp4";
    }
    if (n >= 4 && memcmp(h, "\x1a\x45\xdf\xa3", 4) == 0) /* EBML: Matroska or WebM */
        return memmem(h, n, "webm", 4) ? "video/webm" : NULL;
    if (n >= 4 && memcmp(h, "OggS", 4) == 0)
        return "audio/ogg";
    if (n >= 4 && memcmp(h, "fLaC", 4) == 0)
        return "audio/flac";
    if (n >= 3 && memcmp(h, "ID3", 3) == 0)
        return "audio/mpeg";
    /* an MPEG audio frame: 11 sync bits, a version and a layer that exist */
    if (n >= 4 && h[0] == 0xFF && (h[1] & 0xE0) == 0xE0 && (h[1] & 0x18) != 0x08 &&
        (h[1] & 0x06) != 0)
        return "audio/mpeg";
    return NULL;
}

bool media_mime_has_thumbs(const char *mime)
{
    static const char *const types[] = { "image/jpeg", "image/png",  "image/webp",
                                         "image/gif",  "image/tiff", NULL };
    for (int i = 0; types[i]; i++)
        if (strcmp(mime, types[i]) == 0)
            return true;
    return false;
}

const char *media_mime_ext(const char *mime)
{
    static const char *const map[][2] = {
        { "image/jpeg", "jpg" },  { "image/png", "png" },   { "image/gif", "gif" },
        { "image/webp", "webp" }, { "image/bmp", "bmp" },   { "image/tiff", "tif" },
        { "video/mp4", "mp4" },   { "video/webm", "webm" }, { "audio/mp4", "m4a" },
        { "audio/mpeg", "mp3" },  { "audio/ogg", "ogg" },   { "audio/flac", "flac" },
        { "audio/wav", "wav" },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(mime, map[i][0]) == 0)
            return map[i][1];
    return "bin";
}

bool media_id_valid(const char *p, size_t len)
{
    if (!p || len != MEDIA_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* the media dir                                                       */

int media_open(const char *dir, struct media **ret)
{
    pthread_once(&vips_once, vips_setup);
    if (vips_init_result < 0)
        return vips_init_result;
    char p[PATH_MAX];
    static const char *const subs[] = { "", "/tmp", "/thumbs" };
    for (size_t i = 0; i < 3; i++) {
        if ((size_t)snprintf(p, sizeof(p), "%s%s", dir, subs[i]) >= sizeof(p))
            return -ENAMETOOLONG;
        int r = mkdirs(p);
        if (r < 0)
            return r;
    }
    snprintf(p, sizeof(p), "%s/tmp", dir);
    remove_stale_tmp(p);
    struct media *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->dir = strdup(dir);
    if (!m->dir || sem_init(&m->vips_slots, 0, MEDIA_VIPS_JOBS) < 0) {
        free(m->dir);
        free(m);
        return -ENOMEM;
    }
    *ret = m;
    return 0;
}

void media_close(struct media *m)
{
    if (!m)
        return;
    sem_destroy(&m->vips_slots);
    free(m->dir);
    free(m);
}

/* ------------------------------------------------------------------ */
/* uploads                                                             */

int media_upload_begin(struct media *m, struct media_upload **ret)
{
    struct media_upload *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->m = m;
    if ((size_t)snprintf(u->tmp, sizeof(u->tmp), "%s/tmp/upload-XXXXXX", m->dir) >=
        sizeof(u->tmp)) {
        free(u);
        return -ENAMETOOLONG;
    }
    u->fd = mkostemp(u->tmp, O_CLOEXEC);
    if (u->fd < 0) {
        int r = -errno;
        free(u);
        return r;
    }
    crypto_hash_sha256_init(&u->sha);
    *ret = u;
    return 0;
}

int media_upload_write(struct media_upload *u, const void *p, size_t len)
{
    const unsigned char *c = p;
    if (u->head_len < HEAD_BYTES) {
        size_t n = HEAD_BYTES - u->head_len < len ? HEAD_BYTES - u->head_len : len;
        memcpy(u->head + u->head_len, c, n);
        u->head_len += n;
    }
    crypto_hash_sha256_update(&u->sha, c, len);
    while (len > 0) {
        ssize_t w = write(u->fd, c, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += w;
        len -= (size_t)w;
        u->bytes += w;
    }
    return 0;
}

int64_t media_upload_bytes(const struct media_upload *u)
{
    return u->bytes;
}

bool media_upload_decodes(const struct media_upload *u)
{
    const char *mime = media_sniff(u->head, u->head_len);
    return u->bytes > 0 && mime && media_mime_has_thumbs(mime);
}

static void set_why(char *why, size_t why_size, const char *msg)
{
    if (why && why_size)
        snprintf(why, why_size, "%s", msg);
}

int media_upload_finish(struct media_upload *u, struct media_info *ret, char *why, size_t why_size)
{
    char scratch[256];
    if (!why || !why_size) {
        why = scratch;
        why_size = sizeof(scratch);
    }
    why[0] = '\0';
    if (u->bytes == 0) {
        set_why(why, why_size, "the body is empty");
        return -ENODATA;
    }
    const char *mime = media_sniff(u->head, u->head_len);
    if (!mime) {
        set_why(why, why_size,
                "unknown file type: images (JPEG, PNG, WebP, GIF, BMP, TIFF), video (MP4, WebM)"
                " and audio (MP3, M4A, Ogg, FLAC, WAV) are accepted, recognised by their content");
        return -ERR_UNSUPPORTED_MEDIA;
    }
    if (fsync(u->fd) < 0)
        return -errno;

    int w = 0, h = 0, r = 0;
    if (strcmp(mime, "image/bmp") == 0)
        r = probe_bmp(u, &w, &h, why, why_size);
    else if (media_mime_has_thumbs(mime))
        r = probe_vips(u->m, u->tmp, mime, &w, &h, why, why_size);
    if (r < 0)
        return r;

    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&u->sha, digest);
    sodium_bin2hex(ret->id, sizeof(ret->id), digest, sizeof(digest));

    char dir[PATH_MAX], path[PATH_MAX + MEDIA_ID_LEN + 2];
    r = shard_dir(u->m, "", ret->id, dir, sizeof(dir));
    if (r < 0)
        return r;
    r = mkdirs(dir);
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "%s/%s", dir, ret->id);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == u->bytes) {
        unlink(u->tmp); /* the same bytes are there already */
    } else {
        if (fchmod(u->fd, 0640) < 0 || rename(u->tmp, path) < 0)
            return -errno;
        r = fsync_dir(dir);
        if (r < 0)
            return r;
    }
    u->finished = true;
    ret->mime = mime;
    ret->bytes = u->bytes;
    ret->width = w;
    ret->height = h;
    return 0;
}

void media_upload_free(struct media_upload *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    if (!u->finished)
        unlink(u->tmp);
    free(u);
}

/* ------------------------------------------------------------------ */
/* reading                                                             */

/* Open a regular file read-only: the fd and its size, or a negative errno. */
static int open_regular(const char *path, int64_t *ret_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return -ENOENT;
    }
    *ret_size = sb.st_size;
    return fd;
}

int media_open_file(struct media *m, const char *id, int64_t *ret_size)
{
    if (!media_id_valid(id, strlen(id)))
        return -ENOENT;
    char dir[PATH_MAX], path[PATH_MAX + MEDIA_ID_LEN + 2];
    int r = shard_dir(m, "", id, dir, sizeof(dir));
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "%s/%s", dir, id);
    return open_regular(path, ret_size);
}

/* Write the thumbnail of src into dst (a temp path); 0 and *ret_webp, or negative. */
static int thumb_make(struct media *m, const char *src, int size, const char *dst, bool *ret_webp)
{
    int r = vips_slot_take(m);
    if (r < 0)
        return r;
    VipsImage *t = NULL;
    if (vips_thumbnail(src, &t, size, "height", size, "size", VIPS_SIZE_DOWN, NULL) != 0) {
        r = -EBADMSG;
        goto out;
    }
    bool webp = vips_image_hasalpha(t);
    if (webp)
        r = vips_webpsave(t, dst, "Q", 80, "strip", TRUE, NULL);
    else
        r = vips_jpegsave(t, dst, "Q", 82, "strip", TRUE, NULL);
    r = r != 0 ? -EIO : 0;
    if (r == 0)
        *ret_webp = webp;
out:
    if (t)
        g_object_unref(t);
    vips_slot_give(m);
    return r;
}

static const char *const thumb_exts[2][2] = { { "jpg", "image/jpeg" }, { "webp", "image/webp" } };

int media_thumb_cached(struct media *m,
                       const char *id,
                       const char *mime,
                       int size,
                       const char **ret_mime,
                       int64_t *ret_size)
{
    if (size < MEDIA_THUMB_MIN || size > MEDIA_THUMB_MAX)
        return -EINVAL;
    if (!media_mime_has_thumbs(mime))
        return -ERR_UNSUPPORTED_MEDIA;
    if (!media_id_valid(id, strlen(id)))
        return -ENOENT;
    char dir[PATH_MAX], path[PATH_MAX + 100];
    int r = shard_dir(m, "thumbs/", id, dir, sizeof(dir));
    if (r < 0)
        return r;
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s-%d.%s", dir, id, size, thumb_exts[i][0]);
        int fd = open_regular(path, ret_size);
        if (fd >= 0) {
            *ret_mime = thumb_exts[i][1];
            return fd;
        }
    }
    return -ENOENT;
}

int media_thumb_open(struct media *m,
                     const char *id,
                     const char *mime,
                     int size,
                     const char **ret_mime,
                     int64_t *ret_size)
{
    int fd = media_thumb_cached(m, id, mime, size, ret_mime, ret_size);
    if (fd != -ENOENT || !media_id_valid(id, strlen(id)))
        return fd;
    char dir[PATH_MAX], path[PATH_MAX + 100], src[PATH_MAX + 100], tmp[PATH_MAX + 100];
    int r = shard_dir(m, "thumbs/", id, dir, sizeof(dir));
    if (r < 0)
        return r;

    /* first request: make it from the original */
    r = shard_dir(m, "", id, src, sizeof(src));
    if (r < 0)
        return r;
    size_t n = strlen(src);
    snprintf(src + n, sizeof(src) - n, "/%s", id);
    if (access(src, R_OK) < 0)
        return -errno;
    r = mkdirs(dir);
    if (r < 0)
        return r;
    snprintf(tmp, sizeof(tmp), "%s/tmp/thumb-XXXXXX", m->dir);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    close(fd);
    bool webp = false;
    r = thumb_make(m, src, size, tmp, &webp);
    if (r == 0) {
        /* durable before it appears under its final name */
        fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0 || fchmod(fd, 0640) < 0)
            r = -EIO;
        if (fd >= 0)
            close(fd);
    }
    const int e = webp ? 1 : 0;
    snprintf(path, sizeof(path), "%s/%s-%d.%s", dir, id, size, thumb_exts[e][0]);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    fd = open_regular(path, ret_size);
    if (fd >= 0)
        *ret_mime = thumb_exts[e][1];
    return fd;
}
