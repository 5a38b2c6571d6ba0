/*
 * attach_signals: a program with its own SIGUSR1 handler, which must see
 * every signal the test sends, once, as sent by kill(), whether it came
 * before, during or after the attach.
 *
 *     attach_signals DIR
 *
 * Protocol in attach.h.  The handler counts SIGUSR1 (all, and those with
 * si_code SI_USER: a signal the injector swallowed and sent again itself
 * would say SI_TKILL or SI_QUEUE and another sender), and writes one byte
 * per signal into the FIFO DIR/usr1.fifo, the letter 'a' + count % 26, so
 * that the test sends the next signal as soon as the last one was handled
 * (two SIGUSR1 pending at once are one, with or without memtrace) and sees a
 * signal handled twice or lost.  A second handler counts SIGRTMIN+1, which
 * the test sends in bursts without waiting (real-time signals queue, so
 * every one must arrive, also those sent while memtrace holds the process
 * stopped).  DIR/go holds "USR1 RT": how many of each the test sent.  The victim checks the counts, that its signal mask
 * (SIGUSR2 and SIGWINCH blocked) and its SIGUSR1 disposition are still its
 * own, and that no signal is left pending; again after stop, where no
 * further SIGUSR1 may have come.  It leaks from leak_after_signals.
 */
#include <signal.h>
#include <stdatomic.h>

#include "attach.h"

static volatile sig_atomic_t usr1_all, usr1_user, rt_all, rt_user;
static int ack_fd = -1;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	char c;

	(void)sig;
	(void)uc;
	usr1_all++;
	if (si->si_code == SI_USER)
		usr1_user++;
	c = (char)('a' + usr1_all % 26);
	if (write(ack_fd, &c, 1) != 1)
		usr1_user = -1000; /* shows as a failed check */
	errno = saved;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	rt_all++;
	if (si->si_code == SI_USER)
		rt_user++;
}

static sigset_t initial_mask;

NOINLINE static void *leak_after_signals(void)
{
	void *p = malloc(77);

	memset(p, 'S', 77);
	return p;
}

/* The signal state is the program's own: mask, handler, nothing pending. */
static void check_signal_state(const char *when)
{
	struct sigaction sa;
	sigset_t mask, pending;
	int same = 1;
	char what[128];

	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	for (int s = 1; s < NSIG; s++)
		same &= sigismember(&mask, s) == sigismember(&initial_mask, s);
	vt_format(what, sizeof(what), "signal mask unchanged %s", when);
	vt_check(same, what);
	sigaction(SIGUSR1, NULL, &sa);
	vt_format(what, sizeof(what), "SIGUSR1 handler still ours %s", when);
	vt_check(sa.sa_sigaction == on_usr1 && (sa.sa_flags & SA_SIGINFO) && (sa.sa_flags & SA_RESTART), what);
	sigaction(SIGRTMIN + 1, NULL, &sa);
	vt_format(what, sizeof(what), "SIGRTMIN+1 handler still ours %s", when);
	vt_check(sa.sa_sigaction == on_rt && (sa.sa_flags & SA_SIGINFO), what);
	sigpending(&pending);
	same = 1;
	for (int s = 1; s < NSIG; s++)
		same &= !sigismember(&pending, s);
	vt_format(what, sizeof(what), "no signal pending %s", when);
	vt_check(same, what);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t block;
	int sent, rt_sent;
	const char *go;
	void *leak[2];

	at_start(argc, argv);
	ack_fd = at_fifo("usr1.fifo");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		vt_die("sigaction");
	sa.sa_sigaction = on_rt;
	if (sigaction(SIGRTMIN + 1, &sa, NULL) < 0)
		vt_die("sigaction");
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	pthread_sigmask(SIG_SETMASK, NULL, &initial_mask);
	vt_printf("signals: handler installed\n");
	at_ready();

	go = at_wait_go();
	sent = atoi(go);
	rt_sent = strchr(go, ' ') ? atoi(strchr(go, ' ') + 1) : 0;
	/* queued real-time signals are all delivered before kill() returns
	 * only for the calling thread: give the last ones a moment */
	for (int i = 0; i < 200 && rt_all < rt_sent; i++)
		vt_sleep_ms(5);
	vt_check(sent > 0, "the test sent signals");
	vt_check(usr1_all == sent, "every SIGUSR1 handled exactly once");
	vt_check(usr1_user == sent, "every SIGUSR1 came from kill()");
	vt_check(rt_sent > 0, "the test sent real-time signals");
	vt_check(rt_all == rt_sent, "every SIGRTMIN+1 handled exactly once");
	vt_check(rt_user == rt_sent, "every SIGRTMIN+1 came from kill()");
	check_signal_state("after attach");
	pre_attach_release();
	leak[0] = leak_after_signals();
	leak[1] = leak_after_signals();
	vt_expect("leak_after_signals", 2, 154);
	at_leaked_then_wait_stop();

	vt_check(usr1_all == sent && rt_all == rt_sent, "no signal after go");
	check_signal_state("at stop");
	free(leak[0]);
	free(leak[1]);
	pre_attach_end();
	return vt_exit_status();
}
