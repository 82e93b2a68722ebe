/*
 * Project kind "storyboard" (issue 5): one task per scene of a novel, whose
 * result is the scene's shot list. The checks live in schema_storyboard.c
 * and are reached through schema_kind_find("storyboard"); this header gives
 * the server the project's settings with their defaults filled in.
 *
 * config  {} is valid and means every default. Optional keys:
 *           "speech_rate"     characters of dialogue per second, 1..20 (4)
 *           "action_seconds"  seconds of a shot without dialogue, 0.5..60 (3)
 *           "target_minutes"  the series' target running time, 1..100000 (150)
 *           "custom_fields"   [{"name":"lighting","label":"灯光",
 *                               "type":"text"|"number"|"choice",
 *                               "options":["日","夜"]}]
 *                             names [A-Za-z_][A-Za-z0-9_]{0,63}, unique;
 *                             label optional (default: the name); options
 *                             required for "choice" and refused otherwise
 *           "drafter"         {"kind":"rules"|"llm", "base_url":"https://…",
 *                              "model":"…", "api_key_env":"ENV_NAME",
 *                              "timeout_seconds":60}
 *                             kind defaults to "rules"; base_url and model
 *                             are required for "llm" and refused for
 *                             "rules"; a key never sits in the config, only
 *                             the name of the environment variable holding it
 *           "style"           the style suffix of the shots' image and video
 *                             prompts, at most 256 bytes ("动画分镜")
 *           "images"          {"base_url":"https://…","model":"…",
 *                              "api_key_env":"ENV_NAME","size":"1024x576",
 *                              "timeout_seconds":120}: the OpenAI-compatible
 *                             images endpoint that generates shot frames;
 *                             base_url and model required; absent: none
 * data    {"novel":1,"chapter":{"index":1,"title":"第一回 …","volume":null},
 *          "scene":0,"text":"the scene's source text"}      (strict)
 * result  {"shots":[{"id":"s000001","size":"medium","angle":"eye",
 *          "move":"static","picture":"…","characters":["c1"],
 *          "dialogue":[{"speaker":"c1","kind":"dialogue","text":"…"}],
 *          "sound":"","transition":"cut","duration":3.5,"notes":"",
 *          "source":{"start":0,"end":12},"custom":{"lighting":"夜"},
 *          "image_prompt":"…","video_prompt":"…"}]}
 *         Required per shot: id, size, duration, source. Optional, with the
 *         default a reader assumes when absent: angle "eye", move "static",
 *         picture "", characters [], dialogue [], sound "", transition "cut",
 *         notes "", custom {}, image_prompt and video_prompt "" (at most 8 KiB
 *         each). In a dialogue item, text is required, speaker
 *         defaults to null and kind to "dialogue". At most 1000 shots.
 *
 * See docs/storyboard.md for the full reference.
 */
#ifndef ANNOTD_SCHEMA_STORYBOARD_H
#define ANNOTD_SCHEMA_STORYBOARD_H

#include <jansson.h>

#define STORYBOARD_MAX_SHOTS        1000
#define STORYBOARD_SPEECH_RATE      4.0   /* default characters per second */
#define STORYBOARD_ACTION_SECONDS   3.0   /* default seconds without dialogue */
#define STORYBOARD_TARGET_MINUTES   150.0 /* default target running time */
#define STORYBOARD_LLM_TIMEOUT      60    /* default drafter timeout, seconds */
#define STORYBOARD_MAX_SHOT_SECONDS 600.0 /* a shot's duration is in (0, 600] */
#define STORYBOARD_STYLE            "动画分镜"  /* default style suffix of the prompts */
#define STORYBOARD_IMAGES_SIZE      "1024x576" /* default size of a generated frame */
#define STORYBOARD_IMAGES_TIMEOUT   120        /* default image endpoint timeout, seconds */

enum storyboard_drafter {
    STORYBOARD_DRAFTER_RULES = 0,
    STORYBOARD_DRAFTER_LLM,
};

/* A project's settings; strings are borrowed from the config json_t. */
struct storyboard_settings {
    double speech_rate;    /* characters per second of dialogue */
    double action_seconds; /* seconds of a shot without dialogue */
    double target_minutes; /* target running time of the series */
    enum storyboard_drafter drafter;
    const char *llm_base_url;    /* NULL with the rules drafter */
    const char *llm_model;       /* NULL with the rules drafter */
    const char *llm_api_key_env; /* NULL when the endpoint needs no key */
    int llm_timeout_seconds;     /* 1..600 */
    const json_t *custom_fields; /* the config's array, or NULL */
    const char *style;           /* the prompts' style suffix */
    const char *images_base_url; /* NULL: no image endpoint configured */
    const char *images_model;
    const char *images_api_key_env; /* NULL when the endpoint needs no key */
    const char *images_size;        /* "1024x576" */
    int images_timeout_seconds;     /* 1..600 */
};

/*
 * Check `config` as a storyboard config (NULL counts as {}) and fill *out
 * with its settings, defaults for what it leaves out. Returns 0, or -EINVAL
 * for a config the kind rejects (out untouched). The strings in *out live
 * as long as `config`.
 */
int schema_storyboard_settings(const json_t *config, struct storyboard_settings *out);

#endif
