/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/seccomp_notify.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/unix_socket.h"
#include "common/io.h"
#include "conmon/diag.h"
#include "conmon/lazy_lib.h"
#include "conmon/seccomp_state.h"

static struct {
	typeof(seccomp_notify_alloc) *alloc;
	typeof(seccomp_notify_free) *free;
	typeof(seccomp_notify_receive) *receive;
	typeof(seccomp_notify_respond) *respond;
	typeof(seccomp_notify_id_valid) *id_valid;
} libseccomp;

static int load_libseccomp(GError **err)
{
	static const struct lazy_sym syms[] = {
		{ "seccomp_notify_alloc", (void **)&libseccomp.alloc },
		{ "seccomp_notify_free", (void **)&libseccomp.free },
		{ "seccomp_notify_receive", (void **)&libseccomp.receive },
		{ "seccomp_notify_respond", (void **)&libseccomp.respond },
		{ "seccomp_notify_id_valid", (void **)&libseccomp.id_valid },
	};

	if (libseccomp.alloc)
		return 0;
	return lazy_lib_load("libseccomp.so.2", syms, G_N_ELEMENTS(syms), err);
}

/* The runtime's state document; anything past this is dropped. */
#define PAYLOAD_MAX (64 * 1024)

struct plugin {
	char *path;
	void *handle;
	void *opaque;
	bool running;
	seccomp_plugin_start_fn start;
	seccomp_plugin_handle_fn handle_request;
	seccomp_plugin_stop_fn stop;
};

/* A runtime connection, until it has delivered the listener fd and its state. */
struct conn {
	struct seccomp_agent *agent;
	int fd;
	guint source;
	GByteArray *payload;
	int listener;
};

struct listener {
	struct seccomp_agent *agent;
	int fd;
	guint source;
};

struct seccomp_agent {
	char *socket_path;
	bool bound;
	int sock;
	guint source;
	GPtrArray *plugins;
	bool started;
	char *name;
	char *bundle;
	char *config_path;
	struct seccomp_plugin_conf conf;
	GPtrArray *conns;     /* pending, at most SECCOMP_AGENT_PENDING_MAX */
	bool refusing;	      /* said so once since the last pending connection ended */
	GPtrArray *listeners; /* one per seccomp filter: the container's, then exec'd processes' */
	struct seccomp_notif_sizes sizes;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
};

/* Plugins */

static void plugin_free(gpointer data)
{
	struct plugin *p = data;
	if (p->running && p->stop) {
		int rc = p->stop(p->opaque);
		if (rc < 0)
			diag_warn("seccomp notify plugin %s failed to stop (%d)", p->path, rc);
	}
	if (p->handle)
		dlclose(p->handle);
	g_free(p->path);
	g_free(p);
}

static void *plugin_symbol(const struct plugin *p, const char *what)
{
	g_autofree char *name = g_strconcat("run_oci_seccomp_notify_", what, NULL);
	return dlsym(p->handle, name);
}

static struct plugin *plugin_load(const char *path, GError **err)
{
	g_autoptr(GPtrArray) hold = g_ptr_array_new_with_free_func(plugin_free);
	struct plugin *p = g_new0(struct plugin, 1);
	g_ptr_array_add(hold, p);
	p->path = g_strdup(path);
	p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (p->handle == NULL) {
		cm_set_error(err, ENOENT, "Failed to load seccomp notify plugin %s: %s", path, dlerror());
		return NULL;
	}
	seccomp_plugin_version_fn version = (seccomp_plugin_version_fn)plugin_symbol(p, "version");
	if (version == NULL || version() != SECCOMP_PLUGIN_ABI_VERSION) {
		cm_set_error(err, EINVAL, "seccomp notify plugin %s: %s", path,
			     version ? "unsupported version" : "no run_oci_seccomp_notify_version");
		return NULL;
	}
	p->handle_request = (seccomp_plugin_handle_fn)plugin_symbol(p, "handle_request");
	if (p->handle_request == NULL) {
		cm_set_error(err, EINVAL, "seccomp notify plugin %s: no run_oci_seccomp_notify_handle_request", path);
		return NULL;
	}
	p->start = (seccomp_plugin_start_fn)plugin_symbol(p, "start");
	p->stop = (seccomp_plugin_stop_fn)plugin_symbol(p, "stop");
	return g_ptr_array_steal_index(hold, 0);
}

static int load_plugins(struct seccomp_agent *a, const char *plugins, GError **err)
{
	if (plugins == NULL)
		return 0;
	g_auto(GStrv) paths = g_strsplit(plugins, ":", -1);
	for (char **path = paths; *path; path++) {
		if (**path == '\0')
			continue;
		struct plugin *p = plugin_load(*path, err);
		if (p == NULL)
			return -1;
		g_ptr_array_add(a->plugins, p);
	}
	return 0;
}

/* Started once the first listener arrives: only then is the container known. */
static void start_plugins(struct seccomp_agent *a, char *id, char *bundle)
{
	if (a->started) {
		g_free(id);
		g_free(bundle);
		return;
	}
	a->started = true;
	a->name = id;
	a->bundle = bundle;
	a->config_path = bundle ? g_build_filename(bundle, "config.json", NULL) : NULL;
	a->conf = (struct seccomp_plugin_conf){
		.name = a->name,
		.bundle_path = a->bundle,
		.oci_config_path = a->config_path,
	};
	for (guint i = 0; i < a->plugins->len; i++) {
		struct plugin *p = g_ptr_array_index(a->plugins, i);
		int rc = p->start ? p->start(&p->opaque, &a->conf, sizeof(a->conf)) : 0;
		if (rc < 0) {
			diag_warn("seccomp notify plugin %s failed to start (%d); not using it", p->path, rc);
			continue;
		}
		p->running = true;
	}
}

/* Notifications */

/* Fills a->resp; returns how it was handled. */
static int ask_plugins(struct seccomp_agent *a, int fd)
{
	for (guint i = 0; i < a->plugins->len; i++) {
		struct plugin *p = g_ptr_array_index(a->plugins, i);
		if (!p->running)
			continue;
		memset(a->resp, 0, a->sizes.seccomp_notif_resp);
		a->resp->id = a->req->id;
		int handled = SECCOMP_PLUGIN_NOT_HANDLED;
		int rc = p->handle_request(p->opaque, &a->sizes, a->req, a->resp, fd, &handled);
		if (rc < 0) {
			/* A failing plugin does not decide; the next one may. */
			diag_warn("seccomp notify plugin %s failed (%d) on syscall %d", p->path, rc, a->req->data.nr);
			continue;
		}
		switch (handled) {
		case SECCOMP_PLUGIN_NOT_HANDLED: continue;
		case SECCOMP_PLUGIN_SEND_RESPONSE:
		case SECCOMP_PLUGIN_DELAYED_RESPONSE: return handled;
		case SECCOMP_PLUGIN_SEND_RESPONSE_AND_CONTINUE:
			a->resp->flags |= SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			return handled;
		default: diag_warn("seccomp notify plugin %s: unknown result %d", p->path, handled);
		}
	}
	memset(a->resp, 0, a->sizes.seccomp_notif_resp);
	a->resp->id = a->req->id;
	a->resp->error = -ENOTSUP;
	return SECCOMP_PLUGIN_NOT_HANDLED;
}

/* One notification; false when the listener is unusable. */
static bool handle_notification(struct seccomp_agent *a, int fd)
{
	/* The kernel rejects a request buffer that is not zeroed. */
	memset(a->req, 0, a->sizes.seccomp_notif);
	if (libseccomp.receive(fd, a->req) < 0) {
		/* libseccomp returns -ECANCELED; errno is the ioctl's. ENOENT: the target died meanwhile. */
		if (errno == ENOENT || errno == EINTR)
			return true;
		diag_warn("Failed to receive seccomp notification: %s", g_strerror(errno));
		return false;
	}
	if (ask_plugins(a, fd) == SECCOMP_PLUGIN_DELAYED_RESPONSE)
		return true;
	if (libseccomp.respond(fd, a->resp) < 0) {
		int saved = errno;
		/* A target killed while we looked took its notification along: nothing to answer. */
		if (saved == ENOENT || libseccomp.id_valid(fd, a->req->id) != 0)
			diag_debug("seccomp notification %llu: target is gone", (unsigned long long)a->req->id);
		else
			diag_warn("Failed to answer seccomp notification: %s", g_strerror(saved));
	}
	return true;
}

static void listener_free(gpointer data)
{
	struct listener *l = data;
	if (l->source)
		g_source_remove(l->source);
	close(l->fd);
	g_free(l);
}

static gboolean on_listener(int fd, GIOCondition cond, gpointer data)
{
	struct listener *l = data;
	if ((cond & G_IO_IN) && handle_notification(l->agent, fd))
		return G_SOURCE_CONTINUE;
	if (!(cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
		return G_SOURCE_CONTINUE;
	/* HUP: every task under this filter has exited. */
	diag_debug("seccomp listener %d closed", fd);
	l->source = 0;
	g_ptr_array_remove_fast(l->agent->listeners, l);
	return G_SOURCE_REMOVE;
}

static void add_listener(struct seccomp_agent *a, int fd)
{
	struct listener *l = g_new0(struct listener, 1);
	l->agent = a;
	l->fd = fd;
	if (cm_set_nonblock(fd, true) < 0)
		diag_debug("unable to make the seccomp listener non-blocking: %s", g_strerror(errno));
	l->source = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_listener, l);
	g_ptr_array_add(a->listeners, l);
}

/* Runtime connections */

static void conn_free(gpointer data)
{
	struct conn *c = data;
	if (c->source)
		g_source_remove(c->source);
	close(c->fd);
	if (c->listener >= 0)
		close(c->listener);
	g_byte_array_unref(c->payload);
	g_free(c);
}

/* Read what is there; true once the connection has said all it will. */
static bool conn_read(struct conn *c)
{
	for (;;) {
		char buf[4096];
		int fd, flags;
		ssize_t n = cm_recv_fds(c->fd, buf, sizeof(buf), &fd, 1, &flags);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			if (errno == ECONNRESET)
				diag_debug("seccomp notify: the runtime hung up");
			else
				diag_warn("Failed to read from the seccomp notify socket: %s", g_strerror(errno));
			return true;
		}
		/* The state names one fd, "seccompFd"; nothing else is expected. */
		if (c->listener < 0)
			c->listener = fd;
		else if (fd >= 0)
			close(fd);
		if (n == 0)
			return true;
		size_t room = PAYLOAD_MAX - c->payload->len;
		g_byte_array_append(c->payload, (const guint8 *)buf, (guint)MIN((size_t)n, room));
		if (c->payload->len >= PAYLOAD_MAX)
			return true;
	}
	/* Done early when the runtime keeps the connection open after a complete state. */
	g_autofree char *id = NULL, *bundle = NULL;
	return c->listener >= 0 && seccomp_state_parse((const char *)c->payload->data, c->payload->len, &id, &bundle);
}

static void conn_finish(struct conn *c)
{
	struct seccomp_agent *a = c->agent;
	if (c->listener < 0) {
		diag_warn("seccomp notify: connection closed without a listener fd");
		return;
	}
	char *id, *bundle;
	if (!seccomp_state_parse((const char *)c->payload->data, c->payload->len, &id, &bundle))
		diag_warn("seccomp notify: unreadable container state with the listener fd");
	diag_debug("seccomp notify: listener fd for container %s", id ? id : "(unknown)");
	start_plugins(a, id, bundle);
	add_listener(a, TAKE_FD(c->listener));
}

static gboolean on_conn(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	struct conn *c = data;
	if (!conn_read(c))
		return G_SOURCE_CONTINUE;
	conn_finish(c);
	c->source = 0;
	c->agent->refusing = false;
	g_ptr_array_remove_fast(c->agent->conns, c);
	return G_SOURCE_REMOVE;
}

static gboolean on_accept(int fd, GIOCondition cond, gpointer data)
{
	(void)cond;
	struct seccomp_agent *a = data;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				diag_warn("Failed to accept on the seccomp notify socket: %s", g_strerror(errno));
			return G_SOURCE_CONTINUE;
		}
		if (a->conns->len >= SECCOMP_AGENT_PENDING_MAX) {
			if (!a->refusing)
				diag_warn("seccomp notify: %u connections wait for a listener fd: closing new ones",
					  a->conns->len);
			a->refusing = true;
			close(cfd);
			continue;
		}
		struct conn *c = g_new0(struct conn, 1);
		c->agent = a;
		c->fd = cfd;
		c->listener = -1;
		c->payload = g_byte_array_new();
		c->source = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_conn, c);
		g_ptr_array_add(a->conns, c);
	}
}

static int listen_socket(struct seccomp_agent *a, GError **err)
{
	g_autofree char *dir = g_path_get_dirname(a->socket_path);
	g_autofree char *base = g_path_get_basename(a->socket_path);
	_cleanup_close_ int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cm_set_errno(err, errno, "Failed to open %s", dir);
	a->sock = cm_unix_listen_at(dirfd, base, SOCK_STREAM, 0700, 16, err);
	if (a->sock < 0)
		return -1;
	a->bound = true;
	return 0;
}

struct seccomp_agent *seccomp_agent_new(const char *socket_path, const char *plugins, GError **err)
{
	struct seccomp_agent *a = g_new0(struct seccomp_agent, 1);
	a->socket_path = g_strdup(socket_path);
	a->sock = -1;
	a->plugins = g_ptr_array_new_with_free_func(plugin_free);
	a->conns = g_ptr_array_new_with_free_func(conn_free);
	a->listeners = g_ptr_array_new_with_free_func(listener_free);

	if (load_plugins(a, plugins, err) < 0) {
		seccomp_agent_free(a);
		return NULL;
	}
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &a->sizes) < 0) {
		cm_set_errno(err, errno, "seccomp notifications are not supported");
		seccomp_agent_free(a);
		return NULL;
	}
	if (load_libseccomp(err) < 0) {
		seccomp_agent_free(a);
		return NULL;
	}
	int rc = libseccomp.alloc(&a->req, &a->resp);
	if (rc < 0) {
		cm_set_errno(err, -rc, "Failed to allocate seccomp notification buffers");
		seccomp_agent_free(a);
		return NULL;
	}
	if (listen_socket(a, err) < 0) {
		seccomp_agent_free(a);
		return NULL;
	}
	a->source = g_unix_fd_add(a->sock, G_IO_IN, on_accept, a);
	return a;
}

void seccomp_agent_free(struct seccomp_agent *a)
{
	if (a == NULL)
		return;
	if (a->source)
		g_source_remove(a->source);
	if (a->sock >= 0)
		close(a->sock);
	if (a->bound)
		unlink(a->socket_path);
	g_ptr_array_unref(a->conns);
	/* Plugins first: one answering later (delayed) may still need its listener. */
	g_ptr_array_unref(a->plugins);
	g_ptr_array_unref(a->listeners);
	if (a->req || a->resp)
		libseccomp.free(a->req, a->resp);
	g_free(a->name);
	g_free(a->bundle);
	g_free(a->config_path);
	g_free(a->socket_path);
	g_free(a);
}
