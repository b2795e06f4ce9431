"""Tests of geodl.tune; :func:`kill_mid_trial` stops a running ``geodl tune`` process."""

import os
import signal
import subprocess
import sys
import time


def tune_command(*args: str) -> list[str]:
    """``geodl tune ARGS`` as a command run by this interpreter."""
    return [sys.executable, "-m", "geodl.cli", "tune", *args]


def kill_mid_trial(cmd: list[str], storage, study_name: str, min_complete: int,
                   timeout: float = 180.0) -> tuple[set[int], set[int]]:
    """Start ``cmd``, SIGKILL it while a trial trains after ``min_complete`` trials finished.

    The process is first frozen (SIGSTOP), the study read, and only then killed, so the trial
    seen running is the one the kill interrupts. Returns the numbers of the complete and of the
    running trials at the kill.
    """
    import optuna
    from optuna.trial import TrialState

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + timeout

    study = None

    def state():
        nonlocal study
        try:
            if study is None:  # one storage object (one engine) for the whole watch
                study = optuna.load_study(study_name=study_name, storage=storage)
            trials = study.get_trials(deepcopy=False)
        except Exception:  # not created yet, or the database is locked by the writer
            return None
        complete = {t.number for t in trials if t.state == TrialState.COMPLETE}
        running = {t.number for t in trials if t.state == TrialState.RUNNING
                   and "params" in t.user_attrs}  # all suggested, training
        return (complete, running) if len(complete) >= min_complete and running else None

    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError("the study ended before it could be killed:\n"
                                     + proc.stderr.read().decode()[-3000:])
            time.sleep(0.1)
            if state() is None:
                continue
            proc.send_signal(signal.SIGSTOP)  # frozen: what we read is what the kill cuts
            seen = state()
            if seen is not None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return seen
            proc.send_signal(signal.SIGCONT)
        raise AssertionError(f"no running trial after {min_complete} complete in {timeout} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
