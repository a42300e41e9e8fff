/* Keys for people: which settings a pattern selects, and "did you mean"
 * for a key (or any word) with a typo. */
#include "model_rows.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

/* Longer words are not compared: nothing is that close to them. */
#define WORD_MAX 64

/* Edit distance with adjacent transpositions (optimal string alignment),
 * case-insensitive: "stauts" is 1 from "status", as a typist sees it. */
unsigned lsws_edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > WORD_MAX || nb > WORD_MAX)
        return (unsigned)(na > nb ? na : nb);
    unsigned rows[3][WORD_MAX + 1]; /* i-2, i-1, i */
    unsigned *two = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (unsigned)i;
        for (size_t j = 1; j <= nb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            unsigned best = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && two[j - 2] + 1 < best)
                best = two[j - 2] + 1;
            cur[j] = best;
        }
        unsigned *t = two;
        two = prev;
        prev = cur;
        cur = t;
    }
    return prev[nb];
}

/* Candidates at the smallest distance, if that distance is small for the
 * word's length: about one typo per five characters, at least one (more
 * and "lorawan.nope" would suggest "lorawan.band"). */
static size_t nearest(const char *word, size_t n, const char *(*name)(const void *, size_t),
                      const void *ctx, const char **out, size_t max)
{
    size_t len = strlen(word);
    unsigned limit = len / 5 > 1 ? (unsigned)(len / 5) : 1, best = limit + 1;
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        const char *cand = name(ctx, i);
        unsigned d = lsws_edit_distance(word, cand);
        if (strcmp(word, cand) == 0 || d > best)
            continue;
        if (d < best) {
            best = d;
            found = 0;
        }
        if (found < max)
            out[found++] = cand;
    }
    return found;
}

static const char *word_at(const void *ctx, size_t i)
{
    return ((const char *const *)ctx)[i];
}

static const char *key_at(const void *ctx, size_t i)
{
    return ((const struct lsws_model *)ctx)->settings[i].key;
}

size_t lsws_suggest(const char *word, const char *const *candidates, size_t n, const char **out,
                    size_t max)
{
    return nearest(word, n, word_at, candidates, out, max);
}

size_t lsws_model_suggest(const struct lsws_model *model, const char *key, const char **out,
                          size_t max)
{
    return nearest(key, model->n_settings, key_at, model, out, max);
}

void lsws_suggest_format(const char *const *words, size_t n, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s'%s'%s", i == 0 ? "did you mean " :
                                 i + 1 == n ? " or " : ", ", words[i], i + 1 == n ? "?" : "");
}

/* An exact key wins over the glob: "interface.current[1].range" names one
 * setting, though fnmatch(3) reads its brackets as a character class. */
size_t lsws_model_match(const struct lsws_model *model, const char *pattern, uint8_t *hit)
{
    int exact = lsws_model_find(model, pattern);
    if (exact >= 0) {
        hit[exact] = 1;
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < model->n_settings; i++)
        if (fnmatch(pattern, model->settings[i].key, 0) == 0) {
            hit[i] = 1;
            n++;
        }
    return n;
}

int lsws_fail_unknown_key(struct lsws_error *err, const struct lsws_model *model, const char *key)
{
    const char *near[LSWS_SUGGEST_MAX];
    char hint[200];
    lsws_suggest_format(near, lsws_model_suggest(model, key, near, LSWS_SUGGEST_MAX), hint, sizeof hint);
    return lsws_fail(err, LSWS_ERR_UNKNOWN_KEY, SIZE_MAX, "unknown setting '%s' for %s%s%s", key, model->name,
                     hint[0] ? "; " : "", hint);
}
