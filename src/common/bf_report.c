/*  bf_report - see bf_report.h. */
#include "bf_report.h"
#include "bf_log.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

static const struct {
    const char *cell;           /* nextpnr's bel type */
    const char *name;           /* ours */
} s_resources[] = {
    { "ICESTORM_LC", "logic_cells" },   { "ICESTORM_RAM", "ram" },
    { "ICESTORM_SPRAM", "spram" },      { "ICESTORM_DSP", "dsp" },
    { "SB_IO", "io" },                  { "ICESTORM_PLL", "pll" },
    { "SB_GB", "global_buffers" },
};

#define S_MAX_CLOCKS 32

static bool
s_count (json_int_t *out, json_t *obj, const char *field)
{
    json_t *v = json_object_get (obj, field);
    if (!json_is_integer (v) || json_integer_value (v) < 0)
        return false;
    *out = json_integer_value (v);
    return true;
}

json_t *
bf_report_summary (const char *text, size_t len)
{
    if (len > BF_REPORT_MAX)
        return NULL;
    json_t *r = json_loadb (text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *util = json_object_get (r, "utilization"), *fmax = json_object_get (r, "fmax");
    if (!json_is_object (util)) {
        json_decref (r);
        return NULL;
    }
    json_t *u = json_object ();
    for (size_t i = 0; i < sizeof s_resources / sizeof s_resources[0]; i++) {
        json_t *c = json_object_get (util, s_resources[i].cell);
        json_int_t used, avail;
        if (s_count (&used, c, "used") && s_count (&avail, c, "available") && avail > 0)
            json_object_set_new (u, s_resources[i].name,
                                 json_pack ("{s:I, s:I}", "used", used, "available", avail));
    }
    json_t *clocks = json_array ();
    const char *net;
    json_t *v;
    json_object_foreach (json_is_object (fmax) ? fmax : NULL, net, v) {
        json_t *a = json_object_get (v, "achieved"), *t = json_object_get (v, "constraint");
        if (!json_is_number (a) || !json_is_number (t) || json_array_size (clocks) >= S_MAX_CLOCKS)
            continue;
        double achieved = json_number_value (a), target = json_number_value (t);
        if (!isfinite (achieved) || !isfinite (target))
            continue;
        char name[65];
        bf_log_escape (name, sizeof name, net);
        json_array_append_new (clocks, json_pack ("{s:s, s:f, s:f}", "net", name,
                                                  "achieved_mhz", round (achieved * 100) / 100,
                                                  "target_mhz", round (target * 100) / 100));
    }
    json_decref (r);
    return json_pack ("{s:o, s:o}", "utilization", u, "clocks", clocks);
}
