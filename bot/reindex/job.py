"""Reindexing in the background while the server keeps answering from the live index.

The build runs in a child process (`_child_main`, a new interpreter) at the lowest CPU priority
(nice 19, and on Linux SCHED_IDLE: it runs only on a core nothing else wants), its BLAS and
OpenMP pools at one thread and its encoders its own, so it takes only the CPU the chat leaves
and never holds the serving process's GIL (bench/reindex_impact.py: a visitor's p99 during
back-to-back reindexes within 1.4x of none); this process checks the
translations (it has the store), starts the child, relays its steps to the status and records
how it ended: a child that fails, or is killed, ends the job "failed" with the reason.

One job at a time, across every worker process (and host sharing the index folder): the job
holds an exclusive lock on `<index>.builds/reindex.lock` while it runs, and writes its status
to `<index>.builds/reindex-status.json`, so whichever worker serves the console shows the same
state. A status left "running" by a process that died (the lock is free) reads as failed.
A run ends as "done" or "failed" whatever happens in it (`_run`'s `finally`), and a thread
that died without ending it anyway neither reads as running nor blocks the next start. The
child inherits the lock, so a worker that dies while its child builds does not free the job
for a second build beside it.
The engine's `LiveIndex` moves to the new snapshot by itself once `publish` swaps the link.
Translations are checked against `store` when one is given (the web app gives its desk's,
`channels/web/translations.py`), else against the one ANSWERDESK_DB names.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Callable

try:
    import fcntl
except ImportError:  # Windows: one job at a time per process only
    fcntl = None  # type: ignore[assignment]

from bot.config import Settings
from bot.reindex.run import ReindexReport, TranslationReport, check_kb_translations, reindex
from bot.store.model import Store
from index.build import builds_folder

log = logging.getLogger(__name__)

NICE = 19  # the child's priority: the lowest, so a chat request always goes first
CHILD_THREADS = 1  # the child's BLAS, OpenMP and e5 threads
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_REPLY = "answerdesk-reindex: "  # marks the child's lines to its parent among anything else it prints
# Lowered before anything is imported: loading the libraries and models is work too.
_CHILD = f"""import os
if hasattr(os, "nice"):
    os.nice({NICE})
if hasattr(os, "SCHED_IDLE"):  # Linux: run only when a core has nothing else to run
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
import logging, sys
logging.basicConfig(level=logging.WARNING, format="reindex: %(levelname)s %(message)s")
from bot.reindex.job import _child_main
sys.exit(_child_main())
"""


@dataclass(frozen=True)
class ReindexStatus:
    state: str  # idle | running | done | failed
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str = ""  # a summary when done, the error when failed
    seconds: float | None = None


class ReindexJob:
    """Runs `bot.reindex.run.reindex` in a low-priority child process, one run at a time, and
    reports its status. The child loads settings.encoder itself."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime], store: Store | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store  # where translation checks are kept; None: the store ANSWERDESK_DB names
        folder = builds_folder(settings.index_dir)
        self._status_file = folder / "reindex-status.json"
        self._lock_file = folder / "reindex.lock"
        self._lock = threading.Lock()
        self._held: int | None = None  # the lock's descriptor while this process runs the job
        self._thread: threading.Thread | None = None
        self.child: subprocess.Popen[bytes] | None = None  # the running build's process

    @property
    def status(self) -> ReindexStatus:
        """The last job's status, whichever process ran it."""
        try:
            raw = json.loads(self._status_file.read_text(encoding="utf-8"))
            status = ReindexStatus(**{**raw, **{k: _time(raw.get(k)) for k in ("started_at", "finished_at")}})
        except FileNotFoundError:
            return ReindexStatus("idle")
        except (OSError, ValueError, TypeError) as e:
            return ReindexStatus("failed", message=f"cannot read {self._status_file}: {e}")
        if status.state == "running" and self._held is None and self._lock_is_free():
            return replace(status, state="failed", message="interrupted: the process running it stopped; start it again")
        if status.state == "running" and self._held is not None and self._thread_died():
            return replace(status, state="failed", message=_DIED)
        return status

    def start(self) -> bool:
        """Start a reindex; False if one is already running (in any process)."""
        with self._lock:
            if self._held is not None and self._thread_died():
                self._end("failed", _DIED, None)  # its lock is ours to release
            if self._held is not None:
                return False
            held = self._acquire()
            if held is None:
                return False
            # The new thread (not started: it has not died) replaces the old before the lock is
            # ours, so `status` never pairs this run's lock with the last run's ended thread.
            self._thread = threading.Thread(target=self._run, name="answerdesk-reindex", daemon=True)
            self._held = held
            try:
                self._write(ReindexStatus("running", started_at=self.clock(), message="validating the KB and building the index"))
                self._thread.start()
            except BaseException as e:
                self._end("failed", f"the reindex could not start: {type(e).__name__}: {e}", None)
                raise
        return True

    def wait(self, timeout: float | None = None) -> ReindexStatus:
        """Block until the running job ends (for tests and shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status

    def _run(self) -> None:
        started = time.perf_counter()
        state, message = "failed", "the reindex stopped before it finished"
        try:
            checked = check_kb_translations(self.settings, self.store, self.clock)  # here: the store is this process's
            state, message = self._build(checked)
        except BaseException as e:  # the console shows the error; the live index is untouched
            # BaseException too: SystemExit from a library would end this thread just the same;
            # recording it here is all that thread's end could do.
            log.exception("reindex failed")
            message = f"{type(e).__name__}: {e}"
        finally:
            with self._lock:
                self._end(state, message, started)

    def _build(self, checked: tuple[TranslationReport, dict]) -> tuple[str, str]:
        """Run the build in the child, relaying its steps to the status: (state, message)."""
        env = {**os.environ, **{name: str(CHILD_THREADS) for name in _THREAD_VARIABLES}}
        root = str(Path(__file__).resolve().parents[2])  # the child imports this very code
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.child = child = subprocess.Popen(
            [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
            pass_fds=(self._held,) if self._held is not None and self._held >= 0 else (),
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(pickle.dumps((self.settings, checked)))
            child.stdin.close()
        except BrokenPipeError:
            pass  # the child died at once: its exit status says how
        ended: tuple[str, str] | None = None
        try:
            for line in child.stdout:
                text = line.decode("utf-8", "replace")
                if not text.startswith(_REPLY):
                    continue
                kind, value = json.loads(text[len(_REPLY):])
                if kind == "step":
                    self._tell(value)
                else:
                    ended = (kind, value)
        except BaseException:
            child.kill()  # a build nobody watches would hold the job's lock (it inherited it) unseen
            child.wait()
            raise
        code = child.wait()
        if ended is not None:
            return ended
        how = f"killed by signal {_signal_name(-code)}" if code < 0 else f"exit status {code}"
        return "failed", f"the reindex process ended without finishing ({how}); the old index keeps serving: start it again"

    def _tell(self, step: str) -> None:
        """Show the step the build is at; one that cannot be shown does not stop the build."""
        try:
            with self._lock:
                self._write(replace(self._read_or_idle(), message=step))
        except Exception:
            log.exception("cannot record the reindex's step (%s)", step)

    def _end(self, state: str, message: str, started: float | None) -> None:
        """Record how the run ended and release the job lock, even when the record cannot be written.

        The caller holds `self._lock`."""
        try:
            seconds = None if started is None else round(time.perf_counter() - started, 1)
            self._write(replace(self._read_or_idle(), state=state, finished_at=self.clock(), message=message, seconds=seconds))
        except Exception:
            log.exception("cannot record the reindex's end (%s: %s)", state, message)
        finally:
            if self._held is not None and self._held >= 0:
                os.close(self._held)  # releases the lock
            self._held = None

    def _read_or_idle(self) -> ReindexStatus:
        try:
            return self.status
        except Exception:  # a status that cannot be read is overwritten with the end state
            return ReindexStatus("idle")

    def _thread_died(self) -> bool:
        """This process holds the lock but its thread is gone without ending the run."""
        thread = self._thread
        return thread is not None and thread.ident is not None and not thread.is_alive()

    def _write(self, status: ReindexStatus) -> None:
        data = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(status).items()}
        tmp = self._status_file.with_name(f".{self._status_file.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self._status_file)  # readers see the old status or the new one, never half

    def _acquire(self) -> int | None:
        """The job lock's descriptor, or None if another process holds it (-1 where locks do not exist)."""
        self._lock_file.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            return -1
        fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    def _lock_is_free(self) -> bool:
        held = self._acquire()
        if held is None:
            return False
        if held >= 0:
            os.close(held)
        return True


_DIED = "interrupted: the reindex thread stopped without finishing; start it again"


def _child_main() -> int:
    """The child's side: read (settings, checked translations), reindex, say how it went."""

    def say(kind: str, value: str) -> None:
        print(_REPLY + json.dumps([kind, value]), flush=True)

    settings, checked = pickle.loads(sys.stdin.buffer.read())
    # The child is one more process on the server's cores: one thread for all it does.
    settings = replace(settings, threads=CHILD_THREADS, build_threads=CHILD_THREADS)
    try:
        report = reindex(settings, show_progress=False, out=io.StringIO(), checked=checked, progress=lambda step: say("step", step))
    except Exception as e:
        log.exception("reindex failed")
        say("failed", f"{type(e).__name__}: {e}")
        return 1
    say("done", _summary(report))
    return 0


def _summary(report: ReindexReport) -> str:
    """What a finished run did, for the console."""
    served = report.kb.served()
    summary = f"{len(served.article_ids)} articles, {len(served.articles)} language versions"
    if len(served.articles) < len(report.kb.articles):
        summary += f" ({len(report.kb.articles) - len(served.articles)} drafts not served)"
    build = report.build
    if build is not None:
        summary += f"; {build.vectors} vectors ({build.encoded} encoded, {build.reused} reused)"
    if report.translations and report.translations.stale:
        summary += f"; {len(report.translations.stale)} translation(s) older than their source: see Translations"
    if report.proofs:
        summary += f"; {sum(p.answered for p in report.proofs)} of {len(report.proofs)} accepted suggestions now answered: see Improve the help center"
    return summary


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)

