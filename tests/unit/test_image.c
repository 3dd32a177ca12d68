/* SPDX-License-Identifier: Apache-2.0 */
/* The pure parts of image support: names, sources, entry paths, whiteouts, config precedence. */
#include <glib.h>
#include <string.h>

#include "wrapper/image_config.h"
#include "wrapper/image_layer.h"
#include "wrapper/image_ref.h"

static char *norm(const char *text)
{
	return image_name_normalize(text, NULL);
}

static void test_names(void)
{
	static const char *const ok[][2] = {
		{ "busybox", "busybox:latest" },
		{ "web:1", "web:1" },
		{ "localhost/web:1.2-rc_3", "localhost/web:1.2-rc_3" },
		{ "localhost:5000/team/app", "localhost:5000/team/app:latest" },
		{ "Registry.Example:443/a/b:v", "Registry.Example:443/a/b:v" },
	};
	static const char *const bad[] = {
		"", "Web", "a b", "web:", "web:-x", "/web", "web/", "a//b", "../x", "a/../b", "x:y:z", "web@sha256:00",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		g_autofree char *n = norm(ok[i][0]);
		g_assert_cmpstr(n, ==, ok[i][1]);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;
		g_autofree char *n = image_name_normalize(bad[i], &err);
		if (n)
			g_error("%s accepted as %s", bad[i], n);
		g_assert_nonnull(strstr(err->message, "invalid image name"));
	}
}

static void test_name_files(void)
{
	g_autofree char *f = image_name_to_file("localhost/team/web:1");
	g_autofree char *back = image_name_from_file(f);

	g_assert_cmpstr(f, ==, "localhost+team+web:1");
	g_assert_cmpstr(back, ==, "localhost/team/web:1");
}

static void test_sources(void)
{
	struct image_source_ref s = { 0 };
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(image_source_parse("busybox", &s, NULL), ==, 1);
	g_assert_cmpint(image_source_parse("./oci:x", &s, NULL), ==, 1);
	g_assert_cmpint(image_source_parse("oci:/srv/layout", &s, NULL), ==, 0);
	g_assert_cmpint(s.transport, ==, IMAGE_SRC_OCI_DIR);
	g_assert_cmpstr(s.path, ==, "/srv/layout");
	g_assert_null(s.tag);
	image_source_ref_clear(&s);
	g_assert_cmpint(image_source_parse("oci-archive:img.tar:localhost/web:1", &s, NULL), ==, 0);
	g_assert_cmpint(s.transport, ==, IMAGE_SRC_OCI_ARCHIVE);
	g_assert_cmpstr(s.path, ==, "img.tar");
	g_assert_cmpstr(s.tag, ==, "localhost/web:1");
	image_source_ref_clear(&s);
	g_assert_cmpint(image_source_parse("docker-archive:/tmp/d.tar:", &s, NULL), ==, 0);
	g_assert_cmpint(s.transport, ==, IMAGE_SRC_DOCKER_ARCHIVE);
	g_assert_null(s.tag);
	image_source_ref_clear(&s);
	g_assert_cmpint(image_source_parse("oci-archive:", &s, &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "no path"));
	g_assert_null(s.path);
}

static void test_digests(void)
{
	const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

	g_assert_cmpstr(image_digest_hex(d), ==, d + 7);
	g_assert_null(image_digest_hex("sha512:0123"));
	g_assert_null(image_digest_hex("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	g_assert_null(image_digest_hex("sha256:../../etc/passwd"));
	g_assert_null(image_digest_hex(NULL));
}

static void test_clean_path(void)
{
	static const char *const ok[][2] = {
		{ "./bin/sh", "bin/sh" }, { "bin//sh", "bin/sh" },  { ".", "" }, { "./", "" },
		{ "a/./b/", "a/b" },	  { "..a/b..", "..a/b.." },
	};
	static const char *const bad[] = { "/etc/passwd", "../x", "a/../../x", "a/..", "./../x" };

	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		g_autofree char *p = image_layer_clean_path(ok[i][0], NULL);
		g_assert_cmpstr(p, ==, ok[i][1]);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;
		g_autofree char *p = image_layer_clean_path(bad[i], &err);
		g_assert_null(p);
		g_assert_nonnull(err);
	}
}

static void test_whiteouts(void)
{
	static const struct {
		const char *path;
		enum image_whiteout kind;
		const char *dir, *name;
	} cases[] = {
		{ "etc/passwd", IMAGE_WH_NONE, NULL, NULL },	{ "etc/.wh.passwd", IMAGE_WH_FILE, "etc", "passwd" },
		{ ".wh.top", IMAGE_WH_FILE, "", "top" },	{ "a/b/.wh..wh..opq", IMAGE_WH_OPAQUE, "a/b", NULL },
		{ "a/.wh..wh.plnk", IMAGE_WH_META, "a", NULL }, { "a/.wh.", IMAGE_WH_META, "a", NULL },
		{ "a/.wh..", IMAGE_WH_META, "a", NULL },	{ "a/x.wh.y", IMAGE_WH_NONE, NULL, NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *dir = NULL;
		g_autofree char *name = NULL;
		enum image_whiteout k = image_whiteout_kind(cases[i].path, &dir, &name);

		g_assert_cmpint(k, ==, cases[i].kind);
		g_assert_cmpstr(dir, ==, cases[i].dir);
		g_assert_cmpstr(name, ==, cases[i].name);
	}
}

static const char *const CONFIG =
	"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/bin/sh\",\"-c\"],"
	"\"Cmd\":[\"echo hi\"],\"Env\":[\"A=image\",\"B=image\"],\"WorkingDir\":\"/srv\",\"User\":\"app\","
	"\"StopSignal\":\"SIGQUIT\",\"ExposedPorts\":{\"8080/tcp\":{},\"53/udp\":{}},"
	"\"Labels\":{\"z\":\"last\",\"a\":\"first\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:00\"]}}";

static char *joined(char **v)
{
	return v ? g_strjoinv("|", v) : g_strdup("(null)");
}

static void assert_command(const struct image_config *c, const char *entry, char **args, const char *want)
{
	g_autoptr(GError) err = NULL;
	g_auto(GStrv) cmd = image_config_command(c, entry, args, &err);
	g_autofree char *got = joined(cmd);

	g_assert_cmpstr(got, ==, want);
}

static void test_config(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(image_config) c = image_config_parse(CONFIG, "test", &err);
	char *args[] = { "/bin/true", "x", NULL };
	char *none[] = { NULL };
	g_autofree char *ports = NULL;
	g_autofree char *labels = NULL;

	g_assert_no_error(err);
	g_assert_cmpstr(c->workdir, ==, "/srv");
	g_assert_cmpstr(c->user, ==, "app");
	g_assert_cmpstr(c->stop_signal, ==, "SIGQUIT");
	ports = joined(c->exposed_ports);
	g_assert_cmpstr(ports, ==, "53/udp|8080/tcp");
	labels = joined(c->label_keys);
	g_assert_cmpstr(labels, ==, "a|z");
	g_assert_cmpstr(c->label_values[1], ==, "last");

	assert_command(c, NULL, none, "/bin/sh|-c|echo hi");
	assert_command(c, NULL, args, "/bin/sh|-c|/bin/true|x");
	assert_command(c, "/bin/env", none, "/bin/env");
	assert_command(c, "", args, "/bin/true|x");
	assert_command(c, "[\"/bin/echo\",\"-n\"]", args, "/bin/echo|-n|/bin/true|x");
	assert_command(c, "", none, "(null)");
	assert_command(c, "[1,", none, "(null)");
	assert_command(NULL, NULL, args, "/bin/true|x");
}

static void test_config_env(void)
{
	g_autoptr(image_config) c = image_config_parse(CONFIG, "test", NULL);
	g_autoptr(GPtrArray) env = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *got = NULL;

	g_ptr_array_add(env, g_strdup("B=cli"));
	g_ptr_array_add(env, g_strdup("C=cli"));
	image_config_merge_env(c, env);
	g_ptr_array_add(env, NULL);
	got = g_strjoinv("|", (char **)env->pdata);
	g_assert_cmpstr(got, ==, "A=image|B=cli|C=cli");
}

static void test_config_platform(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *other = g_strdup(CONFIG);
	g_autoptr(image_config) c = NULL;
	g_autoptr(image_config) no_layers = image_config_parse("{\"config\":{}}", "bare", &err);

	g_assert_null(no_layers);
	g_assert_nonnull(strstr(err->message, "diff_ids"));
	g_clear_error(&err);
	memcpy(strstr(other, "amd64"), "arm64", 5);
	c = image_config_parse(other, "test", NULL);
	if (strcmp(image_host_arch(), "arm64") != 0) {
		g_assert_cmpint(image_config_check_platform(c, "the image", &err), ==, -1);
		g_assert_nonnull(strstr(err->message, "is for arm64"));
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/image/names", test_names);
	g_test_add_func("/image/name_files", test_name_files);
	g_test_add_func("/image/sources", test_sources);
	g_test_add_func("/image/digests", test_digests);
	g_test_add_func("/image/clean_path", test_clean_path);
	g_test_add_func("/image/whiteouts", test_whiteouts);
	g_test_add_func("/image/config", test_config);
	g_test_add_func("/image/config_env", test_config_env);
	g_test_add_func("/image/config_platform", test_config_platform);
	return g_test_run();
}
