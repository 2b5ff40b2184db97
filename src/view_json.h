/* SPDX-License-Identifier: GPL-2.0-only */
/* The snapshot JSON contract (issue 5): node, mode, pods, destinations with
 * owners, snat. Untrusted names are made valid UTF-8 and escaped by json-c. */
#ifndef PB_VIEW_JSON_H
#define PB_VIEW_JSON_H
#include <stdio.h>
#include "view.h"

struct json_object;
struct json_object *view_to_json(const struct view *v);
void view_print_json(const struct view *v, FILE *out);
void view_print_text(const struct view *v, FILE *out);

#endif
