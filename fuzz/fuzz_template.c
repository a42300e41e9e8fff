/* libFuzzer: the JSON template parser. A template that parses must render
 * and parse again to the same settings. */
#include <stdlib.h>
#include <string.h>

#include "lsws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lsws_config *cfg = NULL, *back = NULL;
    struct lsws_error err;
    if (lsws_template_parse((const char *)data, size, &cfg, &err) != LSWS_OK)
        return 0;
    char *text;
    if (lsws_template_render(cfg, 0, &text) != LSWS_OK)
        abort();
    if (lsws_template_parse(text, strlen(text), &back, &err) != LSWS_OK)
        abort();
    for (size_t i = 0; i < cfg->model->n_settings; i++)
        if (cfg->present[i] != back->present[i] ||
            (cfg->present[i] && !lsws_value_equal(cfg->model, i, &cfg->values[i], &back->values[i])))
            abort();
    free(text);
    lsws_config_free(cfg);
    lsws_config_free(back);
    return 0;
}
