"""Sleeping until a moment to within microseconds, inside gevent.

gevent's loop waits in epoll, whose timeout is in whole milliseconds: a greenlet that sleeps
until a request's intended start wakes up to a millisecond late, and all the greenlets due in
the same millisecond wake up together. At a fixed rate that turns the stated arrival process
into bursts at millisecond ticks, which the servers then queue behind (measured here: session
minus JWT came out about twice as large under Locust as under a client that starts requests on
time). A Linux timerfd set to the intended start (absolute, on the wall clock) becomes readable
at that moment to within microseconds, and gevent wakes the greenlet waiting on it as soon as
epoll returns: one timer per greenlet, two system calls per sleep, no spinning.

Elsewhere (no timerfd) `sleep_until` falls back to gevent.sleep.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import time

import gevent
from gevent.socket import wait_read

CLOCK_REALTIME = 0
TFD_NONBLOCK = 0o4000
TFD_CLOEXEC = 0o2000000
TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.timerfd_create.restype = ctypes.c_int
        libc.timerfd_settime.restype = ctypes.c_int
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()


class Sleeper:
    """One timerfd, for one greenlet at a time."""

    def __init__(self) -> None:
        self.fd = -1
        if _LIBC is not None:
            self.fd = _LIBC.timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC)

    def sleep_until(self, moment: float) -> None:
        """Return at `moment` (time.time() seconds), to within microseconds where possible."""
        delay = moment - time.time()
        if delay <= 0:
            return
        if self.fd < 0:
            gevent.sleep(delay)
            return
        seconds = int(moment)
        spec = _Itimerspec(_Timespec(0, 0), _Timespec(seconds, int((moment - seconds) * 1e9)))
        if _LIBC.timerfd_settime(self.fd, TFD_TIMER_ABSTIME, ctypes.byref(spec), None) != 0:
            gevent.sleep(delay)
            return
        wait_read(self.fd)
        with contextlib.suppress(BlockingIOError):
            os.read(self.fd, 8)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
