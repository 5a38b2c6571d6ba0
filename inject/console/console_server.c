/*
 * The console's requests to memtrace-server (console_server.h): a request
 * waits for its reply on the link, whose text is the command's output; a
 * core goes on a channel of its own, the request naming it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "console/console_server.h"
#include "elfsym.h"
#include "log.h"
#include "net.h"
#include "report.h"
#include "link/srvlink.h"
#include "util.h"

#define CORE_MS 300000	    /* sending a core and gdb opening it */
#define SEND_STALL_S 30	    /* a core upload the server stops reading */

int inj_console_reply(struct inj_console *con, long id, int timeout_ms, int *running)
{
	cJSON *r = inj_link_wait(con->link, id, timeout_ms);
	int ok;

	if (running)
		*running = 0;
	if (!r)
		return -1;
	ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
	if (ok) {
		fputs(inj_json_str(r, "text", ""), con->out);
		fflush(con->out);
		if (running)
			*running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "running"));
	} else {
		log_err("%s", inj_json_str(r, "error", "memtrace-server refused, giving no reason"));
	}
	cJSON_Delete(r);
	return ok ? 0 : -1;
}

int inj_console_ask(struct inj_console *con, const char *cmd, cJSON *args, int timeout_ms,
		    int *running)
{
	long id = inj_link_send(con->link, cmd, args);

	if (running)
		*running = 0;
	return id < 0 ? -1 : inj_console_reply(con, id, timeout_ms, running);
}

int inj_console_need_link(struct inj_console *con, const char *what)
{
	if (inj_link_linked(con->link))
		return 0;
	return log_err("%s: memtrace-server answers this, and there is no link to one (--connect or --multicast)",
		       what);
}

void inj_console_add_program(struct inj_console *con, cJSON *args)
{
	char link[64], exe[4096];
	ssize_t n;
	const char *bid;

	snprintf(link, sizeof(link), "/proc/%d/exe", con->pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	cJSON_AddStringToObject(args, "exe", exe);
	bid = con->syms ? inj_symcache_build_id(con->syms, exe) : NULL;
	if (bid)
		cJSON_AddStringToObject(args, "build_id", bid);
	cJSON_AddNumberToObject(args, "pid", con->pid);
}

int inj_console_send_core(struct inj_console *con, const char *path)
{
	struct timeval tv = { .tv_sec = SEND_STALL_S };
	char key[NET_CHANNEL_KEY + 1], buf[65536];
	struct stat sb;
	cJSON *args;
	int fd, chan;
	long id;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		log_err("%s: %s: not sent to memtrace-server", path, strerror(errno));
		goto fail;
	}
	chan = inj_link_channel(con->link, key, sizeof(key));
	if (chan < 0)
		goto fail;
	setsockopt(chan, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "channel", key);
	cJSON_AddNumberToObject(args, "size", (double)sb.st_size);
	inj_console_add_program(con, args);
	id = inj_link_send(con->link, "core", args);
	if (id < 0) {
		close(chan);
		goto fail;
	}
	fprintf(con->out, "sending the core to memtrace-server (%.1f MiB)\n", (double)sb.st_size / (1024.0 * 1024.0));
	fflush(con->out);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write_all(chan, buf, (size_t)n) < 0) {
			/* The server says why in its reply (it stopped reading, or gave up). */
			log_info("sending the core: %s", strerror(errno));
			break;
		}
	}
	close(chan);
	close(fd);
	if (inj_console_reply(con, id, CORE_MS, NULL) == 0)
		return 0;
	log_err("the core stays in %s (memtrace-server --core reads it offline)", path);
	return -1;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}
