/* Stop requests from signals (SIGINT, SIGTERM): a handler records the signal and chains to
 * the handler it replaced (Python's, for instance, so Python code sees the signal too); the
 * host's time loop polls the record between steps and stops cleanly (hfc_signal.f90). No
 * longjmp out of Fortran, nothing but a sig_atomic_t written in the handler. */
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_signal = 0;
static struct sigaction previous[65];

static void on_signal(int signum)
{
    stop_signal = signum;
    if (signum > 0 && signum < 65) {
        struct sigaction *old = &previous[signum];
        if (old->sa_flags & SA_SIGINFO) {
            if (old->sa_sigaction) old->sa_sigaction(signum, NULL, NULL);
        } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN && old->sa_handler != NULL) {
            old->sa_handler(signum);
        }   /* else nobody else listens: the host stops at the end of the step, the caller exits */
    }
}

/* Record signal signum from now on (keeping the current handler chained); 0 on success. */
int hfc_stop_on(int signum)
{
    struct sigaction action;
    struct sigaction current;
    if (signum <= 0 || signum >= 65) return -1;
    if (sigaction(signum, NULL, &current) != 0) return -1;
    if (current.sa_handler == on_signal) return 0;      /* already recorded: never chain to itself */
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(signum, &action, &previous[signum]);
}

/* The signal recorded since the last call (0: none); the record is cleared. */
int hfc_stop_requested(void)
{
    int signum = stop_signal;
    if (signum != 0) stop_signal = 0;
    return signum;
}
