/* SPDX-License-Identifier: Apache-2.0 */
/* ports_parse on one -p value (the input as a C string), then ports_format of every mapping. */
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "wrapper/ports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *spec = g_strndup((const char *)data, size);
	g_autoptr(GArray) maps = ports_mappings_new();
	g_autoptr(GError) err = NULL;
	bool ok = ports_parse(spec, maps, &err) == 0;

	FUZZ_CHECK(ok == (err == NULL), "result and error disagree");
	if (!ok) {
		FUZZ_CHECK(maps->len == 0, "failed parse left %u mappings", maps->len);
		return 0;
	}
	FUZZ_CHECK(maps->len > 0, "successful parse gave no mapping");
	for (guint i = 0; i < maps->len; i++) {
		const struct port_mapping *m = &g_array_index(maps, struct port_mapping, i);
		g_autofree char *text = ports_format(m);

		FUZZ_CHECK(m->ctr_port != 0, "container port 0 accepted: %s", spec);
		FUZZ_CHECK(m->proto == PORT_PROTO_TCP || m->proto == PORT_PROTO_UDP, "bad protocol");
		FUZZ_CHECK(text && strstr(text, "->"), "odd format %s", text ? text : "(null)");
	}
	return 0;
}
