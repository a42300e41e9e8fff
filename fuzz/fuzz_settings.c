/* libFuzzer: the settings decoder of both models. Whatever decodes must
 * re-encode to bytes that decode to the same settings. */
#include <stdlib.h>

#include "lsws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int m = 0; m < LSWS_MODEL_COUNT; m++) {
        const struct lsws_model *model = lsws_model_get(m);
        struct lsws_config *cfg, *back;
        struct lsws_error err;
        if (lsws_config_new(model, &cfg) != LSWS_OK || lsws_config_new(model, &back) != LSWS_OK)
            abort();
        if (lsws_settings_decode(cfg, data, size, &err) == LSWS_OK) {
            uint8_t out[8192];
            size_t len;
            /* A frame may repeat a command; the re-encoding holds the last value. */
            if (lsws_settings_encode(cfg, NULL, out, sizeof out, &len, &err) == LSWS_OK) {
                if (lsws_settings_decode(back, out, len, &err) != LSWS_OK)
                    abort();
                for (size_t i = 0; i < model->n_settings; i++)
                    if (cfg->present[i] != back->present[i] ||
                        (cfg->present[i] && !lsws_value_equal(model, i, &cfg->values[i], &back->values[i])))
                        abort();
            } else if (err.code != LSWS_ERR_READONLY) {
                abort(); /* everything decoded is encodable, except read-only settings */
            }
        }
        lsws_config_free(cfg);
        lsws_config_free(back);
    }
    return 0;
}
