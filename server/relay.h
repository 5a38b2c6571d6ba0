/*
 * The byte path between memtrace-server's gdb and gdbserver on the device.
 * gdb can reach a gdbserver only by TCP, a serial line or `target remote |
 * COMMAND`; the device's side is a channel socket the server already holds
 * (docs/protocol.md, "Channels"). So gdb runs `memtrace-server --rsp-relay
 * SOCKET` as its COMMAND: that process takes the channel's descriptor from
 * the server over a private unix socket (SCM_RIGHTS) and copies bytes
 * between its stdio (gdb) and the channel (gdbserver) until either ends.
 * No TCP port is opened on the host for anyone else to reach first.
 */
#ifndef SRV_RELAY_H
#define SRV_RELAY_H

/* A unix socket listening at PATH (its directory should be private). The fd, or -1 (logged). */
int srv_relay_listen(const char *path);

/*
 * Accept one relay on LFD within TIMEOUT_MS and give it FD (FD stays ours
 * to close). 0, or -1 (logged). shutdown(LFD) from another thread ends the
 * wait.
 */
int srv_relay_pass(int lfd, int fd, int timeout_ms);

/* The --rsp-relay process: the exit status (0 once either side ended). */
int srv_relay_main(const char *path);

#endif
