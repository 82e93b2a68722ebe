/*
 * media: a content-addressed media dir, type sniffing, image probing and
 * thumbnails (libvips).
 *
 * DESIGN
 * - Layout: DIR/ab/cd/<sha256 hex> holds the bytes of the media whose
 *   sha256 is abcd...; DIR/thumbs/ab/cd/<sha256>-<N>.jpg|.webp its cached
 *   thumbnails; DIR/tmp/ uploads and thumbnails being written. Several
 *   nodes may share DIR: every file appears by rename() of a complete,
 *   fsync'd temp file, and the same name always holds the same bytes, so
 *   nodes racing to write one file both win.
 * - An upload streams to a temp file while it is hashed (sodium's
 *   incremental sha256); nothing is held in memory but the first bytes
 *   (for sniffing). media_upload_finish() identifies the type from the
 *   magic bytes (never from the client's Content-Type), checks an image
 *   with libvips (dimensions within MEDIA_MAX_SIDE / MEDIA_MAX_PIXELS, then
 *   one full decode that fails on truncation or corruption), and only then
 *   renames it into place. Anything refused leaves nothing behind.
 * - libvips: initialised once (media_open); no operation cache, 2 worker
 *   threads per job, untrusted loaders (ImageMagick & co.) blocked, and at
 *   most MEDIA_VIPS_JOBS probes/thumbnails at a time (others wait up to
 *   MEDIA_VIPS_WAIT_MS, then -ERR_UNAVAILABLE). The work runs on the
 *   caller's thread (a probe of the largest image allowed takes seconds):
 *   the server calls media_upload_finish() for images and
 *   media_thumb_open() from its media pool (pool.h), never on an HTTP
 *   thread; media_thumb_cached() is the quick part it may call there.
 * - The library never logs; it returns errors and, where useful, a reason
 *   in the caller's `why` buffer.
 */
#ifndef ANNOTD_MEDIA_H
#define ANNOTD_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEDIA_ID_LEN       64 /* sha256 hex */
#define MEDIA_MAX_SIDE     50000
#define MEDIA_MAX_PIXELS   250000000LL
#define MEDIA_THUMB_MIN    32
#define MEDIA_THUMB_MAX    1024
#define MEDIA_VIPS_JOBS    2
#define MEDIA_VIPS_WAIT_MS 30000

struct media;
struct media_upload;

struct media_info {
    char id[MEDIA_ID_LEN + 1];
    const char *mime; /* static */
    int64_t bytes;
    int width, height; /* 0 when not an image */
};

/*
 * Open the media dir `dir`, creating it (and tmp/, thumbs/) if needed;
 * initialises libvips on first use. Temp files older than a day (a crash's
 * leftovers) are removed. Returns 0 or a negative errno.
 */
int media_open(const char *dir, struct media **ret);
/* Free the handle (libvips stays initialised for the process). NULL ok. */
void media_close(struct media *m);

/* Whether p[0..len) is a media id: exactly 64 lowercase hex digits. */
bool media_id_valid(const char *p, size_t len);

/* The media type of a file from its first bytes (magic numbers), or NULL. */
const char *media_sniff(const unsigned char *h, size_t n);
/* Whether the mime type is an image that libvips reads (thumbnails). */
bool media_mime_has_thumbs(const char *mime);
/* A file name extension for the mime type ("png"), "bin" when unknown. */
const char *media_mime_ext(const char *mime);

/* Start an upload: a temp file in DIR/tmp. 0 or a negative errno. */
int media_upload_begin(struct media *m, struct media_upload **ret);
/* Append bytes: written to the temp file and hashed. 0 or a negative errno. */
int media_upload_write(struct media_upload *u, const void *p, size_t len);
/* Bytes written so far. */
int64_t media_upload_bytes(const struct media_upload *u);
/*
 * Whether media_upload_finish() will decode the file with libvips (an
 * image of a type it reads, by the magic bytes so far): the slow case a
 * server runs off its request threads. Other uploads finish without it.
 */
bool media_upload_decodes(const struct media_upload *u);
/*
 * Finish: fsync, hash, sniff, check, rename into DIR/ab/cd/<id> (already
 * there: the temp file is dropped). Fills *ret and returns 0, or:
 *   -ENODATA                nothing was written
 *   -ERR_UNSUPPORTED_MEDIA  not a known type by its magic bytes
 *   -EFBIG                  an image over MEDIA_MAX_SIDE / MEDIA_MAX_PIXELS
 *   -EBADMSG                an image that does not decode
 *   -ERR_UNAVAILABLE        libvips busy for longer than MEDIA_VIPS_WAIT_MS
 *   another negative errno  on I/O errors.
 * `why` (may be NULL) receives a one-line reason for the errors above.
 * On failure nothing is left in the media dir. Call media_upload_free() after.
 */
int media_upload_finish(struct media_upload *u, struct media_info *ret, char *why, size_t why_size);
/* Drop the upload, removing its temp file unless it was finished. NULL ok. */
void media_upload_free(struct media_upload *u);

/* Open the bytes of `id` read-only; returns the fd and *ret_size, or a negative errno. */
int media_open_file(struct media *m, const char *id, int64_t *ret_size);

/*
 * Open the thumbnail of `id` (an image of type `mime`) that fits in
 * size x size (never enlarged), generating and caching it on first use:
 * JPEG, or WebP when the image has an alpha channel (*ret_mime says
 * which). Returns the fd and *ret_size, or -EINVAL (size out of
 * MEDIA_THUMB_MIN..MEDIA_THUMB_MAX), -ERR_UNSUPPORTED_MEDIA (no thumbnails
 * for this type), -ENOENT, -EBADMSG, -ERR_UNAVAILABLE, or an I/O errno.
 */
int media_thumb_open(struct media *m,
                     const char *id,
                     const char *mime,
                     int size,
                     const char **ret_mime,
                     int64_t *ret_size);

/*
 * The same, but only when the thumbnail is made already (no libvips, a
 * couple of open() calls): the fd, or -ENOENT when it is not (yet), or the
 * other errors of media_thumb_open() but -EBADMSG and -ERR_UNAVAILABLE.
 */
int media_thumb_cached(struct media *m,
                       const char *id,
                       const char *mime,
                       int size,
                       const char **ret_mime,
                       int64_t *ret_size);

#endif
